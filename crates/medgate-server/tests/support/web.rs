//! The web pages without a browser: a cookie-keeping HTTPS client with no client certificate
//! (a person's browser, to the server), which sends its forms as a browser does (`Origin`
//! this server, `Sec-Fetch-Site: same-origin`) unless told to forge them; staff logins made
//! as `medgate tenant admin-user create` and `medgate operator user create` make them; and
//! the audit entries of an account read as `medgate audit list` reads them, after the chain
//! is verified.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use medgate_ids::TenantId;
use medgate_storage::{AuditOrigin, Metadata, NewAuditEntry, StaffLogin, StaffScope};
use medgate_web::staff::{self as users, FirstCredential, Issued};

use super::Node;

/// The password every test login gets.
pub const STAFF_PASSWORD: &str = "Hasło-administratora 2025";
/// The password every test patient sets.
pub const PATIENT_PASSWORD: &str = "Zażółć-gęślą-jaźń 2025";

/// What a request answered.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Page {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value (the first one).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    }

    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    /// Every `Set-Cookie` value, lower-cased (as the end-to-end tests compared them).
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|value| String::from_utf8_lossy(value.as_bytes()).to_lowercase())
            .collect()
    }
}

/// A browser's side of the pages: its own cookie jar, no client certificate.
#[derive(Clone)]
pub struct WebClient {
    http: reqwest::Client,
    base: url::Url,
    origin: String,
    jar: Arc<Mutex<Vec<(String, String)>>>,
}

impl WebClient {
    /// A client with an empty jar that trusts `node`'s CA.
    pub fn new(node: &Node) -> WebClient {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(
                node.ca.certificate().der().to_vec(),
            ))
            .unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let origin = format!("https://{}", node.address);
        WebClient {
            http,
            base: node.url.clone(),
            origin,
            jar: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        (!jar.is_empty()).then(|| {
            jar.iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep_cookies(&self, headers: &http::HeaderMap) {
        let mut jar = self.jar.lock().unwrap();
        for value in headers.get_all("set-cookie") {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let mut parts = text.split(';');
            let Some((name, value)) = parts.next().and_then(|pair| pair.trim().split_once('='))
            else {
                continue;
            };
            let expired = parts.any(|attribute| attribute.trim().eq_ignore_ascii_case("max-age=0"));
            jar.retain(|(kept, _)| kept != name);
            if !expired && !value.is_empty() {
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let request = match self.cookie_header() {
            Some(cookies) => request.header("cookie", cookies),
            None => request,
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        self.keep_cookies(&headers);
        Page {
            status,
            headers,
            body,
        }
    }

    fn url(&self, path: &str) -> url::Url {
        self.base.join(path).unwrap()
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.http.get(self.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request).await
    }

    /// A form POSTed as a browser on this site sends it.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(path, fields, &[]).await
    }

    /// A form POST with `headers` in place of the browser's `Origin` and `Sec-Fetch-Site`
    /// (an empty value leaves the header out, as a client that is no browser does).
    pub async fn post_with(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let request = self.form_request(path, fields, headers);
        self.send(request).await
    }

    fn form_request(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let body = fields
            .iter()
            .map(|(name, value)| {
                format!(
                    "{}={}",
                    urlencoding::encode(name),
                    urlencoding::encode(value)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.browser_headers(request, headers)
    }

    fn browser_headers(
        &self,
        mut request: reqwest::RequestBuilder,
        headers: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let origin = self.origin.clone();
        for (name, default) in [
            ("origin", origin.as_str()),
            ("sec-fetch-site", "same-origin"),
        ] {
            let value = headers
                .iter()
                .find(|(given, _)| given.eq_ignore_ascii_case(name))
                .map_or(default, |(_, value)| *value);
            if !value.is_empty() {
                request = request.header(name, value);
            }
        }
        for (name, value) in headers {
            if !["origin", "sec-fetch-site"].contains(&name.to_ascii_lowercase().as_str()) {
                request = request.header(*name, *value);
            }
        }
        request
    }

    /// A `multipart/form-data` POST: text fields and files (field, file name, bytes).
    pub async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> Page {
        let boundary = "medgate-test-boundary-7f3a9c";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(self.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        let request = self.browser_headers(request, &[]);
        self.send(request).await
    }

    /// Every form POSTed to `path` at once, each request started without waiting for any
    /// answer, all with this jar's cookies; the pages in the order given.
    pub async fn post_parallel(&self, path: &str, forms: &[Vec<(&str, &str)>]) -> Vec<Page> {
        let cookies = self.cookie_header();
        let tasks: Vec<_> = forms
            .iter()
            .map(|fields| {
                let mut request = self.form_request(path, fields, &[]);
                if let Some(cookies) = &cookies {
                    request = request.header("cookie", cookies.clone());
                }
                tokio::spawn(async move {
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let body = response.bytes().await.unwrap().to_vec();
                    Page {
                        status,
                        headers,
                        body,
                    }
                })
            })
            .collect();
        let mut pages = Vec::new();
        for task in tasks {
            pages.push(task.await.unwrap());
        }
        pages
    }

    /// The `csrf` hidden field of the form on the page at `path`.
    pub async fn token(&self, path: &str) -> String {
        let page = self.get(path).await;
        form_token(&page.text())
            .unwrap_or_else(|| panic!("no form token on {path}: {}", page.text()))
    }

    /// Activates an administrator login with its code (the login gets [`STAFF_PASSWORD`]).
    pub async fn activate_admin(&self, tenant: &str, login: &str, code: &str) -> Page {
        let token = self.token("/admin/activate").await;
        self.post(
            "/admin/activate",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("login", login),
                ("code", code),
                ("password", STAFF_PASSWORD),
                ("password2", STAFF_PASSWORD),
            ],
        )
        .await
    }

    /// An administrator's sign-in form, sent.
    pub async fn admin_sign_in(&self, tenant: &str, login: &str, password: &str) -> Page {
        let token = self.token("/admin").await;
        self.post(
            "/admin",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("login", login),
                ("password", password),
            ],
        )
        .await
    }

    /// Signs an administrator in with [`STAFF_PASSWORD`]; panics unless it works.
    pub async fn sign_in_admin(&self, tenant: &str, login: &str) {
        let answer = self.admin_sign_in(tenant, login, STAFF_PASSWORD).await;
        assert_eq!(answer.status, 303, "sign-in: {}", answer.text());
        assert_eq!(answer.location().as_deref(), Some("/admin/account"));
    }

    /// Signs an operator in with [`STAFF_PASSWORD`]; the answer.
    pub async fn sign_in_operator(&self, login: &str) -> Page {
        let token = self.token("/operator").await;
        let answer = self
            .post(
                "/operator",
                &[
                    ("csrf", &token),
                    ("login", login),
                    ("password", STAFF_PASSWORD),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "sign-in: {}", answer.text());
        answer
    }

    /// The patient portal's activation form, sent.
    pub async fn activate_patient(
        &self,
        tenant: &str,
        patient: &str,
        code: &str,
        password: &str,
    ) -> Page {
        let token = self.token("/portal/activate").await;
        self.post(
            "/portal/activate",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("patient", patient),
                ("code", code),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
    }

    /// The patient portal's sign-in form, sent.
    pub async fn patient_sign_in(&self, tenant: &str, patient: &str, password: &str) -> Page {
        let token = self.token("/portal").await;
        self.post(
            "/portal",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("patient", patient),
                ("password", password),
            ],
        )
        .await
    }

    /// Activates a patient's portal account and signs in; panics unless both work.
    pub async fn activate_and_sign_in_patient(&self, tenant: &str, patient: &str, code: &str) {
        let activated = self
            .activate_patient(tenant, patient, code, PATIENT_PASSWORD)
            .await;
        assert_eq!(
            activated.status,
            303,
            "activation failed: {}",
            activated.text()
        );
        let signed = self
            .patient_sign_in(tenant, patient, PATIENT_PASSWORD)
            .await;
        assert_eq!(signed.status, 303, "sign-in failed: {}", signed.text());
        assert_eq!(signed.location().as_deref(), Some("/portal/documents"));
    }

    /// The portal's documents page (signed in).
    pub async fn portal_documents(&self) -> String {
        let page = self.get("/portal/documents").await;
        assert_eq!(page.status, 200, "documents page: {}", page.text());
        page.text()
    }

    /// The portal's page of one document.
    pub async fn portal_open(&self, document_id: &str) -> Page {
        self.get(&format!(
            "/portal/documents/{}",
            urlencoding::encode(document_id)
        ))
        .await
    }
}

/// The `csrf` hidden field's value in a page.
pub fn form_token(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// The text of the page's alert box.
pub fn alert(html: &str) -> String {
    html.split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or("")
        .to_owned()
}

/// The `<main>` of a page (the header's language links name the address).
pub fn main_of(html: &str) -> String {
    html.split("<main")
        .nth(1)
        .and_then(|rest| rest.split("</main>").next())
        .unwrap_or("")
        .to_owned()
}

/// Records a staff change made at the shell, as the command line does (actor `cli`).
async fn audit_cli(
    metadata: &Metadata,
    scope: &StaffScope,
    action: &str,
    login: &StaffLogin,
    details: &str,
) {
    let kind = match scope {
        StaffScope::Admin(_) => "admin_user",
        StaffScope::Operator => "operator_user",
    };
    metadata
        .append_audit(&NewAuditEntry {
            tenant: scope.tenant().cloned(),
            actor: "cli".to_owned(),
            action: format!("{kind}.{action}"),
            target: login.to_string(),
            origin: AuditOrigin::Cli,
            details: details.to_owned(),
            patient: None,
        })
        .await
        .unwrap();
}

/// `medgate tenant admin-user create TENANT --login LOGIN`: a login awaiting activation,
/// with its one-time code.
pub async fn create_admin(node: &Node, tenant: &str, login: &str) -> Issued {
    let scope = StaffScope::Admin(TenantId::parse(tenant).unwrap());
    let issued = users::create(
        &node.metadata,
        scope,
        login,
        FirstCredential::ActivationCode,
        "cli",
    )
    .await
    .unwrap();
    audit_cli(
        &node.metadata,
        &issued.user.scope,
        "create",
        &issued.user.login,
        "activation code issued",
    )
    .await;
    issued
}

/// The activation code of a created login.
pub fn code_of(issued: &Issued) -> String {
    issued.activation_code.clone().expect("an activation code")
}

/// `medgate operator user create --login LOGIN --password-file F` with [`STAFF_PASSWORD`].
pub async fn create_operator(node: &Node, login: &str) -> Issued {
    let issued = users::create(
        &node.metadata,
        StaffScope::Operator,
        login,
        FirstCredential::Password(STAFF_PASSWORD.to_owned()),
        "cli",
    )
    .await
    .unwrap();
    assert!(issued.activation_code.is_none());
    audit_cli(
        &node.metadata,
        &StaffScope::Operator,
        "create",
        &issued.user.login,
        "password set from a file",
    )
    .await;
    issued
}

/// `medgate tenant admin-user disable TENANT --login LOGIN`.
pub async fn disable_admin(node: &Node, tenant: &str, login: &str) {
    let scope = StaffScope::Admin(TenantId::parse(tenant).unwrap());
    let login = StaffLogin::parse(login).unwrap();
    node.metadata
        .set_staff_disabled(&scope, &login, true, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    audit_cli(&node.metadata, &scope, "disable", &login, "sessions ended").await;
}

/// An administrator login made as the command line makes it, activated and signed in.
pub async fn admin_client(node: &Node, tenant: &str, login: &str) -> WebClient {
    let code = code_of(&create_admin(node, tenant, login).await);
    let client = WebClient::new(node);
    let activated = client.activate_admin(tenant, login, &code).await;
    assert_eq!(activated.status, 303, "activation: {}", activated.text());
    client.sign_in_admin(tenant, login).await;
    client
}

/// An operator login with [`STAFF_PASSWORD`], signed in.
pub async fn operator_client(node: &Node, login: &str) -> WebClient {
    create_operator(node, login).await;
    let client = WebClient::new(node);
    client.sign_in_operator(login).await;
    client
}

/// The account's audit entries as (actor, action), newest first, after checking that the
/// whole hash chain is intact (`medgate audit verify`, `medgate audit list`).
pub async fn audited(node: &Node, tenant: &str) -> Vec<(String, String)> {
    let verification = node.metadata.verify_audit().await.unwrap();
    assert!(
        verification.is_intact(),
        "the audit chain is not intact: {:?}",
        verification.problem
    );
    node.metadata
        .list_audit(&TenantId::parse(tenant).unwrap(), 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|entry| (entry.actor, entry.action))
        .collect()
}

/// Asserts that `actor` did `action` at least once at the account.
pub fn assert_audited(entries: &[(String, String)], actor: &str, action: &str) {
    assert!(
        entries.iter().any(|(a, b)| a == actor && b == action),
        "no audit entry of {actor} doing {action}: {entries:?}"
    );
}

//! The demo's browser: one cookie jar and the node's CA, forms posted as a browser posts them
//! (with `Origin` and `Sec-Fetch-Site`), so the demo sets things up through the pages' own
//! code paths.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};

use super::random_secret;

/// A browser's side of a node's pages for the demo's setup: one cookie jar, the node's CA.
pub(super) struct Web {
    http: reqwest::Client,
    base: String,
    cookies: std::sync::Mutex<Vec<(String, String)>>,
}

impl Web {
    pub(super) fn new(base: &str, ca: &Path) -> anyhow::Result<Web> {
        Ok(Web {
            http: web_client(ca)?,
            base: base.to_owned(),
            cookies: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn cookie_header(&self) -> String {
        let jar = self
            .cookies
            .lock()
            .map(|jar| jar.clone())
            .unwrap_or_default();
        jar.iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let answer = request
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await?;
        for value in answer.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) = value
                .to_str()
                .ok()
                .and_then(|v| v.split(';').next())
                .and_then(|p| p.split_once('='))
            else {
                continue;
            };
            if let Ok(mut jar) = self.cookies.lock() {
                jar.retain(|(known, _)| known != name);
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = answer.status();
        Ok((status, answer.text().await?))
    }

    pub(super) async fn get(&self, path: &str) -> anyhow::Result<String> {
        let (status, body) = self
            .send(self.http.get(format!("{}{path}", self.base)))
            .await?;
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        Ok(body)
    }

    /// A form POSTed as a browser posts it (`application/x-www-form-urlencoded`): status and
    /// page.
    pub(super) async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let body = fields
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencoding::encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        self.send(request).await
    }

    /// The form of the page at `path` (its token and cookie) posted back to it with `fields`;
    /// it must answer with a redirect (a sign-in, an activation, a password change).
    pub(super) async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> anyhow::Result<()> {
        let page = self.get(path).await?;
        let token = form_token(&page).with_context(|| format!("no form token on {path}"))?;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let (status, page) = self.post(path, &all).await?;
        if status != reqwest::StatusCode::SEE_OTHER {
            bail!("{path} refused the form ({status}){}", alert(&page));
        }
        Ok(())
    }

    /// A `multipart/form-data` form (text fields, then files) that must answer with a
    /// redirect.
    pub(super) async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> anyhow::Result<()> {
        let boundary = format!("medgate-demo-{}", random_secret()?.replace('-', ""));
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        let (status, page) = self.send(request).await?;
        if status != reqwest::StatusCode::SEE_OTHER {
            bail!("{path} refused the form ({status}){}", alert(&page));
        }
        Ok(())
    }
}

/// An HTTPS client that trusts `ca` and follows no redirect.
fn web_client(ca: &Path) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in medgate_pki::load_certificates(ca)? {
        roots
            .add(rustls::pki_types::CertificateDer::from(
                certificate.der().to_vec(),
            ))
            .with_context(|| format!("{}: not usable as a trust anchor", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?)
}

/// The `csrf` hidden field's value in a page.
pub(super) fn form_token(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_owned())
}

/// The patient sets a password with the activation code on `/portal/activate`, as a browser
/// does: the form's page (its token and cookie), then the form posted.
pub(super) async fn activate_on_portal(
    base: &str,
    ca: &Path,
    fields: &[(&str, &str)],
) -> anyhow::Result<()> {
    Web::new(base, ca)?.submit("/portal/activate", fields).await
}

/// The text of a page's alert, after ": ", or nothing.
fn alert(page: &str) -> String {
    page.split("role=\"alert\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(|text| format!(": {text}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_token_is_read_from_its_hidden_field() {
        let page = "<form><input type=\"hidden\" name=\"csrf\" value=\"abc123\"></form>";
        assert_eq!(form_token(page).as_deref(), Some("abc123"));
        assert_eq!(form_token("<form></form>"), None);
    }
}

//! [`ClinicalClient`]: the clinic's calls to the clinical record service, over mutual TLS
//! with the institution's certificate, every write signed (RFC 9421, keyid = the
//! certificate's serial), every clinical call under a practitioner's [`Session`].
//!
//! Retries: a call that changes nothing (a read, a search) and a document submission with
//! its [`SubmissionId`] (a conditional create: the service answers a repeat with the
//! document it stored first) are tried again, a bounded number of times, when the service
//! could not be reached, did not answer in time or said 502/503/504. Every other write is
//! tried once: sent again after a lost answer it could act twice (a referral consumed, an
//! encounter opened twice), so its caller is told instead.

use std::time::Duration;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE, IF_MATCH};
use http::{HeaderMap, Method};
use medgate_ids::{InstitutionId, Taj};
use medgate_pki::Password;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::model::{
    DocumentContent, DocumentList, DocumentSubmission, FhirResource, HistoryEntry, NewEncounter,
    NewReferral, ProfileKind, Session, Submitted, BREAK_GLASS_HEADER,
};
use super::{ClinicalClientError, InstitutionCredentials};
use crate::transport::{error_chain, mutual_tls_client, signed_request, TlsSetupError};

/// The media type of FHIR JSON.
pub const FHIR_JSON: &str = "application/fhir+json";

/// How the client waits and retries.
#[derive(Clone, Copy, Debug)]
pub struct ClinicalOptions {
    /// The limit of one attempt (connection and answer).
    pub timeout: Duration,
    /// How many times a retryable call is tried in all (at least 1).
    pub attempts: u32,
    /// The pause before the second attempt; it doubles for each further one.
    pub pause: Duration,
}

impl Default for ClinicalOptions {
    fn default() -> Self {
        ClinicalOptions {
            timeout: Duration::from_secs(15),
            attempts: 3,
            pause: Duration::from_millis(500),
        }
    }
}

/// Whether a call may be sent again after a lost answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    Safe,
    Never,
}

/// One call: what is sent.
struct Call<'a> {
    method: Method,
    path: String,
    session: Option<&'a Session>,
    body: Option<Vec<u8>>,
    headers: Vec<(HeaderName, String)>,
    retry: Retry,
}

impl<'a> Call<'a> {
    fn new(method: Method, path: impl Into<String>, session: Option<&'a Session>) -> Self {
        let retry = if method == Method::GET {
            Retry::Safe
        } else {
            Retry::Never
        };
        Call {
            method,
            path: path.into(),
            session,
            body: None,
            headers: Vec::new(),
            retry,
        }
    }

    fn json(mut self, value: &Value) -> Self {
        self.body = Some(value.to_string().into_bytes());
        self
    }

    /// A signed write without content (DELETE, an operation).
    fn empty(mut self) -> Self {
        self.body = Some(Vec::new());
        self
    }

    fn header(mut self, name: HeaderName, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn break_glass(self, reason: Option<&str>) -> Self {
        match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(reason) => self.header(HeaderName::from_static(BREAK_GLASS_HEADER), reason),
            None => self,
        }
    }
}

/// A 2xx answer.
struct Answer {
    status: u16,
    body: bytes::Bytes,
}

/// The clinic's client of the clinical record service, for one institution.
pub struct ClinicalClient {
    http: reqwest::Client,
    base: url::Url,
    credentials: InstitutionCredentials,
    options: ClinicalOptions,
}

impl ClinicalClient {
    /// Prepares mutual TLS to the service at `service_url` (`https://host:port`, the FHIR
    /// base being `<url>/fhir`) with the institution's checked credentials, trusting only
    /// the service's CA.
    pub fn new(
        service_url: &url::Url,
        credentials: InstitutionCredentials,
        options: ClinicalOptions,
    ) -> Result<Self, ClinicalClientError> {
        let setup = ClinicalClientError::Setup;
        if service_url.scheme() != "https" {
            return Err(setup(format!(
                "the clinical record service URL {service_url} must start with https://"
            )));
        }
        if options.attempts == 0 || options.timeout.is_zero() {
            return Err(setup(
                "the client needs at least one attempt and a time limit above 0".to_owned(),
            ));
        }
        let http = mutual_tls_client(
            std::slice::from_ref(credentials.service_ca()),
            std::slice::from_ref(credentials.certificate()),
            credentials.key(),
            options.timeout,
        )
        .map_err(|error| match error {
            TlsSetupError::TrustAnchor(e) => setup(format!("the service's CA is not usable: {e}")),
            TlsSetupError::ClientCertificate(e) => {
                setup(format!("the institution certificate is not usable: {e}"))
            }
            TlsSetupError::Client(e) => setup(e),
        })?;
        let mut base = service_url.clone();
        let path = format!("{}/fhir/", base.path().trim_end_matches('/'));
        base.set_path(&path);
        base.set_query(None);
        Ok(ClinicalClient {
            http,
            base,
            credentials,
            options,
        })
    }

    /// The institution this client acts for.
    pub fn institution(&self) -> &InstitutionId {
        self.credentials.institution()
    }

    /// The credentials the client presents.
    pub fn credentials(&self) -> &InstitutionCredentials {
        &self.credentials
    }

    /// The FHIR base URL (`…/fhir/`).
    pub fn fhir_base(&self) -> &url::Url {
        &self.base
    }

    /// Signs a practitioner in with the service password and the code their TOTP token
    /// shows: a session of 7 hours. Tried once (a code is good for one sign-in).
    pub async fn login(
        &self,
        user_name: &str,
        password: &Password,
        code: &str,
    ) -> Result<Session, ClinicalClientError> {
        let body = json!({
            "userName": user_name,
            "password": password.expose(),
            "code": code.trim(),
        });
        let answer = self
            .call(Call::new(Method::POST, "$login", None).json(&body))
            .await?;
        let value = self.parse(&answer)?;
        let token = value["token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.bad_answer("the sign-in answer has no token"))?;
        let expires_at = value["expiresAt"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
            .ok_or_else(|| self.bad_answer("the sign-in answer has no expiresAt"))?;
        Ok(Session::resume(
            token.to_owned(),
            user_name.to_owned(),
            self.institution().clone(),
            expires_at,
        ))
    }

    /// Ends the session at the service.
    pub async fn logout(&self, session: &Session) -> Result<(), ClinicalClientError> {
        self.call(Call::new(Method::POST, "$logout", Some(session)).empty())
            .await
            .map(drop)
    }

    /// Opens an encounter (the event catalogue).
    pub async fn open_encounter(
        &self,
        session: &Session,
        encounter: &NewEncounter,
    ) -> Result<FhirResource, ClinicalClientError> {
        let body = encounter.to_fhir()?;
        self.resource(Call::new(Method::POST, "Encounter", Some(session)).json(&body))
            .await
    }

    /// Closes an encounter now.
    pub async fn close_encounter(
        &self,
        session: &Session,
        id: &str,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("Encounter/{}/$close", segment(id)?);
        self.resource(Call::new(Method::POST, path, Some(session)).empty())
            .await
    }

    /// Reads an encounter.
    pub async fn encounter(
        &self,
        session: &Session,
        id: &str,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("Encounter/{}", segment(id)?);
        self.resource(Call::new(Method::GET, path, Some(session)))
            .await
    }

    /// Submits a document as a conditional create on its identifier: sent again (here, on
    /// a lost answer, or by the caller later) it is stored once.
    pub async fn submit_document(
        &self,
        session: &Session,
        document: &DocumentSubmission,
    ) -> Result<Submitted, ClinicalClientError> {
        let mut call = Call::new(Method::POST, "DocumentReference", Some(session))
            .json(&document.to_fhir())
            .header(
                HeaderName::from_static("if-none-exist"),
                document.if_none_exist(),
            );
        call.retry = Retry::Safe;
        let answer = self.call(call).await?;
        Ok(Submitted {
            created: answer.status == 201,
            document: FhirResource::new(self.parse(&answer)?),
        })
    }

    /// A patient's documents across all institutions, newest first; with a `break_glass`
    /// reason also those the patient restricted (the override is logged and shown to the
    /// patient).
    pub async fn patient_documents(
        &self,
        session: &Session,
        patient: &Taj,
        break_glass: Option<&str>,
    ) -> Result<DocumentList, ClinicalClientError> {
        let path = format!("DocumentReference?patient={patient}");
        let bundle = self
            .json(Call::new(Method::GET, path, Some(session)).break_glass(break_glass))
            .await?;
        let withheld = bundle_entries(&bundle)
            .filter(|entry| entry["search"]["mode"] == "outcome")
            .find_map(|entry| entry["resource"]["issue"][0]["diagnostics"].as_str())
            .map(str::to_owned);
        Ok(DocumentList {
            documents: matches(&bundle),
            withheld,
        })
    }

    /// A document's DocumentReference.
    pub async fn document(
        &self,
        session: &Session,
        id: &str,
        break_glass: Option<&str>,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("DocumentReference/{}", segment(id)?);
        self.resource(Call::new(Method::GET, path, Some(session)).break_glass(break_glass))
            .await
    }

    /// A document's content, from its Binary.
    pub async fn document_content(
        &self,
        session: &Session,
        id: &str,
        break_glass: Option<&str>,
    ) -> Result<DocumentContent, ClinicalClientError> {
        use base64::Engine as _;
        let path = format!("Binary/{}", segment(id)?);
        let binary = self
            .json(Call::new(Method::GET, path, Some(session)).break_glass(break_glass))
            .await?;
        let data = binary["data"]
            .as_str()
            .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
            .ok_or_else(|| self.bad_answer("the Binary has no base64 data"))?;
        Ok(DocumentContent {
            content_type: binary["contentType"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            data,
        })
    }

    /// A patient's profile entries of one kind, newest first.
    pub async fn profile_entries(
        &self,
        session: &Session,
        kind: ProfileKind,
        patient: &Taj,
    ) -> Result<Vec<FhirResource>, ClinicalClientError> {
        let path = format!("{}?patient={patient}", kind.as_str());
        let bundle = self
            .json(Call::new(Method::GET, path, Some(session)))
            .await?;
        Ok(matches(&bundle))
    }

    /// Reads a profile entry.
    pub async fn profile_entry(
        &self,
        session: &Session,
        kind: ProfileKind,
        id: &str,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("{}/{}", kind.as_str(), segment(id)?);
        self.resource(Call::new(Method::GET, path, Some(session)))
            .await
    }

    /// Adds a profile entry (`resource` is FHIR JSON of `kind`, see [`ProfileKind::entry`]).
    pub async fn create_profile_entry(
        &self,
        session: &Session,
        kind: ProfileKind,
        resource: &Value,
    ) -> Result<FhirResource, ClinicalClientError> {
        check_type(kind, resource)?;
        self.resource(Call::new(Method::POST, kind.as_str(), Some(session)).json(resource))
            .await
    }

    /// Changes a profile entry: a new version, made only if `based_on` is still the
    /// current one (`If-Match`); otherwise the service refuses with a version conflict.
    pub async fn update_profile_entry(
        &self,
        session: &Session,
        kind: ProfileKind,
        id: &str,
        resource: &Value,
        based_on: u64,
    ) -> Result<FhirResource, ClinicalClientError> {
        check_type(kind, resource)?;
        let mut resource = resource.clone();
        resource["id"] = json!(id);
        let path = format!("{}/{}", kind.as_str(), segment(id)?);
        self.resource(
            Call::new(Method::PUT, path, Some(session))
                .json(&resource)
                .header(IF_MATCH, format!("W/\"{based_on}\"")),
        )
        .await
    }

    /// Deletes a profile entry (the service allows it to the institution that created it).
    pub async fn delete_profile_entry(
        &self,
        session: &Session,
        kind: ProfileKind,
        id: &str,
    ) -> Result<(), ClinicalClientError> {
        let path = format!("{}/{}", kind.as_str(), segment(id)?);
        self.call(Call::new(Method::DELETE, path, Some(session)).empty())
            .await
            .map(drop)
    }

    /// Every version of a profile entry, newest first.
    pub async fn profile_history(
        &self,
        session: &Session,
        kind: ProfileKind,
        id: &str,
    ) -> Result<Vec<HistoryEntry>, ClinicalClientError> {
        let path = format!("{}/{}/_history", kind.as_str(), segment(id)?);
        let bundle = self
            .json(Call::new(Method::GET, path, Some(session)))
            .await?;
        Ok(bundle_entries(&bundle)
            .map(|entry| {
                let deleted = entry["request"]["method"] == "DELETE";
                let resource = (!deleted && entry["resource"].is_object())
                    .then(|| FhirResource::new(entry["resource"].clone()));
                HistoryEntry {
                    version: resource.as_ref().and_then(FhirResource::version),
                    deleted,
                    last_modified: entry["response"]["lastModified"]
                        .as_str()
                        .map(str::to_owned),
                    resource,
                }
            })
            .collect())
    }

    /// Issues a referral.
    pub async fn issue_referral(
        &self,
        session: &Session,
        referral: &NewReferral,
    ) -> Result<FhirResource, ClinicalClientError> {
        let body = referral.to_fhir()?;
        self.resource(Call::new(Method::POST, "ServiceRequest", Some(session)).json(&body))
            .await
    }

    /// A patient's referrals, newest first.
    pub async fn patient_referrals(
        &self,
        session: &Session,
        patient: &Taj,
    ) -> Result<Vec<FhirResource>, ClinicalClientError> {
        let path = format!("ServiceRequest?patient={patient}");
        let bundle = self
            .json(Call::new(Method::GET, path, Some(session)))
            .await?;
        Ok(matches(&bundle))
    }

    /// A referral by its id (`None` when the service has none such).
    pub async fn referral(
        &self,
        session: &Session,
        id: &str,
    ) -> Result<Option<FhirResource>, ClinicalClientError> {
        let path = format!("ServiceRequest?_id={}", urlencoding::encode(id));
        let bundle = self
            .json(Call::new(Method::GET, path, Some(session)))
            .await?;
        Ok(matches(&bundle).into_iter().next())
    }

    /// Consumes a referral (once: a second use is refused).
    pub async fn consume_referral(
        &self,
        session: &Session,
        id: &str,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("ServiceRequest/{}/$consume", segment(id)?);
        self.resource(Call::new(Method::POST, path, Some(session)).empty())
            .await
    }

    /// Cancels a referral (its issuer).
    pub async fn cancel_referral(
        &self,
        session: &Session,
        id: &str,
    ) -> Result<FhirResource, ClinicalClientError> {
        let path = format!("ServiceRequest/{}/$cancel", segment(id)?);
        self.resource(Call::new(Method::POST, path, Some(session)).empty())
            .await
    }

    async fn resource(&self, call: Call<'_>) -> Result<FhirResource, ClinicalClientError> {
        self.json(call).await.map(FhirResource::new)
    }

    async fn json(&self, call: Call<'_>) -> Result<Value, ClinicalClientError> {
        let answer = self.call(call).await?;
        self.parse(&answer)
    }

    fn parse(&self, answer: &Answer) -> Result<Value, ClinicalClientError> {
        serde_json::from_slice(&answer.body)
            .map_err(|e| self.bad_answer(&format!("status {}, not JSON: {e}", answer.status)))
    }

    fn bad_answer(&self, detail: &str) -> ClinicalClientError {
        ClinicalClientError::BadAnswer {
            url: self.base.to_string(),
            detail: detail.to_owned(),
        }
    }

    /// Sends `call`, signed when it has a body, trying again as its [`Retry`] allows;
    /// answers a 2xx or the service's refusal.
    async fn call(&self, call: Call<'_>) -> Result<Answer, ClinicalClientError> {
        if let Some(session) = call.session {
            if session.has_ended(OffsetDateTime::now_utc()) {
                return Err(ClinicalClientError::SessionEnded {
                    detail: format!(
                        "the session of {} ended at {}",
                        session.user_name, session.expires_at
                    ),
                });
            }
        }
        let url = self.base.join(&call.path).map_err(|e| {
            ClinicalClientError::Setup(format!("bad request path '{}': {e}", call.path))
        })?;
        let mut headers = HeaderMap::new();
        headers.insert(http::header::ACCEPT, HeaderValue::from_static(FHIR_JSON));
        if call.body.as_ref().is_some_and(|b| !b.is_empty()) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        }
        if let Some(session) = call.session {
            headers.insert(
                AUTHORIZATION,
                header_value(&format!("Bearer {}", session.token()))?,
            );
        }
        for (name, value) in &call.headers {
            headers.insert(name.clone(), header_value(value)?);
        }
        let attempts = match call.retry {
            Retry::Safe => self.options.attempts,
            Retry::Never => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.attempt(&call, &url, headers.clone(), attempt).await;
            match outcome {
                Err(error) if error.is_transient() && attempt < attempts => {
                    let pause = self.options.pause * 2u32.saturating_pow(attempt - 1);
                    tracing::warn!(url = %url, attempt, "clinical record service: {error}; trying again");
                    tokio::time::sleep(pause).await;
                }
                other => return other,
            }
        }
    }

    async fn attempt(
        &self,
        call: &Call<'_>,
        url: &url::Url,
        headers: HeaderMap,
        attempt: u32,
    ) -> Result<Answer, ClinicalClientError> {
        let request = match &call.body {
            Some(body) => signed_request(
                &self.http,
                call.method.clone(),
                url,
                headers,
                Some(body.clone()),
                self.credentials.key(),
                self.credentials.serial_hex(),
            )
            .map_err(ClinicalClientError::Setup)?,
            None => self
                .http
                .request(call.method.clone(), url.clone())
                .headers(headers),
        };
        let response = request
            .send()
            .await
            .map_err(|e| self.explain(&e, attempt))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.explain(&e, attempt))?;
        if (200..300).contains(&status) {
            return Ok(Answer { status, body });
        }
        Err(refusal(self.base.as_str(), status, &body, attempt))
    }

    /// Sorts a transport failure into what the clinic must be told.
    fn explain(&self, error: &reqwest::Error, attempts: u32) -> ClinicalClientError {
        let url = self.base.to_string();
        if error.is_timeout() {
            return ClinicalClientError::Timeout {
                url,
                timeout_ms: u64::try_from(self.options.timeout.as_millis()).unwrap_or(u64::MAX),
                attempts,
            };
        }
        classify(url, &error_chain(error), attempts)
    }
}

/// The service's refusal: a FHIR OperationOutcome (the code in its details, the text in
/// its diagnostics) or a JSON error (`code`, `message`).
fn refusal(url: &str, status: u16, body: &[u8], attempts: u32) -> ClinicalClientError {
    let value: Option<Value> = serde_json::from_slice(body).ok();
    let found = value.as_ref().and_then(|value| {
        if value["resourceType"] == "OperationOutcome" {
            let issue = &value["issue"][0];
            let code = issue["details"]["coding"][0]["code"]
                .as_str()
                .or_else(|| issue["code"].as_str())?;
            let message = issue["diagnostics"]
                .as_str()
                .or_else(|| issue["details"]["text"].as_str())?;
            Some((code.to_owned(), message.to_owned()))
        } else {
            Some((
                value["code"].as_str()?.to_owned(),
                value["message"].as_str()?.to_owned(),
            ))
        }
    });
    if matches!(status, 502..=504) {
        return ClinicalClientError::Unavailable {
            url: url.to_owned(),
            status,
            attempts,
        };
    }
    match found {
        Some((code, message))
            if status == 401
                && code.starts_with("session_")
                && code != "session_of_another_institution" =>
        {
            ClinicalClientError::SessionEnded { detail: message }
        }
        Some((code, message)) => ClinicalClientError::Refused {
            status,
            code,
            message,
        },
        None => ClinicalClientError::BadAnswer {
            url: url.to_owned(),
            detail: format!(
                "status {status}: {}",
                String::from_utf8_lossy(body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ),
        },
    }
}

/// Sorts the text of a transport error chain.
fn classify(url: String, chain: &str, attempts: u32) -> ClinicalClientError {
    let last = chain.rsplit(": ").next().unwrap_or(chain).to_owned();
    let lower = chain.to_ascii_lowercase();
    if lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
        || lower.contains("unknown issuer")
        || lower.contains("notvalidforname")
    {
        ClinicalClientError::ServerNotTrusted { url, detail: last }
    } else if lower.contains("alert") || lower.contains("certificaterequired") {
        ClinicalClientError::CertificateRefused { url, detail: last }
    } else {
        let cause = if lower.contains("connection refused") {
            "connection refused".to_owned()
        } else if lower.contains("dns error") || lower.contains("failed to lookup") {
            "the host name cannot be resolved".to_owned()
        } else {
            last
        };
        ClinicalClientError::Unreachable {
            url,
            cause,
            attempts,
        }
    }
}

fn header_value(text: &str) -> Result<HeaderValue, ClinicalClientError> {
    HeaderValue::from_str(text).map_err(|_| {
        ClinicalClientError::Setup(
            "a header value holds characters HTTP headers cannot carry (use plain text)".to_owned(),
        )
    })
}

/// A resource id as one path segment: FHIR ids are `[A-Za-z0-9.-]{1,64}`.
fn segment(id: &str) -> Result<&str, ClinicalClientError> {
    let id = id.trim();
    let valid = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if valid {
        Ok(id)
    } else {
        Err(ClinicalClientError::Setup(format!(
            "'{}' is not a FHIR resource id (1 to 64 letters, digits, '-' or '.')",
            id.chars().take(80).collect::<String>()
        )))
    }
}

fn check_type(kind: ProfileKind, resource: &Value) -> Result<(), ClinicalClientError> {
    match resource["resourceType"].as_str() {
        Some(declared) if declared == kind.as_str() => Ok(()),
        declared => Err(ClinicalClientError::Setup(format!(
            "the entry is a {} where a {} is expected",
            declared.unwrap_or("resource without resourceType"),
            kind.as_str()
        ))),
    }
}

fn bundle_entries(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"].as_array().into_iter().flatten()
}

/// The resources of a searchset Bundle's matches.
fn matches(bundle: &Value) -> Vec<FhirResource> {
    bundle_entries(bundle)
        .filter(|entry| entry["search"]["mode"] != "outcome")
        .filter(|entry| entry["resource"].is_object())
        .map(|entry| FhirResource::new(entry["resource"].clone()))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_name_the_service_url() {
        let url = "https://127.0.0.1:9/fhir/".to_owned();
        let refused = classify(
            url.clone(),
            "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
            3,
        );
        assert_eq!(
            refused.to_string(),
            "the clinical record service at https://127.0.0.1:9/fhir/ cannot be reached (connection refused); tried 3 time(s)"
        );
        assert!(refused.is_transient());
        let revoked = classify(
            url.clone(),
            "connection error: received fatal alert: CertificateRevoked",
            1,
        );
        assert!(matches!(
            revoked,
            ClinicalClientError::CertificateRefused { .. }
        ));
        assert!(!revoked.is_transient());
        let untrusted = classify(url, "invalid peer certificate: UnknownIssuer", 1);
        assert!(matches!(
            untrusted,
            ClinicalClientError::ServerNotTrusted { .. }
        ));
    }

    #[test]
    fn refusals_carry_the_services_words() {
        let url = "https://127.0.0.1:9/fhir/";
        let outcome = json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "error", "code": "forbidden",
                        "details": { "coding": [{ "code": "not_owner" }] },
                        "diagnostics": "Only institution 506097 may delete Condition/x." }]
        });
        let error = refusal(url, 403, outcome.to_string().as_bytes(), 1);
        assert_eq!(error.code(), Some("not_owner"));
        assert_eq!(
            error.to_string(),
            "Only institution 506097 may delete Condition/x (403 not_owner)"
        );
        let expired = json!({ "code": "session_expired", "message": "The session expired." });
        let error = refusal(url, 401, expired.to_string().as_bytes(), 1);
        assert!(matches!(error, ClinicalClientError::SessionEnded { .. }));
        assert_eq!(
            error.to_string(),
            "the practitioner's session ended; sign in again"
        );
        let wrong =
            json!({ "code": "wrong_credentials", "message": "Wrong user name or password." });
        assert_eq!(
            refusal(url, 401, wrong.to_string().as_bytes(), 1).code(),
            Some("wrong_credentials")
        );
        let proxy = refusal(url, 503, b"<html>busy</html>", 3);
        assert!(proxy.is_transient(), "{proxy}");
        assert!(proxy.to_string().contains("HTTP 503"), "{proxy}");
    }

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert!(segment("0a1b-2c.3").is_ok());
        assert!(segment("../Patient").is_err());
        assert!(segment("a?b").is_err());
        assert!(segment("").is_err());
    }
}

//! What every API handler shares: the request as authentication needs it ([`Incoming`]),
//! the audit entry of an action, and how times are written in JSON.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::state::AppState;
use crate::PeerInfo;

/// Everything a handler may need to authenticate a request.
pub struct Incoming {
    pub peer: PeerInfo,
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
}

impl Incoming {
    /// A reading caller: TLS certificate and account checks.
    pub async fn caller(&self, state: &AppState) -> Result<Caller, ApiError> {
        auth::authenticate(state, &self.peer, &self.headers).await
    }

    /// A writing caller: as [`Incoming::caller`], plus a valid signature by the account's
    /// WSS key over this request and `body`.
    pub async fn signed_caller(&self, state: &AppState, body: &Bytes) -> Result<Caller, ApiError> {
        let caller = self.caller(state).await?;
        let wss = auth::active_wss(state, &caller.tenant.id).await?;
        auth::verify_signature(state, &wss, &self.method, &self.uri, &self.headers, body).await?;
        Ok(caller)
    }

    /// [`Incoming::signed_caller`] for a body that was streamed to disk: the signature and
    /// `Content-Digest` are checked against the digests computed while it arrived.
    pub async fn signed_caller_digested(
        &self,
        state: &AppState,
        body: &medgate_httpsig::BodyDigests,
    ) -> Result<Caller, ApiError> {
        let caller = self.caller(state).await?;
        let wss = auth::active_wss(state, &caller.tenant.id).await?;
        auth::verify_signature_digested(state, &wss, &self.method, &self.uri, &self.headers, body)
            .await?;
        Ok(caller)
    }
}

/// Extracts [`Incoming`] in handlers.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Incoming {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<PeerInfo>()
            .cloned()
            .ok_or_else(ApiError::client_certificate_required)?;
        Ok(Incoming {
            peer,
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
        })
    }
}

/// RFC 3339 text of a time, as every JSON answer shows times.
pub fn rfc3339(time: time::OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Appends an audit entry for an action of `caller`; the request fails if the audit log
/// cannot be written, because an unrecorded access must not happen. For an action that
/// concerns one patient use [`audit_patient`].
pub async fn audit(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    audit_patient(state, caller, action, target, None, details).await
}

/// Like [`audit`], for an action that concerns a patient (a read of their document, a search
/// by their identifier, a consent for them): `patient` is the patient identifier's value
/// alone (e.g. the PESEL, without the OID), which the patient's access log
/// (`GET /api/v1/audit?patient=…`, the portal) is looked up by. `None` is the same as
/// [`audit`].
pub async fn audit_patient(
    state: &AppState,
    caller: &Caller,
    action: &str,
    target: &str,
    patient: Option<&str>,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&caller.actor().entry(action, target, patient, details))
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}

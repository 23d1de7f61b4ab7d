//! Browser sessions. Signing in makes a random 32-byte token (base64url in the cookie); the
//! database keeps only its SHA-256, so a copy of the database signs nobody in. The cookie is
//! `__Host-medgate_session` with `Secure; HttpOnly; SameSite=Strict; Path=/` and no `Domain`.
//! A session ends at sign-out, after a period without requests (idle expiry) and at a fixed
//! time after sign-in (absolute expiry), whichever comes first; every request checks both in
//! the database, so ending a session takes effect at once on every node.

use axum::http::HeaderMap;
use base64::Engine;
use medgate_ids::TenantId;
use medgate_storage::{NewWebSession, Sha256Digest, WebSession, WebSessionKind};
use time::OffsetDateTime;

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name: `__Host-`, so browsers take it only from this origin with
/// `Secure`, `Path=/` and no `Domain` (a sibling host cannot set or shadow it).
pub const COOKIE: &str = "__Host-medgate_session";

/// How long a session of a kind lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends after this long without a request.
    pub idle: time::Duration,
    /// Ends this long after sign-in, however active.
    pub absolute: time::Duration,
}

/// Patients: 30 minutes idle, 8 hours at most.
pub const PATIENT: SessionPolicy = SessionPolicy {
    idle: time::Duration::minutes(30),
    absolute: time::Duration::hours(8),
};

fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ApiError::internal("session token", &"the system random source failed"))?;
    Ok(bytes)
}

/// The stored form of a token.
fn token_hash(token: &str) -> Sha256Digest {
    Sha256Digest::of(token.as_bytes())
}

/// A session just started: the stored record and the `Set-Cookie` value that hands its
/// token to the browser.
pub struct Started {
    pub session: WebSession,
    pub set_cookie: String,
}

/// Starts a session for `principal` (for a patient: `root^extension`).
pub async fn start(
    state: &AppState,
    kind: WebSessionKind,
    tenant: Option<TenantId>,
    principal: String,
    policy: SessionPolicy,
) -> Result<Started, ApiError> {
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random::<32>()?);
    let created_at = now();
    let record = NewWebSession {
        token_hash: token_hash(&token),
        kind,
        tenant,
        principal,
        csrf_secret: hex::encode(random::<32>()?),
        created_at,
        expires_at: created_at + policy.absolute,
    };
    state
        .metadata
        .create_web_session(&record)
        .await
        .map_err(|e| ApiError::internal("storing a web session", &e))?;
    let set_cookie = format!(
        "{COOKIE}={token}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
        policy.absolute.whole_seconds()
    );
    Ok(Started {
        session: WebSession {
            token_hash: record.token_hash,
            kind: record.kind,
            tenant: record.tenant,
            principal: record.principal,
            csrf_secret: record.csrf_secret,
            created_at,
            expires_at: record.expires_at,
            last_seen_at: created_at,
        },
        set_cookie,
    })
}

/// What the request's session cookie says.
pub enum Current {
    /// No session cookie was sent.
    None,
    /// A cookie was sent but names no live session of this kind (expired, signed out, or
    /// forged).
    Ended,
    Live(WebSession),
}

/// The live session of `kind` the request carries, marked as seen now.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
    kind: WebSessionKind,
    policy: SessionPolicy,
) -> Result<Current, ApiError> {
    let Some(token) = crate::request::cookie(headers, COOKIE).filter(|token| !token.is_empty()) else {
        return Ok(Current::None);
    };
    let session = state
        .metadata
        .touch_web_session(&token_hash(&token), policy.idle, now())
        .await
        .map_err(|e| ApiError::internal("reading a web session", &e))?;
    Ok(match session {
        Some(session) if session.kind == kind => Current::Live(session),
        _ => Current::Ended,
    })
}

/// Ends the request's session, if it has one; returns the `Set-Cookie` value that clears
/// the cookie in the browser.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(token) = crate::request::cookie(headers, COOKIE).filter(|token| !token.is_empty()) {
        state
            .metadata
            .delete_web_session(&token_hash(&token))
            .await
            .map_err(|e| ApiError::internal("ending a web session", &e))?;
    }
    Ok(clear_cookie())
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

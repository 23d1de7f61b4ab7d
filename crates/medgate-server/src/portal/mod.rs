//! The patient portal (SPEC §5): a patient activates the account the clinic created when it
//! sent a consent (one-time code + new password), signs in with the clinic id, their PESEL
//! and password, and sees exactly the documents shared with them by sent consents whose
//! dates include today — listed, opened rendered, and the access log of their documents.
//!
//! Nothing is cached: every page asks the database which consents are in force at this
//! moment, so a revocation or the end of a consent's dates hides its documents on the next
//! request. A document not shared right now gets the same 404 page whether it exists, belongs
//! to another patient or another clinic. Every page view, document open, sign-in and
//! sign-out is in the audit log with the patient, so it shows in the patient's access log.
//!
//! The sign-in, activation and sign-out are the web foundation's flow for every desk
//! (`medgate_web::desk::signin`) with the patients' accounts of [`accounts`].

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use medgate_ids::{Oid, TenantId};
use medgate_storage::{NewAuditEntry, PatientIdentifier, WebSession, WebSessionKind};

use medgate_web::desk::{
    expired, signin, Desk, DeskUser, Frame, PageError, PageResult, SignedInHeader, Tab,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Msg;
use medgate_web::layout::{message, MessageKind};
use medgate_web::session;
use medgate_web::state::AppState;
use medgate_web::WebRequest;

mod access_log;
mod accounts;
mod documents;

/// The session kind of the patients' desk.
pub const PATIENT_SESSION: WebSessionKind = WebSessionKind::new("patient");

/// The patients' desk.
pub const PATIENT: Desk = Desk {
    kind: PATIENT_SESSION,
    base: "/portal",
    home: "/portal/documents",
    policy: session::PATIENT,
    site: |lang| Msg::PortalTitle.text(lang),
    langs: medgate_web::i18n::Lang::POLISH_DESK,
    tabs: &[
        Tab { href: "/portal/documents", label: |lang| Msg::Documents.text(lang) },
        Tab { href: "/portal/access-log", label: |lang| Msg::AccessLog.text(lang) },
    ],
    audit_prefix: "portal",
    sign_in_intro: |lang| Msg::SignInIntro.text(lang),
    sign_in_failed: |lang| Msg::SignInFailed.text(lang),
};

/// The portal's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&PATIENT, &accounts::PatientAccounts))
        .route("/portal/documents", get(documents::list))
        .route("/portal/documents/{id}", get(documents::open))
        .route("/portal/access-log", get(access_log::page))
}

/// The principal of a patient session and the actor of the patient's own audit entries.
pub fn principal(patient: &PatientIdentifier) -> String {
    format!("{}^{}", patient.root, patient.extension)
}

fn actor(patient: &PatientIdentifier) -> String {
    format!("patient:{}", principal(patient))
}

fn parse_principal(text: &str) -> Option<PatientIdentifier> {
    let (root, extension) = text.split_once('^')?;
    Some(PatientIdentifier {
        root: Oid::parse(root).ok()?,
        extension: extension.to_owned(),
    })
}

/// Appends an audit entry of the patient's own action; the page fails if it cannot.
async fn audit(
    state: &AppState,
    request: &WebRequest,
    tenant: &TenantId,
    patient: &PatientIdentifier,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ApiError> {
    state
        .metadata
        .append_audit(&NewAuditEntry {
            tenant: Some(tenant.clone()),
            actor: actor(patient),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: request.origin(),
            details,
            patient: Some(patient.extension.clone()),
        })
        .await
        .map(|_| ())
        .map_err(|e| ApiError::internal("audit log", &e))
}

/// A page of the portal at `path` (for the language switch).
fn base_page(request: &WebRequest, title: &str, path: &str) -> Frame {
    let mut frame = Frame::new(&PATIENT, request, title);
    frame.path = path.to_owned();
    frame
}

/// A page of the portal for a signed-in patient: the header names them and has the
/// sign-out button, the tabs lead to the documents and the access log.
fn patient_page(request: &WebRequest, patient: &Patient, title: &str, path: &str) -> Frame {
    let mut frame = base_page(request, title, path);
    frame.signed_in = Some(SignedInHeader {
        who: patient.who(),
        csrf_secret: patient.session.csrf_secret.clone(),
    });
    frame
}

/// A signed-in patient.
pub struct Patient {
    session: WebSession,
    tenant: TenantId,
    patient: PatientIdentifier,
}

impl Patient {
    /// The identifier as the header shows it.
    fn who(&self) -> String {
        let label = if self.patient.root.as_str() == medgate_ids::Pesel::OID {
            "PESEL"
        } else {
            "ID"
        };
        format!("{label} {}", self.patient.extension)
    }
}

impl DeskUser for Patient {
    const DESK: &'static Desk = &PATIENT;

    /// The patient of a live session, while the clinic's account can be used.
    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        live: WebSession,
    ) -> PageResult<Patient> {
        let (Some(tenant_id), Some(patient)) =
            (live.tenant.clone(), parse_principal(&live.principal))
        else {
            session::end(state, &request.headers).await?;
            return Err(PageError::answer(expired(&PATIENT, &[session::clear_cookie()])));
        };
        let tenant = state
            .metadata
            .get_tenant(&tenant_id)
            .await
            .map_err(|e| ApiError::internal("tenant lookup", &e))?;
        if tenant.is_none_or(|tenant| medgate_web::auth::account_usable(&tenant).is_err()) {
            let cookie = session::end(state, &request.headers).await?;
            let lang = request.lang;
            let mut page = base_page(request, Msg::ErrorTitle.text(lang), "/portal");
            page.status = StatusCode::FORBIDDEN;
            page.body = message(MessageKind::Error, Msg::AccountUnavailable.text(lang));
            page.cookies.push(cookie);
            return Err(PageError::answer(page.into_response()));
        }
        Ok(Patient {
            session: live,
            tenant: tenant_id,
            patient,
        })
    }
}

//! The clinic's side of the clinical record service, on a repository node (the node acts for
//! the account's institution): the administrator's settings page (`/admin/clinical-service`)
//! and the practitioners' desk (`/practice`, Hungarian and English); and the service's own
//! patients' portal ([`portal`], `/portal` on a node of `--role clinical`).
//!
//! | module | owns |
//! |---|---|
//! | [`operator`] | on the service's own node: the operator's pages (`/operator`, Hungarian and English) |
//! | [`settings`] | service URL and CA, the institution's PKCS#12 opened with its one-time code, institution, units, practitioners |
//! | [`desk`] | the practitioners' sign-in (service user name, password, TOTP code; the service session kept 7 hours) and sign-out |
//! | [`patient`] | a patient found by TAJ: encounters, documents (break-glass), profile, referrals |
//! | `service` | the node's calls to the service with the account's institution credentials (`medgate_client::clinical`) |
//! | `summary` | the PDF of an encounter's summary, submitted when it is closed |
//! | `words` | the desk's and the portal's words in Hungarian and English |
//! | [`portal`] | the patients' portal of the service itself (`/portal` on `--role clinical`): documents, profile with history, referrals, access log, restrictions |
//!
//! The settings page is a page of the administrator's desk, which the foundation defines for
//! every module on it (`medgate_web::desk::admin`: `ADMIN`, `Admin`).

use axum::response::Response;
use axum::Router;
use medgate_storage::{ClinicPractitioner, ClinicalConnection, DeskSession, WebSession, WebSessionKind};
use medgate_web::desk::{expired, Desk, DeskUser, Frame, PageError, PageResult, SignedInHeader, Tab};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::session::{self, SessionPolicy};
use medgate_web::{AppState, Form, WebRequest};

pub mod desk;
pub mod operator;
pub mod patient;
pub mod portal;
mod service;
pub mod settings;
mod summary;
mod words;

use words::W;

/// The session kind of the practitioners' desk.
pub const PRACTITIONER_SESSION: WebSessionKind = WebSessionKind::new("practitioner");

/// How long the service keeps a practitioner's session (the seed's 7 hours), and so the
/// desk's session: signed in once, not asked again for the working day.
pub const SERVICE_SESSION: time::Duration = time::Duration::hours(7);

/// The practitioners' desk.
pub const PRACTICE: Desk = Desk {
    kind: PRACTITIONER_SESSION,
    base: "/practice",
    home: "/practice/patient",
    policy: SessionPolicy {
        idle: SERVICE_SESSION,
        absolute: SERVICE_SESSION,
    },
    site: |lang| W::Site.text(lang),
    langs: Lang::HUNGARIAN_DESK,
    tabs: &[
        Tab {
            href: "/practice/patient",
            label: |lang| W::NavPatient.text(lang),
        },
        Tab {
            href: "/practice/referrals",
            label: |lang| W::NavReferrals.text(lang),
        },
    ],
    audit_prefix: "practice",
    sign_in_intro: |lang| W::SignInIntro.text(lang),
    sign_in_failed: |lang| W::SignInFailed.text(lang),
};

/// A signed-in practitioner: the desk session (with the service's session token, read only
/// while it is valid), the account's connection and the practitioner as listed in it.
pub struct Practitioner {
    pub session: WebSession,
    pub desk: DeskSession,
    pub connection: ClinicalConnection,
    pub practitioner: ClinicPractitioner,
}

impl DeskUser for Practitioner {
    const DESK: &'static Desk = &PRACTICE;

    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        session: WebSession,
    ) -> PageResult<Practitioner> {
        let now = medgate_web::now();
        let desk = state
            .metadata
            .desk_session(&session.token_hash, now)
            .await
            .map_err(|e| ApiError::internal("reading a desk session", &e))?;
        let connection = match (&desk, &session.tenant) {
            (Some(_), Some(tenant)) => state
                .metadata
                .clinical_connection(tenant)
                .await
                .map_err(|e| ApiError::internal("reading the clinical connection", &e))?,
            _ => None,
        };
        // The practitioner must still be listed, under the institution they signed in for.
        let listed = connection.as_ref().and_then(|connection| {
            connection
                .practitioners
                .iter()
                .find(|p| p.user_name == session.principal)
                .cloned()
        });
        match (desk, connection, listed) {
            (Some(desk), Some(connection), Some(practitioner)) => Ok(Practitioner {
                session,
                desk,
                connection,
                practitioner,
            }),
            _ => {
                session::end(state, &request.headers).await?;
                Err(PageError::answer(expired(&PRACTICE, &[session::clear_cookie()])))
            }
        }
    }
}

impl Practitioner {
    /// The actor of this practitioner's audit entries on the node.
    pub fn actor(&self) -> String {
        format!(
            "{}:{}@{}",
            PRACTITIONER_SESSION, self.practitioner.user_name, self.connection.institution
        )
    }

    /// A frame of the desk with the header filled in.
    pub fn frame(&self, request: &WebRequest, title: impl Into<String>) -> Frame {
        let mut frame = Frame::new(&PRACTICE, request, title);
        frame.signed_in = Some(SignedInHeader {
            who: format!(
                "{} ({}) · {}",
                self.practitioner.name,
                self.practitioner.stamp_number.as_str(),
                self.connection.institution_name
            ),
            csrf_secret: self.session.csrf_secret.clone(),
        });
        frame
    }

    /// The POST's form when its token and origin are genuine; else the "form expired" page.
    pub fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        medgate_web::desk::genuine_form(request, body, &self.session.csrf_secret, || {
            self.forged(request)
        })
    }

    fn forged(&self, request: &WebRequest) -> Response {
        medgate_web::desk::frame::forged_page(self.frame(request, W::ErrorTitle.text(request.lang)))
    }

    /// Appends an audit entry of this practitioner's action (with the patient when it
    /// concerns one); the page fails if it cannot.
    pub async fn audit(
        &self,
        state: &AppState,
        request: &WebRequest,
        action: &str,
        target: &str,
        patient: Option<&str>,
        details: String,
    ) -> Result<(), ApiError> {
        state
            .metadata
            .append_audit(&medgate_storage::NewAuditEntry {
                tenant: Some(self.desk.tenant.clone()),
                actor: self.actor(),
                action: action.to_owned(),
                target: target.to_owned(),
                origin: request.origin(),
                details,
                patient: patient.map(str::to_owned),
            })
            .await
            .map(|_| ())
            .map_err(|e| ApiError::internal("audit log", &e))
    }
}

/// The desk's pages answer in Hungarian or English, whatever the Polish desks chose.
pub fn hungarian(request: WebRequest) -> WebRequest {
    request.speaking(PRACTICE.langs)
}

/// The clinical record service's own pages (a node of `--role clinical`): the operator's
/// pages and the patients' portal.
pub fn service_routes() -> Router<AppState> {
    operator::routes().merge(portal::routes())
}

/// The clinical module's pages on a repository node: the settings page and the desk.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(settings::router())
        .merge(desk::router())
        .merge(patient::router())
}

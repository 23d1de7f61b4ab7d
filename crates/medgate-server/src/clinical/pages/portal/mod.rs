//! The patients' portal of the clinical record service (`/portal` on a node of `--role
//! clinical`, Hungarian and English, issue 13 item 6): a patient whose account the operator
//! created (`medgate clinical patient add`, [`medgate_clinical::accounts`]) activates it with
//! the one-time code, signs in with TAJ and password, and sees their whole record across
//! institutions — documents (the DocumentReference's details, the content as a download, a
//! CDA also as text), the profile with every entry's versions, referrals with their status,
//! the access log (who read or changed what, when, for which institution, every break-glass
//! with its reason) — and sets or lifts restrictions (all documents, one institution's, one
//! document), in force on the FHIR API at once.
//!
//! | module | owns |
//! |---|---|
//! | this file | the desk ([`PORTAL`]), the signed-in patient, the accounts the foundation's sign-in flow uses |
//! | [`record`] | documents, profile with history, referrals |
//! | [`log`] | the access log, the restrictions |
//!
//! Every page is one domain call or a few (`medgate_clinical::patient`), each of which puts
//! a line in the patient's own access log and an entry in the hash chain. Another patient's
//! document or entry is the same 404 page as a missing one. Sign-in, activation, lock-out,
//! CSRF and sessions are the foundation's (`medgate_web::desk::signin`).

use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_clinical::{ClinicalError, PatientCaller};
use medgate_ids::Taj;
use medgate_storage::{ClinicalPatientAccount, WebSession, WebSessionKind};
use medgate_web::desk::signin::{self, Accounts, Credentials, Filled, Word};
use medgate_web::desk::{
    expired, Desk, DeskUser, Frame, PageError, PageResult, SignedInHeader, Tab,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, Input, MessageKind};
use medgate_web::session;
use medgate_web::{AppState, Form, WebRequest};
use time::OffsetDateTime;

use super::words::W;

mod log;
mod record;

/// The session kind of the patients' portal of the clinical service.
pub const PORTAL_SESSION: WebSessionKind = WebSessionKind::new("clinical-patient");

/// The patients' portal.
pub const PORTAL: Desk = Desk {
    kind: PORTAL_SESSION,
    base: "/portal",
    home: "/portal/documents",
    policy: session::PATIENT,
    site: |lang| W::PortalSite.text(lang),
    langs: Lang::HUNGARIAN_DESK,
    tabs: &[
        Tab {
            href: "/portal/documents",
            label: |lang| W::NavDocuments.text(lang),
        },
        Tab {
            href: "/portal/profile",
            label: |lang| W::NavProfile.text(lang),
        },
        Tab {
            href: "/portal/referrals",
            label: |lang| W::NavReferralsMine.text(lang),
        },
        Tab {
            href: "/portal/access-log",
            label: |lang| W::NavAccessLog.text(lang),
        },
        Tab {
            href: "/portal/restrictions",
            label: |lang| W::NavRestrictions.text(lang),
        },
    ],
    audit_prefix: "clinical-portal",
    sign_in_intro: |lang| W::PortalSignInIntro.text(lang),
    sign_in_failed: |lang| W::PortalSignInFailed.text(lang),
};

/// The portal's pages.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(signin::routes(&PORTAL, &PatientAccounts))
        .route("/portal/documents", get(record::documents))
        .route("/portal/documents/{id}", get(record::document))
        .route("/portal/documents/{id}/content", get(record::content))
        .route("/portal/profile", get(record::profile))
        .route("/portal/profile/{kind}/{id}", get(record::entry_history))
        .route("/portal/referrals", get(record::referrals))
        .route("/portal/access-log", get(log::access_log))
        .route(
            "/portal/restrictions",
            get(log::restrictions).post(log::restrict),
        )
        .route("/portal/restrictions/lift", post(log::lift))
}

/// The request as the portal hears it: Hungarian or English.
fn portal(request: WebRequest) -> WebRequest {
    request.speaking(PORTAL.langs)
}

/// A signed-in patient: the session and their account, read on this request.
pub struct Patient {
    session: WebSession,
    account: ClinicalPatientAccount,
}

impl DeskUser for Patient {
    const DESK: &'static Desk = &PORTAL;

    /// The patient of a live session while their account is activated.
    async fn from_session(
        state: &AppState,
        request: &WebRequest,
        live: WebSession,
    ) -> PageResult<Patient> {
        let account = match Taj::parse(&live.principal) {
            Ok(taj) => state
                .metadata
                .clinical_patient_account(&taj)
                .await
                .map_err(|e| ApiError::internal("reading a patient's account", &e))?,
            Err(_) => None,
        };
        match account.filter(|account| account.password_hash.is_some()) {
            Some(account) => Ok(Patient {
                session: live,
                account,
            }),
            None => {
                session::end(state, &request.headers).await?;
                Err(PageError::answer(expired(
                    &PORTAL,
                    &[session::clear_cookie()],
                )))
            }
        }
    }
}

impl Patient {
    /// The patient as the domain knows them, acting from this request's address.
    fn caller(&self, request: &WebRequest) -> PatientCaller {
        PatientCaller {
            patient: self.account.taj.clone(),
            origin: request.origin(),
        }
    }

    /// A page of the portal at `path` with the header naming the patient.
    fn frame(&self, request: &WebRequest, title: impl Into<String>, path: &str) -> Frame {
        let mut frame = Frame::new(&PORTAL, request, title);
        frame.path = path.to_owned();
        frame.signed_in = Some(SignedInHeader {
            who: W::Greeting
                .with(request.lang, "name", &self.account.name)
                .replace("{taj}", self.account.taj.as_str()),
            csrf_secret: self.session.csrf_secret.clone(),
        });
        frame
    }

    /// The POST's form when its token and origin are genuine; else the "form expired" page.
    fn genuine_form(&self, request: &WebRequest, body: &[u8]) -> PageResult<Form> {
        medgate_web::desk::genuine_form(request, body, &self.session.csrf_secret, || {
            let frame = self.frame(
                request,
                W::ErrorTitle.text(request.lang),
                request.uri.path(),
            );
            medgate_web::desk::frame::forged_page(frame)
        })
    }

    /// The 404 page of what is not in this patient's record (missing or another's).
    fn not_found(&self, request: &WebRequest) -> Response {
        let lang = request.lang;
        let mut page = self.frame(request, W::NotFoundTitle.text(lang), request.uri.path());
        page.status = StatusCode::NOT_FOUND;
        page.body = format!(
            "{}<p><a href=\"/portal/documents\">{}</a></p>",
            message(MessageKind::Error, W::NotFound.text(lang)),
            escape(W::BackToDocuments.text(lang))
        );
        page.into_response()
    }

    /// A domain refusal as the page to send: "not found" as the 404 page, the rest an error.
    fn refused(&self, request: &WebRequest, error: ClinicalError) -> PageError {
        match error {
            ClinicalError::NotFound { .. } => PageError::answer(self.not_found(request)),
            other => PageError::from(ApiError::internal("the patient's record", &other)),
        }
    }
}

/// The instant the service's clock says (the clock tests move).
fn now(state: &AppState) -> OffsetDateTime {
    state.clock.now()
}

/// An instant of the service (`2026-12-03T21:46:12.9Z`) to the minute, as people read it.
fn minute(text: &str) -> String {
    match text.get(..16) {
        Some(head) if text.as_bytes().get(10) == Some(&b'T') => {
            format!("{} UTC", head.replace('T', " "))
        }
        _ => text.to_owned(),
    }
}

/// The patients' accounts of the service, as the foundation's sign-in flow uses them: a
/// patient names themself by TAJ.
pub struct PatientAccounts;

impl Accounts for PatientAccounts {
    type Who = Taj;

    fn word(&self, word: Word, lang: Lang) -> &'static str {
        match word {
            Word::HaveCode => W::PortalHaveCode,
            Word::ActivateTitle => W::PortalActivateTitle,
            Word::ActivateIntro => W::PortalActivateIntro,
            Word::Activate => W::PortalActivate,
            Word::CodeHint => W::PortalCodeHint,
            Word::PasswordRules => W::PortalPasswordRules,
            Word::PasswordIsIdentifier => W::PortalPasswordIsTaj,
            Word::FixErrors => W::PortalFixErrors,
        }
        .text(lang)
    }

    fn identity_fields(&self, lang: Lang, filled: &Filled) -> String {
        Input {
            hint: Some(W::TajHint.text(lang)),
            error: filled.name_error.as_deref(),
            required: true,
            extra: "inputmode=\"numeric\" autocomplete=\"username\" maxlength=\"16\"",
            ..Input::text("taj", W::Taj.text(lang), &filled.name)
        }
        .html()
    }

    fn read_identity(&self, lang: Lang, form: &Form, filled: &mut Filled) -> Option<Taj> {
        filled.name = form.text("taj").to_owned();
        let digits: String = filled.name.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.is_empty() {
            filled.name_error = Some(W::Required.text(lang).to_owned());
            return None;
        }
        match Taj::parse(&digits) {
            Ok(taj) => Some(taj),
            Err(error) => {
                filled.name_error = Some(W::TajInvalid.with(lang, "reason", &error.to_string()));
                None
            }
        }
    }

    fn of_session(&self, session: &WebSession) -> Option<Taj> {
        Taj::parse(&session.principal).ok()
    }

    fn tenant<'a>(&self, _who: &'a Taj) -> Option<&'a medgate_ids::TenantId> {
        None
    }

    fn principal(&self, who: &Taj) -> String {
        who.to_string()
    }

    fn identifier(&self, who: Option<&Taj>, filled: &Filled) -> String {
        who.map(Taj::to_string)
            .unwrap_or_else(|| filled.name.clone())
    }

    fn audit_names(&self, _desk: &Desk, who: &Taj) -> (String, Option<String>) {
        (format!("patient:{who}"), Some(who.to_string()))
    }

    async fn credentials(
        &self,
        state: &AppState,
        who: &Taj,
        moment: OffsetDateTime,
    ) -> Result<Option<Credentials>, ApiError> {
        let account = state
            .metadata
            .clinical_patient_account(who)
            .await
            .map_err(|e| ApiError::internal("reading a patient's account", &e))?;
        Ok(account.map(|account| {
            let waiting = account.password_hash.is_none()
                && account
                    .activation_expires_at
                    .is_some_and(|end| moment <= end);
            Credentials {
                password_hash: account.password_hash,
                pending_code: account.activation_code_hash.filter(|_| waiting),
            }
        }))
    }

    async fn activate(
        &self,
        state: &AppState,
        who: &Taj,
        code_hash: &str,
        password_hash: &str,
        moment: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        state
            .metadata
            .activate_clinical_patient_account(who, code_hash, password_hash, moment)
            .await
            .map_err(|e| ApiError::internal("activating a patient's account", &e))
    }

    async fn signed_in(
        &self,
        _state: &AppState,
        _who: &Taj,
        _moment: OffsetDateTime,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

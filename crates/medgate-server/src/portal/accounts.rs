//! The patients' accounts, as the foundation's sign-in flow uses them: a patient names the
//! clinic (its account id) and their PESEL (or another identifier as `root^extension`); the
//! account the clinic created when it sent a consent keeps the password and the one-time
//! activation code. A clinic whose account cannot be used (suspended, expired) signs nobody
//! in.

use medgate_ids::TenantId;
use medgate_storage::{PatientIdentifier, WebSession};
use medgate_web::desk::signin::{read_tenant, Accounts, Credentials, Filled, Word};
use medgate_web::desk::Desk;
use medgate_web::error::ApiError;
use medgate_web::i18n::{Lang, Msg};
use medgate_web::layout::Input;
use medgate_web::state::AppState;
use medgate_web::Form;
use time::OffsetDateTime;

use super::{actor, parse_principal, principal};

/// The patients of every clinic of the node.
pub struct PatientAccounts;

impl Accounts for PatientAccounts {
    type Who = (TenantId, PatientIdentifier);

    fn word(&self, word: Word, lang: Lang) -> &'static str {
        match word {
            Word::HaveCode => Msg::HaveCode,
            Word::ActivateTitle => Msg::ActivateTitle,
            Word::ActivateIntro => Msg::ActivateIntro,
            Word::Activate => Msg::Activate,
            Word::CodeHint => Msg::ActivationCodeHint,
            Word::PasswordRules => Msg::PasswordRules,
            Word::PasswordIsIdentifier => Msg::PasswordIsIdentifier,
            Word::FixErrors => Msg::FixErrors,
        }
        .text(lang)
    }

    fn identity_fields(&self, lang: Lang, filled: &Filled) -> String {
        let tenant = Input {
            name: "tenant",
            label: Msg::TenantId.text(lang),
            kind: "text",
            value: &filled.tenant,
            hint: Some(Msg::TenantIdHint.text(lang)),
            error: filled.tenant_error.as_deref(),
            required: true,
            extra: "inputmode=\"numeric\" autocomplete=\"organization\" maxlength=\"32\"",
        };
        let patient = Input {
            name: "patient",
            label: Msg::PatientId.text(lang),
            kind: "text",
            value: &filled.name,
            hint: Some(Msg::PatientIdHint.text(lang)),
            error: filled.name_error.as_deref(),
            required: true,
            extra: "autocomplete=\"username\" maxlength=\"200\"",
        };
        format!("{}{}", tenant.html(), patient.html())
    }

    fn read_identity(&self, lang: Lang, form: &Form, filled: &mut Filled) -> Option<Self::Who> {
        let tenant = read_tenant(lang, form, filled, Msg::BadTenantId.text(lang));
        filled.name = form.text("patient").to_owned();
        let patient = if filled.name.is_empty() {
            filled.name_error = Some(Msg::Required.text(lang).to_owned());
            None
        } else {
            let parsed = medgate_repository::patient::parse_patient(&filled.name).ok();
            if parsed.is_none() {
                filled.name_error = Some(Msg::BadPatientId.text(lang).to_owned());
            }
            parsed
        };
        Some((tenant?, patient?))
    }

    fn of_session(&self, session: &WebSession) -> Option<Self::Who> {
        Some((session.tenant.clone()?, parse_principal(&session.principal)?))
    }

    fn tenant<'a>(&self, who: &'a Self::Who) -> Option<&'a TenantId> {
        Some(&who.0)
    }

    fn principal(&self, who: &Self::Who) -> String {
        principal(&who.1)
    }

    fn identifier(&self, who: Option<&Self::Who>, filled: &Filled) -> String {
        who.map(|(_, patient)| patient.extension.clone())
            .unwrap_or_else(|| filled.name.clone())
    }

    fn audit_names(&self, _desk: &Desk, (_, patient): &Self::Who) -> (String, Option<String>) {
        (actor(patient), Some(patient.extension.clone()))
    }

    async fn credentials(
        &self,
        state: &AppState,
        (tenant, patient): &Self::Who,
        moment: OffsetDateTime,
    ) -> Result<Option<Credentials>, ApiError> {
        let account = state
            .metadata
            .get_patient_account(tenant, patient)
            .await
            .map_err(|e| ApiError::internal("patient account lookup", &e))?;
        let Some(account) = account else {
            return Ok(None);
        };
        let clinic_usable = state
            .metadata
            .get_tenant(tenant)
            .await
            .map_err(|e| ApiError::internal("tenant lookup", &e))?
            .is_some_and(|t| medgate_web::auth::account_usable(&t).is_ok());
        let waiting = account.password_hash.is_none()
            && account
                .activation_expires_at
                .is_some_and(|end| moment <= end);
        Ok(Some(Credentials {
            password_hash: account.password_hash.clone().filter(|_| clinic_usable),
            pending_code: account.activation_code_hash.clone().filter(|_| waiting),
        }))
    }

    async fn activate(
        &self,
        state: &AppState,
        (tenant, patient): &Self::Who,
        code_hash: &str,
        password_hash: &str,
        _moment: OffsetDateTime,
    ) -> Result<bool, ApiError> {
        state
            .metadata
            .activate_patient_account(tenant, patient, code_hash, password_hash)
            .await
            .map_err(|e| ApiError::internal("activating a patient account", &e))
    }

    async fn signed_in(
        &self,
        _state: &AppState,
        _who: &Self::Who,
        _moment: OffsetDateTime,
    ) -> Result<(), ApiError> {
        Ok(())
    }
}

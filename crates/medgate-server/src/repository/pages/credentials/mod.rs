//! The account panel's certificate actions (seed 000 "Zarządzanie kontem", §1.1.6 and the
//! P1 certificates of §1.3):
//!
//! - **Register or update certificates**: the administrator uploads the TLS and/or WSS
//!   certificate, each as a PKCS#12 keystore with its password (the key must belong to the
//!   certificate) or as a certificate file (PEM or DER). The checks are the API's
//!   (`medgate_repository::account::checked_certificate`); for an account not yet
//!   activated this is the activation (with the provider OID), as `medgate client activate`.
//!   Registered certificates replace the old ones at once.
//! - **New certificates as PKCS#12** (when the operator allows self-service): the node
//!   generates a key pair per kind, issues both certificates with its tenant CA and answers
//!   with a ZIP of two PKCS#12 files encrypted with the administrator's password (AES-256,
//!   PBKDF2-SHA256), the CA certificate and a README. The keys exist only in memory while the
//!   answer is built: they are never written or logged. Optionally the new certificates are
//!   registered at once.
//! - **National (P1) certificates**: register with the national registry by uploading the
//!   two national keystores and their password, or revoke the registration (after a
//!   confirmation page); the same functions as `POST /api/v1/national/register|revoke`.

use std::collections::HashMap;
use std::path::Path as FsPath;

use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_ids::Oid;
use medgate_pki::ca::Validity;
use medgate_pki::csr::{generate_tenant_csr, Country, SubjectFields};
use medgate_pki::keystore::{
    key_belongs_to, looks_like_pkcs12, read_pkcs12, write_pkcs12, Pkcs12Options,
};
use medgate_pki::{
    certificates_from_bytes, CertKind, Certificate, KeyAlgorithm, Password, PkiError,
};
use medgate_storage::TenantStatus;
use serde_json::Value;
use time::OffsetDateTime;

use super::account::certificate_box;
use super::{Admin, ADMIN};
use crate::repository::{domain, issuer, national, refused};
use medgate_repository::account::{
    activate, certificates_issued, checked_certificate, register_certificates as register_checked,
    view as account_view,
    Activation,
};
use medgate_repository::export::{zip_entries, zip_time};
use medgate_repository::national::{register_keystores, withdraw};
use medgate_web::desk::text::T;
use medgate_web::desk::{
    button_form, checkbox, download, notice, respond, second, Input, PageError, PageResult,
    SignedIn,
};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::password::{self, PasswordProblem};
use medgate_web::state::AppState;
use medgate_web::upload::{Upload, UploadedFile, MAX_UPLOAD_BYTES};
use medgate_web::{csrf, WebRequest};

mod certificates;
mod national;
use certificates::*;
use national::*;

const PAGE: &str = "/admin/account/certificates";
const NATIONAL: &str = "/admin/account/national";
const NATIONAL_REVOKE: &str = "/admin/account/national/revoke";
/// Validity of certificates issued here (as `medgate ca sign`: two years).
const ISSUED_DAYS: u32 = 730;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            PAGE,
            get(page)
                .post(register_certificates)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/admin/account/certificates/issue", post(issue))
        .route(
            NATIONAL,
            post(register_national_certificates).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route(NATIONAL_REVOKE, get(confirm_revoke).post(revoke))
}

/// What the administrator typed and what was wrong with it, to show the page again.
#[derive(Default)]
struct Filled {
    /// Field name → the error shown beside it.
    errors: HashMap<&'static str, String>,
    /// A message above the forms (trusted HTML).
    banner: String,
    provider_oid: String,
    organisation: Option<String>,
    country: Option<String>,
    national_name: String,
}

impl Filled {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }

    fn refuse(field: &'static str, text: impl Into<String>) -> Filled {
        let mut filled = Filled::default();
        filled.errors.insert(field, text.into());
        filled
    }
}

fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section class=\"card wide\" aria-labelledby=\"{id}-title\"><h2 id=\"{id}-title\">{}</h2>{body}</section>",
        escape(title)
    )
}

fn password_input<'a>(name: &'a str, label: &'a str, filled: &'a Filled, extra: &'a str) -> String {
    Input {
        kind: "password",
        error: filled.error(name),
        extra,
        ..Input::text(name, label, "")
    }
    .html()
}

fn file_input<'a>(
    name: &'a str,
    label: &'a str,
    hint: &'a str,
    accept: &str,
    filled: &'a Filled,
) -> String {
    let extra = format!("accept=\"{accept}\"");
    Input {
        kind: "file",
        hint: Some(hint),
        error: filled.error(name),
        extra: &extra,
        ..Input::text(name, label, "")
    }
    .html()
}

/// The form registering the account's own certificates (activating a new account).
fn register_form(admin: &Admin, lang: Lang, filled: &Filled) -> String {
    let activating = admin.tenant.status == TenantStatus::Created;
    let provider = if activating {
        Input {
            hint: Some(T::ProviderOidHint.text(lang)),
            error: filled.error("provider_oid"),
            required: true,
            ..Input::text(
                "provider_oid",
                T::ProviderOid.text(lang),
                &filled.provider_oid,
            )
        }
        .html()
    } else {
        String::new()
    };
    let accept = ".p12,.pfx,.pem,.crt,.cer,.der";
    let kind_fields = |kind: &str, title: T, file: &'static str, pass: &'static str| {
        format!(
            "<fieldset><legend>{}</legend>{}{}</fieldset>",
            escape(title.text(lang)),
            file_input(
                file,
                T::CertificateFile.text(lang),
                T::CertificateFileHint.text(lang),
                accept,
                filled
            ),
            password_input(
                pass,
                // Polish names the signing certificate WSSE, as seed 000 does.
                &T::KeystorePasswordOf.with(
                    lang,
                    "kind",
                    if kind == "WSS" && lang == Lang::Pl { "WSSE" } else { kind },
                ),
                filled,
                "autocomplete=\"off\""
            ),
        )
    };
    let body = format!(
        "<p class=\"muted\">{intro}</p>\
         <form method=\"post\" action=\"{PAGE}\" enctype=\"multipart/form-data\" id=\"register-form\" novalidate>{csrf}\
         {provider}{tls}{wss}{error}<button class=\"primary\" type=\"submit\">{submit}</button></form>",
        intro = escape(if activating { T::ActivateAccountIntro.text(lang) } else { T::RegisterCertificatesIntro.text(lang) }),
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        tls = kind_fields("TLS", T::TlsCertificate, "tls_file", "tls_password"),
        wss = kind_fields("WSS", T::WssCertificate, "wss_file", "wss_password"),
        error = filled
            .error("certificates")
            .map(|text| message(MessageKind::Error, text))
            .unwrap_or_default(),
        submit = escape(if activating { T::ActivateAccount.text(lang) } else { T::RegisterCertificates.text(lang) }),
    );
    section(
        "register",
        if activating {
            T::ActivateAccount.text(lang)
        } else {
            T::RegisterCertificatesTitle.text(lang)
        },
        &body,
    )
}

/// The form issuing new certificates as PKCS#12 files, when the operator allows it.
async fn issue_form(
    state: &AppState,
    admin: &Admin,
    lang: Lang,
    filled: &Filled,
) -> Result<String, ApiError> {
    let enabled = state
        .metadata
        .csr_self_service(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("reading CSR self-service", &e))?;
    if !enabled {
        return Ok(section(
            "issue",
            T::IssueKeystoresTitle.text(lang),
            &message(MessageKind::Info, T::IssueKeystoresOff.text(lang)),
        ));
    }
    let organisation = match &filled.organisation {
        Some(typed) => typed.clone(),
        None => provider_name(state, admin).await?,
    };
    let country = filled.country.clone().unwrap_or_else(|| "PL".to_owned());
    let register_now = if admin.tenant.status == TenantStatus::Active {
        checkbox("register_now", T::RegisterNow.text(lang), false, "")
    } else {
        String::new()
    };
    let body = format!(
        "<p class=\"muted\">{intro}</p>\
         <form method=\"post\" action=\"/admin/account/certificates/issue\" id=\"issue-form\" novalidate>{csrf}\
         {organisation}{country}\
         <div class=\"field\"><label for=\"f-algorithm\">{algorithm_label}</label>\
         <select id=\"f-algorithm\" name=\"algorithm\"><option value=\"rsa2048\">RSA 2048</option>\
         <option value=\"rsa3072\">RSA 3072</option><option value=\"p256\">ECDSA P-256</option></select></div>\
         {password}{repeat}{register_now}\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>",
        intro = escape(&T::IssueKeystoresIntro.with(lang, "days", &ISSUED_DAYS.to_string())),
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        organisation = Input {
            error: filled.error("organisation"),
            required: true,
            ..Input::text("organisation", T::OrganisationO.text(lang), &organisation)
        }
        .html(),
        country = Input {
            error: filled.error("country"),
            required: true,
            extra: "maxlength=\"64\"",
            ..Input::text("country", T::CountryC.text(lang), &country)
        }
        .html(),
        algorithm_label = escape(T::KeyAlgorithm.text(lang)),
        password = Input {
            hint: Some(&T::KeystorePasswordHint.with(lang, "min", &password::MIN_LENGTH.to_string())),
            ..Input {
                kind: "password",
                error: filled.error("password"),
                required: true,
                extra: "autocomplete=\"new-password\"",
                ..Input::text("password", T::KeystorePassword.text(lang), "")
            }
        }
        .html(),
        repeat = password_input("password_repeat", T::RepeatPassword.text(lang), filled, "autocomplete=\"new-password\""),
        submit = escape(T::IssueKeystores.text(lang)),
    );
    Ok(section("issue", T::IssueKeystoresTitle.text(lang), &body))
}

/// The name of the provider in the organisational structure, else the account id: the
/// default `O` of issued certificates.
async fn provider_name(state: &AppState, admin: &Admin) -> Result<String, ApiError> {
    let stored = state
        .metadata
        .load_organisation(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("reading the organisational structure", &e))?;
    Ok(stored
        .and_then(|s| serde_json::from_str::<Value>(&s.json).ok())
        .and_then(|json| json["provider"]["name"].as_str().map(str::to_owned))
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| admin.tenant_id().as_str().to_owned()))
}

/// The national section: not configured, registered (with revoke), or the register form.
async fn national_section(
    state: &AppState,
    admin: &Admin,
    lang: Lang,
    filled: &Filled,
) -> Result<String, ApiError> {
    let title = T::NationalCertificatesTitle.text(lang);
    let Some(link) = &state.node.registry else {
        return Ok(section(
            "national",
            title,
            &message(MessageKind::Info, T::NoRegistryConfigured.text(lang)),
        ));
    };
    if admin.tenant.status != TenantStatus::Active {
        return Ok(section(
            "national",
            title,
            &message(
                MessageKind::Info,
                T::AccountNotActivatedExplained.text(lang),
            ),
        ));
    }
    let stored = state
        .metadata
        .national_credentials(admin.tenant_id())
        .await
        .map_err(|e| ApiError::internal("reading national credentials", &e))?;
    let body = match stored {
        Some(credentials) => {
            let fact = |label: T, id: &str, value: &str| {
                format!(
                    "<dt>{}</dt><dd id=\"{id}\" class=\"mono\">{}</dd>",
                    escape(label.text(lang)),
                    escape(value)
                )
            };
            format!(
                "<dl class=\"facts\">{}{}{}{}{}</dl><p><a class=\"button danger\" href=\"{NATIONAL_REVOKE}\">{}</a></p>",
                fact(T::NationalRepositoryId, "national-id", credentials.national_repository_id.as_str()),
                fact(T::RegistryAddress, "national-registry", &credentials.registry_url),
                fact(T::NationalTlsSerial, "national-tls-serial", &credentials.tls_serial),
                fact(T::NationalWssSerial, "national-wss-serial", &credentials.wss_serial),
                fact(T::ValidUntil, "national-valid-until", &second(credentials.not_after)),
                escape(T::RevokeNationalCertificates.text(lang)),
            )
        }
        None => {
            let accept = ".p12,.pfx";
            format!(
                "<p class=\"muted\">{intro}</p>\
                 <form method=\"post\" action=\"{NATIONAL}\" enctype=\"multipart/form-data\" id=\"national-form\" novalidate>{csrf}\
                 {tls}{wss}{password}{name}{error}\
                 <button class=\"primary\" type=\"submit\">{submit}</button></form>",
                intro = escape(&T::NationalIntro.with(lang, "url", link.url.as_str())),
                csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
                tls = file_input("national_tls", T::NationalTlsKeystore.text(lang), T::NationalKeystoreHint.text(lang), accept, filled),
                wss = file_input("national_wss", T::NationalWssKeystore.text(lang), T::NationalKeystoreHint.text(lang), accept, filled),
                password = password_input("national_password", T::KeystorePassword.text(lang), filled, "autocomplete=\"off\""),
                name = Input {
                    error: filled.error("national_name"),
                    extra: "maxlength=\"200\"",
                    ..Input::text("national_name", T::RepositoryName.text(lang), &filled.national_name)
                }
                .html(),
                error = filled
                    .error("national")
                    .map(|text| message(MessageKind::Error, text))
                    .unwrap_or_default(),
                submit = escape(T::RegisterNational.text(lang)),
            )
        }
    };
    Ok(section("national", title, &body))
}

/// The whole page.
async fn view(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    filled: Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let account = account_view(&domain(state), admin.tenant_id())
        .await
        .map_err(refused)?;
    let certificates: Vec<Value> = account["certificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let done = match request.query("done").as_deref() {
        Some("activated") => notice("ok", T::DoneActivated.text(lang)),
        Some("registered") => notice("ok", T::DoneCertificatesRegistered.text(lang)),
        Some("national") => notice("ok", T::DoneNationalRegistered.text(lang)),
        Some("national-revoked") => notice("ok", T::DoneNationalRevoked.text(lang)),
        _ => String::new(),
    };
    let usable = match admin.tenant.status {
        TenantStatus::Suspended => {
            message(MessageKind::Error, T::AccountSuspendedExplained.text(lang))
        }
        _ => String::new(),
    };
    let forms = if admin.tenant.status == TenantStatus::Suspended {
        String::new()
    } else {
        format!(
            "{}{}{}",
            register_form(admin, lang, &filled),
            issue_form(state, admin, lang, &filled).await?,
            national_section(state, admin, lang, &filled).await?,
        )
    };
    let mut frame = admin.frame(request, T::CertificatesPageTitle.text(lang));
    frame.status = status;
    frame.body = format!(
        "{done}{usable}{banner}<div class=\"boxes\">{tls}{wss}</div>{forms}",
        banner = filled.banner,
        tls = certificate_box(lang, &certificates, "tls", T::TlsCertificate),
        wss = certificate_box(lang, &certificates, "wss", T::WssCertificate),
    );
    Ok(frame.into_response())
}

/// `GET /admin/account/certificates`.
async fn page(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome =
        async { view(&state, &admin, &request, Filled::default(), StatusCode::OK).await }.await;
    respond(&ADMIN, &request, outcome)
}

/// The signed-in administrator and the upload of a genuine form, or the page to answer.
async fn genuine_upload(
    request: &WebRequest,
    admin: &Admin,
    multipart: Result<Multipart, MultipartRejection>,
) -> PageResult<Upload> {
    let upload = Upload::read(multipart).await?;
    if !admin.form_is_genuine(request, &upload.form) {
        return Err(PageError::answer(admin.forged(request)));
    }
    Ok(upload)
}

/// Reads one uploaded certificate: a PKCS#12 keystore opened with `password` (its key, when
/// it holds one, must belong to the certificate) or a PEM/DER certificate. The error is the
/// sentence to show beside the field. Runs PBKDF2: call off the request threads.
fn uploaded_certificate(
    file: &UploadedFile,
    password: &str,
    lang: Lang,
) -> Result<Certificate, String> {
    let source = FsPath::new(&file.file_name);
    if looks_like_pkcs12(&file.bytes) {
        if password.is_empty() {
            return Err(T::KeystorePasswordNeeded.text(lang).to_owned());
        }
        let contents = read_pkcs12(&file.bytes, source, &Password::new(password.to_owned()))
            .map_err(|error| match error {
                PkiError::WrongPassword { .. } => T::WrongKeystorePassword.text(lang).to_owned(),
                other => other.to_string(),
            })?;
        let Some(certificate) = contents.certificate else {
            return Err(T::NoCertificateInKeystore.text(lang).to_owned());
        };
        if let Some(key) = &contents.key {
            if !key_belongs_to(key, &certificate).unwrap_or(false) {
                return Err(T::KeyNotOfCertificate.text(lang).to_owned());
            }
        }
        Ok(certificate)
    } else {
        certificates_from_bytes(file.bytes.clone(), source)
            .map_err(|error| error.to_string())?
            .into_iter()
            .next()
            .ok_or_else(|| T::NoCertificateInKeystore.text(lang).to_owned())
    }
}

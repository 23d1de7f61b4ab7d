//! «Администрирование → Электронная подпись» and the signatures of a register: each signing
//! login uploads its certificate (`.cer`, DER or PEM), checked and matched to it
//! (`registers::register_certificate`); on a register waiting for signatures the signer whose
//! turn it is downloads the register's exact bytes, signs them on their own machine
//! (`medgate claims sign`; the private key never reaches the node) and uploads the detached
//! CMS, which `registers::sign` checks against the bytes and the login's registered
//! certificate, in the fixed order executor → chief accountant → head.

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use medgate_claims::registers::{self, RegisterError, RegisterView};
use medgate_claims::signing::SignerTrust;
use medgate_claims::workflow::{next_signer, ActionKind, SIGNING_ORDER};
use medgate_web::desk::{PageError, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{download, escape, message, MessageKind};
use medgate_web::{csrf, AppState, WebRequest};

use super::packages::minute;
use super::register_words::W;
use super::registers::{data_dir, failure, refusal_text, role_text, show_register, viewer_of};
use super::{claims, now, ClaimsStaff, CLAIMS};

/// The signature tab.
pub const SIGNATURE_PATH: &str = "/claims/admin/signature";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(SIGNATURE_PATH, get(signature_page).post(upload_certificate))
        .route("/claims/registers/{id}/file", get(register_file))
        .route("/claims/registers/{id}/signature", post(upload_signature))
}

/// Reads a small multipart form: the CSRF token first (else the form is forged), then the file
/// field `file_field`. Answers the file's name and bytes, `None` when no file was chosen.
async fn small_file(
    user: &ClaimsStaff,
    request: &WebRequest,
    multipart: Result<Multipart, MultipartRejection>,
    file_field: &str,
) -> PageResult<Option<(String, Vec<u8>)>> {
    let forged = || {
        let frame = user.frame(
            request,
            super::words::R::ErrorTitle.text(request.lang),
            request.uri.path(),
        );
        PageError::answer(medgate_web::desk::frame::forged_page(frame))
    };
    if csrf::check_origin(&request.headers, &request.uri).is_err() {
        return Err(forged());
    }
    let Ok(mut multipart) = multipart else {
        return Err(forged());
    };
    let broken = |_| PageError::from(medgate_web::streamed::unreadable());
    let mut genuine = false;
    while let Some(field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or("").to_owned();
        if name == "csrf" {
            let token = field.text().await.map_err(broken)?;
            genuine = csrf::tokens_match(&user.session.csrf_secret, &token);
        } else if name == file_field {
            if !genuine {
                return Err(forged());
            }
            let file_name = field.file_name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(broken)?;
            if bytes.is_empty() {
                return Ok(None);
            }
            return Ok(Some((file_name, bytes.to_vec())));
        }
    }
    if !genuine {
        return Err(forged());
    }
    Ok(None)
}

/// The signatures part of a register's page: those accepted, whose turn it is, and for the
/// signer whose turn it is the file to sign and the upload.
pub(super) fn signing_section(lang: Lang, user: &ClaimsStaff, view: &RegisterView) -> String {
    let id = view.register.id;
    let rows: String = view
        .signatures
        .iter()
        .map(|signature| {
            let role = SIGNING_ORDER
                .get(usize::from(signature.position).saturating_sub(1))
                .map(|role| role_text(lang, *role))
                .unwrap_or("");
            format!(
                "<tr><td>{}</td><td><code>{}</code> ({})</td><td>{}, {}</td><td>{}</td></tr>",
                signature.position,
                escape(&signature.login),
                escape(role),
                escape(&signature.subject),
                escape(&signature.serial_hex),
                minute(signature.signed_at),
            )
        })
        .collect();
    let table = if view.signatures.is_empty() {
        format!(
            "<p class=\"muted\">{}</p>",
            escape(W::NoSignatures.text(lang))
        )
    } else {
        format!(
            "<table class=\"signatures\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
            escape(W::Position.text(lang)),
            escape(W::Signer.text(lang)),
            escape(W::Certificate.text(lang)),
            escape(W::When.text(lang)),
        )
    };
    let turn = match next_signer(view.state) {
        Some(role) if view.allowed.contains(&ActionKind::Sign) => format!(
            "{}<p><a class=\"button\" href=\"/claims/registers/{id}/file\" download>{}</a></p>\
             <form class=\"card\" method=\"post\" action=\"/claims/registers/{id}/signature\" enctype=\"multipart/form-data\">{}\
             <label for=\"signature\">{}</label><input id=\"signature\" name=\"signature\" type=\"file\" accept=\".sig,.p7s,.der,.pem\" required>\
             <button class=\"primary\" type=\"submit\">{}</button></form>",
            message(MessageKind::Info, &W::YourTurn.with(lang, "role", role_text(lang, role))),
            escape(W::DownloadRegister.text(lang)),
            csrf::hidden_field(&user.session.csrf_secret),
            escape(W::SignatureFile.text(lang)),
            escape(W::UploadSignature.text(lang)),
        ),
        Some(role) => format!(
            "<p class=\"muted\">{}</p>",
            escape(&W::WaitingFor.with(lang, "role", role_text(lang, role)))
        ),
        None => String::new(),
    };
    format!("<h2>{}</h2>{table}{turn}", escape(W::Signatures.text(lang)))
}

fn parse_id(user: &ClaimsStaff, request: &WebRequest, id: &str) -> PageResult<i64> {
    id.parse::<i64>()
        .map_err(|_| PageError::answer(user.not_found(request)))
}

/// `GET /claims/registers/{id}/file`: the register's ZIP, the exact bytes to sign.
async fn register_file(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let id = parse_id(&user, &request, &id)?;
        let viewer = viewer_of(&user, &request)?;
        let register = registers::register_of(&state.metadata, &viewer, id)
            .await
            .map_err(|e| failure(&user, &request, e))?;
        let bytes = registers::register_bytes(&data_dir(&state), &register)
            .map_err(|e| failure(&user, &request, e))?;
        Ok(download(
            "application/zip",
            &register.file_name,
            bytes.into(),
        ))
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/registers/{id}/signature`: the signer's detached CMS (multipart field
/// `signature`).
async fn upload_signature(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let id = parse_id(&user, &request, &id)?;
        let viewer = viewer_of(&user, &request)?;
        let Some((_, bytes)) = small_file(&user, &request, multipart, "signature").await? else {
            let text = W::NoSignatureFile.text(lang).to_owned();
            return show_register(
                &state,
                &request,
                &user,
                id,
                Some((MessageKind::Error, text)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        };
        let signed = registers::sign(
            &state.metadata,
            &data_dir(&state),
            &viewer,
            id,
            bytes,
            now(&state),
        )
        .await;
        match signed {
            Ok(verified) => {
                let text = W::SignatureAccepted
                    .with(lang, "position", &verified.position.to_string())
                    .replace("{algorithm}", &verified.algorithm)
                    .replace("{subject}", &verified.subject);
                show_register(
                    &state,
                    &request,
                    &user,
                    id,
                    Some((MessageKind::Info, text)),
                    StatusCode::OK,
                )
                .await
            }
            Err(
                error @ (RegisterError::Workflow(_)
                | RegisterError::Signature(_)
                | RegisterError::Certificate(_)
                | RegisterError::MissingCertificates(_)
                | RegisterError::Conflict),
            ) => {
                let text = W::Refused.with(lang, "reason", &refusal_text(lang, &error));
                show_register(
                    &state,
                    &request,
                    &user,
                    id,
                    Some((MessageKind::Error, text)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(other) => Err(failure(&user, &request, other)),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

async fn show_signature(
    state: &AppState,
    request: &WebRequest,
    user: &ClaimsStaff,
    notice: Option<(MessageKind, String)>,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let viewer = viewer_of(user, request)?;
    let mut frame = user.frame(request, W::SignatureTitle.text(lang), SIGNATURE_PATH);
    frame.status = status;
    let notice = notice
        .map(|(kind, text)| message(kind, &text))
        .unwrap_or_default();
    if viewer.role.signing_position().is_none() || viewer.mo_code.is_none() {
        frame.body = format!(
            "{notice}{}",
            message(MessageKind::Info, W::NotASigner.text(lang))
        );
        return Ok(frame.into_response());
    }
    let mine = registers::certificate_of(&state.metadata, &viewer.login)
        .await
        .map_err(|e| failure(user, request, e))?;
    let current = match &mine {
        Some(certificate) => format!(
            "<dl class=\"card\" id=\"certificate\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><code>{}</code></dd><dt>{}</dt><dd>{}</dd></dl>",
            escape(W::Subject.text(lang)),
            escape(&certificate.subject),
            escape(W::Serial.text(lang)),
            escape(&certificate.serial_hex),
            escape(W::ValidUntil.text(lang)),
            minute(certificate.not_after),
        ),
        None => format!("<p class=\"muted\">{}</p>", escape(W::NoCertificate.text(lang))),
    };
    // The organisation's signers and whether each has registered a certificate.
    let users = state
        .metadata
        .claims_users(viewer.mo_code.as_deref())
        .await
        .map_err(|e| ApiError::internal("listing the logins", &e))?;
    let mut rows = String::new();
    for role in SIGNING_ORDER {
        for signer in users.iter().filter(|u| u.role == role.code()) {
            let certificate = registers::certificate_of(&state.metadata, &signer.login)
                .await
                .map_err(|e| failure(user, request, e))?;
            rows.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(role_text(lang, role)),
                escape(&signer.login),
                escape(
                    &certificate
                        .map(|c| format!("{}, {}", c.subject, c.serial_hex))
                        .unwrap_or_else(|| W::NoCertificate.text(lang).to_owned())
                ),
            ));
        }
    }
    let trust = SignerTrust::load(&data_dir(state))
        .map_err(|e| ApiError::internal("reading the CAs installed for signers", &e))?;
    let trust_note = if trust.is_empty() {
        W::NoSignerCa.text(lang).to_owned()
    } else {
        W::SignerCas.with(lang, "count", &trust.cas().to_string())
    };
    frame.body = format!(
        "<p class=\"muted\">{intro}</p><p class=\"muted\" id=\"signer-ca\">{trust_note}</p>{notice}{current}\
         <form class=\"card\" method=\"post\" action=\"{SIGNATURE_PATH}\" enctype=\"multipart/form-data\">{csrf}\
         <label for=\"certificate-file\">{file_label}</label><input id=\"certificate-file\" name=\"certificate\" type=\"file\" accept=\".cer,.crt,.pem,.der\" required>\
         <button class=\"primary\" type=\"submit\">{submit}</button></form>\
         <h2>{signers}</h2><table class=\"signers\"><thead><tr><th>{role}</th><th>{login}</th><th>{cert}</th></tr></thead><tbody>{rows}</tbody></table>",
        intro = escape(W::SignatureIntro.text(lang)),
        trust_note = escape(&trust_note),
        csrf = csrf::hidden_field(&user.session.csrf_secret),
        file_label = escape(W::CertificateFile.text(lang)),
        submit = escape(W::UploadCertificate.text(lang)),
        signers = escape(W::SignersTitle.text(lang)),
        role = escape(W::Role.text(lang)),
        login = escape(W::Login.text(lang)),
        cert = escape(W::Certificate.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /claims/admin/signature`.
async fn signature_page(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        user.require_mo()?;
        show_signature(&state, &request, &user, None, StatusCode::OK).await
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

/// `POST /claims/admin/signature`: the login's certificate (multipart field `certificate`).
async fn upload_certificate(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let viewer = viewer_of(&user, &request)?;
        let Some((file_name, bytes)) =
            small_file(&user, &request, multipart, "certificate").await?
        else {
            let text = W::NoCertificateFile.text(lang).to_owned();
            return show_signature(
                &state,
                &request,
                &user,
                Some((MessageKind::Error, text)),
                StatusCode::BAD_REQUEST,
            )
            .await;
        };
        let file_name = medgate_claims::intake::plain_file_name(&file_name)
            .unwrap_or_else(|_| "certificate.cer".to_owned());
        let trust = SignerTrust::load(&data_dir(&state))
            .map_err(|e| ApiError::internal("reading the CAs installed for signers", &e))?;
        match registers::register_certificate(
            &state.metadata,
            &trust,
            &viewer,
            bytes,
            &file_name,
            now(&state),
        )
        .await
        {
            Ok(certificate) => {
                let text = W::CertificateRegistered.with(lang, "subject", &certificate.subject);
                show_signature(
                    &state,
                    &request,
                    &user,
                    Some((MessageKind::Info, text)),
                    StatusCode::OK,
                )
                .await
            }
            Err(error @ (RegisterError::Certificate(_) | RegisterError::NotAllowed { .. })) => {
                let text = W::Refused.with(lang, "reason", &refusal_text(lang, &error));
                show_signature(
                    &state,
                    &request,
                    &user,
                    Some((MessageKind::Error, text)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Err(other) => Err(failure(&user, &request, other)),
        }
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

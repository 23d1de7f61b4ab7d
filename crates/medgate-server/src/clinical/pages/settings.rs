//! `/admin/clinical-service`: the account's connection to the clinical record service (the
//! seed's steps 6 and 8): the service's address and CA certificate, the institution
//! certificate as the PKCS#12 file the service's operator handed out with its one-time code,
//! the institution's id and name, its unit codes and its practitioners (name, stamp number,
//! service user name).
//!
//! The keystore is opened and checked by the client library (`InstitutionCredentials::open`:
//! the code, the key, issued by that CA, for that institution, valid now); a wrong code, a
//! certificate of another institution or an expired one is refused with the library's
//! sentence beside the field at fault. Every field is checked before anything is written, and
//! the connection with its practitioners is saved in one transaction, so nothing is stored
//! half-way. The key is kept re-encrypted under the node's credentials key (as the national
//! keys are), never logged; the one-time code is not kept.

use std::collections::HashMap;
use std::path::Path;

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_client::clinical::{service_ca_from_bytes, CredentialsError, InstitutionCredentials};
use medgate_ids::{InstitutionId, StampNumber, UnitId};
use medgate_pki::Password;
use medgate_storage::{ClinicPractitioner, ClinicalConnection};
use medgate_web::desk::{append_audit, respond, second, Input, PageResult, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, field_id, message, redirect, MessageKind};
use medgate_web::upload::{Upload, MAX_UPLOAD_BYTES};
use medgate_web::{csrf, AppState, WebRequest};

use medgate_web::desk::admin::{Admin, ADMIN};

/// The page's address.
pub const PAGE: &str = "/admin/clinical-service";

/// Most units and practitioners one form lists.
const MAX_ROWS: usize = 200;

medgate_web::bilingual! {
    /// The settings page's words.
    S {
        Title => ("Usługa kliniczna (EESZT)", "Clinical record service (EESZT)"),
        Intro => (
            "Połączenie konta z krajową usługą dokumentacji klinicznej: adres usługi i jej certyfikat CA, certyfikat placówki (plik PKCS#12 z jednorazowym kodem od operatora usługi), placówka, jej jednostki i lekarze. Lekarze logują się potem na stanowisku /practice.",
            "The account's connection to the national clinical record service: the service's address and CA certificate, the institution certificate (the PKCS#12 file with the one-time code from the service's operator), the institution, its units and its practitioners. Practitioners then sign in at the desk, /practice."
        ),
        Current => ("Obecne ustawienia", "Current settings"),
        NotSet => ("Połączenie z usługą nie jest jeszcze skonfigurowane.", "The connection to the service is not set up yet."),
        Saved => ("Ustawienia usługi klinicznej zostały zapisane.", "The clinical service settings were saved."),
        FormTitle => ("Ustaw połączenie", "Set up the connection"),
        FormIntro => (
            "Zapisanie zastępuje obecne ustawienia w całości; jeśli cokolwiek jest błędne, nic nie zostaje zapisane.",
            "Saving replaces the current settings whole; if anything is wrong, nothing is saved."
        ),
        ServiceUrl => ("Adres usługi", "Service address"),
        ServiceUrlHint => ("https://host:port", "https://host:port"),
        ServiceCa => ("Certyfikat CA usługi (PEM)", "The service's CA certificate (PEM)"),
        Keystore => ("Certyfikat placówki (PKCS#12)", "Institution certificate (PKCS#12)"),
        Code => ("Jednorazowy kod do pliku", "One-time code of the file"),
        CodeHint => ("Przekazany osobno przez operatora usługi.", "Delivered separately by the service's operator."),
        Institution => ("Identyfikator placówki", "Institution id"),
        InstitutionHint => ("6 cyfr, np. 506097", "6 digits, e.g. 506097"),
        InstitutionName => ("Nazwa placówki", "Institution name"),
        Units => ("Kody jednostek", "Unit codes"),
        UnitsHint => ("9 cyfr każdy, jeden w wierszu", "9 digits each, one a line"),
        Practitioners => ("Lekarze", "Practitioners"),
        PractitionersHint => (
            "Jeden w wierszu: imię i nazwisko; numer pieczątki (5 cyfr); nazwa użytkownika w usłudze",
            "One a line: name; stamp number (5 digits); user name at the service"
        ),
        Save => ("Zapisz ustawienia", "Save the settings"),
        Required => ("To pole jest wymagane.", "This field is required."),
        FileRequired => ("Wybierz plik.", "Choose a file."),
        BadUrl => ("Podaj adres https:// usługi (host i opcjonalnie port).", "Give the service's https:// address (host and optional port)."),
        NoUnits => ("Podaj co najmniej jedną jednostkę.", "Give at least one unit."),
        NoPractitioners => ("Podaj co najmniej jednego lekarza.", "Give at least one practitioner."),
        TooMany => ("Za dużo wierszy (najwyżej 200).", "Too many lines (at most 200)."),
        FixErrors => ("Popraw zaznaczone pola; nic nie zostało zapisane.", "Correct the marked fields; nothing was saved."),
        ServiceUrlFact => ("Adres usługi", "Service address"),
        InstitutionFact => ("Placówka", "Institution"),
        SerialFact => ("Numer seryjny certyfikatu", "Certificate serial"),
        ValidUntilFact => ("Ważny do", "Valid until"),
        UnitsFact => ("Jednostki", "Units"),
        SavedFact => ("Zapisano", "Saved"),
        Name => ("Imię i nazwisko", "Name"),
        Stamp => ("Pieczątka", "Stamp number"),
        UserName => ("Nazwa użytkownika", "User name"),
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route(
        PAGE,
        get(page)
            .post(save)
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
    )
}

/// What was typed and what was wrong with it, to show the form again.
#[derive(Default)]
struct Filled {
    errors: HashMap<&'static str, String>,
    service_url: String,
    institution: String,
    institution_name: String,
    units: String,
    practitioners: String,
}

impl Filled {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

fn textarea(name: &str, label: &str, hint: &str, value: &str, error: Option<&str>) -> String {
    let id = field_id(name);
    let (error_html, describedby, invalid) = match error {
        Some(text) => (
            format!("<span class=\"field-error\" id=\"{id}-error\">{}</span>", escape(text)),
            format!("{id}-hint {id}-error"),
            " aria-invalid=\"true\"",
        ),
        None => (String::new(), format!("{id}-hint"), ""),
    };
    format!(
        "<div class=\"field\"><label for=\"{id}\">{label}</label>\
         <textarea id=\"{id}\" name=\"{name}\" rows=\"4\" required aria-describedby=\"{describedby}\"{invalid}>{value}</textarea>\
         <span class=\"hint\" id=\"{id}-hint\">{hint}</span>{error_html}</div>",
        label = escape(label),
        hint = escape(hint),
        value = escape(value),
    )
}

fn current_settings(lang: Lang, connection: Option<&ClinicalConnection>) -> String {
    let Some(connection) = connection else {
        return format!(
            "<section class=\"card wide\" id=\"clinical-current\"><h2>{}</h2>{}</section>",
            escape(S::Current.text(lang)),
            message(MessageKind::Info, S::NotSet.text(lang))
        );
    };
    let fact = |label: S, id: &str, value: &str| {
        format!(
            "<dt>{}</dt><dd id=\"{id}\">{}</dd>",
            escape(label.text(lang)),
            escape(value)
        )
    };
    let units: Vec<&str> = connection.units.iter().map(UnitId::as_str).collect();
    let rows: String = connection
        .practitioners
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                escape(&p.name),
                escape(p.stamp_number.as_str()),
                escape(&p.user_name)
            )
        })
        .collect();
    format!(
        "<section class=\"card wide\" id=\"clinical-current\"><h2>{title}</h2><dl class=\"facts\">{url}{institution}{serial}{until}{units}{saved}</dl>\
         <table><thead><tr><th scope=\"col\">{name}</th><th scope=\"col\">{stamp}</th><th scope=\"col\">{user}</th></tr></thead>\
         <tbody id=\"clinical-practitioners\">{rows}</tbody></table></section>",
        title = escape(S::Current.text(lang)),
        url = fact(S::ServiceUrlFact, "clinical-url", &connection.service_url),
        institution = fact(
            S::InstitutionFact,
            "clinical-institution",
            &format!("{} · {}", connection.institution, connection.institution_name)
        ),
        serial = fact(S::SerialFact, "clinical-serial", &connection.serial),
        until = fact(S::ValidUntilFact, "clinical-valid-until", &second(connection.not_after)),
        units = fact(S::UnitsFact, "clinical-units", &units.join(", ")),
        saved = fact(S::SavedFact, "clinical-saved", &second(connection.saved_at)),
        name = escape(S::Name.text(lang)),
        stamp = escape(S::Stamp.text(lang)),
        user = escape(S::UserName.text(lang)),
    )
}

/// The page: the current settings and the form, with `filled`'s values and errors.
async fn view(
    state: &AppState,
    admin: &Admin,
    request: &WebRequest,
    filled: &Filled,
    status: StatusCode,
) -> PageResult {
    let lang = request.lang;
    let connection = state
        .metadata
        .clinical_connection(&admin.tenant.id)
        .await
        .map_err(|e| ApiError::internal("reading the clinical connection", &e))?;
    let banner = if !filled.errors.is_empty() {
        message(MessageKind::Error, S::FixErrors.text(lang))
    } else if request.query("done").as_deref() == Some("saved") {
        medgate_web::desk::notice("ok", S::Saved.text(lang))
    } else {
        String::new()
    };
    let file = |name: &'static str, label: S, accept: &str| {
        let extra = format!("accept=\"{accept}\"");
        Input {
            kind: "file",
            error: filled.error(name),
            required: true,
            extra: &extra,
            ..Input::text(name, label.text(lang), "")
        }
        .html()
    };
    let text = |name: &'static str, label: S, hint: Option<S>, value: &str, extra: &str| {
        Input {
            hint: hint.map(|h| h.text(lang)),
            error: filled.error(name),
            required: true,
            extra,
            ..Input::text(name, label.text(lang), value)
        }
        .html()
    };
    let mut frame = admin.frame(request, S::Title.text(lang));
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{banner}{current}\
         <section class=\"card wide\"><h2>{form_title}</h2><p class=\"muted\">{form_intro}</p>\
         <form method=\"post\" action=\"{PAGE}\" enctype=\"multipart/form-data\" id=\"clinical-form\" novalidate>{csrf}\
         {url}{ca}{p12}{code}{institution}{name}{units}{practitioners}\
         <button class=\"primary\" type=\"submit\">{save}</button></form></section>",
        intro = escape(S::Intro.text(lang)),
        current = current_settings(lang, connection.as_ref()),
        form_title = escape(S::FormTitle.text(lang)),
        form_intro = escape(S::FormIntro.text(lang)),
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        url = text("service_url", S::ServiceUrl, Some(S::ServiceUrlHint), &filled.service_url, "maxlength=\"300\" autocomplete=\"url\""),
        ca = file("ca_file", S::ServiceCa, ".pem,.crt,.cer"),
        p12 = file("p12_file", S::Keystore, ".p12,.pfx"),
        code = Input {
            kind: "password",
            hint: Some(S::CodeHint.text(lang)),
            error: filled.error("code"),
            required: true,
            extra: "autocomplete=\"off\" maxlength=\"200\"",
            ..Input::text("code", S::Code.text(lang), "")
        }
        .html(),
        institution = text("institution", S::Institution, Some(S::InstitutionHint), &filled.institution, "inputmode=\"numeric\" maxlength=\"6\""),
        name = text("institution_name", S::InstitutionName, None, &filled.institution_name, "maxlength=\"200\""),
        units = textarea("units", S::Units.text(lang), S::UnitsHint.text(lang), &filled.units, filled.error("units")),
        practitioners = textarea(
            "practitioners",
            S::Practitioners.text(lang),
            S::PractitionersHint.text(lang),
            &filled.practitioners,
            filled.error("practitioners")
        ),
        save = escape(S::Save.text(lang)),
    );
    Ok(frame.into_response())
}

/// `GET /admin/clinical-service`.
async fn page(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = view(&state, &admin, &request, &Filled::default(), StatusCode::OK).await;
    respond(&ADMIN, &request, outcome)
}

/// The service URL as typed: `https://host[:port]`, no credentials, query or fragment.
fn service_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    let plain = url.scheme() == "https"
        && url.host_str().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.query().is_none()
        && url.fragment().is_none();
    plain.then(|| url.as_str().trim_end_matches('/').to_owned())
}

/// The unit codes typed one a line (spaces and commas also separate them).
fn units(text: &str) -> Result<Vec<UnitId>, String> {
    let mut units: Vec<UnitId> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == ';').filter(|w| !w.is_empty()) {
        let unit = UnitId::parse(word).map_err(|e| e.to_string())?;
        if !units.contains(&unit) {
            units.push(unit);
        }
    }
    Ok(units)
}

/// The practitioners typed one a line: `name; stamp number; user name`.
fn practitioners(text: &str) -> Result<Vec<ClinicPractitioner>, String> {
    let mut listed: Vec<ClinicPractitioner> = Vec::new();
    for (number, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line_no = number + 1;
        let parts: Vec<&str> = line.split(';').map(str::trim).collect();
        let [name, stamp, user_name] = parts[..] else {
            return Err(format!(
                "line {line_no}: write name; stamp number; user name (three parts separated by ';')"
            ));
        };
        if name.is_empty() || name.chars().count() > 200 {
            return Err(format!("line {line_no}: the name must be 1 to 200 characters"));
        }
        let stamp_number = StampNumber::parse(stamp).map_err(|e| format!("line {line_no}: {e}"))?;
        let valid_user = !user_name.is_empty()
            && user_name.len() <= 64
            && user_name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_@".contains(c));
        if !valid_user {
            return Err(format!(
                "line {line_no}: the user name must be 1 to 64 of letters, digits and . - _ @"
            ));
        }
        if listed.iter().any(|p| p.user_name == user_name) {
            return Err(format!("line {line_no}: user name {user_name} is listed twice"));
        }
        listed.push(ClinicPractitioner {
            name: name.to_owned(),
            stamp_number,
            user_name: user_name.to_owned(),
        });
    }
    Ok(listed)
}

/// The field a refusal of the credentials check belongs beside.
fn credentials_field(error: &CredentialsError) -> &'static str {
    match error {
        CredentialsError::WrongCode { .. } => "code",
        CredentialsError::ServiceCaUnusable { .. } => "ca_file",
        _ => "p12_file",
    }
}

/// `POST /admin/clinical-service`: checks every field, opens the keystore with the code,
/// then saves the connection whole.
async fn save(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let outcome = async {
        let lang = request.lang;
        let upload = Upload::read(multipart).await?;
        let form = &upload.form;
        if !admin.staff.form_is_genuine(&request, form) {
            return Err(medgate_web::desk::PageError::answer(
                medgate_web::desk::frame::forged_page(admin.frame(&request, S::Title.text(lang))),
            ));
        }
        let mut filled = Filled {
            service_url: form.text("service_url").to_owned(),
            institution: form.text("institution").to_owned(),
            institution_name: form.text("institution_name").to_owned(),
            units: form.raw("units").trim().to_owned(),
            practitioners: form.raw("practitioners").trim().to_owned(),
            ..Filled::default()
        };
        let mut refuse = |field: &'static str, text: String| {
            filled.errors.entry(field).or_insert(text);
        };
        let url = match service_url(form.text("service_url")) {
            Some(url) => Some(url),
            None if form.text("service_url").is_empty() => {
                refuse("service_url", S::Required.text(lang).to_owned());
                None
            }
            None => {
                refuse("service_url", S::BadUrl.text(lang).to_owned());
                None
            }
        };
        let institution = match InstitutionId::parse(form.text("institution")) {
            Ok(id) => Some(id),
            Err(_) if form.text("institution").is_empty() => {
                refuse("institution", S::Required.text(lang).to_owned());
                None
            }
            Err(e) => {
                refuse("institution", e.to_string());
                None
            }
        };
        let name = form.text("institution_name");
        if name.is_empty() || name.chars().count() > 200 {
            refuse("institution_name", S::Required.text(lang).to_owned());
        }
        let units = match units(form.raw("units")) {
            Ok(units) if units.is_empty() => {
                refuse("units", S::NoUnits.text(lang).to_owned());
                Vec::new()
            }
            Ok(units) if units.len() > MAX_ROWS => {
                refuse("units", S::TooMany.text(lang).to_owned());
                Vec::new()
            }
            Ok(units) => units,
            Err(e) => {
                refuse("units", e);
                Vec::new()
            }
        };
        let practitioners = match practitioners(form.raw("practitioners")) {
            Ok(listed) if listed.is_empty() => {
                refuse("practitioners", S::NoPractitioners.text(lang).to_owned());
                Vec::new()
            }
            Ok(listed) if listed.len() > MAX_ROWS => {
                refuse("practitioners", S::TooMany.text(lang).to_owned());
                Vec::new()
            }
            Ok(listed) => listed,
            Err(e) => {
                refuse("practitioners", e);
                Vec::new()
            }
        };
        let ca_file = upload.file("ca_file");
        let p12_file = upload.file("p12_file");
        if ca_file.is_none() {
            refuse("ca_file", S::FileRequired.text(lang).to_owned());
        }
        if p12_file.is_none() {
            refuse("p12_file", S::FileRequired.text(lang).to_owned());
        }
        if form.raw("code").is_empty() {
            refuse("code", S::Required.text(lang).to_owned());
        }
        let (Some(url), Some(institution), Some(ca_file), Some(p12_file), true) =
            (url, institution, ca_file, p12_file, filled.errors.is_empty())
        else {
            return view(&state, &admin, &request, &filled, StatusCode::BAD_REQUEST).await;
        };

        // The keystore, opened with the code and checked, then re-encrypted under the
        // node's credentials key: on the blocking pool (key derivation is slow on purpose).
        let code = Password::new(form.raw("code").trim().to_owned());
        let ca_bytes = ca_file.bytes.clone();
        let ca_name = ca_file.file_name.clone();
        let p12 = p12_file.bytes.clone();
        let p12_name = p12_file.file_name.clone();
        let key_file = state.node.credentials_key_file.clone();
        let expected = institution.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let ca = service_ca_from_bytes(ca_bytes, Path::new(&ca_name))?;
            let ca_pem = ca.to_pem();
            let credentials = InstitutionCredentials::open(
                &p12,
                Path::new(&p12_name),
                &code,
                ca,
                Path::new(&ca_name),
                &expected,
                medgate_web::now(),
            )?;
            let node_key = Password::from_file(&key_file)
                .map_err(|e| CredentialsError::Keystore(e.to_string()))?;
            let keystore = credentials.to_pkcs12(&node_key)?;
            Ok::<_, CredentialsError>((
                ca_pem,
                pem::encode(&pem::Pem::new("PKCS12", keystore)),
                credentials.serial_hex().to_owned(),
                credentials.not_after(),
            ))
        })
        .await
        .map_err(|e| ApiError::internal("opening the institution keystore", &e))?;
        let (ca_pem, keystore_pem, serial, not_after) = match opened {
            Ok(opened) => opened,
            Err(CredentialsError::Keystore(cause)) => {
                return Err(ApiError::internal("keeping the institution keystore", &cause).into())
            }
            Err(error) => {
                filled.errors.insert(credentials_field(&error), error.to_string());
                return view(&state, &admin, &request, &filled, StatusCode::BAD_REQUEST).await;
            }
        };
        let connection = ClinicalConnection {
            service_url: url,
            service_ca_pem: ca_pem,
            institution: institution.clone(),
            institution_name: name.to_owned(),
            keystore_pem,
            serial: serial.clone(),
            not_after,
            units,
            practitioners,
            saved_at: medgate_web::now(),
        };
        state
            .metadata
            .save_clinical_connection(&admin.tenant.id, &connection)
            .await
            .map_err(|e| ApiError::internal("saving the clinical connection", &e))?;
        append_audit(
            &state,
            &request,
            Some(&admin.tenant.id),
            &admin.staff.actor(),
            "clinical.settings",
            institution.as_str(),
            format!(
                "service {}; certificate {serial}; {} units; {} practitioners",
                connection.service_url,
                connection.units.len(),
                connection.practitioners.len()
            ),
        )
        .await?;
        Ok(redirect(&format!("{PAGE}?done=saved"), &[]))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn a_service_url_is_plain_https() {
        assert_eq!(
            service_url("https://eeszt.example:8443/").as_deref(),
            Some("https://eeszt.example:8443")
        );
        assert_eq!(service_url("http://eeszt.example"), None);
        assert_eq!(service_url("https://user:pw@eeszt.example"), None);
        assert_eq!(service_url("https://eeszt.example/?x=1"), None);
        assert_eq!(service_url("eeszt.example"), None);
    }

    #[test]
    fn units_and_practitioners_are_read_line_by_line_and_named_when_wrong() {
        let read = units("001044299\n001044300, 001044299").unwrap();
        assert_eq!(read.len(), 2);
        let error = units("001044299\n12345").unwrap_err();
        assert!(error.contains("12345"), "{error}");
        let listed = practitioners("Dr. Kovács Anna; 58012; dr.kovacs\n\n Dr. Nagy Béla ;41234;dr.nagy").unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].name, "Dr. Nagy Béla");
        assert_eq!(listed[1].stamp_number.as_str(), "41234");
        let twice = practitioners("A; 58012; dr.a\nB; 41234; dr.a").unwrap_err();
        assert!(twice.contains("line 2") && twice.contains("twice"), "{twice}");
        let parts = practitioners("A; 58012").unwrap_err();
        assert!(parts.contains("line 1"), "{parts}");
        let stamp = practitioners("A; 5801; dr.a").unwrap_err();
        assert!(stamp.contains("5801"), "{stamp}");
        let user = practitioners("A; 58012; dr a").unwrap_err();
        assert!(user.contains("user name"), "{user}");
    }
}

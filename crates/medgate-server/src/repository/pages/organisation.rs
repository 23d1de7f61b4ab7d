//! The organisational structure form (seed 000 §1.1.4 "Struktura organizacyjna", SPEC §4.4):
//! the provider, its facilities and their organisational units with the register codes.
//! The form's field names are the paths `medgate_repository::organisation::validate` reports errors by
//! (`provider.nip`, `units[2].register_code_part_8`), so every error the API would answer is
//! shown beside its own field; nothing is stored unless the whole structure is valid.
//!
//! Rows are added without script: "add a facility" / "add a unit" submit the form, which
//! comes back with everything typed so far and one more empty row. A row left empty is
//! ignored; a row marked "remove" is dropped.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use super::{Admin, ADMIN};
use crate::repository::{domain, refused};
use medgate_repository::organisation::{
    self, AddressForm, FacilityForm, FieldError, OrganisationForm, ProviderForm, UnitForm,
};
use medgate_repository::RepositoryError;
use medgate_web::desk::text::T;
use medgate_web::desk::{field_id, notice, respond, Input, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, redirect, MessageKind};
use medgate_web::state::AppState;
use medgate_web::{csrf, Form, WebRequest};

/// Most facilities or units one form takes (a bound on the work of one request).
const MAX_ROWS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/organisation", get(show).post(submit))
}

// ---------------------------------------------------------------------------------------
// Reading the form
// ---------------------------------------------------------------------------------------

fn optional(form: &Form, name: &str) -> Option<String> {
    let value = form.text(name);
    (!value.is_empty()).then(|| value.to_owned())
}

fn address(form: &Form, path: &str) -> AddressForm {
    let field = |name: &str| form.text(&format!("{path}.{name}")).to_owned();
    AddressForm {
        street: field("street"),
        building: field("building"),
        apartment: optional(form, &format!("{path}.apartment")),
        postal_code: field("postal_code"),
        city: field("city"),
        country: optional(form, &format!("{path}.country")),
    }
}

fn count(form: &Form, name: &str) -> usize {
    form.text(name).parse::<usize>().unwrap_or(0).min(MAX_ROWS)
}

/// True when the row's fields (given by name) are all blank.
fn blank(form: &Form, path: &str, names: &[&str]) -> bool {
    names
        .iter()
        .all(|name| form.text(&format!("{path}.{name}")).is_empty())
}

const ADDRESS_NAMES: [&str; 6] = [
    "address.street",
    "address.building",
    "address.apartment",
    "address.postal_code",
    "address.city",
    "address.country",
];

/// The structure the form describes, without removed or empty rows.
fn read(form: &Form) -> OrganisationForm {
    let provider = ProviderForm {
        name: form.text("provider.name").to_owned(),
        address: address(form, "provider.address"),
        phone: form.text("provider.phone").to_owned(),
        regon: form.text("provider.regon").to_owned(),
        nip: form.text("provider.nip").to_owned(),
        register_code_part_1: form.text("provider.register_code_part_1").to_owned(),
    };
    let mut facilities = Vec::new();
    for index in 0..count(form, "facilities_count") {
        let path = format!("facilities[{index}]");
        let mut names = vec!["id", "name", "phone", "regon14", "nip"];
        names.extend(ADDRESS_NAMES);
        // A new row keeps the default country; it is still empty.
        let country = form.text(&format!("{path}.address.country"));
        let empty = blank(form, &path, &names[..names.len() - 1])
            && (country.is_empty() || country.eq_ignore_ascii_case("PL"));
        if empty || !form.text(&format!("{path}.remove")).is_empty() {
            continue;
        }
        facilities.push(FacilityForm {
            id: form.text(&format!("{path}.id")).to_owned(),
            name: form.text(&format!("{path}.name")).to_owned(),
            address: address(form, &format!("{path}.address")),
            phone: optional(form, &format!("{path}.phone")),
            regon14: form.text(&format!("{path}.regon14")).to_owned(),
            nip: form.text(&format!("{path}.nip")).to_owned(),
        });
    }
    let mut units = Vec::new();
    for index in 0..count(form, "units_count") {
        let path = format!("units[{index}]");
        let names = [
            "code",
            "name",
            "facility",
            "register_code_part_5",
            "register_code_part_7",
            "register_code_part_8",
            "register_code_part_9",
            "register_code_part_10",
            "phone",
            "email",
        ];
        if blank(form, &path, &names) || !form.text(&format!("{path}.remove")).is_empty() {
            continue;
        }
        let field = |name: &str| form.text(&format!("{path}.{name}")).to_owned();
        units.push(UnitForm {
            code: field("code"),
            name: field("name"),
            facility: field("facility"),
            register_code_part_5: field("register_code_part_5"),
            register_code_part_7: field("register_code_part_7"),
            register_code_part_8: field("register_code_part_8"),
            register_code_part_9: field("register_code_part_9"),
            register_code_part_10: field("register_code_part_10"),
            phone: optional(form, &format!("{path}.phone")),
            email: optional(form, &format!("{path}.email")),
        });
    }
    OrganisationForm {
        provider,
        facilities,
        units,
    }
}

// ---------------------------------------------------------------------------------------
// Error messages in the page's language
// ---------------------------------------------------------------------------------------

/// The validator's error for a field, in the page's words. The validator speaks the API's
/// English; the known rules get their Polish (and plain English) sentence here, anything
/// else is shown as the validator wrote it.
fn error_text(lang: Lang, error: &FieldError) -> String {
    let field = error.field.as_str();
    let text = error.message.as_str();
    let last = field.rsplit('.').next().unwrap_or(field);
    let digits = |n: &str| T::BadRegisterPart.with(lang, "digits", n);
    let message = if text == "is required" {
        T::Required.text(lang).to_owned()
    } else if text.contains("already used") {
        T::AlreadyUsed.text(lang).to_owned()
    } else if last == "facility" && text.starts_with("names facility") {
        T::UnknownFacility.text(lang).to_owned()
    } else if text.contains("characters long") {
        T::TooLong.text(lang).to_owned()
    } else if text.contains("control character") {
        T::ControlCharacter.text(lang).to_owned()
    } else {
        match last {
            "nip" => T::BadNip.text(lang).to_owned(),
            "regon" => T::BadRegon9.text(lang).to_owned(),
            "regon14" => T::BadRegon14.text(lang).to_owned(),
            "postal_code" => T::BadPostalCode.text(lang).to_owned(),
            "phone" => T::BadPhone.text(lang).to_owned(),
            "email" => T::BadEmail.text(lang).to_owned(),
            "country" => T::BadCountry.text(lang).to_owned(),
            "id" | "code" => T::BadCode.text(lang).to_owned(),
            "register_code_part_1" => T::BadRegisterBook.text(lang).to_owned(),
            "register_code_part_5" => digits("2"),
            "register_code_part_7" => digits("3"),
            "register_code_part_8" => digits("4"),
            "register_code_part_10" => digits("3"),
            "register_code_part_9" => T::BadHealthCareFunction.text(lang).to_owned(),
            _ => text.to_owned(),
        }
    };
    // The rule the value broke, in the validator's words, after the sentence in English.
    match lang {
        Lang::En if !message.contains(text) && text != "is required" => {
            format!("{message} ({text})")
        }
        _ => message,
    }
}

/// A field's path in words for the error summary: "Zakład leczniczy 2 › NIP".
fn field_label(lang: Lang, path: &str) -> String {
    let (group, rest) = path.split_once('.').unwrap_or((path, ""));
    let number = |text: &str| {
        text.split_once('[')
            .and_then(|(_, n)| n.trim_end_matches(']').parse::<usize>().ok())
            .map(|n| (n + 1).to_string())
            .unwrap_or_default()
    };
    let group = if group == "provider" {
        T::Provider.text(lang).to_owned()
    } else if group.starts_with("facilities") {
        T::FacilityNumber.with(lang, "number", &number(group))
    } else if group.starts_with("units") {
        T::UnitNumber.with(lang, "number", &number(group))
    } else {
        group.to_owned()
    };
    let label = match rest.rsplit('.').next().unwrap_or(rest) {
        "name" => T::Name,
        "street" => T::Street,
        "building" => T::Building,
        "apartment" => T::Apartment,
        "postal_code" => T::PostalCode,
        "city" => T::City,
        "country" => T::Country,
        "phone" => T::Phone,
        "email" => T::Email,
        "regon" => T::Regon,
        "regon14" => T::Regon14,
        "nip" => T::Nip,
        "register_code_part_1" => T::RegisterCodePart1,
        "id" => T::FacilityCode,
        "code" => T::UnitCode,
        "facility" => T::UnitFacility,
        "register_code_part_5" => T::RegisterCodePart5,
        "register_code_part_7" => T::RegisterCodePart7,
        "register_code_part_8" => T::RegisterCodePart8,
        "register_code_part_9" => T::RegisterCodePart9,
        "register_code_part_10" => T::RegisterCodePart10,
        other => return format!("{group} › {other}"),
    };
    format!("{group} › {}", label.text(lang))
}

// ---------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------

struct Errors(HashMap<String, String>);

impl Errors {
    fn of(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }
}

fn input<'a>(
    errors: &'a Errors,
    name: &'a str,
    label: &'a str,
    value: &'a str,
    required: bool,
    extra: &'a str,
) -> String {
    Input {
        name,
        label,
        kind: "text",
        value,
        hint: None,
        error: errors.of(name),
        required,
        extra,
    }
    .html()
}

fn address_inputs(lang: Lang, errors: &Errors, path: &str, address: &AddressForm) -> String {
    let name = |field: &str| format!("{path}.{field}");
    [
        input(
            errors,
            &name("street"),
            T::Street.text(lang),
            &address.street,
            true,
            "autocomplete=\"off\"",
        ),
        input(
            errors,
            &name("building"),
            T::Building.text(lang),
            &address.building,
            true,
            "",
        ),
        input(
            errors,
            &name("apartment"),
            T::Apartment.text(lang),
            address.apartment.as_deref().unwrap_or(""),
            false,
            "",
        ),
        input(
            errors,
            &name("postal_code"),
            T::PostalCode.text(lang),
            &address.postal_code,
            true,
            "inputmode=\"numeric\" placeholder=\"00-000\"",
        ),
        input(
            errors,
            &name("city"),
            T::City.text(lang),
            &address.city,
            true,
            "",
        ),
        input(
            errors,
            &name("country"),
            T::Country.text(lang),
            address.country.as_deref().unwrap_or("PL"),
            false,
            "maxlength=\"2\"",
        ),
    ]
    .concat()
}

fn remove_box(lang: Lang, path: &str) -> String {
    medgate_web::desk::checkbox(
        &format!("{path}.remove"),
        T::RemoveRow.text(lang),
        false,
        "",
    )
}

fn page(
    admin: &Admin,
    request: &WebRequest,
    form: &OrganisationForm,
    errors: &Errors,
    banner: String,
    status: StatusCode,
) -> Response {
    let lang = request.lang;
    let provider = &form.provider;
    let provider_html = format!(
        "<fieldset><legend>{legend}</legend><div class=\"fields\">{}{}{}{}{}</div>\
         <div class=\"fields\">{address}</div></fieldset>",
        input(
            errors,
            "provider.name",
            T::Name.text(lang),
            &provider.name,
            true,
            ""
        ),
        input(
            errors,
            "provider.phone",
            T::Phone.text(lang),
            &provider.phone,
            true,
            "inputmode=\"tel\""
        ),
        input(
            errors,
            "provider.regon",
            T::Regon.text(lang),
            &provider.regon,
            true,
            "inputmode=\"numeric\""
        ),
        input(
            errors,
            "provider.nip",
            T::Nip.text(lang),
            &provider.nip,
            true,
            "inputmode=\"numeric\""
        ),
        input(
            errors,
            "provider.register_code_part_1",
            T::RegisterCodePart1.text(lang),
            &provider.register_code_part_1,
            true,
            "inputmode=\"numeric\""
        ),
        legend = escape(T::Provider.text(lang)),
        address = address_inputs(lang, errors, "provider.address", &provider.address),
    );
    let mut facilities_html = String::new();
    for (index, facility) in form.facilities.iter().enumerate() {
        let path = format!("facilities[{index}]");
        let name = |field: &str| format!("{path}.{field}");
        facilities_html.push_str(&format!(
            "<fieldset><legend>{legend}</legend><div class=\"fields\">{}{}{}{}{}</div>\
             <div class=\"fields\">{address}</div>{remove}</fieldset>",
            input(
                errors,
                &name("id"),
                T::FacilityCode.text(lang),
                &facility.id,
                true,
                ""
            ),
            input(
                errors,
                &name("name"),
                T::Name.text(lang),
                &facility.name,
                true,
                ""
            ),
            input(
                errors,
                &name("phone"),
                T::Phone.text(lang),
                facility.phone.as_deref().unwrap_or(""),
                false,
                "inputmode=\"tel\""
            ),
            input(
                errors,
                &name("regon14"),
                T::Regon14.text(lang),
                &facility.regon14,
                true,
                "inputmode=\"numeric\""
            ),
            input(
                errors,
                &name("nip"),
                T::Nip.text(lang),
                &facility.nip,
                true,
                "inputmode=\"numeric\""
            ),
            legend = escape(&T::FacilityNumber.with(lang, "number", &(index + 1).to_string())),
            address = address_inputs(lang, errors, &format!("{path}.address"), &facility.address),
            remove = remove_box(lang, &path),
        ));
    }
    let mut units_html = String::new();
    for (index, unit) in form.units.iter().enumerate() {
        let path = format!("units[{index}]");
        let name = |field: &str| format!("{path}.{field}");
        units_html.push_str(&format!(
            "<fieldset><legend>{legend}</legend><div class=\"fields\">{}{}{}{}{}{}{}{}{}{}</div>{remove}</fieldset>",
            input(errors, &name("code"), T::UnitCode.text(lang), &unit.code, true, ""),
            input(errors, &name("name"), T::Name.text(lang), &unit.name, true, ""),
            input(errors, &name("facility"), T::UnitFacility.text(lang), &unit.facility, true, "list=\"facility-ids\""),
            input(errors, &name("register_code_part_5"), T::RegisterCodePart5.text(lang), &unit.register_code_part_5, true, "inputmode=\"numeric\" maxlength=\"2\""),
            input(errors, &name("register_code_part_7"), T::RegisterCodePart7.text(lang), &unit.register_code_part_7, true, "inputmode=\"numeric\" maxlength=\"3\""),
            input(errors, &name("register_code_part_8"), T::RegisterCodePart8.text(lang), &unit.register_code_part_8, true, "inputmode=\"numeric\" maxlength=\"4\""),
            input(errors, &name("register_code_part_9"), T::RegisterCodePart9.text(lang), &unit.register_code_part_9, true, "placeholder=\"HC.1.1\""),
            input(errors, &name("register_code_part_10"), T::RegisterCodePart10.text(lang), &unit.register_code_part_10, true, "inputmode=\"numeric\" maxlength=\"3\""),
            input(errors, &name("phone"), T::Phone.text(lang), unit.phone.as_deref().unwrap_or(""), false, "inputmode=\"tel\""),
            input(errors, &name("email"), T::Email.text(lang), unit.email.as_deref().unwrap_or(""), false, "inputmode=\"email\" autocomplete=\"email\""),
            legend = escape(&T::UnitNumber.with(lang, "number", &(index + 1).to_string())),
            remove = remove_box(lang, &path),
        ));
    }
    let facility_ids: String = form
        .facilities
        .iter()
        .filter(|f| !f.id.trim().is_empty())
        .map(|f| format!("<option value=\"{}\">", escape(f.id.trim())))
        .collect();
    let summary = if errors.0.is_empty() {
        String::new()
    } else {
        let mut fields: Vec<(&String, &String)> = errors.0.iter().collect();
        fields.sort();
        let items: String = fields
            .iter()
            .map(|(field, text)| {
                format!(
                    "<li><a href=\"#{}\">{}</a>: {}</li>",
                    field_id(field),
                    escape(&field_label(lang, field)),
                    escape(text)
                )
            })
            .collect();
        format!(
            "<div class=\"message error\" role=\"alert\" id=\"errors\"><strong>{}</strong><ul>{items}</ul></div>",
            escape(&T::OrganisationInvalid.with(lang, "count", &errors.0.len().to_string()))
        )
    };
    let mut frame = admin.frame(request, T::OrganisationTitle.text(lang));
    frame.status = status;
    frame.body = format!(
        "<p class=\"muted\">{intro}</p>{banner}{summary}\
         <form method=\"post\" action=\"/admin/organisation\" novalidate>{csrf}\
         <button type=\"submit\" name=\"action\" value=\"save\" class=\"implicit-submit\" tabindex=\"-1\" aria-hidden=\"true\">{save}</button>\
         <input type=\"hidden\" name=\"facilities_count\" value=\"{facility_count}\">\
         <input type=\"hidden\" name=\"units_count\" value=\"{unit_count}\">\
         <datalist id=\"facility-ids\">{facility_ids}</datalist>\
         {provider_html}\
         <h2>{facilities_title}</h2>{facilities_html}\
         <div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"action\" value=\"add-facility\">{add_facility}</button></div>\
         <h2>{units_title}</h2>{units_html}\
         <div class=\"actions\"><button class=\"secondary\" type=\"submit\" name=\"action\" value=\"add-unit\">{add_unit}</button></div>\
         <div class=\"actions\"><button class=\"primary\" type=\"submit\" name=\"action\" value=\"save\">{save}</button></div>\
         </form>",
        intro = escape(T::OrganisationIntro.text(lang)),
        csrf = csrf::hidden_field(&admin.staff.session.csrf_secret),
        facility_count = form.facilities.len(),
        unit_count = form.units.len(),
        facilities_title = escape(T::Facilities.text(lang)),
        add_facility = escape(T::AddFacility.text(lang)),
        units_title = escape(T::Units.text(lang)),
        add_unit = escape(T::AddUnit.text(lang)),
        save = escape(T::Send.text(lang)),
    );
    frame.into_response()
}

fn empty_facility() -> FacilityForm {
    FacilityForm {
        address: AddressForm {
            country: Some("PL".to_owned()),
            ..AddressForm::default()
        },
        ..FacilityForm::default()
    }
}

/// `GET /admin/organisation`: the stored structure (or an empty form), ready to edit.
async fn show(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let caller = admin.caller(&request);
        let (mut form, banner) = match organisation::show(&domain(&state), &caller.actor()).await {
            Ok(stored) => {
                let form: OrganisationForm = serde_json::from_value(stored.organisation)
                    .map_err(|e| ApiError::internal("stored organisational structure", &e))?;
                let saved = request.query("saved").is_some();
                let text = if saved {
                    T::OrganisationSaved
                } else {
                    T::OrganisationRevision
                }
                .with(lang, "revision", &stored.revision.to_string())
                .replace("{at}", &medgate_web::desk::minute(stored.updated_at));
                (form, notice(if saved { "ok" } else { "info" }, &text))
            }
            Err(RepositoryError::NoOrganisation) => (
                OrganisationForm::default(),
                message(MessageKind::Info, T::OrganisationNone.text(lang)),
            ),
            Err(other) => return Err(refused(other).into()),
        };
        if form.facilities.is_empty() {
            form.facilities.push(empty_facility());
        }
        if form.units.is_empty() {
            form.units.push(UnitForm::default());
        }
        Ok(page(
            &admin,
            &request,
            &form,
            &Errors(HashMap::new()),
            banner,
            StatusCode::OK,
        ))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

/// `POST /admin/organisation`: adds a row, or validates and stores the whole structure.
async fn submit(
    State(state): State<AppState>,
    SignedIn(admin): SignedIn<Admin>,
    request: WebRequest,
    body: Bytes,
) -> Response {
    let outcome = async {
        admin.require_usable(&request)?;
        let lang = request.lang;
        let form = admin.genuine_form(&request, &body)?;
        let mut structure = read(&form);
        match form.text("action") {
            "add-facility" | "add-unit" => {
                if form.text("action") == "add-facility" {
                    structure.facilities.push(empty_facility());
                } else {
                    structure.units.push(UnitForm::default());
                }
                if structure.units.is_empty() {
                    structure.units.push(UnitForm::default());
                }
                if structure.facilities.is_empty() {
                    structure.facilities.push(empty_facility());
                }
                let banner = message(MessageKind::Info, T::RowAdded.text(lang));
                return Ok(page(
                    &admin,
                    &request,
                    &structure,
                    &Errors(HashMap::new()),
                    banner,
                    StatusCode::OK,
                ));
            }
            _ => {}
        }
        let caller = admin.caller(&request);
        match organisation::replace(&domain(&state), &caller.actor(), &structure).await {
            Ok(_) => {}
            Err(RepositoryError::InvalidOrganisation(errors)) => {
                let mut shown = HashMap::new();
                for error in &errors {
                    shown
                        .entry(error.field.clone())
                        .or_insert_with(|| error_text(lang, error));
                }
                if structure.facilities.is_empty() {
                    structure.facilities.push(empty_facility());
                }
                if structure.units.is_empty() {
                    structure.units.push(UnitForm::default());
                }
                return Ok(page(
                    &admin,
                    &request,
                    &structure,
                    &Errors(shown),
                    String::new(),
                    StatusCode::BAD_REQUEST,
                ));
            }
            Err(other) => return Err(refused(other).into()),
        }
        Ok(redirect("/admin/organisation?saved=1", &[]))
    }
    .await;
    respond(&ADMIN, &request, outcome)
}

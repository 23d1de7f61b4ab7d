//! The tenant's organisational structure (seed 000 §1.1.4, SPEC §4.4): the form as the API,
//! the CLI's TOML file and the web UI receive it, its validation into an [`Organisation`]
//! that cannot be invalid, and the canonical form that is stored and shown back.
//!
//! Validation reports every problem at once, each with the path of its field
//! (`units[2].register_code_part_8`), so that a form can show them beside the fields.
//!
//! The "kod resortowy" (register code) parts follow the Polish regulation on the system of
//! departmental identification codes and the example of seed 000:
//! - part I, the provider's register book number (`numer księgi rejestrowej`): digits only.
//!   The register writes it zero-padded to 12 digits, seed 000 shows `00000025677` (11), so
//!   any 1 to 12 digits are accepted and kept as given;
//! - part V, the facility's identifier within the provider: 2 digits (seed `01`);
//! - part VII, the unit's identifier within the facility: 3 digits (seed `001`);
//! - part VIII, the unit's speciality: 4 digits (seed `1810`);
//! - part IX, the health-care function after the ICHA-HC classification: `HC.` followed by
//!   dot-separated groups (seed `HC.1.1`). The exact list of codes is not checked;
//! - part X, the unit's medical field: 3 digits (seed `115`).

use std::collections::HashMap;
use std::fmt;

use medgate_ids::{Nip, Regon14, Regon9};
use serde::{Deserialize, Serialize};

/// The country assumed when an address gives none.
pub const DEFAULT_COUNTRY: &str = "PL";

/// Longest accepted name (provider, facility, unit).
const MAX_NAME_CHARS: usize = 250;
/// Longest accepted street, city or e-mail address.
const MAX_TEXT_CHARS: usize = 120;
/// Longest accepted building or apartment number.
const MAX_NUMBER_CHARS: usize = 20;
/// Longest accepted local code (facility id, unit code).
const MAX_CODE_CHARS: usize = 32;
/// Digits a phone number may have: 9 for a Polish number without prefix, 15 at most (E.164).
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 9..=15;
/// Digits of register code part I at most.
const MAX_REGISTER_BOOK_DIGITS: usize = 12;

// ---------------------------------------------------------------------------------------
// The form: what a client sends. Every text is a plain string, missing ones default to
// empty, so that a missing field is one more entry in the error list instead of a refusal
// of the whole document.
// ---------------------------------------------------------------------------------------

/// The organisational structure as sent by a client (JSON body, TOML file, web form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationForm {
    #[serde(default)]
    pub provider: ProviderForm,
    #[serde(default)]
    pub facilities: Vec<FacilityForm>,
    #[serde(default)]
    pub units: Vec<UnitForm>,
}

/// The healthcare provider (`świadczeniodawca`, `podmiot leczniczy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: AddressForm,
    #[serde(default)]
    pub phone: String,
    /// REGON-9.
    #[serde(default)]
    pub regon: String,
    #[serde(default)]
    pub nip: String,
    /// Register code part I: the register book number.
    #[serde(default)]
    pub register_code_part_1: String,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressForm {
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub building: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apartment: Option<String>,
    /// `NN-NNN` in Poland.
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city: String,
    /// ISO 3166 two-letter code; [`DEFAULT_COUNTRY`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A medical facility (`zakład leczniczy`) of the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityForm {
    /// Local code that units refer to.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: AddressForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub regon14: String,
    #[serde(default)]
    pub nip: String,
}

/// An organisational unit (`komórka organizacyjna`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// The `id` of the facility the unit belongs to.
    #[serde(default)]
    pub facility: String,
    #[serde(default)]
    pub register_code_part_5: String,
    #[serde(default)]
    pub register_code_part_7: String,
    #[serde(default)]
    pub register_code_part_8: String,
    #[serde(default)]
    pub register_code_part_9: String,
    #[serde(default)]
    pub register_code_part_10: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One problem of a form: the field's path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Path of the field, e.g. `provider.nip` or `units[2].register_code_part_8`.
    pub field: String,
    /// What is wrong, as a sentence fragment that follows the field name.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

// ---------------------------------------------------------------------------------------
// The validated structure.
// ---------------------------------------------------------------------------------------

/// A validated organisational structure: every identifier passed its checksum, codes have
/// their formats, facility ids and unit codes are unique and every unit's facility exists.
/// Only [`validate`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    provider: Provider,
    facilities: Vec<Facility>,
    units: Vec<Unit>,
}

/// A validated postal address (texts trimmed, country upper-case).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    pub street: String,
    pub building: String,
    pub apartment: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// The validated provider.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Provider {
    pub name: String,
    pub address: Address,
    pub phone: String,
    pub regon: Regon9,
    pub nip: Nip,
    pub register_code_part_1: String,
}

/// A validated facility.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub address: Address,
    pub phone: Option<String>,
    pub regon14: Regon14,
    pub nip: Nip,
}

/// A validated organisational unit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unit {
    pub code: String,
    pub name: String,
    /// Id of an existing [`Facility`].
    pub facility: String,
    pub register_code_part_5: String,
    pub register_code_part_7: String,
    pub register_code_part_8: String,
    pub register_code_part_9: String,
    pub register_code_part_10: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Organisation {
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// Subject defaults for a certificate request: organisation (O) = the provider's name,
    /// organisational unit (OU) = the first unit's name (the first facility's, or the
    /// provider's, when there is none), country (C) = the provider's country.
    pub fn csr_defaults(&self) -> (String, String, String) {
        let unit = self
            .units
            .first()
            .map(|unit| unit.name.clone())
            .or_else(|| {
                self.facilities
                    .first()
                    .map(|facility| facility.name.clone())
            })
            .unwrap_or_else(|| self.provider.name.clone());
        (
            self.provider.name.clone(),
            unit,
            self.provider.address.country.clone(),
        )
    }

    /// The canonical form: trimmed texts, compact NIPs, explicit country. This is what the
    /// repository stores and shows back; validating it again gives the same structure.
    pub fn to_form(&self) -> OrganisationForm {
        let provider = &self.provider;
        OrganisationForm {
            provider: ProviderForm {
                name: provider.name.clone(),
                address: address_form(&provider.address),
                phone: provider.phone.clone(),
                regon: provider.regon.to_string(),
                nip: provider.nip.to_string(),
                register_code_part_1: provider.register_code_part_1.clone(),
            },
            facilities: self
                .facilities
                .iter()
                .map(|facility| FacilityForm {
                    id: facility.id.clone(),
                    name: facility.name.clone(),
                    address: address_form(&facility.address),
                    phone: facility.phone.clone(),
                    regon14: facility.regon14.to_string(),
                    nip: facility.nip.to_string(),
                })
                .collect(),
            units: self
                .units
                .iter()
                .map(|unit| UnitForm {
                    code: unit.code.clone(),
                    name: unit.name.clone(),
                    facility: unit.facility.clone(),
                    register_code_part_5: unit.register_code_part_5.clone(),
                    register_code_part_7: unit.register_code_part_7.clone(),
                    register_code_part_8: unit.register_code_part_8.clone(),
                    register_code_part_9: unit.register_code_part_9.clone(),
                    register_code_part_10: unit.register_code_part_10.clone(),
                    phone: unit.phone.clone(),
                    email: unit.email.clone(),
                })
                .collect(),
        }
    }

    /// Reads a structure stored by the repository (the JSON of [`Organisation::to_form`]),
    /// e.g. for the certificate request step.
    pub fn from_stored_json(json: &str) -> Result<Organisation, StoredOrganisationError> {
        let form: OrganisationForm =
            serde_json::from_str(json).map_err(|e| StoredOrganisationError(e.to_string()))?;
        validate(&form).map_err(|errors| {
            StoredOrganisationError(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

/// A stored structure that no longer reads or validates (e.g. after a rule became stricter).
#[derive(Debug, thiserror::Error)]
#[error("the stored organisational structure is not valid: {0}")]
pub struct StoredOrganisationError(String);

fn address_form(address: &Address) -> AddressForm {
    AddressForm {
        street: address.street.clone(),
        building: address.building.clone(),
        apartment: address.apartment.clone(),
        postal_code: address.postal_code.clone(),
        city: address.city.clone(),
        country: Some(address.country.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------

/// Validates a form. Every problem is reported, in the order of the fields, not just the
/// first one.
pub fn validate(form: &OrganisationForm) -> Result<Organisation, Vec<FieldError>> {
    let mut checker = Checker::default();
    let provider = checker.provider(&form.provider);

    let mut facilities = Vec::with_capacity(form.facilities.len());
    let mut facility_ids: HashMap<String, usize> = HashMap::new();
    for (index, facility) in form.facilities.iter().enumerate() {
        let path = format!("facilities[{index}]");
        let checked = checker.facility(&path, facility);
        let id = facility.id.trim();
        if !id.is_empty() {
            if let Some(first) = facility_ids.get(id) {
                checker.error(
                    format!("{path}.id"),
                    format!("facility id '{id}' is already used by facilities[{first}]"),
                );
            } else {
                facility_ids.insert(id.to_owned(), index);
            }
        }
        facilities.push(checked);
    }

    let mut units = Vec::with_capacity(form.units.len());
    let mut unit_codes: HashMap<String, usize> = HashMap::new();
    let mut unit_register_codes: HashMap<(String, String), usize> = HashMap::new();
    for (index, unit) in form.units.iter().enumerate() {
        let path = format!("units[{index}]");
        let checked = checker.unit(&path, unit);
        let code = unit.code.trim();
        if !code.is_empty() {
            if let Some(first) = unit_codes.get(code) {
                checker.error(
                    format!("{path}.code"),
                    format!("unit code '{code}' is already used by units[{first}]"),
                );
            } else {
                unit_codes.insert(code.to_owned(), index);
            }
        }
        let facility = unit.facility.trim();
        if !facility.is_empty() && !facility_ids.contains_key(facility) {
            let mut known: Vec<&str> = facility_ids.keys().map(String::as_str).collect();
            known.sort_unstable();
            checker.error(
                format!("{path}.facility"),
                if known.is_empty() {
                    format!("names facility '{facility}', but no facilities are given")
                } else {
                    format!(
                        "names facility '{facility}', which is not among the facilities (known ids: {})",
                        known.join(", ")
                    )
                },
            );
        }
        // Part VII identifies a unit within its facility (part V): the pair is unique.
        if let Some(unit) = &checked {
            let key = (
                unit.register_code_part_5.clone(),
                unit.register_code_part_7.clone(),
            );
            if let Some(first) = unit_register_codes.get(&key) {
                checker.error(
                    format!("{path}.register_code_part_7"),
                    format!(
                        "register code parts V-VII {}-{} are already used by units[{first}]",
                        key.0, key.1
                    ),
                );
            } else {
                unit_register_codes.insert(key, index);
            }
        }
        units.push(checked);
    }

    if !checker.errors.is_empty() {
        return Err(checker.errors);
    }
    let assembled = (|| {
        Some(Organisation {
            provider: provider?,
            facilities: facilities.into_iter().collect::<Option<Vec<_>>>()?,
            units: units.into_iter().collect::<Option<Vec<_>>>()?,
        })
    })();
    // Every `None` above comes with an error, so this fallback is never taken; it keeps the
    // function total without an `unwrap`.
    assembled.ok_or_else(|| {
        vec![FieldError {
            field: "provider".to_owned(),
            message: "could not be validated".to_owned(),
        }]
    })
}

/// Collects errors while checking fields; each check returns the clean value or `None`.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn error(&mut self, field: String, message: String) {
        self.errors.push(FieldError { field, message });
    }

    fn provider(&mut self, form: &ProviderForm) -> Option<Provider> {
        let name = self.text("provider.name", &form.name, MAX_NAME_CHARS);
        let address = self.address("provider.address", &form.address);
        let phone = self.phone("provider.phone", &form.phone);
        let regon = self.identifier("provider.regon", &form.regon, Regon9::parse);
        let nip = self.identifier("provider.nip", &form.nip, Nip::parse);
        let register_code_part_1 =
            self.register_book("provider.register_code_part_1", &form.register_code_part_1);
        Some(Provider {
            name: name?,
            address: address?,
            phone: phone?,
            regon: regon?,
            nip: nip?,
            register_code_part_1: register_code_part_1?,
        })
    }

    fn facility(&mut self, path: &str, form: &FacilityForm) -> Option<Facility> {
        let id = self.code(&format!("{path}.id"), &form.id);
        let name = self.text(&format!("{path}.name"), &form.name, MAX_NAME_CHARS);
        let address = self.address(&format!("{path}.address"), &form.address);
        let phone = self.optional(&format!("{path}.phone"), form.phone.as_deref(), Self::phone);
        let regon14 = self.identifier(&format!("{path}.regon14"), &form.regon14, Regon14::parse);
        let nip = self.identifier(&format!("{path}.nip"), &form.nip, Nip::parse);
        Some(Facility {
            id: id?,
            name: name?,
            address: address?,
            phone: phone?,
            regon14: regon14?,
            nip: nip?,
        })
    }

    fn unit(&mut self, path: &str, form: &UnitForm) -> Option<Unit> {
        let field = |name: &str| format!("{path}.{name}");
        let code = self.code(&field("code"), &form.code);
        let name = self.text(&field("name"), &form.name, MAX_NAME_CHARS);
        let facility = self.required(&field("facility"), &form.facility);
        let part_5 = self.fixed_digits(
            &field("register_code_part_5"),
            &form.register_code_part_5,
            2,
            "V",
        );
        let part_7 = self.fixed_digits(
            &field("register_code_part_7"),
            &form.register_code_part_7,
            3,
            "VII",
        );
        let part_8 = self.fixed_digits(
            &field("register_code_part_8"),
            &form.register_code_part_8,
            4,
            "VIII",
        );
        let part_9 =
            self.health_care_function(&field("register_code_part_9"), &form.register_code_part_9);
        let part_10 = self.fixed_digits(
            &field("register_code_part_10"),
            &form.register_code_part_10,
            3,
            "X",
        );
        let phone = self.optional(&field("phone"), form.phone.as_deref(), Self::phone);
        let email = self.optional(&field("email"), form.email.as_deref(), Self::email);
        Some(Unit {
            code: code?,
            name: name?,
            facility: facility?,
            register_code_part_5: part_5?,
            register_code_part_7: part_7?,
            register_code_part_8: part_8?,
            register_code_part_9: part_9?,
            register_code_part_10: part_10?,
            phone: phone?,
            email: email?,
        })
    }

    fn address(&mut self, path: &str, form: &AddressForm) -> Option<Address> {
        let field = |name: &str| format!("{path}.{name}");
        let street = self.text(&field("street"), &form.street, MAX_TEXT_CHARS);
        let building = self.text(&field("building"), &form.building, MAX_NUMBER_CHARS);
        let apartment = self.optional(
            &field("apartment"),
            form.apartment.as_deref(),
            |checker, path, value| checker.text(path, value, MAX_NUMBER_CHARS),
        );
        let country = self.country(&field("country"), form.country.as_deref());
        let postal_code = self.postal_code(
            &field("postal_code"),
            &form.postal_code,
            country.as_deref().unwrap_or(DEFAULT_COUNTRY),
        );
        let city = self.text(&field("city"), &form.city, MAX_TEXT_CHARS);
        Some(Address {
            street: street?,
            building: building?,
            apartment: apartment?,
            postal_code: postal_code?,
            city: city?,
            country: country?,
        })
    }

    /// A non-empty text, trimmed.
    fn required(&mut self, path: &str, value: &str) -> Option<String> {
        let value = value.trim();
        if value.is_empty() {
            self.error(path.to_owned(), "is required".to_owned());
            return None;
        }
        Some(value.to_owned())
    }

    /// A required text of at most `max` characters without control characters.
    fn text(&mut self, path: &str, value: &str, max: usize) -> Option<String> {
        let value = self.required(path, value)?;
        let length = value.chars().count();
        if length > max {
            self.error(
                path.to_owned(),
                format!("is {length} characters long; at most {max} are allowed"),
            );
            return None;
        }
        if value.chars().any(char::is_control) {
            self.error(
                path.to_owned(),
                "contains a control character (tab, line break...)".to_owned(),
            );
            return None;
        }
        Some(value)
    }

    /// An optional field: absent or blank is `Some(None)`, otherwise `check` decides.
    fn optional(
        &mut self,
        path: &str,
        value: Option<&str>,
        check: impl FnOnce(&mut Self, &str, &str) -> Option<String>,
    ) -> Option<Option<String>> {
        match value.map(str::trim) {
            None | Some("") => Some(None),
            Some(value) => check(self, path, value).map(Some),
        }
    }

    /// A local code: letters, digits, `.`, `_` and `-`.
    fn code(&mut self, path: &str, value: &str) -> Option<String> {
        let value = self.required(path, value)?;
        if value.chars().count() > MAX_CODE_CHARS
            || !value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            self.error(
                path.to_owned(),
                format!(
                    "'{value}' is not a code: use at most {MAX_CODE_CHARS} letters, digits, '.', '_' or '-'"
                ),
            );
            return None;
        }
        Some(value)
    }

    /// An identifier with a checksum; the error names the rule that failed.
    fn identifier<T>(
        &mut self,
        path: &str,
        value: &str,
        parse: fn(&str) -> Result<T, medgate_ids::IdError>,
    ) -> Option<T> {
        let value = self.required(path, value)?;
        match parse(&value) {
            Ok(id) => Some(id),
            Err(error) => {
                self.error(path.to_owned(), error.to_string());
                None
            }
        }
    }

    fn phone(&mut self, path: &str, value: &str) -> Option<String> {
        let value = self.required(path, value)?;
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let allowed = value.char_indices().all(|(i, c)| {
            c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')') || (c == '+' && i == 0)
        });
        if !allowed || !PHONE_DIGITS.contains(&digits) {
            self.error(
                path.to_owned(),
                format!(
                    "'{value}' is not a phone number: use {} to {} digits, with spaces, dashes, parentheses and a leading + allowed",
                    PHONE_DIGITS.start(),
                    PHONE_DIGITS.end()
                ),
            );
            return None;
        }
        Some(value)
    }

    /// The shape of an e-mail address: one `@`, a local part, a domain of dot-separated
    /// labels with at least one dot; no spaces. Whether it exists is not checked.
    fn email(&mut self, path: &str, value: &str) -> Option<String> {
        let value = self.required(path, value)?;
        let shaped = match value.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.contains('@')
                    && domain.split('.').all(|label| {
                        !label.is_empty()
                            && !label.starts_with('-')
                            && !label.ends_with('-')
                            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                    })
                    && !local.chars().any(|c| c.is_whitespace() || c.is_control())
                    && value.chars().count() <= MAX_TEXT_CHARS
            }
            None => false,
        };
        if !shaped {
            self.error(
                path.to_owned(),
                format!("'{value}' is not an e-mail address (expected name@domain.pl)"),
            );
            return None;
        }
        Some(value)
    }

    fn country(&mut self, path: &str, value: Option<&str>) -> Option<String> {
        let value = match value.map(str::trim) {
            None | Some("") => return Some(DEFAULT_COUNTRY.to_owned()),
            Some(value) => value,
        };
        if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
            self.error(
                path.to_owned(),
                format!("'{value}' is not a two-letter ISO 3166 country code such as PL"),
            );
            return None;
        }
        Some(value.to_ascii_uppercase())
    }

    /// `NN-NNN` in Poland; elsewhere letters, digits, spaces and dashes.
    fn postal_code(&mut self, path: &str, value: &str, country: &str) -> Option<String> {
        let value = self.required(path, value)?;
        let valid = if country == "PL" {
            let bytes = value.as_bytes();
            bytes.len() == 6
                && bytes[2] == b'-'
                && bytes
                    .iter()
                    .enumerate()
                    .all(|(i, b)| i == 2 || b.is_ascii_digit())
        } else {
            value.len() <= 12
                && value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        };
        if !valid {
            let expected = if country == "PL" {
                "a Polish postal code NN-NNN, e.g. 00-184"
            } else {
                "a postal code of at most 12 letters, digits, spaces or dashes"
            };
            self.error(path.to_owned(), format!("'{value}' is not {expected}"));
            return None;
        }
        Some(value)
    }

    /// Register code part I: the register book number, up to 12 digits.
    fn register_book(&mut self, path: &str, value: &str) -> Option<String> {
        let value = self.required(path, value)?;
        if value.len() > MAX_REGISTER_BOOK_DIGITS || !value.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                path.to_owned(),
                format!(
                    "'{value}' is not a register code part I (register book number): use at most {MAX_REGISTER_BOOK_DIGITS} digits, e.g. 000000025677"
                ),
            );
            return None;
        }
        Some(value)
    }

    fn fixed_digits(
        &mut self,
        path: &str,
        value: &str,
        length: usize,
        part: &str,
    ) -> Option<String> {
        let value = self.required(path, value)?;
        if value.len() != length || !value.bytes().all(|b| b.is_ascii_digit()) {
            self.error(
                path.to_owned(),
                format!(
                    "'{value}' is not a register code part {part}: it has exactly {length} digits"
                ),
            );
            return None;
        }
        Some(value)
    }

    /// Register code part IX: an ICHA-HC function code such as `HC.1.1` or `HC.3`.
    fn health_care_function(&mut self, path: &str, value: &str) -> Option<String> {
        let value = self.required(path, value)?.to_ascii_uppercase();
        let valid = value.strip_prefix("HC.").is_some_and(|rest| {
            let groups: Vec<&str> = rest.split('.').collect();
            groups.len() <= 4
                && groups.iter().all(|group| {
                    (1..=3).contains(&group.len())
                        && group.bytes().all(|b| b.is_ascii_alphanumeric())
                })
        });
        if !valid {
            self.error(
                path.to_owned(),
                format!(
                    "'{value}' is not a register code part IX: expected a health-care function code such as HC.1.1"
                ),
            );
            return None;
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The structure of seed 000's screenshot (with a real e-mail address; the seed shows
    /// `00`).
    fn seed_form() -> OrganisationForm {
        OrganisationForm {
            provider: ProviderForm {
                name: "Asseco Poland S.A.".into(),
                address: AddressForm {
                    street: "ul. Jana Kilińskiego".into(),
                    building: "29".into(),
                    apartment: None,
                    postal_code: "08-110".into(),
                    city: "Siedlce".into(),
                    country: None,
                },
                phone: "178885550".into(),
                regon: "010334578".into(),
                nip: "5220003782".into(),
                register_code_part_1: "00000025677".into(),
            },
            facilities: vec![FacilityForm {
                id: "01".into(),
                name: "Przychodnia (Asseco Poland S.A.)".into(),
                address: AddressForm {
                    street: "ul. Dubois".into(),
                    building: "5A".into(),
                    apartment: None,
                    postal_code: "00-184".into(),
                    city: "Warszawa".into(),
                    country: Some("pl".into()),
                },
                phone: Some("178885550".into()),
                regon14: "01033457800005".into(),
                nip: "522-000-37-82".into(),
            }],
            units: vec![UnitForm {
                code: "01".into(),
                name: "Przychodnia".into(),
                facility: "01".into(),
                register_code_part_5: "01".into(),
                register_code_part_7: "001".into(),
                register_code_part_8: "1810".into(),
                register_code_part_9: "HC.1.1".into(),
                register_code_part_10: "115".into(),
                phone: Some("178885550".into()),
                email: Some("przychodnia@example.pl".into()),
            }],
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn the_seed_structure_is_valid_and_canonical() {
        let organisation = validate(&seed_form()).map_err(|e| format!("{e:?}"));
        let Ok(organisation) = organisation else {
            panic!("{organisation:?}");
        };
        let canonical = organisation.to_form();
        assert_eq!(canonical.provider.address.country.as_deref(), Some("PL"));
        assert_eq!(
            canonical.facilities[0].address.country.as_deref(),
            Some("PL")
        );
        assert_eq!(canonical.facilities[0].nip, "5220003782");
        // The canonical form validates to the same structure.
        assert_eq!(validate(&canonical), Ok(organisation.clone()));
        assert_eq!(
            organisation.csr_defaults(),
            (
                "Asseco Poland S.A.".into(),
                "Przychodnia".into(),
                "PL".into()
            )
        );
    }

    #[test]
    fn a_bad_nip_names_the_field_and_the_checksum_rule() {
        let mut form = seed_form();
        form.provider.nip = "5220003783".into();
        let errors = validate(&form).err().unwrap_or_default();
        assert_eq!(fields(&errors), ["provider.nip"]);
        assert!(
            errors[0]
                .message
                .contains("check digit is 3 but should be 2"),
            "{errors:?}"
        );
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let mut form = seed_form();
        form.provider.regon = "010334579".into();
        form.provider.address.postal_code = "08110".into();
        form.provider.name = "  ".into();
        form.facilities[0].regon14 = "01033457800006".into();
        form.units[0].register_code_part_8 = "181".into();
        form.units[0].register_code_part_9 = "1.1".into();
        form.units[0].email = Some("przychodnia.example.pl".into());
        form.units[0].phone = Some("12".into());
        let errors = validate(&form).err().unwrap_or_default();
        assert_eq!(
            fields(&errors),
            [
                "provider.name",
                "provider.address.postal_code",
                "provider.regon",
                "facilities[0].regon14",
                "units[0].register_code_part_8",
                "units[0].register_code_part_9",
                "units[0].phone",
                "units[0].email",
            ]
        );
        assert!(errors[1].message.contains("NN-NNN"), "{errors:?}");
        assert!(errors[4].message.contains("exactly 4 digits"), "{errors:?}");
    }

    #[test]
    fn missing_fields_are_required() {
        let errors = validate(&OrganisationForm::default())
            .err()
            .unwrap_or_default();
        assert!(fields(&errors).contains(&"provider.nip"), "{errors:?}");
        assert!(
            fields(&errors).contains(&"provider.address.city"),
            "{errors:?}"
        );
        assert!(
            errors.iter().all(|e| e.message == "is required"),
            "{errors:?}"
        );
    }

    #[test]
    fn duplicates_and_unknown_facilities_are_refused() {
        let mut form = seed_form();
        form.facilities.push(form.facilities[0].clone());
        let mut second = form.units[0].clone();
        second.facility = "02".into();
        form.units.push(second);
        let errors = validate(&form).err().unwrap_or_default();
        assert_eq!(
            fields(&errors),
            [
                "facilities[1].id",
                "units[1].code",
                "units[1].facility",
                "units[1].register_code_part_7"
            ]
        );
        assert!(errors[2].message.contains("known ids: 01"), "{errors:?}");
    }

    #[test]
    fn formats_of_codes_and_addresses() {
        let mut checker = Checker::default();
        assert!(checker.health_care_function("p", "hc.3").is_some());
        assert!(checker.health_care_function("p", "HC.R.1").is_some());
        assert!(checker.health_care_function("p", "HC.").is_none());
        assert!(checker.health_care_function("p", "115").is_none());
        assert!(checker.register_book("p", "000000025677").is_some());
        assert!(checker.register_book("p", "0000000256770").is_none());
        assert!(checker.postal_code("p", "00-184", "PL").is_some());
        assert!(checker.postal_code("p", "0O-184", "PL").is_none());
        assert!(checker.postal_code("p", "1051", "HU").is_some());
        assert!(checker.email("p", "a@b.pl").is_some());
        assert!(checker.email("p", "a@b").is_none());
        assert!(checker.email("p", "a b@c.pl").is_none());
        assert!(checker.email("p", "a@b..pl").is_none());
        assert!(checker.phone("p", "+48 17 888 55 50").is_some());
        assert!(checker.phone("p", "17+8885550").is_none());
        assert!(checker.country("p", Some("POL")).is_none());
        assert_eq!(checker.country("p", None).as_deref(), Some("PL"));
    }

    #[test]
    fn a_facility_regon_of_another_entity_is_accepted() {
        // Seed 000 does not say that a facility's REGON-14 must extend the provider's
        // REGON-9, so a facility whose first nine digits differ is not refused.
        let mut form = seed_form();
        form.facilities[0].regon14 = "12345678512347".into();
        assert!(validate(&form).is_ok());
    }

    #[test]
    fn stored_json_reads_back() {
        let Ok(organisation) = validate(&seed_form()) else {
            panic!("seed form is valid");
        };
        let json = serde_json::to_string(&organisation.to_form()).unwrap_or_default();
        assert_eq!(
            Organisation::from_stored_json(&json).ok(),
            Some(organisation)
        );
        assert!(Organisation::from_stored_json("{").is_err());
    }
}

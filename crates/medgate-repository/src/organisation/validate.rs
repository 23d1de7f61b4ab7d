//! Validation of the organisational structure: every problem reported at once, each with the
//! path of its field.

use std::collections::HashMap;

use medgate_ids::{Nip, Regon14, Regon9};

use super::{
    Address, AddressForm, Facility, FacilityForm, FieldError, Organisation, OrganisationForm,
    Provider, ProviderForm, Unit, UnitForm, DEFAULT_COUNTRY,
};

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
}

//! The federal FLK catalogues (`Q015`, and the regional `Q022`) as published: one `zap` per
//! rule — `ID_TEST`, `DESC_TEST`, the element path `ID_EL`, the file types `TYPE_MD/TYPE_D`, the book
//! `NSI_OBJ`/`NSI_EL`, the condition `USL_TEST`, the value `VAL_EL`, `MIN_LEN`/`MAX_LEN`,
//! `MASK_VAL`, `COMMENT`, `DATEBEG`/`DATEEND` — and each rule compiled to a check the engine
//! runs, or refused with the reason it cannot be run.

use super::scope::NameFilter;
use crate::error::ClaimsError;
use crate::flk::condition::{is_name, Condition, Name, Names, Operand, Operator, Value};
use crate::flk::mask::Mask;
use crate::names::Period;
use crate::nsi::parse_nsi_date;
use crate::xml::{DecodingReader, Item, RecordReader};

/// One rule as the catalogue writes it.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    /// What the rule checks, in words (`DESC_TEST`).
    pub description: String,
    /// The element path, from the root (`ZL_LIST/ZAP/Z_SL/SL/DS1`).
    pub path: Vec<String>,
    pub file_types: Vec<char>,
    pub book: String,
    pub book_field: String,
    pub condition: String,
    pub value: String,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub mask: String,
    pub comment: String,
    pub begin: Option<time::Date>,
    pub end: Option<time::Date>,
}

impl Rule {
    pub fn path_text(&self) -> String {
        self.path.join("/")
    }

    /// Whether the rule is in force for some day of the period.
    pub fn in_force(&self, period: Period) -> bool {
        self.begin.is_none_or(|begin| begin <= period.last_day())
            && self.end.is_none_or(|end| end >= period.first_day())
    }

    pub fn applies_to(&self, file_type: char) -> bool {
        self.file_types.contains(&file_type)
    }
}

/// What a compiled rule checks on each instance of its element.
#[derive(Clone, Debug)]
pub enum Check {
    /// The value is a code of the book (`NSI_EL` the field, empty for the book's code).
    Dictionary { book: String, field: Option<String> },
    /// Length and mask of the value.
    Format {
        min_length: Option<usize>,
        max_length: Option<usize>,
        mask: Option<Mask>,
    },
    /// The value satisfies an expression over the record.
    Value(Condition),
    /// The element is present (or, `must_be_present` false, absent) when the condition holds.
    Presence { must_be_present: bool },
}

/// A rule ready to run.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub rule: Rule,
    pub condition: Condition,
    pub check: Check,
    /// The element it checks (the path's last), to tell at once a record that holds none.
    pub leaf_names: NameFilter,
}

/// A catalogue: its name (`Q015`) and rules.
#[derive(Clone, Debug)]
pub struct Catalogue {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// The MEK catalogues' published files as shipped (`catalogues/`), by name: what `medgate
/// claims nsi import` installs on a node that has no others.
pub const SHIPPED_MEK: [(&str, &[u8]); 2] = [
    ("Q016", include_bytes!("../../catalogues/Q016.xml")),
    ("Q023", include_bytes!("../../catalogues/Q023.xml")),
];

impl Catalogue {
    /// Reads a catalogue from the bytes of its XML (windows-1251 as published).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Catalogue, ClaimsError> {
        let error = |reason: String| ClaimsError::Catalogue {
            file: name.to_owned(),
            reason,
        };
        let decoded = DecodingReader::new(bytes, name)?;
        let mut reader = RecordReader::new(decoded, "zap", name);
        let mut rules = Vec::new();
        while let Some(item) = reader.next_item()? {
            let Item::Record(zap) = item else { continue };
            let text = |field: &str| zap.child_text(field).unwrap_or("").to_owned();
            let id = text("ID_TEST");
            if id.is_empty() {
                return Err(error(format!("rule {} has no ID_TEST", rules.len() + 1)));
            }
            let mut path: Vec<String> = text("ID_EL")
                .split('/')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            // The regional catalogue writes paths below the root (`ZAP/Z_SL/…`).
            if path
                .first()
                .is_some_and(|first| first != "ZL_LIST" && first != "PERS_LIST")
            {
                let root = if matches!(path[0].as_str(), "PERS") {
                    "PERS_LIST"
                } else {
                    "ZL_LIST"
                };
                path.insert(0, root.to_owned());
            }
            // A rule on the whole file (`ZL_LIST`, as the regional MEK catalogue has) is kept:
            // the plans report it as not run.
            if path.is_empty() {
                return Err(error(format!("rule {id} has no element path (ID_EL)")));
            }
            let length = |field: &str| -> Result<Option<usize>, ClaimsError> {
                let value = text(field);
                if value.is_empty() {
                    return Ok(None);
                }
                value
                    .parse()
                    .map(Some)
                    .map_err(|_| error(format!("rule {id}: {field} {value:?} is not a number")))
            };
            let date = |field: &str| -> Result<Option<time::Date>, ClaimsError> {
                let value = text(field);
                if value.is_empty() {
                    return Ok(None);
                }
                parse_nsi_date(&value)
                    .map(Some)
                    .ok_or_else(|| error(format!("rule {id}: {field} {value:?} is not a date")))
            };
            let file_types = zap
                .child("TYPE_MD")
                .map(|types| {
                    types
                        .children_named("TYPE_D")
                        .filter_map(|t| t.text.trim().chars().next())
                        .collect()
                })
                .unwrap_or_default();
            rules.push(Rule {
                description: text("DESC_TEST"),
                path,
                file_types,
                book: text("NSI_OBJ"),
                book_field: text("NSI_EL"),
                condition: text("USL_TEST"),
                value: text("VAL_EL"),
                min_length: length("MIN_LEN")?,
                max_length: length("MAX_LEN")?,
                mask: text("MASK_VAL"),
                comment: text("COMMENT"),
                begin: date("DATEBEG")?,
                end: date("DATEEND")?,
                id,
            });
        }
        if rules.is_empty() {
            return Err(error("the catalogue holds no rule".to_owned()));
        }
        Ok(Catalogue {
            name: name.to_owned(),
            rules,
        })
    }

    /// The catalogues shipped with medgate (`catalogues/`): Q015 and Q022 as published.
    pub fn shipped() -> Result<Vec<Catalogue>, ClaimsError> {
        Ok(vec![
            Catalogue::from_bytes(include_bytes!("../../catalogues/Q015.xml"), "Q015")?,
            Catalogue::from_bytes(include_bytes!("../../catalogues/Q022.xml"), "Q022")?,
        ])
    }

    /// The MEK catalogues shipped with medgate (`catalogues/`): Q016 and Q023 as published.
    pub fn shipped_mek() -> Result<Vec<Catalogue>, ClaimsError> {
        SHIPPED_MEK
            .iter()
            .map(|(name, bytes)| Catalogue::from_bytes(bytes, name))
            .collect()
    }

    /// Reads a catalogue file; its name is the file stem (`Q015`).
    pub fn load(path: &std::path::Path) -> Result<Catalogue, ClaimsError> {
        let bytes = std::fs::read(path).map_err(|e| ClaimsError::io(path, e))?;
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("catalogue");
        Catalogue::from_bytes(&bytes, name)
    }
}

/// The element names the catalogues know (the last step of every `ID_EL`), so a condition's
/// `DS1` is told from a value such as `D70`.
pub struct KnownNames(std::collections::HashSet<String>);

impl KnownNames {
    pub fn new<'a>(rules: impl Iterator<Item = &'a Rule>, extra: &[&str]) -> KnownNames {
        let mut names: std::collections::HashSet<String> =
            rules.flat_map(|rule| rule.path.iter().cloned()).collect();
        names.extend(extra.iter().map(|s| (*s).to_owned()));
        KnownNames(names.into_iter().map(|n| n.to_ascii_uppercase()).collect())
    }
}

impl Names for KnownNames {
    fn is_element(&self, name: &str) -> bool {
        let last = name.rsplit(['/', '.']).next().unwrap_or(name);
        self.0.contains(&last.to_ascii_uppercase())
    }
}

/// Compiles a rule, or says why the engine cannot run it.
pub fn compile(rule: &Rule, names: &KnownNames) -> Result<CompiledRule, String> {
    let condition_text = rule
        .condition
        .trim()
        .trim_start_matches("в основном файле")
        .trim();
    let condition = Condition::parse(condition_text, names)
        .map_err(|reason| format!("condition not understood ({reason})"))?;
    let element = rule.path.last().cloned().unwrap_or_default();
    let check = if !rule.book.is_empty() {
        Check::Dictionary {
            book: rule.book.clone(),
            field: Some(rule.book_field.clone()).filter(|f| !f.is_empty()),
        }
    } else if rule.min_length.is_some() || rule.max_length.is_some() || !rule.mask.is_empty() {
        let mask = if rule.mask.is_empty() {
            None
        } else {
            Some(
                Mask::parse(&rule.mask)
                    .ok_or_else(|| format!("mask not understood: {:?}", rule.mask))?,
            )
        };
        Check::Format {
            min_length: rule.min_length,
            max_length: rule.max_length,
            mask,
        }
    } else if !rule.value.is_empty() {
        let bare = !rule.value.contains(['<', '>', '=']);
        if bare && !rule.comment.is_empty() && rule.condition.is_empty() {
            // `DET` = 1 "when the patient is under 18": the condition is in the comment.
            return Err(format!(
                "its condition is given in words: {:?}",
                shorten(&rule.comment)
            ));
        }
        Check::Value(value_expression(&rule.value, &element, names)?)
    } else if rule.id.starts_with("003") {
        Check::Presence {
            must_be_present: !rule.comment.contains("должен отсутствовать"),
        }
    } else if rule.comment.is_empty() {
        return Err(
            "no machine-checkable content (no book, value, length, mask or presence)".to_owned(),
        );
    } else {
        return Err(format!(
            "described in words only: {:?}",
            shorten(&rule.comment)
        ));
    };
    Ok(CompiledRule {
        rule: rule.clone(),
        condition,
        check,
        leaf_names: NameFilter::of_names(rule.path.last().map(String::as_str)),
    })
}

/// `VAL_EL`: `{1, 2}`, `3.1`, `<260`, `ST_OKATO` (equal to that element), or an expression
/// (`DATE_IN<=DATE_OUT`, `100<RSLT<200`, `VIDPOM = {12, 13}`).
pub(crate) fn value_expression(
    text: &str,
    element: &str,
    names: &KnownNames,
) -> Result<Condition, String> {
    let text = text.trim();
    let not_understood =
        |reason: String| format!("value not understood: {:?} ({reason})", shorten(text));
    let own = element.to_owned();
    if text.starts_with('{') {
        let condition =
            Condition::parse(&format!("{own}={text}"), names).map_err(not_understood)?;
        return Ok(condition);
    }
    for operator in ["<>", "<=", ">=", "<", ">"] {
        if text.starts_with(operator) {
            return Condition::parse(&format!("{own}{text}"), names).map_err(not_understood);
        }
    }
    if !text.contains(['=', '<', '>', ' ']) {
        let operand = if is_name(text) && names.is_element(text) {
            Operand::Field(Name::new(text))
        } else {
            Operand::Literal(Value::new(text))
        };
        return Ok(Condition::Compare {
            field: Name::new(&own),
            operator: Operator::Equal,
            operand,
        });
    }
    Condition::parse(text, names).map_err(not_understood)
}

fn shorten(text: &str) -> String {
    let short: String = text.chars().take(80).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn q015() -> Catalogue {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues/Q015.xml");
        Catalogue::load(&path).unwrap()
    }

    #[test]
    fn the_published_q015_loads_and_most_rules_compile() {
        let catalogue = q015();
        assert_eq!(catalogue.rules.len(), 800);
        let names = KnownNames::new(catalogue.rules.iter(), &[]);
        let compiled: Vec<_> = catalogue
            .rules
            .iter()
            .map(|rule| compile(rule, &names))
            .collect();
        let ok = compiled.iter().filter(|c| c.is_ok()).count();
        assert!(ok > 500, "only {ok} of 800 rules compiled");
        let rule = |id: &str| catalogue.rules.iter().find(|r| r.id == id).unwrap();
        assert!(
            matches!(compile(rule("001F.00.0060"), &names).unwrap().check, Check::Dictionary { ref book, .. } if book == "F008")
        );
        assert!(matches!(
            compile(rule("003F.00.0440"), &names).unwrap().check,
            Check::Presence {
                must_be_present: false
            }
        ));
        assert!(matches!(
            compile(rule("003F.00.2270"), &names).unwrap().check,
            Check::Presence {
                must_be_present: true
            }
        ));
        assert!(matches!(
            compile(rule("004F.00.0010"), &names).unwrap().check,
            Check::Format { .. }
        ));
        assert!(compile(rule("006F.00.0010"), &names)
            .unwrap_err()
            .contains("in words"));
        assert_eq!(
            rule("001F.00.0060").file_types,
            vec!['A', 'C', 'D', 'H', 'R', 'T', 'X']
        );
    }

    #[test]
    fn broken_catalogues_are_refused() {
        assert!(Catalogue::from_bytes(b"<packet><zglv/></packet>", "Q015")
            .unwrap_err()
            .to_string()
            .contains("no rule"));
        let no_id = b"<packet><zap><ID_EL>ZL_LIST/ZAP</ID_EL></zap></packet>";
        assert!(Catalogue::from_bytes(no_id, "Q015")
            .unwrap_err()
            .to_string()
            .contains("ID_TEST"));
        let bad_date = b"<packet><zap><ID_TEST>1</ID_TEST><ID_EL>ZL_LIST/ZAP</ID_EL><DATEBEG>soon</DATEBEG></zap></packet>";
        assert!(Catalogue::from_bytes(bad_date, "Q015")
            .unwrap_err()
            .to_string()
            .contains("not a date"));
    }
}

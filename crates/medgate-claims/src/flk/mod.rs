//! Format-logical control (FLK): the rules of the federal catalogues run as data over each
//! record as it is read, and the structural checks of the format beside them — order and
//! multiplicity of elements, data types, duplicate keys, the link of every patient to its
//! personal-data record, the invoice sum, the dates and SNILS check digits. Each finding
//! carries its F012 code and, where a catalogue rule found it, the rule's id.

pub mod catalogue;
mod checker;
pub mod condition;
pub mod mask;
pub mod scope;
pub mod snils;
pub mod structure;
mod tally;

use std::collections::{BTreeMap, HashSet};

use crate::names::{FileKind, Period};
use crate::nsi::Nsi;
use catalogue::{compile, Catalogue, Check, CompiledRule, KnownNames};
use structure::Schema;

pub use checker::{FileChecker, RecordRules};
pub use tally::{MainFields, Tally};

/// F012: wrong order of elements, or a mandatory element missing.
pub const WRONG_ORDER: u16 = 901;
/// F012: a mandatory element without a value.
pub const EMPTY_MANDATORY: u16 = 902;
/// F012: a value of the wrong data type, length or mask.
pub const WRONG_TYPE: u16 = 903;
/// F012: a value not allowed (a code outside its book, a wrong sum or date).
pub const WRONG_VALUE: u16 = 904;
/// F012: a key used twice in the file.
pub const DUPLICATE_KEY: u16 = 905;

/// One finding of the control: a `PR` record of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Finding {
    /// F012 code (`OSHIB`).
    pub code: u16,
    /// The catalogue rule that found it, when one did.
    pub rule: Option<String>,
    /// The file it was found in.
    pub file: String,
    /// The element at fault (`IM_POL`).
    pub element: String,
    /// Its parent element (`BAS_EL`).
    pub base: String,
    pub n_zap: Option<String>,
    pub idcase: Option<String>,
    pub sl_id: Option<String>,
    pub idserv: Option<String>,
    /// What is wrong, in English (the command line's language).
    pub comment: String,
    /// The same in Russian: the `V` protocol's `COMMENT` and the Russian pages. Both are
    /// written where the finding is made, never translated afterwards.
    pub comment_ru: String,
}

/// Whether a finding, by its English comment, says its element must be absent: no value
/// given to the element corrects that, only its removal in the MO's system.
pub fn asks_absence(comment: &str) -> bool {
    comment.starts_with("element ") && comment.contains(MUST_BE_ABSENT)
}

/// The words of a finding whose element must be absent (see [`asks_absence`]).
const MUST_BE_ABSENT: &str = " must be absent";

/// How many rules the catalogues hold and what became of them for one package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleCounts {
    pub loaded: usize,
    /// In force in the package's period.
    pub in_force: usize,
    /// Of those, for the kinds of file the package holds.
    pub for_files: usize,
    /// Of those, run.
    pub applied: usize,
    /// Of those, not run because the engine does not understand them (listed in `not_interpretable`).
    pub not_interpretable: usize,
    /// Of those, not run because their book is not loaded.
    pub without_book: usize,
}

/// A rule the engine did not run, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRun {
    pub rule: String,
    pub element: String,
    pub reason: String,
}

/// The rules to run on one package, compiled once.
pub struct Plan {
    pub counts: RuleCounts,
    pub not_run: Vec<NotRun>,
    /// Rules by (root, record or header name, path of the parent below it).
    /// (Ordered, so findings come in the same order on every run.)
    groups: BTreeMap<(String, String, Vec<String>), Vec<CompiledRule>>,
    /// Presence rules on the children of the root (`ZL_LIST/ZGLV`).
    root_presence: Vec<CompiledRule>,
    /// Paths a catalogue rule already checks for presence or type, so the structural checks
    /// do not report them twice.
    presence_paths: HashSet<String>,
    format_paths: HashSet<String>,
    /// Ids of the rules the structural checks stand for (the sum, the dates).
    pub sum_rule: Option<String>,
    /// Names the personal-data file's rules take from the main file.
    pub main_fields: HashSet<String>,
}

impl Plan {
    /// Compiles the catalogues' rules for a package of `kind` in `period`.
    pub fn new(catalogues: &[Catalogue], kind: FileKind, period: Period, nsi: &Nsi) -> Plan {
        let rules: Vec<_> = catalogues.iter().flat_map(|c| c.rules.iter()).collect();
        let schema_names: Vec<String> = Schema::general()
            .slots()
            .chain(Schema::personal().slots())
            .map(|(path, _)| path)
            .collect();
        let schema_refs: Vec<&str> = schema_names
            .iter()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .collect();
        let names = KnownNames::new(rules.iter().copied(), &schema_refs);
        let personal_names: HashSet<String> = Schema::personal()
            .slots()
            .map(|(path, _)| path.rsplit('/').next().unwrap_or(&path).to_owned())
            .collect();
        let mut plan = Plan {
            counts: RuleCounts {
                loaded: rules.len(),
                ..RuleCounts::default()
            },
            not_run: Vec::new(),
            groups: BTreeMap::new(),
            root_presence: Vec::new(),
            presence_paths: HashSet::new(),
            format_paths: HashSet::new(),
            sum_rule: None,
            main_fields: HashSet::new(),
        };
        let main_type = kind.catalogue_type();
        for rule in rules {
            if !rule.in_force(period) {
                continue;
            }
            plan.counts.in_force += 1;
            if !(rule.applies_to(main_type) && rule.path[0] == "ZL_LIST"
                || rule.applies_to('L') && rule.path[0] == "PERS_LIST")
            {
                continue;
            }
            plan.counts.for_files += 1;
            let path = rule.path_text();
            if rule.path.len() < 2 {
                plan.counts.not_interpretable += 1;
                plan.not_run.push(NotRun {
                    rule: rule.id.clone(),
                    element: path,
                    reason: "a rule on the whole file, with no element".to_owned(),
                });
                continue;
            }
            if path == "ZL_LIST/SCHET/SUMMAV" && rule.value.contains("SUMV") {
                // The invoice sum is checked while the file is read (`sums`).
                plan.sum_rule = Some(rule.id.clone());
                plan.counts.applied += 1;
                continue;
            }
            let compiled = match compile(rule, &names) {
                Ok(compiled) => compiled,
                Err(reason) => {
                    plan.counts.not_interpretable += 1;
                    plan.not_run.push(NotRun {
                        rule: rule.id.clone(),
                        element: path,
                        reason,
                    });
                    continue;
                }
            };
            if let Check::Dictionary { book, .. } = &compiled.check {
                if nsi.get(book).is_none() {
                    plan.counts.without_book += 1;
                    plan.not_run.push(NotRun {
                        rule: rule.id.clone(),
                        element: path,
                        reason: format!("book {book} is not loaded"),
                    });
                    continue;
                }
            }
            plan.counts.applied += 1;
            match &compiled.check {
                Check::Presence {
                    must_be_present: true,
                } => {
                    plan.presence_paths.insert(path.clone());
                }
                Check::Format { .. } => {
                    plan.format_paths.insert(path.clone());
                }
                _ => {}
            }
            if rule.path[0] == "PERS_LIST" {
                collect_names(&compiled.condition, &mut |name| {
                    let last = name
                        .rsplit(['/', '.'])
                        .next()
                        .unwrap_or(name)
                        .to_ascii_uppercase();
                    if !personal_names.contains(&last) {
                        plan.main_fields.insert(last);
                    }
                });
            }
            if rule.path.len() == 2 {
                plan.root_presence.push(compiled);
                continue;
            }
            let key = (
                rule.path[0].clone(),
                rule.path[1].clone(),
                rule.path[2..rule.path.len() - 1].to_vec(),
            );
            plan.groups.entry(key).or_default().push(compiled);
        }
        plan
    }
}

fn collect_names(condition: &condition::Condition, out: &mut dyn FnMut(&str)) {
    use condition::{Condition, Operand};
    let operand = |operand: &Operand, out: &mut dyn FnMut(&str)| {
        if let Operand::Field(name) = operand {
            out(name);
        }
    };
    match condition {
        Condition::Present(name) | Condition::Absent(name) => out(name),
        Condition::Compare {
            field,
            operand: right,
            ..
        } => {
            out(field);
            operand(right, out);
        }
        Condition::Range {
            low, field, high, ..
        } => {
            out(field);
            operand(low, out);
            operand(high, out);
        }
        Condition::And(parts) | Condition::Or(parts) => {
            parts.iter().for_each(|part| collect_names(part, out))
        }
        Condition::Always | Condition::PeriodFrom(_) | Condition::PeriodUntil(_) => {}
    }
}

/// Kopecks of a decimal sum (`1500.5` → 150050).
pub fn parse_money(value: &str) -> Option<i128> {
    let value = value.trim();
    let (integer, fraction) = value.split_once('.').unwrap_or((value, ""));
    if integer.is_empty()
        || !integer.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i128 = integer.parse().ok()?;
    // `5` is 50 kopecks, `05` five.
    let cents = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(2)
        .fold(0i128, |cents, digit| cents * 10 + i128::from(digit - b'0'));
    Some(whole * 100 + cents)
}

/// `150050` → `1500.50`.
pub fn money(kopecks: i128) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn money_is_kept_in_kopecks() {
        assert_eq!(parse_money("1500"), Some(150000));
        assert_eq!(parse_money("1500.5"), Some(150050));
        assert_eq!(parse_money("0.07"), Some(7));
        assert_eq!(parse_money("12."), Some(1200));
        assert_eq!(parse_money(".5"), None);
        assert_eq!(parse_money("1.234"), None);
        assert_eq!(parse_money("-1"), None);
        assert_eq!(money(150050), "1500.50");
    }
}

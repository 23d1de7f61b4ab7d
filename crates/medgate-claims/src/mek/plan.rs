//! `MekPlan`: the MEK catalogues' rules (`Q016`, `Q023`, same format as the FLK catalogues)
//! sorted for one package — in force for its period, for its kind of file and (regional
//! rules, `NNNK.RR.NNNN`) its region — and each one either compiled to a check or reported:
//! entries that provide no control ("Не предусмотрено"), and rules the engine cannot read,
//! each with the reason. A rule is compiled from its condition and value (`USL_TEST`,
//! `VAL_EL`, the FLK condition language) or, where the catalogue states it in words, from
//! the few forms its comments use: a diagnosis rubric forbidden for a sex or over an age, a
//! care profile limited to an age or a sex, "the value must (not) be in {…}", the number of
//! bed-days within the stay, and the duplicate case whose matching fields it lists.

use crate::flk::catalogue::{value_expression, Catalogue, KnownNames, Rule};
use crate::flk::condition::Condition;
use crate::flk::scope::NameFilter;
use crate::flk::structure::Schema;
use crate::flk::NotRun;
use crate::mek::MekCounts;
use crate::names::{FileKind, Period};

/// What a compiled MEK rule checks.
#[derive(Clone, Debug)]
pub enum MekCheck {
    /// Each instance of the rule's element satisfies the expression when the condition holds.
    Value(Condition),
    /// A diagnosis of this ICD-10 rubric (letter) is refused for a patient this old or older
    /// (full years on the first day of the case).
    DiagnosisAge { rubric: char, from_age: u32 },
    /// A diagnosis of this rubric is refused for a patient of this sex (V005).
    DiagnosisSex { rubric: char, sex: u8 },
    /// The care profile (selected by the condition) wants a patient of this age range
    /// (`under` exclusive, `from` inclusive), on the first day of the stay.
    ProfileAge {
        under: Option<u32>,
        from: Option<u32>,
    },
    /// The care profile wants a patient of this sex.
    ProfileSex { sex: u8 },
    /// Bed-days (the element) not zero and within the calendar days between two dates.
    StayDays { first: String, last: String },
    /// The element is present with a value other than zero (when the condition holds).
    NonZero,
    /// The case (stay) matches another of the register on the fields the rule lists.
    Duplicate,
}

/// A rule ready to run.
#[derive(Clone, Debug)]
pub struct MekRule {
    pub id: String,
    /// The element path from the root (`ZL_LIST/ZAP/Z_SL/SL/DS1`).
    pub path: Vec<String>,
    pub condition: Condition,
    pub check: MekCheck,
    /// The rule's text (`DESC_TEST`), quoted in findings.
    pub description: String,
    /// Its condition as the catalogue writes it (`USL_TEST`).
    pub condition_text: String,
    /// The element it checks (the path's last), and the elements between `ZAP` and it: a
    /// case that holds none of one of them is told at once.
    pub leaf_names: NameFilter,
    pub below_names: NameFilter,
}

/// The MEK rules to run on one package, compiled once.
pub struct MekPlan {
    pub counts: MekCounts,
    pub not_run: Vec<NotRun>,
    pub rules: Vec<MekRule>,
    pub period: Period,
    /// The region whose regional rules apply (the first two digits of the MO's code).
    pub region: Option<String>,
}

/// Entries of the catalogue that name an element but provide no control.
const NO_CONTROL: &str = "Не предусмотрено";

impl MekPlan {
    /// Compiles the catalogues' rules for a package of `kind` in `period` from `region`.
    pub fn new(
        catalogues: &[Catalogue],
        kind: FileKind,
        period: Period,
        region: Option<&str>,
    ) -> MekPlan {
        let rules: Vec<&Rule> = catalogues.iter().flat_map(|c| c.rules.iter()).collect();
        let schema_names: Vec<String> = Schema::general()
            .slots()
            .chain(Schema::personal().slots())
            .map(|(path, _)| path.rsplit('/').next().unwrap_or(&path).to_owned())
            .collect();
        let extra: Vec<&str> = schema_names.iter().map(String::as_str).collect();
        let names = KnownNames::new(rules.iter().copied(), &extra);
        let mut plan = MekPlan {
            counts: MekCounts {
                loaded: rules.len(),
                ..MekCounts::default()
            },
            not_run: Vec::new(),
            rules: Vec::new(),
            period,
            region: region.map(str::to_owned),
        };
        let main_type = kind.catalogue_type();
        for rule in rules {
            if !rule.in_force(period) {
                continue;
            }
            plan.counts.in_force += 1;
            if let Some(rule_region) = rule_region(&rule.id) {
                if region != Some(rule_region) {
                    plan.counts.other_region += 1;
                    continue;
                }
            }
            if !(rule.applies_to(main_type) && rule.path[0] == "ZL_LIST"
                || rule.applies_to('L') && rule.path[0] == "PERS_LIST")
            {
                continue;
            }
            plan.counts.for_files += 1;
            let path = rule.path_text();
            if rule.description.trim() == NO_CONTROL
                && rule.value.trim().is_empty()
                && rule.comment.trim().is_empty()
            {
                plan.counts.no_control += 1;
                plan.not_run.push(NotRun {
                    rule: rule.id.clone(),
                    element: path,
                    reason: format!("the catalogue provides no control here ({NO_CONTROL})"),
                });
                continue;
            }
            if rule.path[0] != "ZL_LIST" || rule.path.len() < 3 || rule.path[1] != "ZAP" {
                plan.counts.not_interpretable += 1;
                plan.not_run.push(NotRun {
                    rule: rule.id.clone(),
                    element: path,
                    reason: if rule.path[0] == "PERS_LIST" {
                        "MEK runs on the cases (ZL_LIST/ZAP); rules on the personal-data file are not run".to_owned()
                    } else {
                        format!(
                            "MEK runs on the cases (ZL_LIST/ZAP); a rule on {} is not run (the invoice's sums are checked by FLK)",
                            rule.path.get(1).map(String::as_str).unwrap_or("")
                        )
                    },
                });
                continue;
            }
            match compile(rule, &names) {
                Ok(compiled) => {
                    plan.counts.applied += 1;
                    plan.rules.push(compiled);
                }
                Err(reason) => {
                    plan.counts.not_interpretable += 1;
                    plan.not_run.push(NotRun {
                        rule: rule.id.clone(),
                        element: path,
                        reason,
                    });
                }
            }
        }
        plan
    }
}

/// The region of a regional rule (`002K.64.0001` → `64`); federal rules (`00`) have none.
fn rule_region(id: &str) -> Option<&str> {
    let region = id.split('.').nth(1)?;
    (region.len() == 2 && region != "00" && region.bytes().all(|b| b.is_ascii_digit()))
        .then_some(region)
}

/// Compiles one MEK rule, or says why it cannot be run.
pub fn compile(rule: &Rule, names: &KnownNames) -> Result<MekRule, String> {
    let element = rule.path.last().cloned().unwrap_or_default();
    // One set of the catalogue separates its values with `;` (`{11, 12, 13; 31, 32,33}`).
    let condition_text = rule.condition.trim().replace(';', ",");
    let condition = Condition::parse(&condition_text, names)
        .map_err(|reason| format!("condition not understood ({reason})"))?;
    let comment = rule.comment.as_str();
    let make = |condition: Condition, check: MekCheck| MekRule {
        id: rule.id.clone(),
        path: rule.path.clone(),
        condition,
        check,
        description: rule.description.clone(),
        condition_text: rule.condition.trim().to_owned(),
        leaf_names: NameFilter::of_names(rule.path.last().map(String::as_str)),
        below_names: NameFilter::of_names(
            rule.path
                .get(2..rule.path.len().saturating_sub(1))
                .unwrap_or_default()
                .iter()
                .filter(|segment| *segment != "Z_SL")
                .map(String::as_str),
        ),
    };
    if !rule.book.is_empty() {
        return Err(format!(
            "it checks against the book {}, which MEK does not hold",
            rule.book
        ));
    }
    if !rule.value.is_empty() {
        let bare = !rule.value.contains(['<', '>', '=']);
        if bare && !comment.trim().is_empty() && rule.condition.trim().is_empty() {
            // `DET` 1 "when the patient is under 18": the condition is in the comment.
            return Err(format!(
                "its condition is given in words: {:?}",
                shorten(comment)
            ));
        }
        let text = format!("{} {}", rule.description, comment);
        if let Some(word) = ["за исключени", "кроме"]
            .iter()
            .find(|word| text.to_lowercase().contains(*word))
        {
            return Err(format!(
                "an exception is given in words only ({word}…): {:?}",
                shorten(&rule.description)
            ));
        }
        if rule_region(&rule.id).is_some() {
            // The regional catalogue writes its fields freely: a condition only in words, or
            // condition and value swapped (`USL_TEST` "ISHOD из диапазона…", `VAL_EL`
            // "USL_OK = 1"). Its rule runs only when both are given and the value speaks of
            // the rule's own element.
            let own = rule
                .value
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|word| word == element);
            if rule.condition.trim().is_empty() || !own {
                return Err(format!(
                    "a regional rule whose condition or value is not given as data (USL_TEST {:?}, VAL_EL {:?})",
                    shorten(&rule.condition),
                    shorten(&rule.value)
                ));
            }
        }
        let check = value_expression(&rule.value, &element, names)?;
        return Ok(make(condition, MekCheck::Value(check)));
    }
    if is_diagnosis(&element) {
        if let Some(rubric) = after(comment, "из рубрики ")
            .and_then(|s| s.chars().next())
            .map(latin_lookalike)
        {
            if let Some(age) = after(comment, "для пациента старше ").and_then(leading_number)
            {
                return Ok(make(
                    condition,
                    MekCheck::DiagnosisAge {
                        rubric,
                        from_age: age,
                    },
                ));
            }
            if let Some(sex) = after(comment, "для W=").and_then(leading_number) {
                return Ok(make(
                    condition,
                    MekCheck::DiagnosisSex {
                        rubric,
                        sex: sex as u8,
                    },
                ));
            }
        }
    }
    if element == "PROFIL" && condition != Condition::Always {
        if let Some(sex) =
            after(comment, "Пол пациента должен быть равен ").and_then(leading_number)
        {
            return Ok(make(condition, MekCheck::ProfileSex { sex: sex as u8 }));
        }
        if let Some(rest) = after(comment, "Возраст пациента должен быть")
        {
            let rest = rest.trim_start();
            if let Some(under) = rest
                .strip_prefix("меньше ")
                .and_then(|s| leading_number(s.trim_start()))
            {
                return Ok(make(
                    condition,
                    MekCheck::ProfileAge {
                        under: Some(under),
                        from: None,
                    },
                ));
            }
            if let Some(from) = leading_number(rest) {
                if rest.contains("или более") {
                    return Ok(make(
                        condition,
                        MekCheck::ProfileAge {
                            under: None,
                            from: Some(from),
                        },
                    ));
                }
            }
        }
    }
    if let Some(rest) = after(comment, "Значение ") {
        // "Значение PRVS не должно входить в множество {…}" / "должно входить в множество {…}".
        let mut words = rest.split_whitespace();
        let name = words.next().unwrap_or("");
        if name == element {
            let set = rest
                .find('{')
                .zip(rest.find('}'))
                .map(|(a, b)| &rest[a..=b]);
            let negative = rest.contains("не должно входить в множество");
            let positive = rest.contains("должно входить в множество");
            if let (Some(set), true) = (set, positive || negative) {
                let operator = if negative { "<>" } else { "=" };
                let check = Condition::parse(&format!("{element}{operator}{set}"), names)
                    .map_err(|reason| format!("value in words not understood ({reason})"))?;
                return Ok(make(condition, MekCheck::Value(check)));
            }
        }
    }
    if (element == "KD" || element == "KD_Z")
        && comment.contains("не должно превышать длительность лечения")
    {
        if let Some(rest) = after(comment, "на основании дат ") {
            let dates: Vec<&str> = rest
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("DATE"))
                .collect();
            if let [first, last, ..] = dates.as_slice() {
                return Ok(make(
                    condition,
                    MekCheck::StayDays {
                        first: (*first).to_owned(),
                        last: (*last).to_owned(),
                    },
                ));
            }
        }
    }
    if comment.contains(&format!(
        "{element} должно быть заполнено ненулевым значением"
    )) {
        return Ok(make(condition, MekCheck::NonZero));
    }
    if comment.contains("в реестре счета совпадают") {
        return Ok(make(condition, MekCheck::Duplicate));
    }
    if comment.trim().is_empty() {
        return Err("no machine-checkable content (no value, and no comment)".to_owned());
    }
    Err(format!(
        "described in words only: {:?}",
        shorten(&rule.comment)
    ))
}

fn is_diagnosis(element: &str) -> bool {
    matches!(element, "DS0" | "DS1" | "DS2" | "DS3" | "DS")
}

fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    text.find(marker).map(|at| &text[at + marker.len()..])
}

fn leading_number(text: &str) -> Option<u32> {
    let digits: String = text
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The catalogue writes ICD-10 rubrics with Cyrillic letters that look Latin (`рубрики Р`).
fn latin_lookalike(c: char) -> char {
    match c {
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        other => other,
    }
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

    fn q016() -> Catalogue {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogues/Q016.xml");
        Catalogue::load(&path).unwrap()
    }

    #[test]
    fn the_published_q016_is_sorted_and_counted() {
        let catalogue = q016();
        assert_eq!(catalogue.rules.len(), 314);
        let period = Period::new(2025, 1).unwrap();
        let plan = MekPlan::new(&[catalogue], FileKind::General, period, None);
        let c = &plan.counts;
        println!("{c:?}");
        for r in plan
            .not_run
            .iter()
            .filter(|r| !r.reason.contains("no control"))
        {
            println!("{} {} {}", r.rule, r.element, r.reason);
        }
        assert_eq!(c.loaded, 314);
        assert_eq!(c.applied + c.not_interpretable + c.no_control, c.for_files);
        assert_eq!(plan.not_run.len(), c.not_interpretable + c.no_control);
        let find = |id: &str| plan.rules.iter().find(|r| r.id == id);
        assert!(matches!(
            find("003K.00.0620").unwrap().check,
            MekCheck::DiagnosisSex {
                rubric: 'O',
                sex: 1
            }
        ));
        assert!(matches!(
            find("003K.00.0590").unwrap().check,
            MekCheck::DiagnosisAge {
                rubric: 'P',
                from_age: 1
            }
        ));
        assert!(matches!(
            find("003K.00.0740").unwrap().check,
            MekCheck::ProfileSex { sex: 2 }
        ));
        assert!(matches!(
            find("003K.00.0760").unwrap().check,
            MekCheck::ProfileAge {
                under: None,
                from: Some(60)
            }
        ));
        assert!(matches!(
            find("003K.00.0410").unwrap().check,
            MekCheck::Duplicate
        ));
        assert!(matches!(
            find("003K.00.0290").unwrap().check,
            MekCheck::Value(_)
        ));
        // Out of force in 2025 (DATEEND 31.03.2020), so not counted in force.
        assert!(find("003K.00.0320").is_none());
        // The death date needs the register of insured persons: listed, with its reason.
        assert!(plan
            .not_run
            .iter()
            .any(|r| r.rule == "003K.00.0950" && r.reason.contains("in words")));
    }

    #[test]
    fn regional_rules_apply_in_their_region_only() {
        assert_eq!(rule_region("002K.64.0001"), Some("64"));
        assert_eq!(rule_region("003K.00.0410"), None);
    }
}

//! `CaseChecker`: the MEK plan's rules and the F014 controls run over one case (`ZAP`) at a
//! time as the main file is read — with the patient's sex, birth date and identity taken
//! from the personal-data file beforehand — keeping only what the duplicate control needs.

use std::hash::{Hash, Hasher};

use smallvec::{smallvec, SmallVec};

use super::paid::{case_key, PaidCases};
use super::plan::{MekCheck, MekPlan, MekRule};
use super::{MekFinding, ReasonKind};
use crate::flk::condition::Values;
use crate::flk::mask::parse_date;
use crate::flk::scope::{each_instance, FileContext, NameFilter, Scope};
use crate::flk::{money, parse_money};
use crate::spill::{digest, le_u64, DigestMap, Slot, Spill, Texts};
use crate::xml::Element;

/// What MEK needs of a patient's `PERS`: sex (V005), birth date, and a digest of surname,
/// name, patronymic and birth date that tells one person from another.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Person {
    pub sex: u8,
    pub birth: Option<time::Date>,
    pub identity: u64,
}

impl Person {
    /// From a `PERS` record.
    pub fn from_pers(pers: &Element) -> Person {
        let text = |name: &str| pers.child_text(name).unwrap_or("").to_lowercase();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for name in ["FAM", "IM", "OT", "DR"] {
            text(name).hash(&mut hasher);
        }
        Person {
            sex: pers
                .child_text("W")
                .and_then(|w| w.parse().ok())
                .unwrap_or(0),
            birth: pers.child_text("DR").and_then(parse_date),
            identity: hasher.finish(),
        }
    }
}

/// Kept in 16 bytes when the patients move to disk: identity, birth (Julian day), sex.
impl Slot for Person {
    const SIZE: usize = 16;
    fn put(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.identity.to_le_bytes());
        let birth = self.birth.map_or(i32::MIN, time::Date::to_julian_day);
        out[8..12].copy_from_slice(&birth.to_le_bytes());
        out[12] = self.sex;
        out[13..16].fill(0);
    }
    fn take(bytes: &[u8]) -> Self {
        let birth = le_u64(&bytes[8..]) as u32 as i32;
        Person {
            identity: le_u64(bytes),
            birth: (birth != i32::MIN)
                .then(|| time::Date::from_julian_day(birth).ok())
                .flatten(),
            sex: bytes[12],
        }
    }
}

/// Full years from `birth` to `on`.
pub fn age(birth: time::Date, on: time::Date) -> i32 {
    let mut years = on.year() - birth.year();
    if (u8::from(on.month()), on.day()) < (u8::from(birth.month()), birth.day()) {
        years -= 1;
    }
    years
}

/// Runs the MEK over the cases of one main file: the rules on each case alone
/// ([`CaseRules`], shared by the threads that check cases side by side) and the duplicate
/// control, which needs the cases before it ([`Stays`]).
pub struct CaseChecker<'a> {
    pub rules: CaseRules<'a>,
    pub stays: Stays<'a>,
}

/// What checks one case on its own: the plan, the patients, the paid cases, the headers.
pub struct CaseRules<'a> {
    plan: &'a MekPlan,
    persons: &'a DigestMap<'a, Person>,
    paid: Option<&'a PaidCases>,
    context: FileContext,
    /// The names of the headers' elements (`context.headers`).
    header_names: NameFilter,
    /// The plan's rules on a case's elements (below `ZL_LIST/ZAP`), in its order.
    case_rules: Vec<&'a MekRule>,
}

/// The stays seen so far, for the duplicate control: digest of a stay's matching fields →
/// where it was first seen (`N_ZAP/IDCASE/SL_ID`), in bounded memory ([`crate::spill`]).
pub struct Stays<'a> {
    first_seen: DigestMap<'a, u64>,
    names: Texts<'a>,
}

/// What [`CaseRules::check`] found in one case, with the duplicate control still to make.
pub struct CaseParts {
    findings: Vec<MekFinding>,
    /// Each stay the duplicate control looks for, with the place its finding takes.
    stays: Vec<PendingStay>,
}

/// One stay to look for among those before it.
struct PendingStay {
    /// Where its finding goes among the case's findings.
    at: usize,
    key: u128,
    /// How it is named when a later stay matches it.
    here: Box<str>,
    /// `first – last, USL_OK …, PROFIL …, PRVS …`, for the finding's comment.
    described: String,
    /// The finding, but for its comment.
    finding: MekFinding,
}

impl<'a> CaseChecker<'a> {
    pub fn new(
        plan: &'a MekPlan,
        persons: &'a DigestMap<'a, Person>,
        paid: Option<&'a PaidCases>,
        context: FileContext,
        spill: &'a Spill,
        keys_in_memory: usize,
    ) -> CaseChecker<'a> {
        let mut header_names = NameFilter::default();
        for header in &context.headers {
            header_names.add_tree(header);
        }
        CaseChecker {
            rules: CaseRules {
                plan,
                persons,
                paid,
                context,
                header_names,
                case_rules: plan
                    .rules
                    .iter()
                    .filter(|rule| {
                        rule.path.len() >= 3 && rule.path[0] == "ZL_LIST" && rule.path[1] == "ZAP"
                    })
                    .collect(),
            },
            stays: Stays {
                first_seen: DigestMap::new(spill, keys_in_memory),
                names: Texts::new(spill, keys_in_memory.saturating_mul(16)),
            },
        }
    }

    /// A header (`ZGLV`, `SCHET`), kept for the rules that name its elements.
    pub fn header(&mut self, header: Element) {
        self.rules.header_names.add_tree(&header);
        self.rules.context.headers.push(header);
    }

    /// One case that passed FLK: its findings.
    pub fn record(&mut self, zap: &Element) -> Vec<MekFinding> {
        let parts = self.rules.check(zap);
        self.stays.resolve(parts)
    }
}

impl Stays<'_> {
    /// The findings of a case, its duplicates among the stays before it included; its stays
    /// are remembered for the cases after it.
    pub fn resolve(&mut self, parts: CaseParts) -> Vec<MekFinding> {
        let CaseParts {
            mut findings,
            stays,
        } = parts;
        let mut inserted = 0;
        for stay in stays {
            match self.first_seen.get(stay.key) {
                Some(earlier) => {
                    let earlier = self.names.get(earlier);
                    let mut finding = stay.finding;
                    finding.comment = format!(
                        "the same stay ({}, same patient) as {earlier}",
                        stay.described
                    );
                    finding.comment_ru = format!(
                        "то же пребывание ({}, тот же пациент), что и {earlier}",
                        stay.described
                    );
                    findings.insert(stay.at + inserted, finding);
                    inserted += 1;
                }
                None => {
                    let name = self.names.push(&stay.here);
                    self.first_seen.insert(stay.key, name);
                }
            }
        }
        findings
    }
}

impl CaseRules<'_> {
    /// The findings of one case that passed FLK, but for the duplicate control, which
    /// [`Stays::resolve`] completes in file order.
    pub fn check(&self, zap: &Element) -> CaseParts {
        self.check_named(zap, &NameFilter::of(zap))
    }

    /// [`CaseRules::check`] with the names the case holds already gathered (by its FLK).
    pub fn check_named(&self, zap: &Element, held: &NameFilter) -> CaseParts {
        let mut findings = Vec::new();
        let mut stays = Vec::new();
        let period = self.plan.period;
        let pacient = zap.child("PACIENT");
        let person = pacient
            .and_then(|p| p.child_text("ID_PAC"))
            .and_then(|id| self.persons.get(digest(id)));
        let n_zap = zap.child_text("N_ZAP").map(str::to_owned);
        let names = self.header_names.union(held);
        for z_sl in zap.children_named("Z_SL") {
            let withheld = z_sl.child_text("SUMV").and_then(parse_money).unwrap_or(0);
            let idcase = z_sl.child_text("IDCASE").map(str::to_owned);
            let finding =
                |kind: ReasonKind,
                 rule: Option<&str>,
                 sl: Option<&Element>,
                 element: &str,
                 (comment, comment_ru): (String, String)| MekFinding {
                    reason: kind.reason(period),
                    rule: rule.map(str::to_owned),
                    element: element.to_owned(),
                    n_zap: n_zap.clone(),
                    idcase: idcase.clone(),
                    sl_id: sl.and_then(|sl| sl.child_text("SL_ID")).map(str::to_owned),
                    comment,
                    comment_ru,
                    withheld,
                };

            // The case ends in the reporting period (a corrected case, PR_NOV 1, may be late).
            let resubmitted = zap.child_text("PR_NOV") == Some("1");
            if let Some(end) = z_sl.child_text("DATE_Z_2").and_then(parse_date) {
                if (end < period.first_day() && !resubmitted) || end > period.last_day() {
                    findings.push(finding(
                        ReasonKind::OutsidePeriod,
                        None,
                        None,
                        "DATE_Z_2",
                        (
                            format!(
                                "the case ended on {end}, outside the reporting period {period}"
                            ),
                            format!("случай завершён {end}, вне отчётного периода {period}"),
                        ),
                    ));
                }
            }

            if let Some(paid) = self.paid {
                if let Some(key) = case_key(zap, z_sl) {
                    if paid.contains(&key) {
                        findings.push(finding(
                            ReasonKind::PaidEarlier,
                            None,
                            None,
                            "Z_SL",
                            (
                                format!("the case {key} was paid in an earlier register"),
                                format!("случай {key} оплачен в более раннем реестре"),
                            ),
                        ));
                    }
                }
            }

            for sl in z_sl.children_named("SL") {
                // Tariff × units = sum, where no coefficient (KSG) intervenes.
                if sl.child("KSG_KPG").is_none() {
                    if let Some(problem) = arithmetic(sl, "TARIF", "ED_COL", "SUM_M") {
                        findings.push(finding(
                            ReasonKind::SumArithmetic,
                            None,
                            Some(sl),
                            "SUM_M",
                            problem,
                        ));
                    }
                }
                for usl in sl.children_named("USL") {
                    if let Some((problem, problem_ru)) =
                        arithmetic(usl, "TARIF", "KOL_USL", "SUMV_USL")
                    {
                        let idserv = usl.child_text("IDSERV").unwrap_or("?");
                        findings.push(finding(
                            ReasonKind::SumArithmetic,
                            None,
                            Some(sl),
                            "SUMV_USL",
                            (
                                format!("service {idserv}: {problem}"),
                                format!("услуга {idserv}: {problem_ru}"),
                            ),
                        ));
                    }
                }
            }

            let mut duplicate_done = false;
            for rule in &self.case_rules {
                if matches!(rule.check, MekCheck::Duplicate) {
                    if duplicate_done {
                        continue;
                    }
                    duplicate_done = true;
                    for sl in z_sl.children_named("SL") {
                        if let Some((key, here, described)) = stay(zap, z_sl, sl, person) {
                            stays.push(PendingStay {
                                at: findings.len(),
                                key,
                                here,
                                described,
                                finding: finding(
                                    ReasonKind::Duplicate,
                                    Some(&rule.id),
                                    Some(sl),
                                    "SL",
                                    (String::new(), String::new()),
                                ),
                            });
                        }
                    }
                    continue;
                }
                for (sl, element, comment) in self.apply(rule, zap, z_sl, person, &names) {
                    findings.push(finding(
                        ReasonKind::IncorrectField,
                        Some(&rule.id),
                        sl,
                        &element,
                        comment,
                    ));
                }
            }
        }
        CaseParts { findings, stays }
    }

    /// One catalogue rule over one case: (the stay, the element, the comment) of each fault.
    fn apply<'e>(
        &self,
        rule: &MekRule,
        zap: &'e Element,
        z_sl: &'e Element,
        person: Option<Person>,
        names: &NameFilter,
    ) -> Vec<(Option<&'e Element>, String, (String, String))> {
        let mut out = Vec::new();
        let leaf = rule.path.last().map(String::as_str).unwrap_or("");
        // Below ZAP: the chain to the element's parent, within this Z_SL only.
        let below = &rule.path[2..rule.path.len() - 1];
        let (mut start, below): (SmallVec<[&Element; 8]>, &[String]) =
            match below.first().map(String::as_str) {
                Some("Z_SL") => (smallvec![zap, z_sl], &below[1..]),
                _ => (smallvec![zap], below),
            };
        // A path through an element the case does not hold has no instance.
        if !names.holds_all(&rule.below_names) {
            return out;
        }
        each_instance(&mut start, below, &mut |parent| {
            let Some(last) = parent.last() else { return };
            let sl = parent.iter().find(|e| e.name == "SL").copied();
            if matches!(rule.check, MekCheck::NonZero) {
                let scope = Scope {
                    chain: parent,
                    file: &self.context,
                    main: None,
                    names: Some(names),
                };
                // The check first, the condition only when it fails (see below).
                let value = last.child_text(leaf).unwrap_or("");
                if value.parse::<f64>().map_or(true, |v| v == 0.0) && rule.condition.holds(&scope) {
                    out.push((
                        sl,
                        leaf.to_owned(),
                        (
                            format!(
                                "{leaf} {value:?} must be filled and not zero (when {}): {}",
                                rule.condition_text, rule.description
                            ),
                            format!(
                                "{leaf} {value:?} должен быть заполнен и не равен нулю (при условии {}): {}",
                                rule.condition_text, rule.description
                            ),
                        ),
                    ));
                }
                return;
            }
            if !names.holds_all(&rule.leaf_names) {
                return;
            }
            for element in last.children_named(leaf) {
                let value = element.value();
                if value.is_empty() {
                    continue;
                }
                let mut chain: SmallVec<[&Element; 8]> = SmallVec::from_slice(parent);
                chain.push(element);
                let scope = Scope {
                    chain: &chain,
                    file: &self.context,
                    main: None,
                    names: Some(names),
                };
                // A finding needs the condition to hold and the check to fail: the check,
                // nearly always passed, is made first, the condition only when it fails.
                // The patient's age on the first day, for the checks that need it.
                let years = || {
                    person
                        .and_then(|p| p.birth)
                        .zip(first_day(&scope))
                        .map(|(birth, start)| age(birth, start))
                };
                // The comment is written only once the condition holds too.
                let holds = || rule.condition.holds(&scope);
                let problem = match &rule.check {
                    MekCheck::Value(expression) => (expression.is_broken(&scope) && holds())
                        .then(|| {
                            let both = format!("{leaf} {value:?}: {}", rule.description);
                            (both.clone(), both)
                        }),
                    MekCheck::DiagnosisAge { rubric, from_age } => years()
                        .filter(|years| {
                            rubric_of(value) == Some(*rubric) && *years >= *from_age as i32
                        })
                        .filter(|_| holds())
                        .map(|years| {
                            (
                                format!(
                                    "{leaf} {value} (rubric {rubric}) for a patient aged {years}: {}",
                                    rule.description
                                ),
                                format!(
                                    "{leaf} {value} (рубрика {rubric}) у пациента {years} лет: {}",
                                    rule.description
                                ),
                            )
                        }),
                    MekCheck::DiagnosisSex { rubric, sex } => person
                        .filter(|p| rubric_of(value) == Some(*rubric) && p.sex == *sex)
                        .filter(|_| holds())
                        .map(|p| {
                            (
                                format!(
                                    "{leaf} {value} (rubric {rubric}) for a patient of sex W={}: {}",
                                    p.sex, rule.description
                                ),
                                format!(
                                    "{leaf} {value} (рубрика {rubric}) у пациента пола W={}: {}",
                                    p.sex, rule.description
                                ),
                            )
                        }),
                    MekCheck::ProfileAge { under, from } => years()
                        .filter(|years| {
                            under.is_some_and(|u| *years >= u as i32)
                                || from.is_some_and(|f| *years < f as i32)
                        })
                        .filter(|_| holds())
                        .map(|years| {
                            (
                                format!(
                                    "{leaf} {value} for a patient aged {years}: {}",
                                    rule.description
                                ),
                                format!(
                                    "{leaf} {value} у пациента {years} лет: {}",
                                    rule.description
                                ),
                            )
                        }),
                    MekCheck::ProfileSex { sex } => person.filter(|p| p.sex != *sex && holds()).map(|p| {
                        (
                            format!(
                                "{leaf} {value} for a patient of sex W={}: {}",
                                p.sex, rule.description
                            ),
                            format!(
                                "{leaf} {value} у пациента пола W={}: {}",
                                p.sex, rule.description
                            ),
                        )
                    }),
                    MekCheck::StayDays { first, last } => {
                        let days = value.parse::<f64>().ok();
                        let from = scope.values(first).first().and_then(|d| parse_date(d));
                        let to = scope.values(last).first().and_then(|d| parse_date(d));
                        match (days, from, to) {
                            (Some(days), Some(from), Some(to)) => {
                                let length = (to - from).whole_days() + 1;
                                ((days <= 0.0 || days > length as f64) && holds()).then(|| {
                                    (
                                        format!(
                                            "{leaf} {value} with a stay of {length} calendar days ({first} {from} – {last} {to}): {}",
                                            rule.description
                                        ),
                                        format!(
                                            "{leaf} {value} при пребывании {length} календарных дней ({first} {from} – {last} {to}): {}",
                                            rule.description
                                        ),
                                    )
                                })
                            }
                            _ => None,
                        }
                    }
                    MekCheck::NonZero | MekCheck::Duplicate => None,
                };
                if let Some(comment) = problem {
                    out.push((sl, leaf.to_owned(), comment));
                }
            }
        });
        out
    }
}

/// What the duplicate control (003K.00.0410) compares of a stay: two stays of one register
/// match on the first and last day, care conditions, newborn mark, specialty, profile and the
/// patient's surname, name, patronymic and birth date — except emergency calls (USL_OK 4)
/// and same-day outpatient visits, which the rule leaves out. The stay's digest, how it is
/// named, and how it is described in a finding.
fn stay(
    zap: &Element,
    z_sl: &Element,
    sl: &Element,
    person: Option<Person>,
) -> Option<(u128, Box<str>, String)> {
    let usl_ok = z_sl.child_text("USL_OK").unwrap_or("");
    let first = sl.child_text("DATE_1").unwrap_or("");
    let last = sl.child_text("DATE_2").unwrap_or("");
    if usl_ok == "4" || (usl_ok == "3" && first == last) {
        return None;
    }
    let pacient = zap.child("PACIENT");
    let identity = match person {
        Some(person) => person.identity.to_string(),
        None => pacient
            .and_then(|p| p.child_text("ID_PAC"))
            .unwrap_or("")
            .to_owned(),
    };
    let fields = [
        identity.as_str(),
        first,
        last,
        usl_ok,
        pacient.and_then(|p| p.child_text("NOVOR")).unwrap_or("0"),
        sl.child_text("PRVS").unwrap_or(""),
        sl.child_text("PROFIL").unwrap_or(""),
    ];
    let digest = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        fields.hash(&mut hasher);
        hasher.finish()
    };
    let key = ((u128::from(digest(1)) << 64) | u128::from(digest(2))).max(1);
    let here = format!(
        "N_ZAP {} IDCASE {} SL_ID {}",
        zap.child_text("N_ZAP").unwrap_or("?"),
        z_sl.child_text("IDCASE").unwrap_or("?"),
        sl.child_text("SL_ID").unwrap_or("?")
    );
    let described = format!(
        "{first} – {last}, USL_OK {usl_ok}, PROFIL {}, PRVS {}",
        sl.child_text("PROFIL").unwrap_or("?"),
        sl.child_text("PRVS").unwrap_or("?"),
    );
    Some((key, here.into_boxed_str(), described))
}

/// `tariff × quantity = sum` on one element, in kopecks; the problem when it does not hold.
fn arithmetic(
    element: &Element,
    tariff: &str,
    quantity: &str,
    sum: &str,
) -> Option<(String, String)> {
    let t = element.child_text(tariff).and_then(parse_money)?;
    let q = element.child_text(quantity).and_then(parse_money)?;
    let s = element.child_text(sum).and_then(parse_money)?;
    // Kopecks × hundredths of a unit, rounded half up to the kopeck.
    let expected = (t * q + 50) / 100;
    let units = element.child_text(quantity).unwrap_or("?");
    (expected != s).then(|| {
        (
            format!(
                "{sum} {} is not {tariff} {} × {quantity} {units} = {}",
                money(s),
                money(t),
                money(expected)
            ),
            format!(
                "{sum} {} не равна {tariff} {} × {quantity} {units} = {}",
                money(s),
                money(t),
                money(expected)
            ),
        )
    })
}

/// The ICD-10 letter of a diagnosis code.
fn rubric_of(code: &str) -> Option<char> {
    code.trim().chars().next().map(|c| c.to_ascii_uppercase())
}

/// The first day of the stay (`DATE_1`), else of the case (`DATE_Z_1`).
fn first_day(scope: &Scope<'_>) -> Option<time::Date> {
    ["DATE_1", "DATE_Z_1"]
        .iter()
        .find_map(|name| scope.values(name).first().and_then(|v| parse_date(v)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_full_years() {
        let date = |y, m, d| {
            time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
        };
        assert_eq!(age(date(2000, 5, 10), date(2025, 5, 9)), 24);
        assert_eq!(age(date(2000, 5, 10), date(2025, 5, 10)), 25);
        assert_eq!(age(date(2024, 12, 31), date(2025, 1, 15)), 0);
    }

    #[test]
    fn tariff_arithmetic() {
        let ok = Element::new("SL")
            .with("TARIF", "500.50")
            .with("ED_COL", "2.00")
            .with("SUM_M", "1001.00");
        assert_eq!(arithmetic(&ok, "TARIF", "ED_COL", "SUM_M"), None);
        let wrong = Element::new("SL")
            .with("TARIF", "500.50")
            .with("ED_COL", "2")
            .with("SUM_M", "1000.00");
        let (problem, problem_ru) = arithmetic(&wrong, "TARIF", "ED_COL", "SUM_M").unwrap();
        assert!(problem.contains("1001.00"), "{problem}");
        assert_eq!(
            problem_ru,
            "SUM_M 1000.00 не равна TARIF 500.50 × ED_COL 2 = 1001.00"
        );
    }
}

//! Medico-economic control (MEK): the rules of the federal MEK catalogue (`Q016`) and the
//! regional one (`Q023`) read as data and run over each case that passed the format-logical
//! control, beside the controls the federal reasons (F014) name and the register's data allow
//! — case outside the period, duplicate case within the register, case already paid in an
//! earlier accepted register, tariff and sum arithmetic. Each finding names its F014 reason,
//! the catalogue rule where one found it, the case, and the sum withheld.

mod checker;
pub mod paid;
pub mod plan;

use crate::flk::NotRun;
use crate::names::Period;

pub use checker::{CaseChecker, CaseParts, CaseRules, Person, Stays};
pub use paid::PaidCases;
pub use plan::MekPlan;

/// What a finding is refused for: a reason of the federal classifier F014.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReasonKind {
    /// Fields of the register filled incorrectly (a diagnosis incompatible with the patient's
    /// sex or age, a value a catalogue rule forbids).
    IncorrectField,
    /// The sum of a position holds an arithmetic error (tariff × quantity).
    SumArithmetic,
    /// The date of care does not fall in the reporting period.
    OutsidePeriod,
    /// The case was paid earlier (submitted again).
    PaidEarlier,
    /// The case appears twice in one register.
    Duplicate,
}

/// One F014 reason: its code (`Kod`), its basis in the order (`Osn`) and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reason {
    pub code: u16,
    pub basis: &'static str,
    pub name: &'static str,
}

/// The F014 records medgate's MEK reports: (kind, Kod, Osn, name, first day, last day).
/// The classifier was renumbered on 25 May 2021 (order 231n); a finding takes the record in
/// force on the first day of the reporting period. Source: F014 as published by the federal
/// fund (a public copy: `AshurkovAV/SQL_T`, `МТР/updateBase/SQLScript678.sql`).
type F014Row = (
    ReasonKind,
    u16,
    &'static str,
    &'static str,
    (i32, u8, u8),
    (i32, u8, u8),
);
const F014: &[F014Row] = &[
    (
        ReasonKind::IncorrectField,
        53,
        "5.1.4.",
        "Некорректное заполнение полей реестра счетов",
        (2011, 1, 1),
        (2021, 5, 24),
    ),
    (
        ReasonKind::SumArithmetic,
        54,
        "5.1.5.",
        "Заявленная сумма по позиции реестра счетов не корректна",
        (2011, 1, 1),
        (2021, 5, 24),
    ),
    (
        ReasonKind::OutsidePeriod,
        55,
        "5.1.6.",
        "Дата оказания МП в реестре счетов не соответствует отчетному периоду/периоду оплаты",
        (2011, 1, 1),
        (2021, 5, 24),
    ),
    (
        ReasonKind::PaidEarlier,
        70,
        "5.7.1.",
        "Повторное выставление счета за уже оплаченную МП",
        (2011, 1, 1),
        (2021, 5, 24),
    ),
    (
        ReasonKind::Duplicate,
        71,
        "5.7.2.",
        "Дублирование случаев оказания МП в одном реестре",
        (2011, 1, 1),
        (2021, 5, 24),
    ),
    (
        ReasonKind::IncorrectField,
        207,
        "1.4.4.",
        "Некорректное заполнение полей реестра счетов",
        (2021, 5, 25),
        (9999, 12, 31),
    ),
    (
        ReasonKind::SumArithmetic,
        208,
        "1.4.5.",
        "Заявленная сумма по позиции реестра счетов не корректна (содержит арифметическую ошибку)",
        (2021, 5, 25),
        (9999, 12, 31),
    ),
    (
        ReasonKind::OutsidePeriod,
        209,
        "1.4.6.",
        "Дата оказания медицинской помощи в реестре счетов не соответствует отчетному периоду/периоду оплаты",
        (2021, 5, 25),
        (9999, 12, 31),
    ),
    (
        ReasonKind::PaidEarlier,
        221,
        "1.10.1.",
        "Позиция реестра счетов оплачена ранее",
        (2021, 5, 25),
        (9999, 12, 31),
    ),
    (
        ReasonKind::Duplicate,
        222,
        "1.10.2.",
        "Дублирование случаев оказания медицинской помощи в одном реестре",
        (2021, 5, 25),
        (9999, 12, 31),
    ),
];

impl ReasonKind {
    /// The F014 record of this kind in force for the period.
    pub fn reason(self, period: Period) -> Reason {
        let day = period.first_day();
        let date = |(y, m, d): (i32, u8, u8)| {
            time::Month::try_from(m)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(y, m, d).ok())
        };
        let row = F014
            .iter()
            .filter(|row| row.0 == self)
            .find(|row| {
                date(row.4).is_some_and(|begin| begin <= day)
                    && date(row.5).is_some_and(|end| day <= end)
            })
            .or_else(|| F014.iter().rev().find(|row| row.0 == self));
        match row {
            Some(&(_, code, basis, name, _, _)) => Reason { code, basis, name },
            None => Reason {
                code: 0,
                basis: "",
                name: "",
            },
        }
    }
}

/// One MEK finding: a case (or one of its stays) refused for a reason, and the sum withheld.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MekFinding {
    pub reason: Reason,
    /// The catalogue rule that found it, when one did (`003K.00.0620`).
    pub rule: Option<String>,
    /// The element at fault.
    pub element: String,
    pub n_zap: Option<String>,
    pub idcase: Option<String>,
    pub sl_id: Option<String>,
    /// What is wrong, in English (the command line's language).
    pub comment: String,
    /// The same in Russian (the node's Russian pages), written where the finding is made.
    pub comment_ru: String,
    /// Kopecks withheld: the case's claimed sum (`SUMV`), as the F014 MEK reasons refuse
    /// the whole position.
    pub withheld: i128,
}

/// How many MEK rules the catalogues hold and what became of them for one package.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MekCounts {
    pub loaded: usize,
    /// In force in the package's period.
    pub in_force: usize,
    /// Of those, regional rules of another region than the package's.
    pub other_region: usize,
    /// Of those in force, for the kinds of file the package holds and its region.
    pub for_files: usize,
    /// Of those, entries that provide no control ("Не предусмотрено").
    pub no_control: usize,
    /// Of those, run.
    pub applied: usize,
    /// Of those, not run because the engine cannot read them (listed in `not_run`).
    pub not_interpretable: usize,
}

/// The MEK part of a package's report.
#[derive(Clone, Debug, Default)]
pub struct MekReport {
    pub counts: MekCounts,
    /// The catalogue rules not run (no control, or not interpretable), and why.
    pub not_run: Vec<NotRun>,
    /// The controls run besides the catalogue rules (named by their F014 reason).
    pub builtin: Vec<String>,
    pub findings: Vec<MekFinding>,
    /// Findings beyond the limit, counted only.
    pub findings_dropped: u64,
    /// Cases (ZAP records) MEK ran on: those that passed FLK.
    pub cases_checked: u64,
    /// Cases left out because FLK found errors in them or their patient.
    pub cases_failed_flk: u64,
    /// Cases with at least one finding.
    pub cases_refused: u64,
    /// Kopecks withheld over the refused cases (each case counted once).
    pub withheld: i128,
    /// Paid case keys given to the control.
    pub paid_keys: usize,
}

impl MekReport {
    pub fn total_findings(&self) -> u64 {
        self.findings.len() as u64 + self.findings_dropped
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_follows_the_classifier_in_force() {
        let early = Period::new(2020, 3).unwrap();
        let late = Period::new(2025, 1).unwrap();
        assert_eq!(ReasonKind::Duplicate.reason(early).basis, "5.7.2.");
        assert_eq!(ReasonKind::Duplicate.reason(late).code, 222);
        assert_eq!(ReasonKind::PaidEarlier.reason(late).basis, "1.10.1.");
        assert_eq!(ReasonKind::IncorrectField.reason(late).code, 207);
        assert_eq!(ReasonKind::OutsidePeriod.reason(early).code, 55);
    }
}

//! `Tally`: what a file's items add up to, in file order — keys used twice, the patient's
//! `PERS`, the sums, the dates of each case — after each item was checked on its own by
//! [`RecordRules`](super::RecordRules), perhaps on another thread.

use std::collections::{HashMap, HashSet};

use super::checker::{both, RecordRules};
use super::{
    mask, money, parse_money, snils, Finding, DUPLICATE_KEY, WRONG_ORDER, WRONG_TYPE, WRONG_VALUE,
};
use crate::spill::{digest, DigestMap, DigestSet, Keys, Spill, Texts};
use crate::xml::Element;

/// What the file's items add up to, in file order: the keys seen, the sums, the patients.
pub struct Tally<'a> {
    pub(super) seen_items: HashSet<String>,
    /// `N_ZAP`, `IDCASE`, `ID_PAC` seen so far, by name.
    keys: HashMap<&'static str, DigestSet<'a>>,
    spill: &'a Spill,
    keys_in_memory: usize,
    /// The personal-data file's patients (for the main file).
    pub patients: Option<&'a dyn Keys>,
    /// Kept from the main file for the personal-data file's rules: per patient, the fields
    /// they name.
    pub collected_fields: MainFields<'a>,
    pub(super) sum_of_cases: i128,
    pub(super) invoice_sum: Option<i128>,
    pub records: u64,
    /// Headers met after the records ([`Tally::late_header`]), kept for the end of the file.
    pub(super) late_headers: Vec<Element>,
}

/// The main file's fields a personal-data file's rules name, per patient (`ID_PAC`), kept in
/// bounded memory ([`crate::spill`]).
pub struct MainFields<'a> {
    by_patient: DigestMap<'a, u64>,
    texts: Texts<'a>,
}

impl<'a> MainFields<'a> {
    pub fn new(spill: &'a Spill, keys_in_memory: usize) -> Self {
        MainFields {
            by_patient: DigestMap::new(spill, keys_in_memory),
            texts: Texts::new(spill, keys_in_memory.saturating_mul(16)),
        }
    }

    /// The patient's fields as `NAME=value` lines (the last `ZAP` of the patient's).
    pub fn get(&self, id_pac: &str) -> Option<String> {
        self.by_patient
            .get(digest(id_pac))
            .map(|handle| self.texts.get(handle))
    }

    fn insert(&mut self, id_pac: &str, lines: &str) {
        let handle = self.texts.push(lines);
        self.by_patient.insert(digest(id_pac), handle);
    }
}

impl<'a> Tally<'a> {
    pub(super) fn new(spill: &'a Spill, keys_in_memory: usize) -> Self {
        Tally {
            seen_items: HashSet::new(),
            keys: HashMap::new(),
            spill,
            keys_in_memory,
            patients: None,
            collected_fields: MainFields::new(spill, keys_in_memory),
            sum_of_cases: 0,
            invoice_sum: None,
            records: 0,
            late_headers: Vec::new(),
        }
    }

    pub(super) fn header(&mut self, header: &Element) {
        self.seen_items.insert(header.name.clone());
        if header.name == "SCHET" {
            self.invoice_sum = header.child_text("SUMMAV").and_then(parse_money);
        }
    }

    /// A record, after [`RecordRules::check_item`] found `checked` in it: the checks of the
    /// whole file (keys used twice, the patient's `PERS`, sums), in file order.
    pub fn record(
        &mut self,
        rules: &RecordRules<'_>,
        record: &Element,
        mut findings: Vec<Finding>,
    ) -> Vec<Finding> {
        self.seen_items.insert(record.name.clone());
        self.records += 1;
        if record.name == "ZAP" {
            self.zap_checks(rules, record, &mut findings);
        } else if record.name == "PERS" {
            self.pers_checks(rules, record, &mut findings);
        }
        dedupe(&mut findings);
        findings
    }

    /// A header met after the records: checked, counted, and refused as out of order (the
    /// rules of the records already read did not see it).
    pub fn late_header(&mut self, rules: &RecordRules<'_>, header: &Element) -> Vec<Finding> {
        let mut findings = rules.header_findings(header);
        let name = &header.name;
        findings.push(rules.finding(
            WRONG_ORDER,
            None,
            &[],
            name,
            both(
                format!("element {name} is out of order (after the records)"),
                format!("нарушен порядок элементов: {name} после записей"),
            ),
        ));
        self.header(header);
        self.late_headers.push(header.clone());
        findings
    }

    fn unique(&mut self, key: &'static str, value: &str) -> bool {
        let (spill, limit) = (self.spill, self.keys_in_memory);
        self.keys
            .entry(key)
            .or_insert_with(|| DigestMap::new(spill, limit))
            .insert(digest(value), ())
            .is_none()
    }

    fn zap_checks(&mut self, rules: &RecordRules<'_>, zap: &Element, findings: &mut Vec<Finding>) {
        if let Some(n_zap) = zap.child_text("N_ZAP") {
            if !self.unique("N_ZAP", n_zap) {
                findings.push(rules.finding(
                    DUPLICATE_KEY,
                    None,
                    &[zap],
                    "N_ZAP",
                    both(
                        format!("N_ZAP {n_zap} is used twice in the file"),
                        format!("N_ZAP {n_zap} повторяется в файле"),
                    ),
                ));
            }
        }
        if let Some(pacient) = zap.child("PACIENT") {
            if let Some(id) = pacient.child_text("ID_PAC") {
                if self
                    .patients
                    .is_some_and(|patients| !patients.contains(digest(id)))
                {
                    findings.push(rules.finding(
                        WRONG_VALUE,
                        None,
                        &[zap, pacient],
                        "ID_PAC",
                        both(
                            format!("ID_PAC {id} has no PERS record in the personal-data file"),
                            format!("для ID_PAC {id} нет записи PERS в файле персональных данных"),
                        ),
                    ));
                }
                if !rules.plan.main_fields.is_empty() {
                    let fields: Vec<String> = rules
                        .plan
                        .main_fields
                        .iter()
                        .filter_map(|name| {
                            pacient
                                .child_text(name)
                                .map(|value| format!("{name}={value}"))
                        })
                        .collect();
                    self.collected_fields.insert(id, &fields.join("\n"));
                }
            }
        }
        let period = rules.context.name.period();
        for z_sl in zap.children_named("Z_SL") {
            let chain = [zap, z_sl];
            if let Some(idcase) = z_sl.child_text("IDCASE") {
                if !self.unique("IDCASE", idcase) {
                    findings.push(rules.finding(
                        DUPLICATE_KEY,
                        None,
                        &chain,
                        "IDCASE",
                        both(
                            format!("IDCASE {idcase} is used twice in the file"),
                            format!("IDCASE {idcase} повторяется в файле"),
                        ),
                    ));
                }
            }
            let sum = z_sl.child_text("SUMV").and_then(parse_money);
            if let Some(sum) = sum {
                self.sum_of_cases += sum;
            }
            dates(rules, &chain, "DATE_Z_1", "DATE_Z_2", findings);
            if let Some(end) = z_sl.child_text("DATE_Z_2").and_then(mask::parse_date) {
                if end > period.last_day() {
                    findings.push(rules.finding(
                        WRONG_VALUE,
                        None,
                        &chain,
                        "DATE_Z_2",
                        both(
                            format!("DATE_Z_2 {end} is after the reporting period {period}"),
                            format!("DATE_Z_2 {end} позже отчётного периода {period}"),
                        ),
                    ));
                }
            }
            let mut sl_ids = HashSet::new();
            let mut sl_sum: i128 = 0;
            for sl in z_sl.children_named("SL") {
                let chain = [zap, z_sl, sl];
                if let Some(sl_id) = sl.child_text("SL_ID") {
                    if !sl_ids.insert(sl_id) {
                        findings.push(rules.finding(
                            DUPLICATE_KEY,
                            None,
                            &chain,
                            "SL_ID",
                            both(
                                format!(
                                    "SL_ID {sl_id} is used twice in case {}",
                                    z_sl.child_text("IDCASE").unwrap_or("?")
                                ),
                                format!(
                                    "SL_ID {sl_id} повторяется в случае {}",
                                    z_sl.child_text("IDCASE").unwrap_or("?")
                                ),
                            ),
                        ));
                    }
                }
                sl_sum += sl.child_text("SUM_M").and_then(parse_money).unwrap_or(0);
                dates(rules, &chain, "DATE_1", "DATE_2", findings);
                let mut idservs = HashSet::new();
                for usl in sl.children_named("USL") {
                    let chain = [zap, z_sl, sl, usl];
                    if let Some(idserv) = usl.child_text("IDSERV") {
                        if !idservs.insert(idserv) {
                            findings.push(rules.finding(
                                DUPLICATE_KEY,
                                None,
                                &chain,
                                "IDSERV",
                                both(
                                    format!(
                                        "IDSERV {idserv} is used twice in SL {}",
                                        sl.child_text("SL_ID").unwrap_or("?")
                                    ),
                                    format!(
                                        "IDSERV {idserv} повторяется в SL {}",
                                        sl.child_text("SL_ID").unwrap_or("?")
                                    ),
                                ),
                            ));
                        }
                    }
                    dates(rules, &chain, "DATE_IN", "DATE_OUT", findings);
                }
            }
            if let Some(sum) = sum {
                if sl_sum != sum && z_sl.child("SL").is_some() {
                    findings.push(rules.finding(
                        WRONG_VALUE,
                        None,
                        &chain,
                        "SUMV",
                        both(
                            format!(
                                "SUMV {} is not the sum of its SL/SUM_M ({})",
                                money(sum),
                                money(sl_sum)
                            ),
                            format!(
                                "SUMV {} не равна сумме SL/SUM_M ({})",
                                money(sum),
                                money(sl_sum)
                            ),
                        ),
                    ));
                }
            }
        }
    }

    fn pers_checks(
        &mut self,
        rules: &RecordRules<'_>,
        pers: &Element,
        findings: &mut Vec<Finding>,
    ) {
        if let Some(id) = pers.child_text("ID_PAC") {
            if !self.unique("ID_PAC", id) {
                findings.push(rules.finding(
                    DUPLICATE_KEY,
                    None,
                    &[pers],
                    "ID_PAC",
                    both(
                        format!("ID_PAC {id} is used twice in the file"),
                        format!("ID_PAC {id} повторяется в файле"),
                    ),
                ));
            }
        }
        if let Some(value) = pers.child_text("SNILS").filter(|v| !v.is_empty()) {
            match snils::check_snils(value) {
                Ok(()) => {}
                Err(snils::SnilsProblem::Format) => {
                    findings.push(rules.finding(
                        WRONG_TYPE,
                        None,
                        &[pers],
                        "SNILS",
                        both(
                            format!("SNILS {value:?} is not NNN-NNN-NNN CC"),
                            format!("СНИЛС {value:?} не в формате NNN-NNN-NNN CC"),
                        ),
                    ));
                }
                Err(snils::SnilsProblem::CheckDigits { expected, found }) => {
                    findings.push(rules.finding(
                        WRONG_VALUE,
                        None,
                        &[pers],
                        "SNILS",
                        both(
                            format!(
                                "SNILS {value} has check digits {found:02}, expected {expected:02}"
                            ),
                            format!(
                            "СНИЛС {value}: контрольное число {found:02}, ожидается {expected:02}"
                        ),
                        ),
                    ));
                }
            }
        }
    }
}

fn dates(
    checker: &RecordRules<'_>,
    chain: &[&Element],
    first: &str,
    last: &str,
    findings: &mut Vec<Finding>,
) {
    let Some(element) = chain.last() else { return };
    let start = element.child_text(first).and_then(mask::parse_date);
    let end = element.child_text(last).and_then(mask::parse_date);
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            findings.push(checker.finding(
                WRONG_VALUE,
                None,
                chain,
                first,
                both(
                    format!("{first} {start} is after {last} {end}"),
                    format!("{first} {start} позже {last} {end}"),
                ),
            ));
        }
    }
}

/// One finding per element and place: a catalogue rule's kept over the structural check's.
fn dedupe(findings: &mut Vec<Finding>) {
    let mut seen: HashSet<Finding> = HashSet::new();
    findings.sort_by_key(|f| f.rule.is_none());
    findings.retain(|f| {
        seen.insert(Finding {
            rule: None,
            comment: String::new(),
            comment_ru: String::new(),
            file: String::new(),
            ..f.clone()
        })
    });
}

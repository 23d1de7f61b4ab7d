//! `FileChecker`: the plan's rules and the structural checks of the format run over one
//! file's items as they are read — order, types, codes and conditions on each item alone
//! ([`RecordRules`], here), then duplicate keys, the patient's `PERS`, sums, dates and SNILS
//! in file order ([`Tally`], in `tally.rs`) — each finding with its F012 code.

use std::collections::HashMap;

use smallvec::{smallvec, SmallVec};

use super::catalogue::{Check, CompiledRule};
use super::condition::{Name, Values};
use super::scope::{each_instance, FileContext, NameFilter, Scope};
use super::structure::{check_indexed, slot_indexes, DataType, Schema, SequenceProblem};
use super::tally::{MainFields, Tally};
use super::{
    mask, money, parse_money, Finding, Plan, EMPTY_MANDATORY, MUST_BE_ABSENT, WRONG_ORDER,
    WRONG_TYPE, WRONG_VALUE,
};
use crate::names::FileKind;
use crate::nsi::Nsi;
use crate::spill::Spill;
use crate::xml::Element;

/// Runs the plan and the structural checks over one file's items as they are read: the
/// rules on each item alone ([`RecordRules`], shared by the threads that check items side by
/// side) and what the items add up to in file order ([`Tally`]).
pub struct FileChecker<'a> {
    pub rules: RecordRules<'a>,
    pub tally: Tally<'a>,
}

/// What checks one item on its own: the plan, the books, the file's headers. Read-only while
/// the records are checked.
pub struct RecordRules<'a> {
    pub(super) plan: &'a Plan,
    nsi: &'a Nsi,
    schema: Option<Schema>,
    pub context: FileContext,
    file: String,
    /// The names of the headers' elements (`context.headers`).
    header_names: NameFilter,
    /// For the personal-data file: the main file's patient fields its rules need.
    pub main_fields: Option<&'a MainFields<'a>>,
    /// The elements a code's date is taken from ([`case_date`]).
    case_dates: [Name; 3],
    /// The plan's groups of rules for this file's root: (item, path below it, rules).
    groups: Vec<(&'a str, &'a [String], &'a [CompiledRule])>,
}

impl<'a> FileChecker<'a> {
    /// `spill` and `keys_in_memory`: where and after how many keys the file's keys are kept
    /// on disk ([`crate::spill`]).
    pub fn new(
        plan: &'a Plan,
        nsi: &'a Nsi,
        context: FileContext,
        file: &str,
        spill: &'a Spill,
        keys_in_memory: usize,
    ) -> FileChecker<'a> {
        let schema = match (context.root, context.name.kind()) {
            ("PERS_LIST", _) => Some(Schema::personal()),
            (_, FileKind::General) => Some(Schema::general()),
            // The other kinds' sequences differ; their elements are checked by the catalogue.
            _ => None,
        };
        let mut header_names = NameFilter::default();
        for header in &context.headers {
            header_names.add_tree(header);
        }
        let context_root = context.root;
        FileChecker {
            rules: RecordRules {
                plan,
                nsi,
                schema,
                context,
                file: file.to_owned(),
                header_names,
                main_fields: None,
                case_dates: case_date_names(),
                groups: plan
                    .groups
                    .iter()
                    .filter(|((root, _, _), _)| root == context_root)
                    .map(|((_, item, parent), rules)| {
                        (item.as_str(), parent.as_slice(), rules.as_slice())
                    })
                    .collect(),
            },
            tally: Tally::new(spill, keys_in_memory),
        }
    }

    /// A header (`ZGLV`, `SCHET`): checked, and kept for the rules of the records.
    pub fn header(&mut self, header: Element) -> Vec<Finding> {
        let findings = self.rules.header_findings(&header);
        self.remember_header(header);
        findings
    }

    /// Keeps a header for the rules of the records that follow and the end of the file.
    fn remember_header(&mut self, header: Element) {
        self.tally.header(&header);
        self.rules.header_names.add_tree(&header);
        self.rules.context.headers.push(header);
    }

    /// One record (`ZAP` or `PERS`).
    pub fn record(&mut self, record: &Element) -> Vec<Finding> {
        let checked = self.rules.check_item(record);
        self.tally.record(&self.rules, record, checked)
    }

    /// What only the end of the file can tell: the invoice sum, the root's children.
    pub fn finish(&mut self) -> Vec<Finding> {
        for header in std::mem::take(&mut self.tally.late_headers) {
            self.remember_header(header);
        }
        let mut findings = Vec::new();
        if let Some(schet) = self
            .rules
            .context
            .headers
            .iter()
            .find(|h| h.name == "SCHET")
        {
            if let Some(invoice) = self.tally.invoice_sum {
                if invoice != self.tally.sum_of_cases {
                    findings.push(self.rules.finding(
                        WRONG_VALUE,
                        self.rules.plan.sum_rule.as_deref(),
                        &[schet],
                        "SUMMAV",
                        both(
                            format!(
                                "SUMMAV {} is not the sum of Z_SL/SUMV ({})",
                                money(invoice),
                                money(self.tally.sum_of_cases)
                            ),
                            format!(
                                "SUMMAV {} не равна сумме Z_SL/SUMV ({})",
                                money(invoice),
                                money(self.tally.sum_of_cases)
                            ),
                        ),
                    ));
                }
            }
        }
        for rule in &self.rules.plan.root_presence {
            let name = rule.rule.path[1].as_str();
            let root = rule.rule.path[0].as_str();
            if root != self.rules.context.root
                || !matches!(
                    rule.check,
                    Check::Presence {
                        must_be_present: true
                    }
                )
            {
                continue;
            }
            if !self.tally.seen_items.contains(name) {
                findings.push(self.rules.finding(
                    WRONG_ORDER,
                    Some(&rule.rule.id),
                    &[],
                    name,
                    both(
                        format!("mandatory element {name} is missing from {root}"),
                        format!("в {root} отсутствует обязательный элемент {name}"),
                    ),
                ));
            }
        }
        findings
    }
}

impl RecordRules<'_> {
    pub(super) fn finding(
        &self,
        code: u16,
        rule: Option<&str>,
        chain: &[&Element],
        element: &str,
        (comment, comment_ru): (String, String),
    ) -> Finding {
        let mut finding = Finding {
            code,
            rule: rule.map(str::to_owned),
            file: self.file.clone(),
            element: element.to_owned(),
            base: chain.last().map(|e| e.name.clone()).unwrap_or_default(),
            n_zap: None,
            idcase: None,
            sl_id: None,
            idserv: None,
            comment,
            comment_ru,
        };
        for e in chain {
            match e.name.as_str() {
                "ZAP" => finding.n_zap = e.child_text("N_ZAP").map(str::to_owned),
                "Z_SL" => finding.idcase = e.child_text("IDCASE").map(str::to_owned),
                "SL" => finding.sl_id = e.child_text("SL_ID").map(str::to_owned),
                "USL" => finding.idserv = e.child_text("IDSERV").map(str::to_owned),
                "PERS" => {
                    if let Some(id) = e.child_text("ID_PAC") {
                        finding.comment = format!("ID_PAC {id}: {}", finding.comment);
                        finding.comment_ru = format!("ID_PAC {id}: {}", finding.comment_ru);
                    }
                }
                _ => {}
            }
        }
        finding
    }

    /// What is wrong in a header (`ZGLV`, `SCHET`) on its own.
    pub(super) fn header_findings(&self, header: &Element) -> Vec<Finding> {
        let mut findings = Vec::new();
        if header.name == "SCHET" {
            let period = self.context.name.period();
            for (field, expected) in [
                ("YEAR", period.year().to_string()),
                ("MONTH", period.month().to_string()),
            ] {
                if let Some(value) = header.child_text(field) {
                    if value.parse::<i32>().ok() != expected.parse::<i32>().ok() {
                        findings.push(self.finding(
                            WRONG_VALUE,
                            None,
                            &[header],
                            field,
                            both(
                                format!(
                                    "{field} {value} is not the period of the file name ({period})"
                                ),
                                format!(
                                "{field} {value} не соответствует периоду в имени файла ({period})"
                            ),
                            ),
                        ));
                    }
                }
            }
        }
        if header.name == "ZGLV" {
            let expected = if self.context.root == "PERS_LIST" {
                self.context.name.personal_stem()
            } else {
                self.context.name.main_stem()
            };
            if let Some(value) = header.child_text("FILENAME") {
                if value != expected {
                    findings.push(self.finding(
                        WRONG_VALUE,
                        None,
                        &[header],
                        "FILENAME",
                        both(
                            format!("FILENAME {value} is not the file's name {expected}"),
                            format!("FILENAME {value} не совпадает с именем файла {expected}"),
                        ),
                    ));
                }
            }
            if self.context.root == "PERS_LIST" {
                if let Some(value) = header.child_text("FILENAME1") {
                    let main = self.context.name.main_stem();
                    if value != main {
                        findings.push(self.finding(
                            WRONG_VALUE,
                            None,
                            &[header],
                            "FILENAME1",
                            both(format!("FILENAME1 {value} is not the main file's name {main}"), format!("FILENAME1 {value} не совпадает с именем основного файла {main}")),
                        ));
                    }
                }
            }
        }
        findings.extend(self.check_item(header));
        findings
    }

    /// The catalogue's rules and the format's structure over one item: what it alone
    /// tells, so items can be checked side by side.
    pub fn check_item(&self, item: &Element) -> Vec<Finding> {
        self.check_named(item, &NameFilter::of(item))
    }

    /// [`RecordRules::check_item`] with the names the item holds already gathered (the MEK
    /// of the same record uses them too).
    pub fn check_named(&self, item: &Element, held: &NameFilter) -> Vec<Finding> {
        let mut findings = Vec::new();
        let main: Option<HashMap<String, String>> = if item.name == "PERS" {
            item.child_text("ID_PAC")
                .and_then(|id| self.main_fields.and_then(|fields| fields.get(id)))
                .map(|lines| {
                    lines
                        .split('\n')
                        .filter_map(|line| line.split_once('='))
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect()
                })
        } else {
            None
        };
        let main = main.as_ref();
        let names = self.header_names.union(held);
        for &(item_name, parent, rules) in &self.groups {
            if item_name != item.name {
                continue;
            }
            // A path through an element the record does not hold has no instance.
            if !parent.iter().all(|segment| names.may_hold(segment)) {
                continue;
            }
            let mut chain: SmallVec<[&Element; 8]> = smallvec![item];
            each_instance(&mut chain, parent, &mut |chain| {
                for rule in rules {
                    self.apply(rule, chain, main, &names, &mut findings);
                }
            });
        }
        if let Some(schema) = &self.schema {
            let mut path = format!("{}/{}", self.context.root, item.name);
            self.structure(schema, item, &mut path, &mut vec![item], &mut findings);
        }
        findings
    }

    fn apply(
        &self,
        rule: &CompiledRule,
        parent: &[&Element],
        main: Option<&HashMap<String, String>>,
        names: &NameFilter,
        findings: &mut Vec<Finding>,
    ) {
        let leaf = rule.rule.path.last().map(String::as_str).unwrap_or("");
        let Some(last) = parent.last() else { return };
        let id = Some(rule.rule.id.as_str());
        // A finding needs the rule's condition to hold and its check to fail: the check,
        // cheaper and nearly always passed, is made first, the condition only when it fails.
        if let Check::Presence { must_be_present } = rule.check {
            // A name the record does not hold is not looked for among the children.
            let held = names.holds_all(&rule.leaf_names);
            let mut present = held
                .then(|| last.children_named(leaf))
                .into_iter()
                .flatten()
                .peekable();
            let any_present = present.peek().is_some();
            let has_value = present.any(|e| !e.value().is_empty() || !e.children.is_empty());
            if must_be_present == has_value {
                return;
            }
            let scope = Scope {
                chain: parent,
                file: &self.context,
                main,
                names: Some(names),
            };
            if !rule.condition.holds(&scope) {
                return;
            }
            if must_be_present && !any_present {
                findings.push(self.finding(
                    WRONG_ORDER,
                    id,
                    parent,
                    leaf,
                    both(
                        format!(
                            "mandatory element {leaf} is missing{}",
                            when(&rule.rule.condition)
                        ),
                        format!(
                            "отсутствует обязательный элемент {leaf}{}",
                            when_ru(&rule.rule.condition)
                        ),
                    ),
                ));
            } else if must_be_present && !has_value {
                findings.push(self.finding(
                    EMPTY_MANDATORY,
                    id,
                    parent,
                    leaf,
                    both(
                        format!(
                            "mandatory element {leaf} is empty{}",
                            when(&rule.rule.condition)
                        ),
                        format!(
                            "обязательный элемент {leaf} не заполнен{}",
                            when_ru(&rule.rule.condition)
                        ),
                    ),
                ));
            } else if !must_be_present && has_value {
                findings.push(self.finding(
                    WRONG_VALUE,
                    id,
                    parent,
                    leaf,
                    both(
                        format!(
                            "element {leaf}{MUST_BE_ABSENT}{}",
                            when(&rule.rule.condition)
                        ),
                        format!(
                            "элемент {leaf} должен отсутствовать{}",
                            when_ru(&rule.rule.condition)
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
            if value.is_empty() && element.children.is_empty() {
                continue;
            }
            let mut chain: SmallVec<[&Element; 8]> = SmallVec::from_slice(parent);
            chain.push(element);
            let scope = Scope {
                chain: &chain,
                file: &self.context,
                main,
                names: Some(names),
            };
            // What failed, with what its comment needs: the comment itself is written only
            // once the condition holds (a failed check whose condition does not hold, as in
            // most records, reports nothing).
            let fault = match &rule.check {
                Check::Format {
                    min_length,
                    max_length,
                    mask,
                } => {
                    let length = value.chars().count();
                    let short = min_length.is_some_and(|min| length < min);
                    let long = max_length.is_some_and(|max| length > max);
                    if short || long {
                        Some(Fault::Length {
                            length,
                            min: *min_length,
                            max: *max_length,
                        })
                    } else if mask.as_ref().is_some_and(|mask| !mask.matches(value)) {
                        Some(Fault::Mask)
                    } else {
                        None
                    }
                }
                Check::Dictionary { book, field } => {
                    let Some(dictionary) = self.nsi.get(book) else {
                        continue;
                    };
                    let date = case_date(&scope, &self.case_dates)
                        .unwrap_or_else(|| self.context.name.period().last_day());
                    (!dictionary.contains(field.as_deref(), value, date))
                        .then_some(Fault::NotInBook { book, date })
                }
                Check::Value(expression) => expression.is_broken(&scope).then_some(Fault::Broken),
                Check::Presence { .. } => None,
            };
            let Some(fault) = fault else { continue };
            if !rule.condition.holds(&scope) {
                continue;
            }
            let (code, comment) = match fault {
                Fault::Length { length, min, max } => {
                    let min = min.map_or("0".to_owned(), |m| m.to_string());
                    let max = max.map_or("∞".to_owned(), |m| m.to_string());
                    (
                        WRONG_TYPE,
                        both(
                            format!(
                                "{leaf} {value:?} has {length} characters, allowed {min}–{max}"
                            ),
                            format!(
                                "{leaf} {value:?}: длина {length} симв., допустимо {min}–{max}"
                            ),
                        ),
                    )
                }
                Fault::Mask => (
                    WRONG_TYPE,
                    both(
                        format!(
                            "{leaf} {value:?} does not match the mask {}",
                            rule.rule.mask
                        ),
                        format!("{leaf} {value:?} не соответствует маске {}", rule.rule.mask),
                    ),
                ),
                Fault::NotInBook { book, date } => (
                    WRONG_VALUE,
                    both(
                        format!("{leaf} {value:?} is not a code of {book} valid on {date}"),
                        format!("{leaf} {value:?} нет в справочнике {book} на дату {date}"),
                    ),
                ),
                Fault::Broken => (
                    WRONG_VALUE,
                    both(
                        format!("{leaf} {value:?} does not satisfy {}", rule.rule.value),
                        format!(
                            "{leaf} {value:?} не удовлетворяет условию {}",
                            rule.rule.value
                        ),
                    ),
                ),
            };
            findings.push(self.finding(code, id, parent, leaf, comment));
        }
    }

    /// Order, multiplicity and data types of the format's sequences.
    /// `path` is the element's path; it is extended for its children and given back as it was.
    fn structure<'e>(
        &self,
        schema: &Schema,
        element: &'e Element,
        path: &mut String,
        chain: &mut Vec<&'e Element>,
        findings: &mut Vec<Finding>,
    ) {
        let Some(slots) = schema.sequence(path) else {
            return;
        };
        let names: SmallVec<[&str; 32]> =
            element.children.iter().map(|c| c.name.as_str()).collect();
        let indexes = slot_indexes(&names, slots);
        for problem in check_indexed(&names, &indexes, slots) {
            let finding = match problem {
                SequenceProblem::Unknown(name) => self.finding(
                    WRONG_ORDER,
                    None,
                    chain,
                    &name,
                    both(
                        format!("element {name} is not part of {}", element.name),
                        format!("элемент {name} не входит в состав {}", element.name),
                    ),
                ),
                SequenceProblem::OutOfOrder { name, after } => self.finding(
                    WRONG_ORDER,
                    None,
                    chain,
                    &name,
                    both(
                        format!("element {name} is out of order (after {after})"),
                        format!("нарушен порядок элементов: {name} после {after}"),
                    ),
                ),
                SequenceProblem::TooMany(name) => self.finding(
                    WRONG_ORDER,
                    None,
                    chain,
                    &name,
                    both(
                        format!("element {name} is repeated"),
                        format!("элемент {name} повторяется"),
                    ),
                ),
                SequenceProblem::Missing(name) => {
                    if self.plan.presence_paths.contains(&format!("{path}/{name}")) {
                        continue;
                    }
                    self.finding(
                        WRONG_ORDER,
                        None,
                        chain,
                        &name,
                        both(
                            format!("mandatory element {name} is missing"),
                            format!("отсутствует обязательный элемент {name}"),
                        ),
                    )
                }
            };
            findings.push(finding);
        }
        for (child, index) in element.children.iter().zip(&indexes) {
            let Some(slot) = index.map(|index| &slots[index]) else {
                continue;
            };
            let length = path.len();
            path.push('/');
            path.push_str(&child.name);
            let value = child.value();
            if !value.is_empty() {
                let ok = match slot.data_type {
                    DataType::Text => true,
                    DataType::Date => mask::parse_date(value).is_some(),
                    DataType::Integer => value.parse::<i64>().is_ok(),
                    DataType::Decimal => parse_money(value).is_some(),
                };
                // A catalogue rule on the element's format reports it instead.
                if !ok && !self.plan.format_paths.contains(path.as_str()) {
                    let (kind, kind_ru) = match slot.data_type {
                        DataType::Date => ("a date (YYYY-MM-DD)", "датой (ГГГГ-ММ-ДД)"),
                        DataType::Integer => ("an integer", "целым числом"),
                        _ => ("a decimal number", "десятичным числом"),
                    };
                    findings.push(self.finding(
                        WRONG_TYPE,
                        None,
                        chain,
                        &child.name,
                        both(
                            format!("{} {value:?} is not {kind}", child.name),
                            format!("{} {value:?} не является {kind_ru}", child.name),
                        ),
                    ));
                }
            }
            if !child.children.is_empty() {
                chain.push(child);
                self.structure(schema, child, path, chain, findings);
                chain.pop();
            }
            path.truncate(length);
        }
    }
}

/// What a rule's check found wrong with a value, before its comment is written.
enum Fault<'r> {
    Length {
        length: usize,
        min: Option<usize>,
        max: Option<usize>,
    },
    Mask,
    NotInBook {
        book: &'r str,
        date: time::Date,
    },
    Broken,
}

/// A comment in English and in Russian (the fund's staff and the `V` protocol read Russian).
pub(super) fn both(en: String, ru: String) -> (String, String) {
    (en, ru)
}

fn when_ru(condition: &str) -> String {
    if condition.trim().is_empty() {
        String::new()
    } else {
        format!(" (при условии {})", condition.trim())
    }
}

fn when(condition: &str) -> String {
    if condition.trim().is_empty() {
        String::new()
    } else {
        format!(" (when {})", condition.trim())
    }
}

/// The date a code must be valid on: the end of the service, the stay or the case.
fn case_date(scope: &Scope<'_>, names: &[Name; 3]) -> Option<time::Date> {
    names.iter().find_map(|name| {
        scope
            .values_of(name)
            .first()
            .and_then(|value| mask::parse_date(value))
    })
}

/// The elements [`case_date`] looks for, in that order, resolved once.
fn case_date_names() -> [Name; 3] {
    ["DATE_OUT", "DATE_2", "DATE_Z_2"].map(Name::new)
}

//! The documents of a register package, as PDFs in Russian: the invoice (счёт), the summary
//! register (сводный реестр: cases and sums by care conditions `USL_OK` and by profile), the
//! register itself (реестр счетов: one line a case, page after page, the header repeated) and,
//! given a MEK report, the MEK act (акт МЭК). The main file is read once, streamed: each
//! register page is written as soon as its lines are read, so only the running totals stay in
//! memory, with the patients' short names (surname and initials, from the personal-data file,
//! read first: about 40 bytes a patient). A patient without a `PERS` record is shown by their
//! `ID_PAC`.

pub mod font;
pub mod pdf;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::error::ClaimsError;
use crate::flk::{money, parse_money};
use crate::mek::MekReport;
use crate::names::{Party, MONTH_NAMES};
use crate::package::Package;
use crate::xml::{Element, Item};
use font::Font;
use pdf::{PdfFile, A4, A4_LANDSCAPE};
use table::{Column, Table, MARGIN};

/// What the documents show besides the package.
#[derive(Default)]
pub struct Options<'a> {
    /// The medical organisation's name (the package gives only its code).
    pub mo_name: Option<&'a str>,
    /// The MEK report of the package: the invoice then shows the sum withheld and the sum to
    /// pay, the register marks the refused cases, and the MEK act is written.
    pub mek: Option<&'a MekReport>,
}

/// One document written.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    pub pages: usize,
}

/// The invoice's data (`SCHET`).
#[derive(Default)]
struct Invoice {
    code_mo: String,
    year: String,
    month: String,
    number: String,
    date: String,
    payer: String,
    total: i128,
}

#[derive(Default, Clone, Copy)]
struct Total {
    cases: u64,
    sum: i128,
}

impl Total {
    fn add(&mut self, sum: i128) {
        self.cases += 1;
        self.sum += sum;
    }
}

/// The names of the care conditions (V006).
fn care_conditions(code: &str) -> &'static str {
    match code {
        "1" => "Стационарно",
        "2" => "В дневном стационаре",
        "3" => "Амбулаторно",
        "4" => "Вне медицинской организации (скорая помощь)",
        _ => "Условия не указаны",
    }
}

fn period_text(year: &str, month: &str) -> String {
    match month.trim().parse::<usize>() {
        Ok(m @ 1..=12) => format!("{} {} г.", MONTH_NAMES[m - 1], year.trim()),
        _ => format!("{}-{}", year.trim(), month.trim()),
    }
}

/// `2025-01-31` → `31.01.2025`.
fn date_text(date: &str) -> String {
    let parts: Vec<&str> = date.trim().split('-').collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => format!("{d}.{m}.{y}"),
        _ => date.trim().to_owned(),
    }
}

/// `1234567.5` kopecks → `1 234 567,50`.
fn rubles(kopecks: i128) -> String {
    let text = money(kopecks.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(digit);
    }
    let sign = if kopecks < 0 { "-" } else { "" };
    format!("{sign}{grouped},{cents}")
}

fn party_text(party: &Party) -> String {
    match party {
        Party::MedicalOrganisation(code) => format!("МО {code}"),
        Party::Insurer(code) => format!("СМО {code}"),
        Party::TerritorialFund(code) => format!("ТФОМС {code}"),
    }
}

/// Writes `invoice.pdf`, `summary.pdf`, `register.pdf` and, given a MEK report,
/// `mek-act.pdf` into `out` (each written under a temporary name and renamed into place once
/// complete; nothing is left behind on a failure).
pub fn write_documents(
    package: &Path,
    out: &Path,
    options: &Options,
) -> Result<Vec<Written>, ClaimsError> {
    let mut parts: Vec<PathBuf> = Vec::new();
    let result = write_all(package, out, options, &mut parts);
    if result.is_err() {
        for part in &parts {
            let _ = std::fs::remove_file(part);
        }
    }
    result
}

fn part(out: &Path, name: &str, parts: &mut Vec<PathBuf>) -> PathBuf {
    let path = out.join(format!(".{name}.part"));
    parts.push(path.clone());
    path
}

fn write_all(
    package_path: &Path,
    out: &Path,
    options: &Options,
    parts: &mut Vec<PathBuf>,
) -> Result<Vec<Written>, ClaimsError> {
    if !out.is_dir() {
        return Err(ClaimsError::Document {
            file: out.display().to_string(),
            reason: "the output folder does not exist".to_owned(),
        });
    }
    let font = Font::shipped().map_err(|reason| ClaimsError::Document {
        file: "shipped font".to_owned(),
        reason,
    })?;
    let mut package = Package::open(package_path)?;
    let name = package.name().clone();
    let package_file = package_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("package")
        .to_owned();
    let mo_line = |code: &str| match options.mo_name {
        Some(mo) => format!("Медицинская организация: {mo} (код {code})"),
        None => format!("Медицинская организация: код {code}"),
    };
    // Sums withheld by MEK, by N_ZAP.
    let mut withheld: HashMap<&str, i128> = HashMap::new();
    if let Some(report) = options.mek {
        for finding in &report.findings {
            if let Some(n_zap) = &finding.n_zap {
                let entry = withheld.entry(n_zap.as_str()).or_insert(0);
                *entry = (*entry).max(finding.withheld);
            }
        }
    }

    // The patients' short names by ID_PAC, from the personal-data file.
    let mut names: HashMap<String, String> = HashMap::new();
    package.read_personal(&mut |item| {
        if let Item::Record(pers) = item {
            let text = |name: &str| pers.child_text(name).unwrap_or("").trim().to_owned();
            let id = text("ID_PAC");
            if !id.is_empty() {
                names.insert(id, short_name(&text("FAM"), &text("IM"), &text("OT")));
            }
        }
        Ok(())
    })?;

    let register_part = part(out, "register.pdf", parts);
    let mut register = PdfFile::create(&register_part, &font, A4_LANDSCAPE)?;
    let mut invoice = Invoice::default();
    let mut by_conditions: BTreeMap<String, Total> = BTreeMap::new();
    let mut by_profile: BTreeMap<(String, String), Total> = BTreeMap::new();
    let mut all = Total::default();
    let mut table: Option<Table> = None;
    let mut columns = vec![
        Column {
            title: "№ записи",
            width: 50.0,
            right: true,
        },
        Column {
            title: "Пациент",
            width: 150.0,
            right: false,
        },
        Column {
            title: "Полис",
            width: 95.0,
            right: false,
        },
        Column {
            title: "Условия",
            width: 45.0,
            right: false,
        },
        Column {
            title: "Профиль",
            width: 45.0,
            right: false,
        },
        Column {
            title: "Начало",
            width: 62.0,
            right: false,
        },
        Column {
            title: "Окончание",
            width: 62.0,
            right: false,
        },
        Column {
            title: "Диагноз",
            width: 55.0,
            right: false,
        },
        Column {
            title: "Сумма, руб.",
            width: 90.0,
            right: true,
        },
    ];
    if options.mek.is_some() {
        columns.push(Column {
            title: "Снято МЭК, руб.",
            width: 90.0,
            right: true,
        });
    }
    let mut pending_columns = Some(columns);
    let mut bad: Option<String> = None;
    package.read_main(&mut |item| {
        match item {
            Item::Header(element) if element.name == "SCHET" => {
                let text = |name: &str| element.child_text(name).unwrap_or("").trim().to_owned();
                invoice = Invoice {
                    code_mo: text("CODE_MO"),
                    year: text("YEAR"),
                    month: text("MONTH"),
                    number: text("NSCHET"),
                    date: text("DSCHET"),
                    payer: text("PLAT"),
                    total: parse_money(&text("SUMMAV")).unwrap_or(0),
                };
            }
            Item::Header(_) => {}
            Item::Record(zap) => {
                if table.is_none() {
                    let title = vec![
                        format!(
                            "Реестр счетов № {} от {}",
                            invoice.number,
                            date_text(&invoice.date)
                        ),
                        format!(
                            "{}; плательщик: {}; период: {}",
                            mo_line(&invoice.code_mo),
                            party_text(name.receiver()),
                            period_text(&invoice.year, &invoice.month)
                        ),
                        format!("Файл {package_file}"),
                    ];
                    let columns = pending_columns.take().unwrap_or_default();
                    table = Some(Table::new(A4_LANDSCAPE, title, columns));
                }
                let n_zap = zap.child_text("N_ZAP").unwrap_or("").trim().to_owned();
                let pacient = zap.child("PACIENT");
                let field = |e: Option<&Element>, name: &str| {
                    e.and_then(|e| e.child_text(name))
                        .unwrap_or("")
                        .trim()
                        .to_owned()
                };
                for z_sl in zap.children_named("Z_SL") {
                    let sl = z_sl.child("SL");
                    let sum_text = field(Some(z_sl), "SUMV");
                    let Some(sum) = parse_money(&sum_text) else {
                        bad.get_or_insert(format!(
                            "record N_ZAP {n_zap}: SUMV {sum_text:?} is not a sum"
                        ));
                        continue;
                    };
                    let conditions = field(Some(z_sl), "USL_OK");
                    let profile = field(sl, "PROFIL");
                    all.add(sum);
                    by_conditions
                        .entry(conditions.clone())
                        .or_default()
                        .add(sum);
                    by_profile
                        .entry((conditions.clone(), profile.clone()))
                        .or_default()
                        .add(sum);
                    let mut row = vec![
                        n_zap.clone(),
                        {
                            let id = field(pacient, "ID_PAC");
                            names.get(&id).cloned().unwrap_or(id)
                        },
                        field(pacient, "NPOLIS"),
                        conditions,
                        profile,
                        date_text(&field(Some(z_sl), "DATE_Z_1")),
                        date_text(&field(Some(z_sl), "DATE_Z_2")),
                        field(sl, "DS1"),
                        rubles(sum),
                    ];
                    if options.mek.is_some() {
                        row.push(
                            withheld
                                .get(n_zap.as_str())
                                .map(|w| rubles(*w))
                                .unwrap_or_default(),
                        );
                    }
                    if let Some(table) = table.as_mut() {
                        table.row(&mut register, row)?;
                    }
                }
            }
        }
        Ok(())
    })?;
    if let Some(reason) = bad {
        return Err(ClaimsError::Document {
            file: package_file,
            reason,
        });
    }
    let Some(table) = table else {
        return Err(ClaimsError::Document {
            file: package_file,
            reason: "the main file holds no case (ZAP)".to_owned(),
        });
    };
    table.finish(
        &mut register,
        &[format!(
            "Итого: случаев {}, на сумму {} руб.",
            all.cases,
            rubles(all.sum)
        )],
    )?;
    let mut written = Vec::new();
    let register_pages = register.finish("Реестр счетов")?;

    // The invoice.
    let invoice_part = part(out, "invoice.pdf", parts);
    let mut pdf = PdfFile::create(&invoice_part, &font, A4)?;
    {
        let mut page = pdf.page();
        let (width, height) = A4;
        let mut y = height - 80.0;
        page.text_centre(
            width / 2.0,
            y,
            14.0,
            &format!("Счёт № {} от {}", invoice.number, date_text(&invoice.date)),
        );
        y -= 18.0;
        page.text_centre(
            width / 2.0,
            y,
            10.0,
            &format!(
                "на оплату медицинской помощи по ОМС за {}",
                period_text(&invoice.year, &invoice.month)
            ),
        );
        y -= 40.0;
        let mut lines = vec![
            (
                "Поставщик".to_owned(),
                match options.mo_name {
                    Some(mo) => format!("{mo}, код МО {}", invoice.code_mo),
                    None => format!("медицинская организация, код МО {}", invoice.code_mo),
                },
            ),
            (
                "Плательщик".to_owned(),
                match name.receiver() {
                    Party::TerritorialFund(code) => format!("ТФОМС, код {code}"),
                    _ => format!(
                        "страховая медицинская организация, код СМО {}",
                        invoice.payer
                    ),
                },
            ),
            (
                "Отчётный период".to_owned(),
                period_text(&invoice.year, &invoice.month),
            ),
            ("Реестр".to_owned(), package_file.clone()),
            ("Количество случаев".to_owned(), all.cases.to_string()),
            (
                "Сумма, предъявленная к оплате".to_owned(),
                format!("{} руб.", rubles(invoice.total)),
            ),
        ];
        if all.sum != invoice.total {
            lines.push((
                "Сумма случаев реестра".to_owned(),
                format!("{} руб. (расходится с суммой счёта)", rubles(all.sum)),
            ));
        }
        if let Some(report) = options.mek {
            lines.push((
                "Снято по результатам МЭК".to_owned(),
                format!(
                    "{} руб. ({} случ.)",
                    rubles(report.withheld),
                    report.cases_refused
                ),
            ));
            lines.push((
                "К оплате".to_owned(),
                format!("{} руб.", rubles(invoice.total - report.withheld)),
            ));
        }
        for (label, value) in &lines {
            page.text(MARGIN + 20.0, y, 10.0, &format!("{label}:"));
            page.text_fit(250.0, y, 10.0, width - 250.0 - MARGIN, value);
            y -= 20.0;
        }
        y -= 40.0;
        for signer in ["Руководитель", "Главный бухгалтер", "Исполнитель"]
        {
            page.text(MARGIN + 20.0, y, 10.0, signer);
            page.line(200.0, y - 2.0, 400.0, y - 2.0, 0.5);
            y -= 28.0;
        }
        page.finish()?;
    }
    let invoice_pages = pdf.finish("Счёт")?;

    // The summary register.
    let summary_part = part(out, "summary.pdf", parts);
    let mut pdf = PdfFile::create(&summary_part, &font, A4)?;
    {
        let title = vec![
            format!(
                "Сводный реестр счетов № {} от {}",
                invoice.number,
                date_text(&invoice.date)
            ),
            mo_line(&invoice.code_mo),
            format!(
                "Плательщик: {}; период: {}",
                party_text(name.receiver()),
                period_text(&invoice.year, &invoice.month)
            ),
        ];
        let columns = vec![
            Column {
                title: "Условия оказания (V006)",
                width: 250.0,
                right: false,
            },
            Column {
                title: "Профиль (V002)",
                width: 80.0,
                right: false,
            },
            Column {
                title: "Случаев",
                width: 60.0,
                right: true,
            },
            Column {
                title: "Сумма, руб.",
                width: 120.0,
                right: true,
            },
        ];
        let mut table = Table::new(pdf.size, title, columns);
        for (conditions, total) in &by_conditions {
            table.row(
                &mut pdf,
                vec![
                    format!("{conditions} — {}", care_conditions(conditions)),
                    "все".to_owned(),
                    total.cases.to_string(),
                    rubles(total.sum),
                ],
            )?;
            for ((_, profile), total) in by_profile
                .range((conditions.clone(), String::new())..)
                .take_while(|((c, _), _)| c == conditions)
            {
                table.row(
                    &mut pdf,
                    vec![
                        String::new(),
                        profile.clone(),
                        total.cases.to_string(),
                        rubles(total.sum),
                    ],
                )?;
            }
        }
        let mut after = vec![format!(
            "Итого: случаев {}, на сумму {} руб.",
            all.cases,
            rubles(all.sum)
        )];
        if let Some(report) = options.mek {
            after.push(format!(
                "Снято по результатам МЭК: {} руб.; к оплате: {} руб.",
                rubles(report.withheld),
                rubles(invoice.total - report.withheld)
            ));
        }
        table.finish(&mut pdf, &after)?;
    }
    let summary_pages = pdf.finish("Сводный реестр счетов")?;

    written.push(Written {
        path: out.join("invoice.pdf"),
        pages: invoice_pages,
    });
    written.push(Written {
        path: out.join("summary.pdf"),
        pages: summary_pages,
    });
    written.push(Written {
        path: out.join("register.pdf"),
        pages: register_pages,
    });
    let mut moves = vec![
        (invoice_part, out.join("invoice.pdf")),
        (summary_part, out.join("summary.pdf")),
        (register_part, out.join("register.pdf")),
    ];

    // The MEK act.
    if let Some(report) = options.mek {
        let act_part = part(out, "mek-act.pdf", parts);
        let mut pdf = PdfFile::create(&act_part, &font, A4_LANDSCAPE)?;
        let title = vec![
            format!(
                "Акт медико-экономического контроля к счёту № {} от {}",
                invoice.number,
                date_text(&invoice.date)
            ),
            format!(
                "{}; плательщик: {}; период: {}",
                mo_line(&invoice.code_mo),
                party_text(name.receiver()),
                period_text(&invoice.year, &invoice.month)
            ),
            format!("Файл {package_file}"),
        ];
        let columns = vec![
            Column {
                title: "№",
                width: 35.0,
                right: true,
            },
            Column {
                title: "№ записи",
                width: 50.0,
                right: true,
            },
            Column {
                title: "IDCASE",
                width: 50.0,
                right: true,
            },
            Column {
                title: "Код F014",
                width: 50.0,
                right: false,
            },
            Column {
                title: "Основание",
                width: 60.0,
                right: false,
            },
            Column {
                title: "Правило",
                width: 85.0,
                right: false,
            },
            Column {
                title: "Элемент",
                width: 55.0,
                right: false,
            },
            Column {
                title: "Причина (F014)",
                width: 300.0,
                right: false,
            },
            Column {
                title: "Снято, руб.",
                width: 80.0,
                right: true,
            },
        ];
        let mut table = Table::new(pdf.size, title, columns);
        for (index, finding) in report.findings.iter().enumerate() {
            // The F014 reason's own words (the finding's comment is the engine's English).
            let reason = finding.reason.name.to_owned();
            table.row(
                &mut pdf,
                vec![
                    (index + 1).to_string(),
                    finding.n_zap.clone().unwrap_or_default(),
                    finding.idcase.clone().unwrap_or_default(),
                    finding.reason.code.to_string(),
                    finding.reason.basis.to_owned(),
                    finding
                        .rule
                        .clone()
                        .unwrap_or_else(|| "встроенная".to_owned()),
                    finding.element.clone(),
                    reason,
                    rubles(finding.withheld),
                ],
            )?;
        }
        let mut after = vec![
            format!(
                "Проверено случаев: {}; отказано в оплате: {}; не прошли ФЛК: {}",
                report.cases_checked, report.cases_refused, report.cases_failed_flk
            ),
            format!(
                "Предъявлено: {} руб.; снято по МЭК: {} руб.; к оплате: {} руб.",
                rubles(invoice.total),
                rubles(report.withheld),
                rubles(invoice.total - report.withheld)
            ),
        ];
        if report.findings.is_empty() {
            after.insert(0, "Нарушений не выявлено.".to_owned());
        }
        if report.findings_dropped > 0 {
            after.push(format!(
                "Ещё {} нарушений сверх предела не перечислены.",
                report.findings_dropped
            ));
        }
        table.finish(&mut pdf, &after)?;
        let pages = pdf.finish("Акт МЭК")?;
        written.push(Written {
            path: out.join("mek-act.pdf"),
            pages,
        });
        moves.push((act_part, out.join("mek-act.pdf")));
    }
    for (from, to) in &moves {
        std::fs::rename(from, to).map_err(|e| ClaimsError::io(to, e))?;
    }
    Ok(written)
}

/// "Иванов И. И.": the surname and the initials of the given name and patronymic (those a
/// record has).
fn short_name(surname: &str, given: &str, patronymic: &str) -> String {
    let mut name = surname.to_owned();
    for part in [given, patronymic] {
        if let Some(initial) = part.chars().next() {
            name.push_str(&format!(" {initial}."));
        }
    }
    name
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_dates_are_written_the_russian_way() {
        assert_eq!(rubles(123456789), "1\u{a0}234\u{a0}567,89");
        assert_eq!(rubles(5), "0,05");
        assert_eq!(date_text("2025-01-31"), "31.01.2025");
        assert_eq!(period_text("2025", "1"), "январь 2025 г.");
    }
}

//! What a register's document pages show, read from its ZIP in one streamed pass: the invoice
//! (`SCHET`), the summary by care conditions (`USL_OK`) and by profile, and the register's
//! lines (the first [`MAX_LINES`]; the PDF holds them all).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::ClaimsError;
use crate::flk::{money, parse_money};
use crate::package::Package;
use crate::xml::Item;

/// The most register lines a page shows.
pub const MAX_LINES: usize = 500;

/// One case of the register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub n_zap: String,
    pub id_pac: String,
    pub npolis: String,
    pub usl_ok: String,
    pub profil: String,
    pub ds1: String,
    pub date_1: String,
    pub date_2: String,
    pub sumv: String,
}

/// Cases and their sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Total {
    pub cases: u64,
    /// Kopecks.
    pub sum: i128,
}

impl Total {
    pub fn money(&self) -> String {
        money(self.sum)
    }
}

/// A register's contents as its pages show them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `SCHET`'s fields by name (`CODE`, `CODE_MO`, `YEAR`, `MONTH`, `NSCHET`, `DSCHET`,
    /// `PLAT`, `SUMMAV`).
    pub invoice: BTreeMap<String, String>,
    pub total: Total,
    pub by_conditions: BTreeMap<String, Total>,
    pub by_profile: BTreeMap<String, Total>,
    pub lines: Vec<Line>,
}

/// Reads the register at `path`.
pub fn read(path: &Path) -> Result<Summary, ClaimsError> {
    let mut package = Package::open(path)?;
    let mut summary = Summary::default();
    package.read_main(&mut |item| {
        match item {
            Item::Header(header) if header.name == "SCHET" => {
                for child in &header.children {
                    summary
                        .invoice
                        .insert(child.name.clone(), child.text.trim().to_owned());
                }
            }
            Item::Record(zap) => {
                let z_sl = zap.child("Z_SL");
                let sl = z_sl.and_then(|z| z.child("SL"));
                let text = |value: Option<&str>| value.unwrap_or("").trim().to_owned();
                let sum = z_sl
                    .and_then(|z| z.child_text("SUMV"))
                    .and_then(parse_money)
                    .unwrap_or(0);
                let line = Line {
                    n_zap: text(zap.child_text("N_ZAP")),
                    id_pac: text(zap.child("PACIENT").and_then(|p| p.child_text("ID_PAC"))),
                    npolis: text(zap.child("PACIENT").and_then(|p| p.child_text("NPOLIS"))),
                    usl_ok: text(z_sl.and_then(|z| z.child_text("USL_OK"))),
                    profil: text(sl.and_then(|s| s.child_text("PROFIL"))),
                    ds1: text(sl.and_then(|s| s.child_text("DS1"))),
                    date_1: text(z_sl.and_then(|z| z.child_text("DATE_Z_1"))),
                    date_2: text(z_sl.and_then(|z| z.child_text("DATE_Z_2"))),
                    sumv: money(sum),
                };
                let add = |total: &mut Total| {
                    total.cases += 1;
                    total.sum += sum;
                };
                add(&mut summary.total);
                add(summary
                    .by_conditions
                    .entry(line.usl_ok.clone())
                    .or_default());
                add(summary.by_profile.entry(line.profil.clone()).or_default());
                if summary.lines.len() < MAX_LINES {
                    summary.lines.push(line);
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(summary)
}

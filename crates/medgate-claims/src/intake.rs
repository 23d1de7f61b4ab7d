//! A medical organisation's packages at the fund: registered when uploaded for an open
//! period (`checking`), controlled in the background by [`check_package`] on the file as it
//! lies on disk (never read whole), and concluded with the findings: `accepted`,
//! `flk_errors`, or `refused` with F012 801–805 — 802 also when the file name names another
//! MO or another period than the one chosen, 805 when the same file name or content was
//! accepted before (decided by the store, see `medgate_storage::metadata::claims`). A
//! package is only ever read for its own MO: another MO's id is the same `NotRegistered` as
//! one that does not exist. The `V` protocol is written again from the stored findings
//! whenever it is asked for.

use std::path::Path;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use medgate_storage::{
    AuditOrigin, ClaimsFinding, ClaimsMekFinding, ClaimsPackage, MekOutcome, Metadata,
    NewClaimsCorrection, NewClaimsPackage, PackageOutcome,
};
use time::OffsetDateTime;

use crate::books::NodeBooks;
use crate::correct::Correction;
use crate::error::FundError;
use crate::flk::Finding;
use crate::fund::{parse_period, Actor};
use crate::mek::{MekFinding, PaidCases};
use crate::names::{Party, RegisterFileName};
use crate::package::{check_package_with_mek, MekSettings, Settings};
use crate::protocol::{self, Protocol};

/// At most this many findings of one package are stored (the rest are counted).
pub const MAX_STORED_FINDINGS: usize = 10_000;

/// The signed-in user who uploads: their login and MO.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uploader {
    pub login: String,
    pub mo_code: String,
    pub subdivision_code: Option<String>,
    pub origin: AuditOrigin,
}

impl Uploader {
    fn actor(&self) -> Actor {
        Actor {
            name: format!("claims:{}", self.login),
            origin: self.origin,
        }
    }
}

/// The file name as the browser sent it, without any folder, checked to be a plain name.
pub fn plain_file_name(name: &str) -> Result<String, FundError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    if base.is_empty()
        || base.chars().count() > 255
        || base.chars().any(char::is_control)
        || base == "."
        || base == ".."
    {
        return Err(FundError::invalid_ru(
            "file name",
            name,
            "must be a file's name of 1 to 255 characters",
            "нужно имя файла длиной от 1 до 255 символов",
        ));
    }
    Ok(base.to_owned())
}

/// Registers an uploaded package for `period` (which must be open); answers its id. The
/// file itself is the caller's until [`check`] takes it.
pub async fn register_upload(
    store: &Metadata,
    uploader: &Uploader,
    period: &str,
    file_name: &str,
    sha256_hex: &str,
    size_bytes: u64,
    now: OffsetDateTime,
) -> Result<i64, FundError> {
    let period = parse_period(period)?.to_string();
    let file_name = plain_file_name(file_name)?;
    let id = store
        .register_claims_package(&NewClaimsPackage {
            mo_code: uploader.mo_code.clone(),
            period: period.clone(),
            subdivision_code: uploader.subdivision_code.clone(),
            file_name: file_name.clone(),
            sha256: sha256_hex.to_owned(),
            size_bytes,
            uploaded_by: uploader.login.clone(),
            uploaded_at: now,
        })
        .await
        .map_err(FundError::refused("register a package"))?;
    uploader
        .actor()
        .record(
            store,
            "claims.package.upload",
            &format!("package:{id}"),
            format!("{file_name} for {period}, {size_bytes} bytes, sha256 {sha256_hex}"),
        )
        .await?;
    Ok(id)
}

/// Registers the corrected copy of `original` (written by
/// [`crate::correct::rewrite_package`], `sha256_hex` and `size_bytes` its own) as a new
/// package of the same MO, period and file name, linked to `original` in the same job;
/// answers its id. Refused, with nothing stored, when `original` is not the uploader's MO's
/// package with FLK errors, was corrected already, or its period is closed. The audit entry
/// `claims.package.correct` names both packages, the record, the element and both values.
pub async fn register_correction(
    store: &Metadata,
    uploader: &Uploader,
    original: &ClaimsPackage,
    correction: &Correction,
    sha256_hex: &str,
    size_bytes: u64,
    now: OffsetDateTime,
) -> Result<i64, FundError> {
    let file_name = plain_file_name(&original.file_name)?;
    let id = store
        .register_claims_correction(
            &NewClaimsPackage {
                mo_code: uploader.mo_code.clone(),
                period: original.period.clone(),
                subdivision_code: uploader.subdivision_code.clone(),
                file_name: file_name.clone(),
                sha256: sha256_hex.to_owned(),
                size_bytes,
                uploaded_by: uploader.login.clone(),
                uploaded_at: now,
            },
            &NewClaimsCorrection {
                corrects_package_id: original.id,
                n_zap: correction.n_zap.clone(),
                element: correction.element.clone(),
                old_value: correction.current.clone(),
                new_value: correction.new.clone(),
            },
        )
        .await
        .map_err(FundError::refused("register a correction"))?;
    uploader
        .actor()
        .record(
            store,
            "claims.package.correct",
            &format!("package:{id}"),
            format!(
                "package {id} corrects package {}: {} of record N_ZAP {} {:?} -> {:?}; \
                 {file_name} for {}, {size_bytes} bytes, sha256 {sha256_hex}",
                original.id,
                correction.element,
                correction.n_zap,
                correction.current,
                correction.new,
                original.period,
            ),
        )
        .await?;
    Ok(id)
}

/// The control of one package file (blocking): the name against the MO and period chosen,
/// then FLK and, over the cases that pass, MEK ([`check_package_with_mek`]) with the node's
/// catalogues and books ([`NodeBooks`]) and the cases paid before; without a MEK catalogue
/// FLK alone, and the outcome says MEK did not run. `progress` is set in per mille as the
/// control reads.
pub fn control(
    path: &Path,
    mo_code: &str,
    period: &str,
    progress: &AtomicU16,
    books: &NodeBooks,
    paid: &PaidCases,
) -> Result<PackageOutcome, FundError> {
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("package");
    let refused = |code: u16, comment: String, comment_ru: String| {
        Ok(PackageOutcome::Refused {
            code,
            comment,
            comment_ru,
        })
    };
    if let Ok(name) = RegisterFileName::parse(file_name) {
        if *name.sender() != Party::MedicalOrganisation(mo_code.to_owned()) {
            return refused(
                802,
                format!(
                    "the file name names the sender {}{}, not your organisation M{mo_code}",
                    name.sender().letter(),
                    name.sender().code()
                ),
                format!(
                    "В имени файла отправитель {}{}, а не ваша организация M{mo_code}.",
                    name.sender().letter(),
                    name.sender().code()
                ),
            );
        }
        if name.period().to_string() != period {
            return refused(
                802,
                format!(
                    "the file name is for the period {}, not for {period} chosen on upload",
                    name.period()
                ),
                format!(
                    "Имя файла относится к периоду {}, а при загрузке выбран {period}.",
                    name.period()
                ),
            );
        }
    }
    let settings = Settings {
        catalogues: &books.catalogues,
        nsi: &books.nsi,
        max_findings: MAX_STORED_FINDINGS,
        keys_in_memory: crate::spill::ENTRIES_IN_MEMORY,
    };
    let mek_settings = books.mek.as_ref().map(|catalogues| MekSettings {
        catalogues,
        paid: Some(paid),
    });
    let mut report_progress = |done: u64, total: u64| {
        let share = done.saturating_mul(1000).checked_div(total).unwrap_or(0);
        progress.store(share.min(999) as u16, Ordering::Relaxed);
    };
    let outcome = match &mek_settings {
        Some(mek) => check_package_with_mek(path, &settings, mek, &mut report_progress),
        None => crate::package::check_package(path, &settings, &mut report_progress),
    };
    match outcome {
        Ok(report) => Ok(PackageOutcome::Checked {
            cases: report.cases,
            patients: report.patients,
            total_findings: report.total_findings(),
            findings: report.findings.iter().map(stored_finding).collect(),
            mek: match &report.mek {
                None => MekOutcome::NoCatalogue,
                Some(mek) => MekOutcome::Done {
                    cases_checked: mek.cases_checked,
                    cases_refused: mek.cases_refused,
                    total_findings: mek.total_findings(),
                    withheld_kopecks: i64::try_from(mek.withheld).unwrap_or(i64::MAX),
                    catalogues: books.mek_editions.clone(),
                    findings: mek.findings.iter().map(stored_mek_finding).collect(),
                },
            },
        }),
        Err(error) => match error.f012_code() {
            Some(code) => refused(
                code,
                error.to_string(),
                error.package_russian().unwrap_or_else(|| error.to_string()),
            ),
            None => {
                tracing::error!(%error, "a package could not be controlled");
                Err(FundError::Internal {
                    what: "the package could not be read from the node's disk",
                })
            }
        },
    }
}

fn stored_finding(finding: &Finding) -> ClaimsFinding {
    ClaimsFinding {
        code: finding.code,
        rule_id: finding.rule.clone(),
        file: finding.file.clone(),
        element: finding.element.clone(),
        base: finding.base.clone(),
        n_zap: finding.n_zap.clone(),
        idcase: finding.idcase.clone(),
        sl_id: finding.sl_id.clone(),
        idserv: finding.idserv.clone(),
        comment: finding.comment.clone(),
        comment_ru: finding.comment_ru.clone(),
    }
}

fn stored_mek_finding(finding: &MekFinding) -> ClaimsMekFinding {
    ClaimsMekFinding {
        reason_code: finding.reason.code,
        reason_basis: finding.reason.basis.to_owned(),
        rule_id: finding.rule.clone(),
        element: finding.element.clone(),
        n_zap: finding.n_zap.clone(),
        idcase: finding.idcase.clone(),
        sl_id: finding.sl_id.clone(),
        comment: finding.comment.clone(),
        comment_ru: finding.comment_ru.clone(),
        withheld_kopecks: i64::try_from(finding.withheld).unwrap_or(i64::MAX),
    }
}

fn protocol_finding(finding: &ClaimsFinding) -> Finding {
    Finding {
        code: finding.code,
        rule: finding.rule_id.clone(),
        file: finding.file.clone(),
        element: finding.element.clone(),
        base: finding.base.clone(),
        n_zap: finding.n_zap.clone(),
        idcase: finding.idcase.clone(),
        sl_id: finding.sl_id.clone(),
        idserv: finding.idserv.clone(),
        comment: finding.comment.clone(),
        comment_ru: finding.comment_ru.clone(),
    }
}

/// Controls the registered package `id` whose file is `path` (named as uploaded) with the
/// catalogues and books of the node's NSI folder `nsi_dir` ([`NodeBooks`]) and the paid
/// cases in the store, and stores the outcome; while it runs, its progress is written every
/// quarter second. The audit entry names the verdict.
pub async fn check(
    store: &Metadata,
    uploader: &Uploader,
    id: i64,
    path: &Path,
    nsi_dir: &Path,
    now: impl Fn() -> OffsetDateTime,
) -> Result<ClaimsPackage, FundError> {
    let package = package_of(store, &uploader.mo_code, id).await?;
    let paid = store
        .claims_paid_case_keys()
        .await
        .map_err(FundError::storage("read the paid cases"))?;
    let progress = Arc::new(AtomicU16::new(0));
    let (file, mo, period, shared, dir) = (
        path.to_owned(),
        uploader.mo_code.clone(),
        package.period.clone(),
        progress.clone(),
        nsi_dir.to_owned(),
    );
    let mut control_task = tokio::task::spawn_blocking(move || {
        let paid = PaidCases::from_keys(&paid);
        let books = NodeBooks::load(&dir).map_err(|error| {
            tracing::error!(%error, "the node's NSI folder cannot be read");
            FundError::Internal {
                what: "the node's catalogues and books (its NSI folder) cannot be read",
            }
        })?;
        control(&file, &mo, &period, &shared, &books, &paid)
    });
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
    let outcome = loop {
        tokio::select! {
            outcome = &mut control_task => break outcome,
            _ = tick.tick() => {
                let share = progress.load(Ordering::Relaxed);
                if share > 0 {
                    store
                        .set_claims_package_progress(id, share)
                        .await
                        .map_err(FundError::storage("record a package's progress"))?;
                }
            }
        }
    };
    let outcome = outcome.map_err(|_| FundError::Internal {
        what: "the control task failed",
    })??;
    let concluded = store
        .finish_claims_package(id, outcome, now())
        .await
        .map_err(FundError::refused("conclude a package's control"))?;
    uploader
        .actor()
        .record(
            store,
            "claims.package.checked",
            &format!("package:{id}"),
            format!(
                "{}{}, {} findings{}",
                concluded.status,
                concluded
                    .refusal_code
                    .map(|code| format!(" {code}"))
                    .unwrap_or_default(),
                concluded.findings,
                match &concluded.mek {
                    Some(medgate_storage::ClaimsMekSummary::Done {
                        findings,
                        withheld_kopecks,
                        ..
                    }) => format!(
                        "; MEK {findings} findings, {} withheld",
                        crate::flk::money(i128::from(*withheld_kopecks))
                    ),
                    Some(medgate_storage::ClaimsMekSummary::NoCatalogue) => {
                        "; MEK not run: no MEK catalogue installed".to_owned()
                    }
                    None => String::new(),
                }
            ),
        )
        .await?;
    Ok(concluded)
}

/// The package `id` of the organisation `mo_code`; another organisation's is not there.
pub async fn package_of(
    store: &Metadata,
    mo_code: &str,
    id: i64,
) -> Result<ClaimsPackage, FundError> {
    store
        .claims_package(id)
        .await
        .map_err(FundError::storage("read a package"))?
        .filter(|package| package.mo_code == mo_code)
        .ok_or(FundError::NotRegistered {
            what: "package",
            id: id.to_string(),
        })
}

/// The packages of an organisation, newest first.
pub async fn packages_of(store: &Metadata, mo_code: &str) -> Result<Vec<ClaimsPackage>, FundError> {
    store
        .claims_packages(mo_code)
        .await
        .map_err(FundError::storage("list the packages"))
}

/// The package with its stored findings.
pub async fn findings_of(
    store: &Metadata,
    mo_code: &str,
    id: i64,
) -> Result<(ClaimsPackage, Vec<ClaimsFinding>), FundError> {
    let package = package_of(store, mo_code, id).await?;
    let findings = store
        .claims_findings(id)
        .await
        .map_err(FundError::storage("read a package's findings"))?;
    Ok((package, findings))
}

/// The `V` protocol of a concluded package, written from what the store holds; audited as
/// a download.
pub async fn protocol_of(
    store: &Metadata,
    uploader: &Uploader,
    id: i64,
) -> Result<Protocol, FundError> {
    let (package, findings) = findings_of(store, &uploader.mo_code, id).await?;
    let failed = |_| FundError::Internal {
        what: "the protocol could not be written",
    };
    let protocol = match (package.status.as_str(), package.refusal_code) {
        ("checking", _) => {
            return Err(FundError::invalid_ru(
                "package",
                &package.file_name,
                "is still being checked; its protocol follows the control",
                "ещё проверяется; протокол будет готов после контроля",
            ))
        }
        (_, Some(code)) => protocol::package_protocol(
            &package.file_name,
            code,
            package.refusal_comment.as_deref().unwrap_or(""),
            package
                .refusal_comment_ru
                .as_deref()
                .or(package.refusal_comment.as_deref())
                .unwrap_or(""),
        )
        .map_err(failed)?,
        _ => {
            let name =
                RegisterFileName::parse(&package.file_name).map_err(|_| FundError::Internal {
                    what: "a checked package's name does not parse",
                })?;
            let findings: Vec<Finding> = findings.iter().map(protocol_finding).collect();
            protocol::protocol(&name, &findings).map_err(failed)?
        }
    };
    uploader
        .actor()
        .record(
            store,
            "claims.protocol.download",
            &format!("package:{id}"),
            protocol.file_name.clone(),
        )
        .await?;
    Ok(protocol)
}

/// The package with its stored MEK findings (the package says whether MEK ran).
pub async fn mek_findings_of(
    store: &Metadata,
    mo_code: &str,
    id: i64,
) -> Result<(ClaimsPackage, Vec<ClaimsMekFinding>), FundError> {
    let package = package_of(store, mo_code, id).await?;
    let findings = store
        .claims_mek_findings(id)
        .await
        .map_err(FundError::storage("read a package's MEK findings"))?;
    Ok((package, findings))
}

/// What [`import_paid_cases`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaidImport {
    /// Distinct keys in the file.
    pub read: usize,
    /// Of those, not recorded before.
    pub added: u64,
}

/// Records the case keys of a keys file (`text`, as `medgate claims keys` writes it, read
/// from `source`) as paid: every line checked first, then all recorded in one job, so a
/// malformed line records nothing. The MEK of every later package refuses those cases
/// (F014 221, 1.10.1).
pub async fn import_paid_cases(
    store: &Metadata,
    actor: &Actor,
    text: &str,
    source: &str,
    now: OffsetDateTime,
) -> Result<PaidImport, FundError> {
    let keys = crate::mek::paid::checked_keys(text).map_err(|bad| {
        FundError::invalid_ru("paid case keys file", source, bad.english, bad.russian)
    })?;
    if keys.is_empty() {
        return Err(FundError::invalid_ru(
            "paid case keys file",
            source,
            "holds no key (one a line: LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1)",
            "не содержит ни одного ключа (по одному в строке: LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1)",
        ));
    }
    let added = store
        .add_claims_paid_cases(&keys, source, now)
        .await
        .map_err(FundError::refused("record paid cases"))?;
    actor
        .record(
            store,
            "claims.paid.import",
            &format!("paid:{source}"),
            format!("{} keys read, {added} new", keys.len()),
        )
        .await?;
    Ok(PaidImport {
        read: keys.len(),
        added,
    })
}

/// The cases of package `id` that control refused, by `N_ZAP` — the cases forming leaves out
/// of registers. `None` when the package gives no case at all: not concluded `accepted` or
/// `flk_errors`, more findings than were stored, or a finding that names no record (the
/// whole file is in doubt). The FLK's findings and the MEK's refusals.
pub async fn refused_cases(
    store: &Metadata,
    id: i64,
) -> Result<Option<std::collections::HashSet<String>>, FundError> {
    let Some(package) = store
        .claims_package(id)
        .await
        .map_err(FundError::storage("read a package"))?
    else {
        return Ok(None);
    };
    if !matches!(
        package.status.as_str(),
        "accepted" | "accepted_mek" | "flk_errors"
    ) {
        return Ok(None);
    }
    let findings = store
        .claims_findings(id)
        .await
        .map_err(FundError::storage("read a package's findings"))?;
    if (findings.len() as u64) < package.findings {
        return Ok(None);
    }
    let mut refused = std::collections::HashSet::new();
    for finding in findings {
        match finding.n_zap {
            Some(n_zap) if !n_zap.trim().is_empty() => {
                refused.insert(n_zap.trim().to_owned());
            }
            _ => return Ok(None),
        }
    }
    let mek = store
        .claims_mek_findings(id)
        .await
        .map_err(FundError::storage("read a package's MEK findings"))?;
    for finding in mek {
        match finding.n_zap {
            Some(n_zap) if !n_zap.trim().is_empty() => {
                refused.insert(n_zap.trim().to_owned());
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(refused))
}

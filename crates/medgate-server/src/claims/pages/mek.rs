//! "МЭК": the medico-economic control of the packages. `/claims/mek` lists the MO's packages
//! with their MEK totals; `/claims/packages/{id}/mek` is a package's MEK tab beside its FLK
//! one: each finding with its F014 reason, catalogue rule, case and the sum withheld, and the
//! totals; or why MEK did not run (the node has no MEK catalogue installed, the package was
//! refused whole), never an empty "no findings" in place of those. The findings are
//! `medgate_claims::intake`'s (run after the FLK by `intake::check`).

use axum::extract::{Path, State};
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use medgate_claims::intake;
use medgate_claims::FundError;
use medgate_storage::{ClaimsMekFinding, ClaimsMekSummary, ClaimsPackage};
use medgate_web::desk::{PageError, SignedIn};
use medgate_web::error::ApiError;
use medgate_web::i18n::Lang;
use medgate_web::layout::{escape, message, MessageKind};
use medgate_web::{AppState, WebRequest};

use super::packages::{cell, minute, package_summary, status_word};
use super::words::R;
use super::{claims, ClaimsStaff, CLAIMS};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/claims/mek", get(mek_list))
        .route("/claims/packages/{id}/mek", get(package_mek))
}

/// Kopecks as roubles the way each language writes them: `1 001,50` (a narrow no-break
/// space between thousands) and `1,001.50`.
pub(super) fn rubles(kopecks: i64, lang: Lang) -> String {
    let sign = if kopecks < 0 { "-" } else { "" };
    let value = kopecks.unsigned_abs();
    let (whole, cents) = ((value / 100).to_string(), value % 100);
    let (group, point) = match lang {
        Lang::Ru => ("\u{202f}", ','),
        _ => (",", '.'),
    };
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push_str(group);
        }
        grouped.push(digit);
    }
    format!("{sign}{grouped}{point}{cents:02}")
}

fn mek_cells(lang: Lang, package: &ClaimsPackage) -> (String, String) {
    match &package.mek {
        Some(ClaimsMekSummary::Done {
            findings,
            withheld_kopecks,
            ..
        }) => (findings.to_string(), rubles(*withheld_kopecks, lang)),
        _ => (R::MekNotRun.text(lang).to_owned(), String::from("—")),
    }
}

/// `GET /claims/mek`: the packages with their MEK totals, each linking to its MEK tab.
async fn mek_list(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        user.require_mo()?;
        let lang = request.lang;
        let packages = intake::packages_of(&state.metadata, user.mo_code())
            .await
            .map_err(|e| ApiError::internal("listing the packages", &e))?;
        let table = if packages.is_empty() {
            format!("<p class=\"muted\">{}</p>", escape(R::NoPackages.text(lang)))
        } else {
            let rows: String = packages
                .iter()
                .map(|package| {
                    let (findings, withheld) = mek_cells(lang, package);
                    format!(
                        "<tr><td><a href=\"/claims/packages/{id}/mek\">{name}</a></td><td>{period}</td>\
                         <td>{at}</td><td class=\"status-{status}\">{status_text}</td><td>{cases}</td>\
                         <td>{findings}</td><td class=\"money\">{withheld}</td></tr>",
                        id = package.id,
                        name = escape(&package.file_name),
                        period = escape(&package.period),
                        at = minute(package.uploaded_at),
                        status = escape(&package.status),
                        status_text = escape(status_word(&package.status).text(lang)),
                        cases = package.cases,
                        findings = escape(&findings),
                        withheld = escape(&withheld),
                    )
                })
                .collect();
            format!(
                "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody></table>",
                escape(R::File.text(lang)),
                escape(R::Period.text(lang)),
                escape(R::Uploaded.text(lang)),
                escape(R::Status.text(lang)),
                escape(R::Cases.text(lang)),
                escape(R::MekFindings.text(lang)),
                escape(R::WithheldRub.text(lang)),
            )
        };
        let mut frame = user.frame(&request, R::MekTitle.text(lang), "/claims/mek");
        frame.body = format!(
            "<p class=\"muted\">{}</p>{table}",
            escape(R::MekIntro.text(lang))
        );
        Ok(frame.into_response())
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

fn findings_table(lang: Lang, findings: &[ClaimsMekFinding], withheld: i64) -> String {
    let rows: String = findings
        .iter()
        .map(|finding| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td class=\"money\">{}</td><td>{}</td></tr>",
                finding.reason_code,
                escape(&finding.reason_basis),
                cell(&finding.rule_id),
                escape(&finding.element),
                cell(&finding.n_zap),
                cell(&finding.idcase),
                cell(&finding.sl_id),
                escape(&rubles(finding.withheld_kopecks, lang)),
                escape(match lang {
                    Lang::Ru if !finding.comment_ru.is_empty() => &finding.comment_ru,
                    _ => &finding.comment,
                }),
            )
        })
        .collect();
    format!(
        "<table class=\"findings mek\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{rows}</tbody>\
         <tfoot><tr><th colspan=\"7\">{}</th><th class=\"money\">{}</th><th></th></tr></tfoot></table>",
        escape(R::Reason.text(lang)),
        escape(R::Basis.text(lang)),
        escape(R::Rule.text(lang)),
        escape(R::Element.text(lang)),
        escape(R::Record.text(lang)),
        escape(R::Case.text(lang)),
        escape(R::Stay.text(lang)),
        escape(R::WithheldRub.text(lang)),
        escape(R::Comment.text(lang)),
        escape(R::Total.text(lang)),
        escape(&rubles(withheld, lang)),
    )
}

/// `GET /claims/packages/{id}/mek`: the package's MEK tab.
async fn package_mek(
    State(state): State<AppState>,
    request: WebRequest,
    SignedIn(user): SignedIn<ClaimsStaff>,
    Path(id): Path<String>,
) -> Response {
    let request = claims(request);
    let outcome = async {
        user.require_own_password()?;
        let lang = request.lang;
        let Ok(id) = id.parse::<i64>() else {
            return Ok(user.not_found(&request));
        };
        let (package, findings) =
            match intake::mek_findings_of(&state.metadata, user.mo_code(), id).await {
                Ok(found) => found,
                Err(FundError::NotRegistered { .. }) => return Ok(user.not_found(&request)),
                Err(other) => {
                    return Err(PageError::from(ApiError::internal(
                        "reading a package",
                        &other,
                    )))
                }
            };
        let path = format!("/claims/packages/{}/mek", package.id);
        let mut frame = user.frame(
            &request,
            R::PackageTitle.with(lang, "name", &package.file_name),
            &path,
        );
        let detail = match (&package.mek, package.status.as_str()) {
            (_, "checking") => message(
                MessageKind::Info,
                &R::MekWaiting.with(lang, "percent", &(package.progress / 10).to_string()),
            ),
            (Some(ClaimsMekSummary::NoCatalogue), _) => {
                message(MessageKind::Error, R::MekNoCatalogue.text(lang))
            }
            (None, _) => message(MessageKind::Info, R::MekRefusedWhole.text(lang)),
            (
                Some(ClaimsMekSummary::Done {
                    cases_checked,
                    cases_refused,
                    findings: total,
                    withheld_kopecks,
                    catalogues,
                }),
                _,
            ) => {
                let totals = R::MekTotals
                    .with(lang, "checked", &cases_checked.to_string())
                    .replace(
                        "{failed}",
                        &package.cases.saturating_sub(*cases_checked).to_string(),
                    )
                    .replace("{refused}", &cases_refused.to_string())
                    .replace("{findings}", &total.to_string())
                    .replace("{withheld}", &rubles(*withheld_kopecks, lang));
                let editions = format!(
                    "<p class=\"muted\">{}</p>",
                    escape(&R::MekCatalogues.with(lang, "editions", catalogues))
                );
                if *total == 0 {
                    format!(
                        "{}{}{editions}",
                        message(MessageKind::Info, R::MekClean.text(lang)),
                        format_args!("<p>{}</p>", escape(&totals))
                    )
                } else {
                    let more = if (findings.len() as u64) < *total {
                        message(
                            MessageKind::Info,
                            &R::MoreMekFindings
                                .with(lang, "shown", &findings.len().to_string())
                                .replace("{total}", &total.to_string()),
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "{}<p class=\"mek-totals\">{}</p>{more}{}{editions}",
                        message(MessageKind::Error, R::FixInMis.text(lang)),
                        escape(&totals),
                        findings_table(lang, &findings, *withheld_kopecks),
                    )
                }
            }
        };
        frame.body = format!(
            "{}{detail}<p><a href=\"/claims/mek\">{}</a></p>",
            package_summary(lang, &package, true),
            escape(R::Back.text(lang))
        );
        let mut response = frame.into_response();
        if package.status == "checking" {
            response
                .headers_mut()
                .insert("refresh", HeaderValue::from_static("2"));
        }
        Ok(response)
    }
    .await;
    medgate_web::desk::respond(&CLAIMS, &request, outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roubles_are_written_as_each_language_writes_them() {
        assert_eq!(rubles(100_150, Lang::Ru), "1\u{202f}001,50");
        assert_eq!(rubles(100_150, Lang::En), "1,001.50");
        assert_eq!(rubles(5, Lang::Ru), "0,05");
        assert_eq!(rubles(75_025_000, Lang::En), "750,250.00");
        assert_eq!(rubles(-50_100, Lang::En), "-501.00");
    }
}

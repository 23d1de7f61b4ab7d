//! `/api/v1/packages`: push a package (the ZIP as the body, streamed to disk, registered
//! and controlled as an upload on the page is), read its status and the control's progress,
//! pull its findings, download its `V` protocol, list the MO's packages. Corrected cases
//! are pushed as a new package.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use medgate_claims::flk::money;
use medgate_claims::intake;
use medgate_claims::FundError;
use medgate_storage::{ClaimsFinding, ClaimsMekFinding, ClaimsMekSummary, ClaimsPackage};
use medgate_web::api::{rfc3339, Incoming};
use medgate_web::error::ApiError;
use medgate_web::state::AppState;
use medgate_web::streamed::stage_body;
use serde_json::{json, Value};

use super::{refusal, system};

/// The push route (a streamed upload of the body guard).
pub const PACKAGES_PATH: &str = "/api/v1/packages";

/// A package as the API shows it. `progress` is per mille of the control done (1000 once
/// concluded); `refusal` is the F012 801–805 refusal of the whole package, when refused.
pub fn package_json(package: &ClaimsPackage) -> Value {
    let concluded = package.status != "checking";
    let path = format!("{PACKAGES_PATH}/{}", package.id);
    json!({
        "id": package.id,
        "file_name": package.file_name,
        "period": package.period,
        "subdivision": package.subdivision_code,
        "status": package.status,
        "progress": if concluded { 1000 } else { package.progress },
        "size_bytes": package.size_bytes,
        "sha256": package.sha256,
        "cases": package.cases,
        "patients": package.patients,
        "findings": package.findings,
        "refusal": package.refusal_code.map(|code| json!({
            "code": code,
            "message": package.refusal_comment.clone().unwrap_or_default(),
            "message_ru": package.refusal_comment_ru.clone(),
        })),
        "uploaded_by": package.uploaded_by,
        "uploaded_at": rfc3339(package.uploaded_at),
        "checked_at": package.checked_at.map(rfc3339),
        "links": {
            "self": path,
            "findings": format!("{path}/findings"),
            "protocol": format!("{path}/protocol"),
        },
    })
}

/// One FLK finding, with the `V` protocol's names of its places.
pub fn finding_json(finding: &ClaimsFinding) -> Value {
    json!({
        "code": finding.code,
        "rule_id": finding.rule_id,
        "file": finding.file,
        "IM_POL": finding.element,
        "BAS_EL": finding.base,
        "N_ZAP": finding.n_zap,
        "IDCASE": finding.idcase,
        "SL_ID": finding.sl_id,
        "IDSERV": finding.idserv,
        "comment": finding.comment,
        "comment_ru": finding.comment_ru,
    })
}

fn package_id(text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found("package"))
}

/// The `period` and `file_name` of a push, from its query.
fn push_parameters(incoming: &Incoming) -> Result<(String, String), ApiError> {
    let mut period = None;
    let mut file_name = None;
    let query = incoming.uri.query().unwrap_or("");
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match name.as_ref() {
            "period" => period = Some(value.into_owned()),
            "file_name" => file_name = Some(value.into_owned()),
            _ => {}
        }
    }
    let missing = |name: &str, what: &str| {
        ApiError::bad_request(
            "parameter_missing",
            format!("The query parameter {name} ({what}) is missing."),
        )
    };
    Ok((
        period.ok_or_else(|| missing("period", "the reporting period, YYYY-MM"))?,
        file_name.ok_or_else(|| {
            missing(
                "file_name",
                "the package's name, e.g. HM140001S14002_261101.zip",
            )
        })?,
    ))
}

/// `POST /api/v1/packages?period=YYYY-MM&file_name=NAME.zip`: the ZIP as the body, signed.
/// Answers 202 with the package (`checking`); its control runs in the background.
pub async fn push_package(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Body,
) -> Result<Response, ApiError> {
    let system = system(&state, &incoming).await?;
    let staged = stage_body(&state.staging, body, super::super::MAX_BODY_BYTES).await?;
    medgate_web::auth::verify_signature_digested(
        &state,
        &system.presented.certificate,
        &incoming.method,
        &incoming.uri,
        &incoming.headers,
        &staged.digests,
    )
    .await?;
    let (period, file_name) = push_parameters(&incoming)?;
    if staged.file.is_empty() {
        return Err(ApiError::bad_request(
            "body_empty",
            "The body is empty: send the package's ZIP as the body.",
        ));
    }
    let id = intake::register_upload(
        &state.metadata,
        &system.uploader,
        &period,
        &file_name,
        &staged.file.sha256().to_hex(),
        staged.file.len(),
        state.clock.now(),
    )
    .await
    .map_err(refusal)?;
    super::super::keep_and_check(&state, &system.uploader, id, &file_name, staged.file).await?;
    let package = intake::package_of(&state.metadata, &system.uploader.mo_code, id)
        .await
        .map_err(refusal)?;
    let mut response = (StatusCode::ACCEPTED, Json(package_json(&package))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{PACKAGES_PATH}/{id}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `GET /api/v1/packages`: the MO's packages, newest first.
pub async fn list_packages(
    State(state): State<AppState>,
    incoming: Incoming,
) -> Result<Json<Value>, ApiError> {
    let system = system(&state, &incoming).await?;
    let packages = intake::packages_of(&state.metadata, &system.uploader.mo_code)
        .await
        .map_err(refusal)?;
    Ok(Json(json!({
        "mo": system.uploader.mo_code,
        "packages": packages.iter().map(package_json).collect::<Vec<_>>(),
    })))
}

/// `GET /api/v1/packages/{id}`: status and progress.
pub async fn package_status(
    State(state): State<AppState>,
    incoming: Incoming,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let system = system(&state, &incoming).await?;
    let package = intake::package_of(&state.metadata, &system.uploader.mo_code, package_id(&id)?)
        .await
        .map_err(refusal)?;
    Ok(Json(package_json(&package)))
}

/// `GET /api/v1/packages/{id}/findings`: the package and its FLK findings (`flk`; at most
/// `intake::MAX_STORED_FINDINGS` are kept, `package.findings` counts them all).
pub async fn package_findings(
    State(state): State<AppState>,
    incoming: Incoming,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let system = system(&state, &incoming).await?;
    let id = package_id(&id)?;
    let (package, findings) = intake::findings_of(&state.metadata, &system.uploader.mo_code, id)
        .await
        .map_err(refusal)?;
    let (_, mek) = intake::mek_findings_of(&state.metadata, &system.uploader.mo_code, id)
        .await
        .map_err(refusal)?;
    Ok(Json(json!({
        "package": package_json(&package),
        "flk": findings.iter().map(finding_json).collect::<Vec<_>>(),
        "mek": mek_json(&package, &mek),
    })))
}

/// The package's MEK: its state, totals and findings.
fn mek_json(package: &ClaimsPackage, findings: &[ClaimsMekFinding]) -> Value {
    match &package.mek {
        None => json!({ "state": "not_run" }),
        Some(ClaimsMekSummary::NoCatalogue) => json!({ "state": "no_catalogue" }),
        Some(ClaimsMekSummary::Done {
            cases_checked,
            cases_refused,
            findings: total,
            withheld_kopecks,
            catalogues,
        }) => json!({
            "state": "done",
            "cases_checked": cases_checked,
            "cases_refused": cases_refused,
            "total_findings": total,
            "withheld": money(i128::from(*withheld_kopecks)),
            "catalogues": catalogues,
            "findings": findings.iter().map(|finding| json!({
                "reason_code": finding.reason_code,
                "reason_basis": finding.reason_basis,
                "rule_id": finding.rule_id,
                "element": finding.element,
                "N_ZAP": finding.n_zap,
                "IDCASE": finding.idcase,
                "SL_ID": finding.sl_id,
                "comment": finding.comment,
                "comment_ru": finding.comment_ru,
                "withheld": money(i128::from(finding.withheld_kopecks)),
            })).collect::<Vec<_>>(),
        }),
    }
}

/// `GET /api/v1/packages/{id}/protocol`: the `V…zip` protocol of a concluded package.
pub async fn package_protocol(
    State(state): State<AppState>,
    incoming: Incoming,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let system = system(&state, &incoming).await?;
    match intake::protocol_of(&state.metadata, &system.uploader, package_id(&id)?).await {
        Ok(protocol) => Ok(medgate_web::layout::download(
            "application/zip",
            &protocol.file_name,
            protocol.bytes.into(),
        )),
        Err(FundError::Invalid { .. }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "package_checking",
            "The package is still being checked; its protocol follows the control (poll GET /api/v1/packages/{id}).",
        )),
        Err(other) => Err(refusal(other)),
    }
}

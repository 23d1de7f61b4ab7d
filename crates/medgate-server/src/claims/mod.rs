//! The claims registers of a territorial OMS fund (`medgate serve --role claims`, Russia,
//! issue 14): the pages of the medical organisations' staff under `/claims` ([`pages`]:
//! the one-time link, sign-in with the first password change forced, the upload of register
//! packages and their format-logical control), the API of the MOs' information systems under
//! `/api/v1/packages` ([`api`]: mutual TLS with a certificate from the node's CA, writes
//! signed) and the role's OpenAPI document. The rules are `medgate_claims`'s (`fund`,
//! `intake`, `systems`); the fund's operator works from the command line
//! (`medgate claims mo|smo|period|user`). A package taken by either door is kept and
//! controlled the same way ([`keep_and_check`]).

use axum::routing::get;
use axum::Router;
use medgate_claims::intake::{self, Uploader};
use medgate_web::{ApiError, AppState};

pub mod api;
pub mod openapi;
pub mod pages;

/// Largest package an upload takes (page or API): streamed to disk, never held in memory.
pub const MAX_BODY_BYTES: usize = 512 * 1024 * 1024;

/// The routes whose bodies are streamed to disk by their handler (the body guard passes them
/// unread, within [`MAX_BODY_BYTES`]).
pub const STREAMED_UPLOADS: [(&str, &str); 2] =
    [("POST", pages::UPLOAD_PATH), ("POST", api::PACKAGES_PATH)];

/// The routes of a claims node.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/openapi.json", get(openapi::document))
        .route(
            "/api/v1/packages",
            get(api::list_packages).post(api::push_package),
        )
        .route("/api/v1/packages/{id}", get(api::package_status))
        .route("/api/v1/packages/{id}/findings", get(api::package_findings))
        .route("/api/v1/packages/{id}/protocol", get(api::package_protocol))
}

/// The node's data folder (the staging area is its `tmp`).
pub(crate) fn data_dir(state: &AppState) -> std::path::PathBuf {
    state
        .staging
        .dir()
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default()
}

/// The node's NSI folder, where `medgate claims nsi import` installs books and catalogues.
fn nsi_dir(state: &AppState) -> std::path::PathBuf {
    data_dir(state).join("claims").join("nsi")
}

/// Where the package `id` named `file_name` is kept in the node's data folder.
pub(crate) fn kept_path(state: &AppState, id: i64, file_name: &str) -> std::path::PathBuf {
    data_dir(state)
        .join("claims")
        .join("packages")
        .join(id.to_string())
        .join(file_name)
}

/// Keeps the registered package `id` (its staged upload, named `file_name` as sent) under
/// `DATA/claims/packages/<id>/` and controls it in the background (`intake::check`).
pub(crate) async fn keep_and_check(
    state: &AppState,
    uploader: &Uploader,
    id: i64,
    file_name: &str,
    staged: medgate_storage::StagedFile,
) -> Result<(), ApiError> {
    let file_name = intake::plain_file_name(file_name)
        .map_err(|e| ApiError::internal("a package's name", &e))?;
    let kept = kept_path(state, id, &file_name);
    let folder = kept
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let staged_path = staged.path().to_owned();
    let keep = tokio::task::spawn_blocking(move || {
        std::fs::create_dir_all(&folder)?;
        std::fs::hard_link(&staged_path, &kept)
            .or_else(|_| std::fs::copy(&staged_path, &kept).map(|_| ()))?;
        Ok::<_, std::io::Error>(kept)
    })
    .await
    .map_err(|e| ApiError::internal("keeping a package", &e))?
    .map_err(|e| ApiError::internal("keeping a package", &e))?;
    drop(staged);
    let (metadata, clock, uploader, nsi) = (
        state.metadata.clone(),
        state.clock.clone(),
        uploader.clone(),
        nsi_dir(state),
    );
    tokio::spawn(async move {
        if let Err(error) =
            intake::check(&metadata, &uploader, id, &keep, &nsi, || clock.now()).await
        {
            tracing::error!(package = id, %error, "the control of a package failed");
        }
    });
    Ok(())
}

/// Checks again, one after another, the packages a stopped node left `checking` (started
/// with the node, in the background).
pub async fn resume_checks(state: AppState) {
    let packages = match state.metadata.claims_packages_checking().await {
        Ok(packages) => packages,
        Err(error) => {
            tracing::error!(%error, "the packages being checked could not be listed");
            return;
        }
    };
    for package in packages {
        let uploader = intake::Uploader {
            login: package.uploaded_by.clone(),
            mo_code: package.mo_code.clone(),
            subdivision_code: package.subdivision_code.clone(),
            origin: medgate_storage::AuditOrigin::Cli,
        };
        let Ok(file_name) = intake::plain_file_name(&package.file_name) else {
            continue;
        };
        let path = kept_path(&state, package.id, &file_name);
        tracing::info!(
            package = package.id,
            "checking a package again after a restart"
        );
        let clock = state.clock.clone();
        if let Err(error) = intake::check(
            &state.metadata,
            &uploader,
            package.id,
            &path,
            &nsi_dir(&state),
            || clock.now(),
        )
        .await
        {
            tracing::error!(package = package.id, %error, "the control of a package failed");
        }
    }
}

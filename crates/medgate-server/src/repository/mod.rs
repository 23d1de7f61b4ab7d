//! The repository module (SPEC §§1–7): the API clinic systems reach with mutual TLS and
//! signed requests (`api`), and the tenant administrator's desk (`pages`). The domain it
//! calls lives in the `medgate-repository` crate; what every module shares in `medgate-web`.
//!
//! Both halves reach the domain the same way: [`domain`] (the stores), [`national`] and
//! [`issuer`] (what the domain reads of the node), and [`refused`], the one mapping of a
//! [`RepositoryError`] to the API's answer (`.map_err(refused)?`).

use axum::http::StatusCode;
use medgate_repository::account::Issuer;
use medgate_repository::national::{NationalSettings, RegistryEndpoint};
use medgate_repository::{ErrorKind, Repository, RepositoryError};
use medgate_web::{ApiError, AppState};

pub mod api;
pub mod pages;

/// The repository domain over the node's stores.
pub fn domain(state: &AppState) -> Repository {
    Repository::new(state.metadata.clone(), state.content.clone())
}

/// What the national functions read of the node's configuration.
pub fn national(state: &AppState) -> NationalSettings {
    let node = &state.node;
    NationalSettings {
        registry: node.registry.as_ref().map(|link| RegistryEndpoint {
            url: link.url.clone(),
            ca_file: link.ca_file.clone(),
            timeout: link.timeout,
        }),
        public_url: node.public_url.clone(),
        credentials_key_file: node.credentials_key_file.clone(),
    }
}

/// Who issues the accounts' certificates: the node's tenant CA and the revocations the node
/// enforces.
pub fn issuer(state: &AppState) -> Issuer<'_> {
    Issuer {
        ca: &state.ca,
        is_revoked: Box::new(|serial| state.revocations.revoked(serial).is_some()),
    }
}

/// A refusal or failure of the repository domain as the API answers it: the status of its
/// kind, its stable code and its sentence; a failure of ours is logged with its cause and a
/// reference, and answered with the reference only.
pub fn refused(error: RepositoryError) -> ApiError {
    let status = match error.kind() {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
        ErrorKind::RegistryUnavailable => StatusCode::BAD_GATEWAY,
        ErrorKind::RegistryTimeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    match error {
        RepositoryError::Storage { context, cause }
        | RepositoryError::Internal { context, cause } => ApiError::internal(context, &cause),
        other => ApiError::new(status, other.code(), other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use medgate_repository::Reason;

    use super::*;

    #[test]
    fn refusals_keep_their_code_status_and_sentence() {
        let error = refused(RepositoryError::invalid(
            Reason::Patient,
            "patient",
            "patient: no.",
        ));
        assert_eq!(
            (error.status(), error.code(), error.message()),
            (StatusCode::BAD_REQUEST, "bad_patient", "patient: no.")
        );
        let quota = refused(RepositoryError::FileLimitReached { limit: 3 });
        assert_eq!(
            (quota.status(), quota.code()),
            (StatusCode::INSUFFICIENT_STORAGE, "file_limit_reached")
        );
        let media = refused(RepositoryError::UnsupportedContentType {
            accepted: "application/xml".into(),
        });
        assert_eq!(media.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn failures_of_ours_say_only_the_reference() {
        let cause = std::io::Error::other("/srv/data is read-only");
        let error = refused(RepositoryError::storage("storing content")(cause));
        assert_eq!(
            (error.status(), error.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
        );
        assert!(
            !error.message().contains("/srv/data"),
            "{}",
            error.message()
        );
        assert!(error.message().contains("quote reference"));
        let corrupted = refused(RepositoryError::ContentCorrupted {
            document: medgate_storage::DocumentId::parse("1.2^3").unwrap(),
        });
        assert_eq!(
            (corrupted.status(), corrupted.code()),
            (StatusCode::INTERNAL_SERVER_ERROR, "content_corrupted")
        );
    }
}

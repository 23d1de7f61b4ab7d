//! The document types of the catalogue and each account's archiving policy for them: whether
//! the clinic's agent archives a type automatically and how many days it keeps the file
//! locally first.

use medgate_storage::{DocumentTypePolicy, MetadataError, DEFAULT_DOCUMENT_TYPES};
use medgate_ids::TenantId;
use serde::Deserialize;

use crate::error::{Reason, RepositoryError};
use crate::{Actor, Repository};

/// Longest local retention a policy may set: ten years.
pub const MAX_KEEP_LOCAL_DAYS: u32 = 3650;

fn unknown_type(code: &str) -> RepositoryError {
    let codes: Vec<&str> = DEFAULT_DOCUMENT_TYPES.iter().map(|t| t.code).collect();
    RepositoryError::UnknownDocumentType {
        code: code.to_owned(),
        valid: codes.join(", "),
    }
}

/// Every document type of the catalogue with the account's policy, in catalogue order,
/// audited as `document_types.list`.
pub async fn list(
    repository: &Repository,
    actor: &Actor,
) -> Result<Vec<DocumentTypePolicy>, RepositoryError> {
    let types = current(repository, &actor.tenant).await?;
    repository
        .audit(
            actor,
            "document_types.list",
            actor.tenant.as_str(),
            None,
            String::new(),
        )
        .await?;
    Ok(types)
}

/// Every document type of the catalogue with the account's policy, not audited (what a
/// form changes is audited by [`set_policy`]).
pub async fn current(
    repository: &Repository,
    tenant: &TenantId,
) -> Result<Vec<DocumentTypePolicy>, RepositoryError> {
    repository
        .metadata
        .list_document_types(tenant)
        .await
        .map_err(RepositoryError::storage("listing document types"))
}

/// A policy as the API sends it.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyChange {
    pub archive_automatically: bool,
    pub keep_local_days: u32,
}

/// Sets the account's policy for the type `code` (any case; not found when the catalogue
/// has no such type) from `body`, the JSON of a [`PolicyChange`]; audited as
/// `document_type.update`.
pub async fn set(
    repository: &Repository,
    actor: &Actor,
    code: &str,
    body: &[u8],
) -> Result<DocumentTypePolicy, RepositoryError> {
    let code = code.trim().to_ascii_uppercase();
    if medgate_storage::default_document_type(&code).is_none() {
        return Err(unknown_type(&code));
    }
    let change: PolicyChange = crate::parse_json(body)?;
    set_policy(repository, actor, &code, change).await
}

/// Sets the account's policy for the type `code` (as the catalogue spells it); audited as
/// `document_type.update`.
pub async fn set_policy(
    repository: &Repository,
    actor: &Actor,
    code: &str,
    change: PolicyChange,
) -> Result<DocumentTypePolicy, RepositoryError> {
    let PolicyChange {
        archive_automatically,
        keep_local_days,
    } = change;
    if keep_local_days > MAX_KEEP_LOCAL_DAYS {
        return Err(RepositoryError::invalid(
            Reason::KeepLocalDays,
            "keep_local_days",
            format!(
                "keep_local_days is {keep_local_days}; it must be between 0 and {MAX_KEEP_LOCAL_DAYS}."
            ),
        ));
    }
    let policy = repository
        .metadata
        .set_document_type(&actor.tenant, code, archive_automatically, keep_local_days)
        .await
        .map_err(|e| match e {
            MetadataError::UnknownDocumentType(code) => unknown_type(&code),
            other => RepositoryError::storage("setting a document type policy")(other),
        })?;
    repository
        .audit(
            actor,
            "document_type.update",
            policy.code,
            None,
            format!(
                "archive automatically {}; keep locally {} days",
                if policy.archive_automatically {
                    "yes"
                } else {
                    "no"
                },
                policy.keep_local_days
            ),
        )
        .await?;
    Ok(policy)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use crate::testing::Fixture;

    #[tokio::test]
    async fn a_policy_is_set_by_code_within_its_bounds() {
        let fixture = Fixture::new().await;
        let (repository, actor) = (&fixture.repository, &fixture.actor);
        let code = DEFAULT_DOCUMENT_TYPES[0].code;
        let policy = |archive: bool, days: u32| {
            format!(r#"{{"archive_automatically": {archive}, "keep_local_days": {days}}}"#)
        };
        let set_policy = set(
            repository,
            actor,
            &code.to_ascii_lowercase(),
            policy(true, 30).as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!((set_policy.code, set_policy.keep_local_days), (code, 30));
        assert!(set_policy.overridden);
        let listed = list(repository, actor).await.unwrap();
        assert_eq!(listed.len(), DEFAULT_DOCUMENT_TYPES.len());
        assert!(listed[0].archive_automatically);

        // The code is checked before the body.
        let unknown = set(repository, actor, "nope", b"{").await.unwrap_err();
        assert_eq!(
            (unknown.code(), unknown.kind()),
            ("unknown_document_type", crate::ErrorKind::NotFound)
        );
        assert!(unknown
            .to_string()
            .starts_with("There is no document type 'NOPE'; valid codes: "));
        let too_long = set(
            repository,
            actor,
            code,
            policy(true, MAX_KEEP_LOCAL_DAYS + 1).as_bytes(),
        )
        .await
        .unwrap_err();
        assert_eq!(too_long.code(), "bad_keep_local_days");
        assert_eq!(
            too_long.to_string(),
            "keep_local_days is 3651; it must be between 0 and 3650."
        );
        let bad_body = set(
            repository,
            actor,
            code,
            br#"{"archive_automatically": true}"#,
        )
        .await
        .unwrap_err();
        assert_eq!(bad_body.code(), "bad_json");
        let actions: Vec<String> = fixture
            .audit()
            .await
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["document_type.update", "document_types.list"]);
    }
}

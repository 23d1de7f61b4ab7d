//! The consent register (SPEC §5): a draft shares some of one patient's documents with a
//! recipient for a purpose between two dates; sending it lets the patient see the documents
//! on the portal (the first send for a patient creates their portal account, with a one-time
//! activation code); revoking hides them at once. Every change is audited with the patient.
//!
//! Dates are whole days in UTC: a consent `from` 2025-03-01 `to` 2025-03-31 is in force from
//! 2025-03-01 00:00:00 UTC to 2025-03-31 23:59:59 UTC.

use std::collections::HashSet;

use medgate_ids::TenantId;
use medgate_storage::{
    AccountOutcome, Consent, ConsentError, ConsentId, DocumentId, NewConsent, PendingActivation,
    StoredDocument,
};
use serde::Deserialize;
use time::{Date, OffsetDateTime, Time};

use crate::error::{Reason, RepositoryError};
use crate::patient::{parse_patient, patient_query};
use crate::{format_date, now, Actor, Repository};

/// Longest recipient or purpose text.
pub const MAX_TEXT_CHARS: usize = 500;
/// Most documents in one consent.
pub const MAX_DOCUMENTS: usize = 1000;
/// How long a patient's activation code, issued when a consent is sent, can be used.
pub const ACTIVATION_VALIDITY: time::Duration = time::Duration::days(30);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatientBody {
    /// The assigning authority's OID; the PESEL's when absent.
    root: Option<String>,
    extension: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    patient: PatientBody,
    recipient: String,
    purpose: String,
    from: String,
    to: String,
    documents: Vec<String>,
}

fn bad(field: &str, message: String) -> RepositoryError {
    RepositoryError::invalid(Reason::Consent, field, message)
}

fn parse_day(field: &str, text: &str) -> Result<Date, RepositoryError> {
    crate::parse_day(text).ok_or_else(|| {
        bad(
            field,
            format!(
                "{field}: '{}' is not a date in the form YYYY-MM-DD.",
                text.trim()
            ),
        )
    })
}

/// A recipient or purpose: trimmed, not empty, not too long, no control characters.
fn checked_text(field: &str, text: &str) -> Result<String, RepositoryError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(field, format!("{field}: must not be empty.")));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(bad(
            field,
            format!("{field}: at most {MAX_TEXT_CHARS} characters."),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(
            field,
            format!("{field}: must not contain control characters."),
        ));
    }
    Ok(text.to_owned())
}

/// The new consent a JSON body (`{"patient": {"root"?, "extension"}, "recipient", "purpose",
/// "from", "to", "documents": [ids]}`) describes, validated field by field.
pub fn new_consent(body: &[u8]) -> Result<NewConsent, RepositoryError> {
    let body: CreateBody = serde_json::from_slice(body).map_err(|e| {
        bad("body", format!("body: {e}; expected {{\"patient\": {{\"root\"?, \"extension\"}}, \"recipient\", \"purpose\", \"from\", \"to\", \"documents\": [ids]}}."))
    })?;
    let patient_text = match body
        .patient
        .root
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        Some(root) => format!("{root}^{}", body.patient.extension.trim()),
        None => body.patient.extension.trim().to_owned(),
    };
    let patient = parse_patient(&patient_text)?;
    let recipient = checked_text("recipient", &body.recipient)?;
    let purpose = checked_text("purpose", &body.purpose)?;
    let from = parse_day("from", &body.from)?;
    let to = parse_day("to", &body.to)?;
    if from > to {
        return Err(bad(
            "to",
            format!(
                "to: {} is before from ({}).",
                format_date(to),
                format_date(from)
            ),
        ));
    }
    if body.documents.is_empty() {
        return Err(bad(
            "documents",
            "documents: give at least one document id.".to_owned(),
        ));
    }
    if body.documents.len() > MAX_DOCUMENTS {
        return Err(bad(
            "documents",
            format!("documents: at most {MAX_DOCUMENTS} per consent."),
        ));
    }
    let documents = body
        .documents
        .iter()
        .enumerate()
        .map(|(index, text)| {
            DocumentId::parse(text.trim()).map_err(|e| {
                let field = format!("documents[{index}]");
                bad(&field, format!("{field}: {e}."))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(NewConsent {
        patient,
        recipient,
        purpose,
        valid_from: from.with_time(Time::MIDNIGHT).assume_utc(),
        valid_to: to.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
            - time::Duration::seconds(1),
        documents,
    })
}

/// The field of `document` in a consent naming `documents`: `documents[i]`.
fn document_field(documents: &[DocumentId], document: &DocumentId) -> String {
    match documents.iter().position(|d| d == document) {
        Some(index) => format!("documents[{index}]"),
        None => "documents".to_owned(),
    }
}

/// The refusals of the consent store in the user's words; `documents` are the consent's
/// (the refused one's field is `documents[i]`, so a form can mark it).
fn consent_error(error: ConsentError, documents: &[DocumentId]) -> RepositoryError {
    match error {
        ConsentError::DocumentNotFound(id) => {
            let field = document_field(documents, &id);
            let message = format!("documents: document {id} does not exist in this account.");
            RepositoryError::invalid(Reason::UnknownDocument, &field, message)
        }
        ConsentError::DocumentOfAnotherPatient { document, patient } => {
            let field = document_field(documents, &document);
            let message = format!("documents: document {document} is not a document of patient {patient}; a consent shares one patient's documents.");
            RepositoryError::invalid(Reason::DocumentOfAnotherPatient, &field, message)
        }
        ConsentError::NotFound(_) => RepositoryError::NotFound { what: "consent" },
        ConsentError::WrongStatus {
            id,
            status,
            operation,
        } => RepositoryError::ConsentStatus {
            id,
            status,
            operation,
        },
        other => RepositoryError::storage("consent register")(other),
    }
}

/// Creates a draft (from a JSON body, [`new_consent`]; or a form), audited as
/// `consent.create`. A document the account does not have, or another patient's, is refused
/// naming its field (`documents[i]`) and nothing is stored.
pub async fn create(
    repository: &Repository,
    actor: &Actor,
    consent: &NewConsent,
) -> Result<Consent, RepositoryError> {
    let created = repository
        .metadata
        .create_consent(&actor.tenant, consent)
        .await
        .map_err(|e| consent_error(e, &consent.documents))?;
    let documents: Vec<&str> = created
        .documents
        .iter()
        .map(|d| d.document_id.as_str())
        .collect();
    repository
        .audit(
            actor,
            "consent.create",
            created.id.as_str(),
            Some(&created.patient.extension),
            format!(
                "recipient '{}', purpose '{}', {} to {}, documents {}",
                created.recipient,
                created.purpose,
                format_date(created.valid_from.date()),
                format_date(created.valid_to.date()),
                documents.join(" ")
            ),
        )
        .await?;
    Ok(created)
}

/// The account's consents, newest first; only those of `patient` (a PESEL, any identifier
/// or `root^extension`) when one is given.
pub async fn list(
    repository: &Repository,
    actor: &Actor,
    patient: Option<&str>,
) -> Result<Vec<Consent>, RepositoryError> {
    let filter = match patient.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(text) => Some(patient_query(text)?),
    };
    repository
        .metadata
        .list_consents(
            &actor.tenant,
            filter
                .as_ref()
                .map(|q| (q.extension.as_str(), q.root.as_ref())),
        )
        .await
        .map_err(RepositoryError::storage("listing consents"))
}

/// The account's consent `id`.
pub async fn show(
    repository: &Repository,
    actor: &Actor,
    id: &ConsentId,
) -> Result<Consent, RepositoryError> {
    repository
        .metadata
        .get_consent(&actor.tenant, id)
        .await
        .map_err(RepositoryError::storage("reading a consent"))?
        .ok_or(RepositoryError::NotFound { what: "consent" })
}

/// What sending a consent did.
#[derive(Debug)]
pub struct Sent {
    pub consent: Consent,
    /// What happened to the patient's portal account.
    pub account: AccountOutcome,
    /// Until when the activation code works, when one was issued
    /// ([`AccountOutcome::code_issued`]).
    pub activation_expires_at: OffsetDateTime,
}

/// The name of what happened to the patient's portal account, as answers and the audit log
/// say it.
pub fn account_status(outcome: AccountOutcome) -> &'static str {
    match outcome {
        AccountOutcome::Created => "created",
        AccountOutcome::CodeRenewed => "code_renewed",
        AccountOutcome::AlreadyActive => "already_active",
    }
}

/// Sends a draft: its documents become visible to the patient within its dates, and the
/// patient's portal account is created (or its pending code replaced) with the activation
/// code whose Argon2id hash is `code_hash`, valid for [`ACTIVATION_VALIDITY`]. Audited as
/// `consent.send`; refused unless the consent is a draft.
pub async fn send(
    repository: &Repository,
    actor: &Actor,
    id: &ConsentId,
    code_hash: String,
) -> Result<Sent, RepositoryError> {
    let activation = PendingActivation {
        code_hash,
        expires_at: now() + ACTIVATION_VALIDITY,
    };
    let sent = repository
        .metadata
        .send_consent(&actor.tenant, id, &activation)
        .await
        .map_err(|e| consent_error(e, &[]))?;
    repository
        .audit(
            actor,
            "consent.send",
            sent.consent.id.as_str(),
            Some(&sent.consent.patient.extension),
            format!("patient account {}", account_status(sent.account)),
        )
        .await?;
    Ok(Sent {
        consent: sent.consent,
        account: sent.account,
        activation_expires_at: activation.expires_at,
    })
}

/// Withdraws a consent at once, audited as `consent.revoke`.
pub async fn revoke(
    repository: &Repository,
    actor: &Actor,
    id: &ConsentId,
) -> Result<Consent, RepositoryError> {
    let consent = repository
        .metadata
        .revoke_consent(&actor.tenant, id)
        .await
        .map_err(|e| consent_error(e, &[]))?;
    repository
        .audit(
            actor,
            "consent.revoke",
            consent.id.as_str(),
            Some(&consent.patient.extension),
            String::new(),
        )
        .await?;
    Ok(consent)
}

/// Of `documents`, those the account's patients can see on the portal now (a sent consent
/// in force covers them): the `consent` mark of search results and metadata.
pub async fn shared_now(
    repository: &Repository,
    tenant: &TenantId,
    documents: &[&StoredDocument],
) -> Result<HashSet<DocumentId>, RepositoryError> {
    let ids: Vec<&DocumentId> = documents.iter().map(|d| &d.metadata.document_id).collect();
    repository
        .metadata
        .documents_shared_now(tenant, &ids, now())
        .await
        .map_err(RepositoryError::storage("looking up consents"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::testing::{fixture_cda, Fixture};

    fn body(patch: &str) -> Vec<u8> {
        let mut value: Value = serde_json::from_str(
            r#"{"patient": {"extension": "44051401359"}, "recipient": "Dr Nowak",
                "purpose": "konsultacja", "from": "2025-01-01", "to": "2025-12-31",
                "documents": ["1.2.3^A"]}"#,
        )
        .unwrap();
        let patch: Value = serde_json::from_str(patch).unwrap();
        for (key, item) in patch.as_object().unwrap() {
            value[key] = item.clone();
        }
        serde_json::to_vec(&value).unwrap()
    }

    fn refusal(patch: &str) -> String {
        new_consent(&body(patch)).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_body_becomes_whole_utc_days() {
        let consent = new_consent(&body("{}")).unwrap();
        assert_eq!(consent.patient.root.as_str(), medgate_ids::Pesel::OID);
        assert_eq!(consent.valid_from.unix_timestamp(), 1_735_689_600);
        assert_eq!(consent.valid_to.unix_timestamp(), 1_767_225_599);
    }

    #[test]
    fn every_refusal_names_its_field() {
        assert!(refusal(r#"{"recipient": "  "}"#).contains("recipient: must not be empty"));
        assert!(refusal(r#"{"purpose": "a\u0007b"}"#).contains("purpose: must not contain control"));
        assert!(refusal(r#"{"from": "2025-13-01"}"#).contains("from: '2025-13-01'"));
        assert!(refusal(r#"{"from": "2026-01-01"}"#)
            .contains("to: 2025-12-31 is before from (2026-01-01)"));
        assert!(refusal(r#"{"documents": []}"#).contains("documents: give at least one"));
        assert!(refusal(r#"{"documents": ["1.2^A", "^x"]}"#).contains("documents[1]:"));
        assert!(refusal(r#"{"patient": {"extension": "44051401358"}}"#).contains("patient:"));
        assert!(refusal(r#"{"colour": "red"}"#).contains("unknown field `colour`"));
        assert!(refusal(r#"{"patient": {"root": "x.y", "extension": "1"}}"#).contains("patient:"));
        match new_consent(&body(r#"{"documents": ["1.2^A", "^x"]}"#)).unwrap_err() {
            RepositoryError::Invalid { reason, field, .. } => {
                assert_eq!((reason, field.as_str()), (Reason::Consent, "documents[1]"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_consent_goes_from_draft_to_sent_to_revoked() {
        let fixture = Fixture::new().await;
        let stored = crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            bytes::Bytes::from(fixture_cda()),
        )
        .await
        .unwrap();
        let today = crate::format_date(now().date());
        let request = format!(
            r#"{{"patient": {{"root": "2.16.840.1.113883.19.5.99999.2", "extension": "998991"}},
                "recipient": "Dr Nowak", "purpose": "konsultacja", "from": "{today}", "to": "{today}",
                "documents": ["{}"]}}"#,
            stored.metadata.document_id
        );
        let (repository, actor) = (&fixture.repository, &fixture.actor);
        let draft = create(repository, actor, &new_consent(request.as_bytes()).unwrap()).await.unwrap();
        assert_eq!(
            list(repository, actor, Some("998991")).await.unwrap().len(),
            1
        );
        assert!(list(repository, actor, Some("1.2.3^998991"))
            .await
            .unwrap()
            .is_empty());
        let sent = send(
            repository,
            actor,
            &draft.id,
            "$argon2id$stand-in".to_owned(),
        )
        .await
        .unwrap();
        assert_eq!(account_status(sent.account), "created");
        let shared = shared_now(repository, &actor.tenant, &[&stored])
            .await
            .unwrap();
        assert!(shared.contains(&stored.metadata.document_id));
        let again = send(repository, actor, &draft.id, "$argon2id$x".to_owned())
            .await
            .unwrap_err();
        assert_eq!(
            (again.code(), again.kind()),
            ("consent_already_sent", crate::ErrorKind::Conflict)
        );
        revoke(repository, actor, &draft.id).await.unwrap();
        let shared = shared_now(repository, &actor.tenant, &[&stored])
            .await
            .unwrap();
        assert!(shared.is_empty());
        let revoked = revoke(repository, actor, &draft.id).await.unwrap_err();
        assert_eq!(revoked.code(), "consent_revoked");
        let actions: Vec<String> = fixture
            .audit()
            .await
            .into_iter()
            .map(|e| e.action)
            .filter(|a| a.starts_with("consent."))
            .collect();
        assert_eq!(
            actions,
            ["consent.create", "consent.send", "consent.revoke"]
        );
    }

    #[tokio::test]
    async fn a_consent_shares_only_its_patients_documents() {
        let fixture = Fixture::new().await;
        let stored = crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            bytes::Bytes::from(fixture_cda()),
        )
        .await
        .unwrap();
        let request = format!(
            r#"{{"patient": {{"extension": "44051401359"}}, "recipient": "Dr Nowak",
                "purpose": "konsultacja", "from": "2025-01-01", "to": "2025-01-31",
                "documents": ["{}"]}}"#,
            stored.metadata.document_id
        );
        let error = create(&fixture.repository, &fixture.actor, &new_consent(request.as_bytes()).unwrap())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "document_of_another_patient");
        assert!(
            matches!(&error, RepositoryError::Invalid { field, .. } if field == "documents[0]"),
            "{error:?}"
        );
        let unknown = create(&fixture.repository, &fixture.actor, &new_consent(&body("{}")).unwrap())
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), "unknown_document");
        assert!(
            matches!(&unknown, RepositoryError::Invalid { field, .. } if field == "documents[0]"),
            "{unknown:?}"
        );
    }
}

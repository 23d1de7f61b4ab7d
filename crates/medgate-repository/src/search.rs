//! The document search: its query from the parameters a user gives (each checked by name),
//! one audited run — the filters and the number of matches, the patient only when the search
//! was by patient — and, per document found, whether a consent in force shares it now.

use std::collections::{HashMap, HashSet};

use medgate_storage::{
    DocumentId, DocumentMetadata, DocumentPage, PatientIdentifier, PatientQuery, SearchQuery,
    StoredDocument,
};
use time::{Date, Time};

use crate::error::{Reason, RepositoryError};
use crate::patient::patient_query;
use crate::{format_date, Actor, Repository};

/// Largest page a search returns, so one request cannot make the repository load
/// everything.
pub const MAX_SEARCH_LIMIT: u32 = 500;

/// The parameters a search takes, by name.
pub const PARAMETERS: [&str; 8] = [
    "patient", "from", "to", "type", "author", "title", "limit", "offset",
];

fn bad_parameter(field: &str, message: String) -> RepositoryError {
    RepositoryError::invalid(Reason::Parameter, field, message)
}

/// A day given as `YYYY-MM-DD` for the parameter `name`.
pub fn parse_day(name: &str, text: &str) -> Result<Date, RepositoryError> {
    crate::parse_day(text).ok_or_else(|| {
        bad_parameter(
            name,
            format!("{name}: '{text}' is not a date in the form YYYY-MM-DD."),
        )
    })
}

/// The query of the search parameters ([`PARAMETERS`], by name; unknown names are the
/// caller's to refuse): `patient` (a PESEL, any identifier or `root^extension`), `from` and
/// `to` (whole UTC days, both inclusive), `type`, `author`, `title`, `limit` (1 to
/// [`MAX_SEARCH_LIMIT`]) and `offset`.
pub fn query(mut parameters: HashMap<String, String>) -> Result<SearchQuery, RepositoryError> {
    let mut query = SearchQuery::default();
    if let Some(patient) = parameters
        .remove("patient")
        .filter(|p| !p.trim().is_empty())
    {
        query.patient = Some(patient_query(patient.trim())?);
    }
    if let Some(from) = parameters.remove("from") {
        query.effective_from = Some(
            parse_day("from", &from)?
                .with_time(Time::MIDNIGHT)
                .assume_utc(),
        );
    }
    if let Some(to) = parameters.remove("to") {
        // Inclusive: everything up to the last second of that day (times are stored in
        // whole seconds).
        let day = parse_day("to", &to)?;
        query.effective_to = Some(
            day.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1)
                - time::Duration::seconds(1),
        );
    }
    if let (Some(from), Some(to)) = (query.effective_from, query.effective_to) {
        if from > to {
            return Err(bad_parameter("from", "from: is after to.".to_owned()));
        }
    }
    query.type_code = parameters.remove("type").filter(|t| !t.is_empty());
    query.author = parameters.remove("author").filter(|t| !t.is_empty());
    query.title = parameters.remove("title").filter(|t| !t.is_empty());
    if let Some(limit) = parameters.remove("limit") {
        query.limit = limit
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_SEARCH_LIMIT).contains(l))
            .ok_or_else(|| {
                bad_parameter(
                    "limit",
                    format!("limit: '{limit}' is not a number from 1 to {MAX_SEARCH_LIMIT}."),
                )
            })?;
    }
    if let Some(offset) = parameters.remove("offset") {
        query.offset = offset
            .parse::<u64>()
            .ok()
            .filter(|o| *o <= i64::MAX as u64)
            .ok_or_else(|| {
                bad_parameter(
                    "offset",
                    format!("offset: '{offset}' is not a number of results to skip."),
                )
            })?;
    }
    Ok(query)
}

/// What a search found.
pub struct Found {
    pub page: DocumentPage,
    /// The documents of the page a consent in force shares now.
    pub shared: HashSet<DocumentId>,
}

/// Runs a search of the actor's documents, audited as `document.search`.
pub async fn search(
    repository: &Repository,
    actor: &Actor,
    query: &SearchQuery,
) -> Result<Found, RepositoryError> {
    let metadata = &repository.metadata;
    // The count and the page are read side by side, on two of the pool's connections. One
    // entry per search: the filters and how many matched; the patient only when the search
    // was by patient (never the ids of the patients found). It is committed as soon as the
    // count is known, while the page is still read, so a search waits for the longer of the
    // two paths, not for all of its statements one after another.
    let counted = async {
        let total = metadata
            .count_documents(&actor.tenant, query)
            .await
            .map_err(RepositoryError::storage("searching documents"))?;
        repository
            .audit(
                actor,
                "document.search",
                "documents",
                query.patient.as_ref().map(|p| p.extension.as_str()),
                details(query, total),
            )
            .await?;
        Ok::<_, RepositoryError>(total)
    };
    let found = async {
        let page = metadata
            .documents_page(&actor.tenant, query, 0)
            .await
            .map_err(RepositoryError::storage("searching documents"))?;
        let found: Vec<&StoredDocument> = page.documents.iter().collect();
        let shared = crate::consents::shared_now(repository, &actor.tenant, &found).await?;
        Ok::<_, RepositoryError>(Found { page, shared })
    };
    let (counted, found) = tokio::join!(counted, found);
    let total = counted?;
    let mut found = found?;
    found.page.total = total;
    Ok(found)
}

/// The identifier of the document's header that a search by patient matched: the main one
/// (a valid PESEL first) or one of the others, as the store compares them (the same value,
/// under the same root when the search named one).
pub fn matched_identifier<'a>(
    query: &PatientQuery,
    metadata: &'a DocumentMetadata,
) -> Option<&'a PatientIdentifier> {
    std::iter::once(&metadata.patient)
        .chain(&metadata.other_patient_ids)
        .find(|identifier| {
            identifier.extension == query.extension
                && query
                    .root
                    .as_ref()
                    .is_none_or(|root| *root == identifier.root)
        })
}

/// The audit details of a search: its filters and the number of matches.
pub fn details(query: &SearchQuery, total: u64) -> String {
    let mut parts = Vec::new();
    if let Some(patient) = &query.patient {
        match &patient.root {
            Some(root) => parts.push(format!("patient={root}^{}", patient.extension)),
            None => parts.push(format!("patient={}", patient.extension)),
        }
    }
    if let Some(from) = query.effective_from {
        parts.push(format!("from={}", format_date(from.date())));
    }
    if let Some(to) = query.effective_to {
        parts.push(format!("to={}", format_date(to.date())));
    }
    for (name, value) in [
        ("type", &query.type_code),
        ("author", &query.author),
        ("title", &query.title),
    ] {
        if let Some(value) = value {
            parts.push(format!("{name}={value:?}"));
        }
    }
    parts.push(format!("limit={} offset={}", query.limit, query.offset));
    format!("{}; {total} matches", parts.join(" "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use crate::testing::{fixture_cda, Fixture};

    fn parameters(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn the_identifier_a_search_matched_is_the_main_one_or_another_under_the_root_asked() {
        let body = fixture_cda();
        let header = medgate_cda::parse(&body).unwrap();
        let mut metadata =
            crate::ingest::cda_metadata(&header, "application/xml".into(), &body).unwrap();
        let local = PatientIdentifier {
            root: medgate_ids::Oid::parse("2.16.840.1.113883.3.4424.2.7.26.1").unwrap(),
            extension: "12345".into(),
        };
        metadata.other_patient_ids = vec![local.clone()];
        let main = metadata.patient.clone();
        let by = |extension: &str, root: Option<&str>| PatientQuery {
            extension: extension.into(),
            root: root.map(|r| medgate_ids::Oid::parse(r).unwrap()),
        };
        assert_eq!(
            matched_identifier(&by(&main.extension, None), &metadata),
            Some(&main)
        );
        assert_eq!(
            matched_identifier(&by("12345", None), &metadata),
            Some(&local)
        );
        assert_eq!(
            matched_identifier(&by("12345", Some(local.root.as_str())), &metadata),
            Some(&local)
        );
        assert_eq!(
            matched_identifier(&by("12345", Some("1.2.3")), &metadata),
            None
        );
        assert_eq!(matched_identifier(&by("nobody", None), &metadata), None);
    }

    #[test]
    fn days_must_be_complete_dates() {
        assert!(parse_day("from", "2024-01-05").is_ok());
        assert_eq!(
            parse_day("from", "2024-1-5").unwrap_err().code(),
            "bad_parameter"
        );
        assert!(parse_day("to", "yesterday")
            .unwrap_err()
            .to_string()
            .contains("to: 'yesterday'"));
    }

    #[test]
    fn parameters_become_an_inclusive_query() {
        let query = query(parameters(&[
            ("patient", " 1.2.3^A "),
            ("from", "2024-01-05"),
            ("to", "2024-01-05"),
            ("type", ""),
            ("title", "Karta"),
            ("limit", "20"),
            ("offset", "40"),
        ]))
        .unwrap();
        assert_eq!(query.patient.as_ref().unwrap().extension, "A");
        assert_eq!(
            query.effective_to.unwrap() - query.effective_from.unwrap(),
            time::Duration::seconds(86_399)
        );
        assert_eq!(query.type_code, None);
        assert_eq!((query.limit, query.offset), (20, 40));
        assert_eq!(
            details(&query, 3),
            "patient=1.2.3^A from=2024-01-05 to=2024-01-05 title=\"Karta\" limit=20 offset=40; 3 matches"
        );
    }

    #[test]
    fn each_bad_parameter_is_named() {
        let refusal = |pairs: &[(&str, &str)]| query(parameters(pairs)).unwrap_err().to_string();
        assert_eq!(
            refusal(&[("from", "2024-02-01"), ("to", "2024-01-01")]),
            "from: is after to."
        );
        assert!(refusal(&[("limit", "0")]).starts_with("limit: '0' is not a number from 1 to 500"));
        assert!(refusal(&[("limit", "501")]).starts_with("limit:"));
        assert!(refusal(&[("offset", "-1")]).starts_with("offset:"));
        assert!(refusal(&[("patient", "x^1")]).starts_with("patient: the root of 'x^1'"));
    }

    #[tokio::test]
    async fn a_search_is_one_audit_entry_with_its_filters() {
        let fixture = Fixture::new().await;
        crate::ingest::put_document(
            &fixture.repository,
            &fixture.actor,
            None,
            bytes::Bytes::from(fixture_cda()),
        )
        .await
        .unwrap();
        let by_patient = query(parameters(&[("patient", "998991")])).unwrap();
        let found = search(&fixture.repository, &fixture.actor, &by_patient)
            .await
            .unwrap();
        assert_eq!(found.page.total, 1);
        assert!(found.shared.is_empty());
        let entry = fixture.audit().await.pop().unwrap();
        assert_eq!(entry.action, "document.search");
        assert_eq!(entry.patient.as_deref(), Some("998991"));
        assert!(entry.details.ends_with("; 1 matches"), "{}", entry.details);
    }
}

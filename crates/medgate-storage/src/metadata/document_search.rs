//! The statements of a document search, built in one place so that the store runs and
//! `Metadata::query_plans` explains the very same ones (see [`search_statements`]).

use medgate_ids::TenantId;
use sqlx::Any;

use super::documents::{SearchQuery, DOCUMENT_COLUMNS};
use super::{to_i64, to_unix, DatabaseBackend};
use crate::error::MetadataError;

/// A `LIKE` pattern matching `needle` anywhere, case-insensitively (both sides lower-cased),
/// with `\` as the escape character for `%`, `_` and itself.
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for character in needle.to_lowercase().chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// A value bound to a dynamically built query.
#[derive(Clone)]
pub(crate) enum Bound {
    Text(String),
    Integer(i64),
}

/// A `WHERE` clause built piece by piece with `$N` placeholders numbered in order.
pub(crate) struct Filter {
    clauses: Vec<String>,
    values: Vec<Bound>,
    /// How many values the count statement takes (the page's limit and offset come after).
    count_values: usize,
}

impl Filter {
    fn new(tenant: &TenantId) -> Self {
        Filter {
            clauses: vec!["d.tenant_id = $1".to_owned()],
            values: vec![Bound::Text(tenant.as_str().to_owned())],
            count_values: 0,
        }
    }

    /// Adds a value and returns its placeholder.
    fn bind(&mut self, value: Bound) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    fn clause(&self) -> String {
        self.clauses.join(" AND ")
    }

    /// Binds the values of the count statement (all but the page's limit and offset).
    pub(crate) fn apply_without_page<'q>(
        &'q self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        Self::bind_all(&self.values[..self.count_values], query)
    }

    /// Binds every value (the page statement's).
    pub(crate) fn apply<'q>(
        &'q self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        Self::bind_all(&self.values, query)
    }

    /// The values of the count statement, then those of the page statement.
    pub(crate) fn values_for_plans(&self) -> (&[Bound], &[Bound]) {
        (&self.values[..self.count_values], &self.values)
    }

    fn bind_all<'q>(
        values: &'q [Bound],
        mut query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
        for value in values {
            query = match value {
                Bound::Text(text) => query.bind(text.as_str()),
                Bound::Integer(number) => query.bind(*number),
            };
        }
        query
    }
}

/// The two statements of a search (the number of matches, then one page) and their values.
pub(crate) struct SearchStatements {
    pub(crate) filter: Filter,
    pub(crate) count_sql: String,
    pub(crate) page_sql: String,
}

/// Builds a search's statements. A search by patient is driven by the patient's identifier
/// rows, never by a walk over the tenant's documents (`documents_newest_first`) testing each
/// one, which at a million documents costs seconds:
/// - by patient (and dates) alone, the identifier rows carry the sort keys
///   (`document_patient_ids_newest_first`): the page is read in index order and stops at its
///   limit, then its documents are read by primary key, and the count reads the index alone —
///   the same few reads for a patient with 10 documents or 10,000;
/// - with other filters too (type, author, title), each of the patient's documents is read
///   by primary key and tested. On SQLite the unary `+` keeps the planner off the tenant
///   index; on PostgreSQL the documents are read in a `LATERAL` subquery that cannot be
///   flattened (`OFFSET 0`), so the plan is a nested loop over the identifier rows whatever
///   the statistics say about a patient with many documents.
pub(crate) fn search_statements(
    backend: DatabaseBackend,
    tenant: &TenantId,
    query: &SearchQuery,
) -> Result<SearchStatements, MetadataError> {
    let mut filter = Filter::new(tenant);
    let mut patient_rows = None;
    if let Some(patient) = &query.patient {
        let extension = filter.bind(Bound::Text(patient.extension.clone()));
        let mut clause = format!("p.tenant_id = $1 AND p.extension = {extension}");
        if let Some(root) = &patient.root {
            let root = filter.bind(Bound::Text(root.as_str().to_owned()));
            clause.push_str(&format!(" AND p.root = {root}"));
        }
        patient_rows = Some(clause);
    }
    let mut dates = Vec::new();
    if let Some(from) = query.effective_from {
        let from = filter.bind(Bound::Integer(to_unix(from)));
        dates.push(format!("effective_time >= {from}"));
    }
    if let Some(to) = query.effective_to {
        let to = filter.bind(Bound::Integer(to_unix(to)));
        dates.push(format!("effective_time <= {to}"));
    }
    let author = query.author.as_deref().filter(|text| !text.is_empty());
    let title = query.title.as_deref().filter(|text| !text.is_empty());
    if let Some(patient_rows) = &patient_rows {
        if query.type_code.is_none() && author.is_none() && title.is_none() {
            return patient_statements(backend, filter, patient_rows, &dates, query);
        }
    }
    for date in &dates {
        filter.clauses.push(format!("d.{date}"));
    }
    if let Some(type_code) = &query.type_code {
        let type_code = filter.bind(Bound::Text(type_code.clone()));
        filter.clauses.push(format!("d.type_code = {type_code}"));
    }
    if let Some(author) = author {
        let pattern = filter.bind(Bound::Text(contains_pattern(author)));
        filter
            .clauses
            .push(format!("d.author_search LIKE {pattern} ESCAPE '\\'"));
    }
    if let Some(title) = title {
        let pattern = filter.bind(Bound::Text(contains_pattern(title)));
        filter
            .clauses
            .push(format!("d.title_search LIKE {pattern} ESCAPE '\\'"));
    }

    let (from, where_clause) = match (patient_rows, backend) {
        (None, _) => ("documents d".to_owned(), filter.clause()),
        (Some(patient_rows), DatabaseBackend::Sqlite) => {
            filter.clauses[0] = "+d.tenant_id = $1".to_owned();
            filter.clauses.push(format!(
                "d.id IN (SELECT p.document_pk FROM document_patient_ids p WHERE {patient_rows})"
            ));
            ("documents d".to_owned(), filter.clause())
        }
        (Some(patient_rows), DatabaseBackend::Postgres) => (
            format!(
                "(SELECT DISTINCT p.document_pk FROM document_patient_ids p \
                 WHERE {patient_rows}) hits CROSS JOIN LATERAL (SELECT {DOCUMENT_COLUMNS} \
                 FROM documents d WHERE d.id = hits.document_pk AND {} OFFSET 0) d",
                filter.clause()
            ),
            "TRUE".to_owned(),
        ),
    };
    let count_sql = format!("SELECT COUNT(*) AS total FROM {from} WHERE {where_clause}");
    filter.count_values = filter.values.len();
    let limit = filter.bind(Bound::Integer(i64::from(query.limit)));
    let offset = filter.bind(Bound::Integer(to_i64("offset", query.offset)?));
    let page_sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM {from} WHERE {where_clause} \
         ORDER BY d.effective_time DESC, d.created_at DESC, d.id DESC \
         LIMIT {limit} OFFSET {offset}"
    );
    Ok(SearchStatements {
        filter,
        count_sql,
        page_sql,
    })
}

/// The statements of a search by patient (and dates) alone, over the identifier rows and
/// their sort keys (see [`search_statements`]). A document whose header names the patient
/// twice (the same number under two roots) is counted and listed once: without a root only
/// its first row is read (`repeated = 0`), with a root it has one row at most (the primary
/// key), so neither statement needs `DISTINCT` and the count reads the index alone.
fn patient_statements(
    backend: DatabaseBackend,
    mut filter: Filter,
    patient_rows: &str,
    dates: &[String],
    query: &SearchQuery,
) -> Result<SearchStatements, MetadataError> {
    let mut rows = patient_rows.to_owned();
    if query
        .patient
        .as_ref()
        .is_some_and(|patient| patient.root.is_none())
    {
        rows.push_str(" AND p.repeated = 0");
    }
    for date in dates {
        rows.push_str(&format!(" AND p.{date}"));
    }
    let count_sql = format!("SELECT COUNT(*) AS total FROM document_patient_ids p WHERE {rows}");
    filter.count_values = filter.values.len();
    let limit = filter.bind(Bound::Integer(i64::from(query.limit)));
    let offset = filter.bind(Bound::Integer(to_i64("offset", query.offset)?));
    // The documents of the page, each by primary key; on SQLite the `+` keeps the planner
    // from reading them through the tenant's index instead.
    let tenant = match backend {
        DatabaseBackend::Sqlite => "+d.tenant_id = $1",
        DatabaseBackend::Postgres => "d.tenant_id = $1",
    };
    let page_sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM (SELECT p.document_pk, p.effective_time, \
         p.created_at FROM document_patient_ids p WHERE {rows} \
         ORDER BY p.effective_time DESC, p.created_at DESC, p.document_pk DESC \
         LIMIT {limit} OFFSET {offset}) hits JOIN documents d ON d.id = hits.document_pk \
         WHERE {tenant} ORDER BY d.effective_time DESC, d.created_at DESC, d.id DESC"
    );
    Ok(SearchStatements {
        filter,
        count_sql,
        page_sql,
    })
}

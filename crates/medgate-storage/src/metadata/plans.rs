//! The query plans of the list queries, as the database reports them (`EXPLAIN QUERY PLAN` on
//! SQLite, `EXPLAIN` on PostgreSQL) for the very statements the store runs. Tests read them to
//! check that a list filtered by patient (or by another indexed value) is driven by an index of
//! what is filtered, never by a walk over all the rows of a tenant.

use medgate_ids::{Oid, TenantId};
use sqlx::Row;

use super::audit::audit_page_sql;
use super::certificate_requests::certificate_requests_sql;
use super::clinical;
use super::consents::consents_by_patient_sql;
use super::document_search::{search_statements, Bound};
use super::documents::SearchQuery;
use super::registry::registry_entries_by_patient_sql;
use super::{DatabaseBackend, Metadata};
use crate::error::MetadataError;

/// A list query whose plan can be read.
#[derive(Clone, Copy, Debug)]
pub enum ListQuery<'a> {
    /// The document search: its count statement, then its page statement.
    DocumentSearch {
        tenant: &'a TenantId,
        query: &'a SearchQuery,
    },
    /// One page of the tenant's audit entries concerning a patient (the access log).
    AuditByPatient {
        tenant: &'a TenantId,
        patient: &'a str,
    },
    /// The tenant's consents of one patient.
    ConsentsByPatient {
        tenant: &'a TenantId,
        extension: &'a str,
        root: Option<&'a Oid>,
    },
    /// The registry's entries of one patient.
    RegistryEntriesByPatient {
        extension: &'a str,
        root: Option<&'a Oid>,
    },
    /// One account's certificate requests.
    CertificateRequests { tenant: &'a TenantId },
    /// The clinical service: a patient's current resources of one type.
    ClinicalResourcesByPatient {
        patient: &'a str,
        resource_type: &'a str,
    },
    /// The clinical service: a patient's restrictions in force.
    ClinicalRestrictions { patient: &'a str },
    /// The clinical service: a patient's access log.
    ClinicalAccessLog { patient: &'a str },
    /// The clinical service: every version of one resource.
    ClinicalHistory {
        resource_type: &'a str,
        logical_id: &'a str,
    },
    /// The clinical service: an institution's units.
    ClinicalUnits { institution: &'a str },
    /// The clinical service: a user's matrix lines for an institution.
    ClinicalAuthorisations {
        user_name: &'a str,
        institution: &'a str,
    },
}

impl Metadata {
    /// The plan of each statement of a list query, one line per plan node (SQLite: the
    /// `detail` column, indented by depth; PostgreSQL: the lines of `EXPLAIN`), statements
    /// separated by an empty line.
    pub async fn query_plans(&self, list: ListQuery<'_>) -> Result<Vec<String>, MetadataError> {
        let mut statements: Vec<(String, Vec<Bound>)> = Vec::new();
        match list {
            ListQuery::DocumentSearch { tenant, query } => {
                let built = search_statements(self.backend, tenant, query)?;
                let (count, page) = built.filter.values_for_plans();
                let count = count.to_vec();
                let page = page.to_vec();
                statements.push((built.count_sql, count));
                statements.push((built.page_sql, page));
            }
            ListQuery::AuditByPatient { tenant, patient } => statements.push((
                audit_page_sql(true),
                vec![
                    Bound::Text(tenant.as_str().to_owned()),
                    Bound::Integer(i64::MAX),
                    Bound::Text(patient.to_owned()),
                    Bound::Integer(50),
                ],
            )),
            ListQuery::ConsentsByPatient {
                tenant,
                extension,
                root,
            } => statements.push((
                consents_by_patient_sql(),
                vec![
                    Bound::Text(tenant.as_str().to_owned()),
                    Bound::Text(extension.to_owned()),
                    Bound::Text(root.map(Oid::as_str).unwrap_or_default().to_owned()),
                    Bound::Integer(200),
                ],
            )),
            ListQuery::RegistryEntriesByPatient { extension, root } => statements.push((
                registry_entries_by_patient_sql(),
                vec![
                    Bound::Text(extension.to_owned()),
                    Bound::Text(root.map(Oid::as_str).unwrap_or_default().to_owned()),
                    Bound::Integer(100),
                ],
            )),
            ListQuery::CertificateRequests { tenant } => statements.push((
                certificate_requests_sql(),
                vec![Bound::Text(tenant.as_str().to_owned())],
            )),
            ListQuery::ClinicalResourcesByPatient {
                patient,
                resource_type,
            } => statements.push((
                clinical::resources_by_patient_sql(),
                vec![
                    Bound::Text(patient.to_owned()),
                    Bound::Text(resource_type.to_owned()),
                    Bound::Integer(1000),
                ],
            )),
            ListQuery::ClinicalRestrictions { patient } => statements.push((
                clinical::restrictions_sql().to_owned(),
                vec![Bound::Text(patient.to_owned())],
            )),
            ListQuery::ClinicalAccessLog { patient } => statements.push((
                clinical::access_log_sql().to_owned(),
                vec![Bound::Text(patient.to_owned()), Bound::Integer(100)],
            )),
            ListQuery::ClinicalHistory {
                resource_type,
                logical_id,
            } => statements.push((
                clinical::resource_history_sql(),
                vec![
                    Bound::Text(resource_type.to_owned()),
                    Bound::Text(logical_id.to_owned()),
                    Bound::Integer(1000),
                ],
            )),
            ListQuery::ClinicalUnits { institution } => statements.push((
                clinical::clinical_units_sql().to_owned(),
                vec![Bound::Text(institution.to_owned()), Bound::Integer(1000)],
            )),
            ListQuery::ClinicalAuthorisations {
                user_name,
                institution,
            } => statements.push((
                clinical::clinical_authorisations_sql().to_owned(),
                vec![
                    Bound::Text(user_name.to_owned()),
                    Bound::Text(institution.to_owned()),
                ],
            )),
        }
        let mut lines = Vec::new();
        for (sql, values) in statements {
            if !lines.is_empty() {
                lines.push(String::new());
            }
            lines.extend(self.explain(&sql, &values).await?);
        }
        Ok(lines)
    }

    async fn explain(&self, sql: &str, values: &[Bound]) -> Result<Vec<String>, MetadataError> {
        const OPERATION: &str = "read a query plan";
        let explain = match self.backend {
            DatabaseBackend::Sqlite => format!("EXPLAIN QUERY PLAN {sql}"),
            DatabaseBackend::Postgres => format!("EXPLAIN {sql}"),
        };
        let mut query = sqlx::query(&explain);
        for value in values {
            query = match value {
                Bound::Text(text) => query.bind(text.as_str()),
                Bound::Integer(number) => query.bind(*number),
            };
        }
        let rows = query
            .fetch_all(self.pool())
            .await
            .map_err(MetadataError::database(OPERATION))?;
        let mut lines = Vec::with_capacity(rows.len());
        match self.backend {
            DatabaseBackend::Sqlite => {
                // Rows are (id, parent, notused, detail); the depth comes from the parents.
                let mut depths: Vec<(i64, usize)> = Vec::new();
                for row in &rows {
                    let id: i64 = row.try_get(0).map_err(MetadataError::database(OPERATION))?;
                    let parent: i64 = row.try_get(1).map_err(MetadataError::database(OPERATION))?;
                    let detail: String =
                        row.try_get(3).map_err(MetadataError::database(OPERATION))?;
                    let depth = depths
                        .iter()
                        .find(|(known, _)| *known == parent)
                        .map_or(0, |(_, depth)| depth + 1);
                    depths.push((id, depth));
                    lines.push(format!("{}{detail}", "  ".repeat(depth)));
                }
            }
            DatabaseBackend::Postgres => {
                for row in &rows {
                    let line: String =
                        row.try_get(0).map_err(MetadataError::database(OPERATION))?;
                    lines.push(line);
                }
            }
        }
        Ok(lines)
    }
}

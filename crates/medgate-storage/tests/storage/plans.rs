//! The plans of the list queries on a populated database: each is driven by an index of what
//! it filters (the patient's identifier rows, the patient's audit entries, consents and registry
//! entries, the document type, the account), never by a walk over all the rows of a tenant
//! (`SCAN` on SQLite, `Seq Scan` on PostgreSQL, or the tenant's newest-first index tested row
//! by row for a patient). The statements explained are the ones the store runs
//! (`Metadata::query_plans`).

use medgate_ids::{Oid, TenantId};
use medgate_storage::{
    ListQuery, PatientQuery, SearchQuery, SyntheticDocuments, SYNTHETIC_PATIENT_ROOT,
};
use time::macros::datetime;

use crate::support::{create_tenant, TestDb};

/// 20,000 documents over 2,000 patients (10 each), and one patient with 1,800 documents
/// of a type no other document has.
const MANY: SyntheticDocuments<'static> = SyntheticDocuments {
    prefix: "P",
    type_code: "11490-0",
    documents: 20_000,
    patients: 2_000,
};
const HEAVY: SyntheticDocuments<'static> = SyntheticDocuments {
    prefix: "H",
    type_code: "18842-5",
    documents: 1_800,
    patients: 1,
};

/// Fills the tenant's documents, and from them audit entries, consents, registry entries,
/// other accounts and their certificate requests; then fresh statistics.
async fn populate(db: &TestDb) -> TenantId {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7001, u64::MAX / 4, 10_000_000).await;
    for set in [&MANY, &HEAVY] {
        metadata
            .preload_synthetic_documents(&tenant, set, |_| {})
            .await
            .unwrap();
    }
    let blob = if db.url.starts_with("postgres") {
        "'\\x00'::bytea"
    } else {
        "X'00'"
    };
    for statement in [
        "INSERT INTO audit_log (seq, at, tenant_id, actor, action, target, origin, details, \
         prev_hash, hash, patient) SELECT id, created_at, tenant_id, 'test', 'document.read', \
         document_id, 'cli', '', '', '', patient_id_extension FROM documents"
            .to_owned(),
        "INSERT INTO consents (id, tenant_id, patient_root, patient_extension, recipient, \
         purpose, valid_from, valid_to, status, created_at) SELECT document_id, tenant_id, \
         patient_id_root, patient_id_extension, 'r', 'p', 0, 1, 'draft', created_at \
         FROM documents"
            .to_owned(),
        "INSERT INTO registry_repositories (provider, national_repository_id, repository_url, \
         tls_serial, tls_fingerprint_sha256, wss_serial, wss_certificate_pem, status, \
         registered_at) VALUES ('0000000000007001', '1.2.3.5.1', 'https://r', 's', 'f', 's', \
         'p', 'registered', 0)"
            .to_owned(),
        "INSERT INTO registry_entries (unique_id, provider, patient_root, patient_extension, \
         creation_time, sha1, sha256, size_bytes, mime_type, submitted_at) SELECT document_id, \
         '0000000000007001', patient_id_root, patient_id_extension, effective_time, sha1, \
         sha256, size_bytes, content_type, created_at FROM documents"
            .to_owned(),
        "INSERT INTO tenants (id, status, valid_from, valid_to, quota_bytes, max_files, \
         created_at) SELECT substr(content_key, 1, 16), 'active', 0, 1, 0, 0, 0 \
         FROM documents WHERE id % 10 = 0"
            .to_owned(),
        format!(
            "INSERT INTO certificate_requests (tenant_id, kind, csr_der, subject, \
             key_description, status, submitted_at, submitted_by) \
             SELECT substr(content_key, 1, 16), 'TLS', {blob}, 'CN=x', 'P-256', 'issued', \
             created_at, 'test' FROM documents WHERE id % 10 = 0"
        ),
        format!(
            "INSERT INTO certificate_requests (tenant_id, kind, csr_der, subject, \
             key_description, status, submitted_at, submitted_by) \
             SELECT tenant_id, 'WSS', {blob}, 'CN=x', 'P-256', 'issued', created_at, 'test' \
             FROM documents WHERE id <= 3"
        ),
        "ANALYZE".to_owned(),
    ] {
        db.execute_raw(&statement).await;
    }
    tenant
}

/// Fails unless the plan uses every index of `required` and none of `forbidden`, and walks no
/// table or index whole (but the registry's few repositories).
fn assert_plan(what: &str, plan: &[String], required: &[&str], forbidden: &[&str]) {
    let shown = plan.join("\n");
    println!("{what}:\n{shown}\n");
    for line in plan {
        let trimmed = line.trim_start().trim_start_matches("->").trim_start();
        // The registry's repositories are a handful of rows, joined to the entries found;
        // `hits` is a page of a patient's documents, read from the index up to its limit.
        let small = trimmed == "SCAN r"
            || trimmed.contains("registry_repositories")
            || trimmed == "SCAN hits";
        assert!(
            small || (!trimmed.starts_with("SCAN ") && !trimmed.contains("Seq Scan")),
            "{what}: a whole table or index is walked ({trimmed}):\n{shown}"
        );
    }
    for index in required {
        assert!(
            shown.contains(index),
            "{what}: the plan does not use {index}:\n{shown}"
        );
    }
    for index in forbidden {
        assert!(
            !shown.contains(index),
            "{what}: the plan walks {index}:\n{shown}"
        );
    }
}

fn by_patient(extension: String, root: Option<Oid>) -> SearchQuery {
    SearchQuery {
        patient: Some(PatientQuery { extension, root }),
        ..SearchQuery::default()
    }
}

pub async fn search_by_patient_is_driven_by_the_patients_identifier_rows(db: TestDb) {
    let tenant = populate(&db).await;
    let pesel = Oid::parse(SYNTHETIC_PATIENT_ROOT).unwrap();
    let mut with_filters = by_patient(MANY.patient(42), Some(pesel.clone()));
    with_filters.effective_from = Some(datetime!(2016-01-01 00:00 UTC));
    with_filters.effective_to = Some(datetime!(2024-01-01 00:00 UTC));
    with_filters.type_code = Some("11490-0".to_owned());
    with_filters.title = Some("karta".to_owned());
    let mut heavy_in_dates = by_patient(HEAVY.patient(0), None);
    heavy_in_dates.effective_from = Some(datetime!(2016-01-01 00:00 UTC));
    let cases = [
        ("10 documents, any root", by_patient(MANY.patient(42), None)),
        ("1,800 documents, any root", by_patient(HEAVY.patient(0), None)),
        ("1,800 documents, PESEL root", by_patient(HEAVY.patient(0), Some(pesel))),
        ("1,800 documents, from a date", heavy_in_dates),
        ("10 documents and every other filter", with_filters),
    ];
    for (what, query) in cases {
        let patient_and_dates_only = query.type_code.is_none() && query.title.is_none();
        // The store finds what the plan says it reads.
        let page = db.metadata.search_documents(&tenant, &query).await.unwrap();
        assert!(page.total > 0, "{what}: nothing found");
        let plan = db
            .metadata
            .query_plans(ListQuery::DocumentSearch {
                tenant: &tenant,
                query: &query,
            })
            .await
            .unwrap();
        assert_plan(
            what,
            &plan,
            &["document_patient_ids_newest_first"],
            &["documents_newest_first", "documents_by_type_newest_first"],
        );
        if patient_and_dates_only {
            // The page is read in the index's order and stops at its limit: only the page's
            // own rows are sorted (SQLite: a temporary B-tree at the top level, never inside
            // the subquery; PostgreSQL: one sort, of the documents read).
            let shown = plan.join("\n");
            let nested_sqlite_sort = plan
                .iter()
                .any(|line| line.starts_with(' ') && line.contains("TEMP B-TREE FOR ORDER BY"));
            let postgres_sorts = plan.iter().filter(|line| line.contains("Sort Key")).count();
            let sorts_identifier_rows = plan.iter().any(|line| line.contains("Sort Key: p."));
            assert!(
                !nested_sqlite_sort && postgres_sorts <= 1 && !sorts_identifier_rows,
                "{what}: the patient's rows are sorted, not read in index order:\n{shown}"
            );
            // Nor are they made distinct first: the count reads the index alone (SQLite
            // builds a temporary B-tree for a `count(DISTINCT)`, PostgreSQL a `Unique`).
            let distinct = plan.iter().any(|line| {
                let step = line.trim_start().trim_start_matches("->").trim_start();
                line.contains("DISTINCT") || step.starts_with("Unique")
            });
            assert!(
                !distinct,
                "{what}: the patient's rows are made distinct first:\n{shown}"
            );
        }
    }
}

pub async fn archive_filters_use_their_indexes(db: TestDb) {
    let tenant = populate(&db).await;
    let by_type = SearchQuery {
        type_code: Some(HEAVY.type_code.to_owned()),
        ..SearchQuery::default()
    };
    let by_dates = SearchQuery {
        effective_from: Some(datetime!(2020-03-01 00:00 UTC)),
        effective_to: Some(datetime!(2020-03-02 00:00 UTC)),
        ..SearchQuery::default()
    };
    for (what, query, index) in [
        ("by type", by_type, "documents_by_type_newest_first"),
        ("by dates", by_dates, "documents_newest_first"),
    ] {
        let plan = db
            .metadata
            .query_plans(ListQuery::DocumentSearch {
                tenant: &tenant,
                query: &query,
            })
            .await
            .unwrap();
        assert_plan(what, &plan, &[index], &[]);
    }
}

pub async fn patient_and_account_lists_use_their_indexes(db: TestDb) {
    let tenant = populate(&db).await;
    let metadata = &db.metadata;
    let heavy = HEAVY.patient(0);
    let few = MANY.patient(42);
    let pesel = Oid::parse(SYNTHETIC_PATIENT_ROOT).unwrap();
    for patient in [&heavy, &few] {
        let plan = metadata
            .query_plans(ListQuery::AuditByPatient {
                tenant: &tenant,
                patient,
            })
            .await
            .unwrap();
        assert_plan("audit by patient", &plan, &["audit_log_by_patient"], &[]);
        for root in [None, Some(&pesel)] {
            let plan = metadata
                .query_plans(ListQuery::ConsentsByPatient {
                    tenant: &tenant,
                    extension: patient,
                    root,
                })
                .await
                .unwrap();
            assert_plan("consents by patient", &plan, &["consents_by_patient"], &[]);
            let plan = metadata
                .query_plans(ListQuery::RegistryEntriesByPatient {
                    extension: patient,
                    root,
                })
                .await
                .unwrap();
            assert_plan(
                "registry entries by patient",
                &plan,
                &["registry_entries_by_patient"],
                &[],
            );
        }
    }
    let plan = metadata
        .query_plans(ListQuery::CertificateRequests { tenant: &tenant })
        .await
        .unwrap();
    assert_plan(
        "certificate requests",
        &plan,
        &["certificate_requests_by_tenant"],
        &[],
    );
}

//! Documents: insert with quota checks, get, search, tenant isolation, delete.

use medgate_ids::TenantId;
use medgate_storage::{
    DocumentId, Metadata, MetadataError, PatientIdentifier, PatientQuery, SearchQuery, Usage,
};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::support::{create_tenant, document, oid, pesel_id, TestDb, PESEL_ROOT};

const PESEL: &str = "44051401359";
const OTHER_PESEL: &str = "02070803628";

fn extensions(page: &medgate_storage::DocumentPage) -> Vec<&str> {
    page.documents
        .iter()
        .map(|stored| stored.metadata.document_id.extension().unwrap_or_default())
        .collect()
}

/// The effective time as the document wrote it is kept beside the instant, read back by a
/// get, a search and a search by patient; rows without it read `None`; the date filters
/// compare the instant.
pub async fn effective_time_as_written_round_trips(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5015, 1_000_000, 100).await;
    let mut written = document("TZ-1", PESEL, datetime!(2014-09-18 00:04:00 UTC), 100);
    written.effective_time_as_written = Some("201409171904-0500".to_owned());
    let bare = document("TZ-2", PESEL, datetime!(2014-09-17 12:00:00 UTC), 100);
    for record in [&written, &bare] {
        let stored = metadata.insert_document(&tenant, record).await.unwrap();
        assert_eq!(&stored.metadata, record);
    }
    let read = metadata
        .get_document(&tenant, &written.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.metadata.effective_time_as_written.as_deref(),
        Some("201409171904-0500")
    );
    assert_eq!(read.metadata.effective_time, datetime!(2014-09-17 19:04:00 -05:00));
    let read = metadata
        .get_document(&tenant, &bare.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.metadata.effective_time_as_written, None);

    let patient = Some(PatientQuery {
        extension: PESEL.to_owned(),
        root: None,
    });
    for by_patient in [None, patient] {
        let page = metadata
            .search_documents(
                &tenant,
                &SearchQuery {
                    patient: by_patient.clone(),
                    ..SearchQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(extensions(&page), ["TZ-1", "TZ-2"], "newest instant first");
        assert_eq!(page.documents[0].metadata, written);
        assert_eq!(page.documents[1].metadata, bare);
        // Up to 2014-09-17 23:59:59 UTC: not 2014-09-18T00:04Z, though it writes the 17th.
        let page = metadata
            .search_documents(
                &tenant,
                &SearchQuery {
                    patient: by_patient,
                    effective_to: Some(datetime!(2014-09-17 23:59:59 UTC)),
                    ..SearchQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(extensions(&page), ["TZ-2"]);
    }
}

/// A header naming the patient's number twice, under a root below and one above the main
/// one, is one document to a search by the number alone (counted and listed once) and to a
/// search under each root; a page still holds the patient's other documents.
pub async fn a_number_under_two_roots_is_found_once(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5016, 1_000_000, 100).await;
    let (below, above) = ("1.2.616.1", "2.16.840.1.113883.3.4424.2.7.26.17");
    let mut twice = document("TWICE", PESEL, datetime!(2022-03-01 10:00:00 UTC), 100);
    twice.other_patient_ids = [below, above]
        .into_iter()
        .map(|root| PatientIdentifier {
            root: oid(root),
            extension: PESEL.to_owned(),
        })
        .collect();
    metadata.insert_document(&tenant, &twice).await.unwrap();
    let once = document("ONCE", PESEL, datetime!(2021-03-01 10:00:00 UTC), 100);
    metadata.insert_document(&tenant, &once).await.unwrap();
    let search = |root: Option<&str>| SearchQuery {
        patient: Some(PatientQuery {
            extension: PESEL.to_owned(),
            root: root.map(oid),
        }),
        ..SearchQuery::default()
    };
    let page = metadata.search_documents(&tenant, &search(None)).await.unwrap();
    assert_eq!((page.total, extensions(&page)), (2, vec!["TWICE", "ONCE"]));
    for root in [below, above] {
        let page = metadata.search_documents(&tenant, &search(Some(root))).await.unwrap();
        assert_eq!((page.total, extensions(&page)), (1, vec!["TWICE"]), "{root}");
    }
    let page = metadata.search_documents(&tenant, &search(Some(PESEL_ROOT))).await.unwrap();
    assert_eq!((page.total, extensions(&page)), (2, vec!["TWICE", "ONCE"]));
}

pub async fn insert_and_get_round_trip(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 100).await;
    let mut record = document("0001", PESEL, datetime!(2021-06-15 08:41:00 +02:00), 1234);
    record.other_patient_ids = vec![PatientIdentifier {
        root: oid("2.16.840.1.113883.3.4424.2.7.26.17"),
        extension: "K-77".to_owned(),
    }];
    let before = OffsetDateTime::now_utc().unix_timestamp();
    let stored = metadata.insert_document(&tenant, &record).await.unwrap();
    assert_eq!(stored.metadata, record);
    assert_eq!(stored.tenant, tenant);
    assert_eq!(stored.indexed_at, None);
    assert!(stored.created_at.unix_timestamp() >= before);

    let read = metadata
        .get_document(&tenant, &record.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, stored);
    assert_eq!(
        metadata
            .get_document(
                &tenant,
                &DocumentId::parse("2.16.840.1.113883.3.4424.2.7.26.7.1^9999").unwrap()
            )
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        metadata.usage(&tenant).await.unwrap(),
        Usage {
            bytes: 1234,
            files: 1
        }
    );

    // The extra identifier finds the document as well.
    let page = metadata
        .search_documents(
            &tenant,
            &SearchQuery {
                patient: Some(PatientQuery {
                    extension: "K-77".to_owned(),
                    root: None,
                }),
                ..SearchQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.documents[0], stored);
}

pub async fn duplicate_document_id_is_refused_but_a_new_version_is_accepted(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 100).await;
    let first = document("0001", PESEL, datetime!(2021-06-15 08:41 UTC), 100);
    metadata.insert_document(&tenant, &first).await.unwrap();

    let mut duplicate = document("0001", PESEL, datetime!(2021-06-16 08:41 UTC), 100);
    duplicate.set_id = None;
    let refused = metadata
        .insert_document(&tenant, &duplicate)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::DocumentExists(ref id) if *id == first.document_id),
        "{refused:?}"
    );

    // Version 2 of the same set, with its own document id, is a separate document.
    let mut second_version = document("0002", PESEL, datetime!(2021-06-17 08:41 UTC), 100);
    second_version.set_id = first.set_id.clone();
    second_version.version = Some(2);
    metadata
        .insert_document(&tenant, &second_version)
        .await
        .unwrap();

    // The same version of the same set again is refused.
    let mut same_version = document("0003", PESEL, datetime!(2021-06-18 08:41 UTC), 100);
    same_version.set_id = first.set_id.clone();
    same_version.version = Some(2);
    let refused = metadata
        .insert_document(&tenant, &same_version)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            MetadataError::DocumentVersionExists { version: 2, .. }
        ),
        "{refused:?}"
    );

    assert_eq!(
        metadata.usage(&tenant).await.unwrap(),
        Usage {
            bytes: 200,
            files: 2
        }
    );
    let page = metadata
        .search_documents(&tenant, &SearchQuery::default())
        .await
        .unwrap();
    assert_eq!(extensions(&page), vec!["0002", "0001"]);
}

pub async fn search_by_patient_and_dates_is_paged_newest_first(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 100).await;
    // Inserted out of order; two share an effective time (then the later insert is newer).
    let records = [
        document("a", PESEL, datetime!(2021-03-01 10:00 UTC), 10),
        document("b", PESEL, datetime!(2021-06-15 08:41 UTC), 10),
        document("c", PESEL, datetime!(2021-01-10 12:00 UTC), 10),
        document("d", OTHER_PESEL, datetime!(2021-04-01 09:00 UTC), 10),
        document("e", PESEL, datetime!(2021-05-20 07:30 UTC), 10),
        document("f", PESEL, datetime!(2021-03-01 10:00 UTC), 10),
    ];
    for record in &records {
        metadata.insert_document(&tenant, record).await.unwrap();
        // Distinct creation seconds make the tie-break on creation time observable.
        if record.document_id.extension() == Some("a") {
            tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        }
    }

    let by_patient = |limit, offset| SearchQuery {
        patient: Some(PatientQuery {
            extension: PESEL.to_owned(),
            root: Some(oid(PESEL_ROOT)),
        }),
        limit,
        offset,
        ..SearchQuery::default()
    };
    let all = metadata
        .search_documents(&tenant, &by_patient(50, 0))
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(extensions(&all), vec!["b", "e", "f", "a", "c"]);

    let first_page = metadata
        .search_documents(&tenant, &by_patient(2, 0))
        .await
        .unwrap();
    let second_page = metadata
        .search_documents(&tenant, &by_patient(2, 2))
        .await
        .unwrap();
    let last_page = metadata
        .search_documents(&tenant, &by_patient(2, 4))
        .await
        .unwrap();
    assert_eq!(
        (first_page.total, extensions(&first_page)),
        (5, vec!["b", "e"])
    );
    assert_eq!(
        (second_page.total, extensions(&second_page)),
        (5, vec!["f", "a"])
    );
    assert_eq!((last_page.total, extensions(&last_page)), (5, vec!["c"]));

    // A root that does not match finds nothing, even with the right extension.
    let wrong_root = SearchQuery {
        patient: Some(PatientQuery {
            extension: PESEL.to_owned(),
            root: Some(oid("1.2.3")),
        }),
        ..SearchQuery::default()
    };
    assert_eq!(
        metadata
            .search_documents(&tenant, &wrong_root)
            .await
            .unwrap()
            .total,
        0
    );

    // Date range: both ends inclusive.
    let range = SearchQuery {
        effective_from: Some(datetime!(2021-03-01 10:00 UTC)),
        effective_to: Some(datetime!(2021-05-20 07:30 UTC)),
        ..SearchQuery::default()
    };
    let in_range = metadata.search_documents(&tenant, &range).await.unwrap();
    assert_eq!(extensions(&in_range), vec!["e", "d", "f", "a"]);

    let patient_and_range = SearchQuery {
        patient: Some(PatientQuery {
            extension: OTHER_PESEL.to_owned(),
            root: None,
        }),
        ..range
    };
    let found = metadata
        .search_documents(&tenant, &patient_and_range)
        .await
        .unwrap();
    assert_eq!((found.total, extensions(&found)), (1, vec!["d"]));
}

async fn found(metadata: &Metadata, tenant: &TenantId, query: SearchQuery) -> Vec<String> {
    let page = metadata.search_documents(tenant, &query).await.unwrap();
    extensions(&page).into_iter().map(str::to_owned).collect()
}

pub async fn search_by_type_author_and_title_ignores_case(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 100).await;
    let mut discharge = document("1", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    discharge.title = Some("Karta informacyjna leczenia szpitalnego".to_owned());
    let mut referral = document("2", PESEL, datetime!(2021-06-16 08:41 UTC), 10);
    referral.type_code = Some("57133-1".to_owned());
    referral.title = Some("Informacja dla lekarza kierującego 100% _pilne_".to_owned());
    referral.author_name = Some("Jan Nowak".to_owned());
    referral.author_id = Some("1234567".to_owned());
    metadata.insert_document(&tenant, &discharge).await.unwrap();
    metadata.insert_document(&tenant, &referral).await.unwrap();

    let query = SearchQuery::default;

    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                type_code: Some("57133-1".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                type_code: Some("11490-0".into()),
                ..query()
            }
        )
        .await,
        ["1"]
    );
    // Polish capitals fold to lower case too.
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                author: Some("ŻÓŁKIEW".into()),
                ..query()
            }
        )
        .await,
        ["1"]
    );
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                author: Some("nowak".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    // The author's id is searched as well.
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                author: Some("34567".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                title: Some("LECZENIA SZPITALNEGO".into()),
                ..query()
            }
        )
        .await,
        ["1"]
    );
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                title: Some("kierujące".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    // LIKE wildcards in the search text are taken literally.
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                title: Some("100%".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    assert_eq!(
        found(
            metadata,
            &tenant,
            SearchQuery {
                title: Some("_pilne_".into()),
                ..query()
            }
        )
        .await,
        ["2"]
    );
    assert!(found(
        metadata,
        &tenant,
        SearchQuery {
            title: Some("%".into()),
            author: Some("Żółkiewska".into()),
            ..query()
        }
    )
    .await
    .is_empty());
    assert!(found(
        metadata,
        &tenant,
        SearchQuery {
            title: Some("informacja_dla".into()),
            ..query()
        }
    )
    .await
    .is_empty());
    assert_eq!(found(metadata, &tenant, query()).await, ["2", "1"]);
}

pub async fn tenant_cannot_get_or_find_another_tenants_document(db: TestDb) {
    let metadata = &db.metadata;
    let tenant_a = create_tenant(metadata, 1, 1_000_000, 100).await;
    let tenant_b = create_tenant(metadata, 2, 1_000_000, 100).await;
    let record = document("0001", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    metadata.insert_document(&tenant_a, &record).await.unwrap();

    assert_eq!(
        metadata
            .get_document(&tenant_b, &record.document_id)
            .await
            .unwrap(),
        None
    );
    let by_patient = SearchQuery {
        patient: Some(PatientQuery {
            extension: PESEL.to_owned(),
            root: None,
        }),
        ..SearchQuery::default()
    };
    let page = metadata
        .search_documents(&tenant_b, &by_patient)
        .await
        .unwrap();
    assert_eq!((page.total, page.documents.len()), (0, 0));
    assert_eq!(
        metadata
            .search_documents(&tenant_b, &SearchQuery::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        metadata
            .delete_document(&tenant_b, &record.document_id)
            .await
            .unwrap(),
        None
    );
    assert!(!metadata
        .mark_document_indexed(&tenant_b, &record.document_id, OffsetDateTime::now_utc())
        .await
        .unwrap());

    // B may store a document with the same id: ids are unique per tenant only.
    let mut same_id = document("0001", OTHER_PESEL, datetime!(2021-07-01 08:00 UTC), 10);
    same_id.set_id = None;
    metadata.insert_document(&tenant_b, &same_id).await.unwrap();
    let a_view = metadata
        .get_document(&tenant_a, &record.document_id)
        .await
        .unwrap()
        .unwrap();
    let b_view = metadata
        .get_document(&tenant_b, &record.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a_view.metadata.patient, pesel_id(PESEL));
    assert_eq!(b_view.metadata.patient, pesel_id(OTHER_PESEL));
    assert_eq!(
        metadata
            .search_documents(&tenant_b, &by_patient)
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        metadata.usage(&tenant_a).await.unwrap(),
        Usage {
            bytes: 10,
            files: 1
        }
    );
}

pub async fn quota_refusal_stores_nothing(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 100).await;
    metadata
        .insert_document(
            &tenant,
            &document("1", PESEL, datetime!(2021-06-15 08:41 UTC), 600),
        )
        .await
        .unwrap();
    let too_big = document("2", PESEL, datetime!(2021-06-16 08:41 UTC), 401);
    let refused = metadata
        .insert_document(&tenant, &too_big)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            MetadataError::QuotaExceeded {
                used: 600,
                requested: 401,
                limit: 1000
            }
        ),
        "{refused:?}"
    );
    assert_eq!(
        metadata
            .get_document(&tenant, &too_big.document_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        metadata
            .search_documents(&tenant, &SearchQuery::default())
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        metadata.usage(&tenant).await.unwrap(),
        Usage {
            bytes: 600,
            files: 1
        }
    );
    // Exactly filling the quota is allowed.
    metadata
        .insert_document(
            &tenant,
            &document("3", PESEL, datetime!(2021-06-16 08:41 UTC), 400),
        )
        .await
        .unwrap();
    assert_eq!(
        metadata.usage(&tenant).await.unwrap(),
        Usage {
            bytes: 1000,
            files: 2
        }
    );
}

pub async fn file_limit_refusal_stores_nothing(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 2).await;
    for extension in ["1", "2"] {
        metadata
            .insert_document(
                &tenant,
                &document(extension, PESEL, datetime!(2021-06-15 08:41 UTC), 10),
            )
            .await
            .unwrap();
    }
    let third = document("3", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    let refused = metadata.insert_document(&tenant, &third).await.unwrap_err();
    assert!(
        matches!(refused, MetadataError::FileLimitReached { limit: 2 }),
        "{refused:?}"
    );
    assert_eq!(
        metadata
            .get_document(&tenant, &third.document_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        metadata.usage(&tenant).await.unwrap(),
        Usage {
            bytes: 20,
            files: 2
        }
    );
}

pub async fn concurrent_inserts_cannot_exceed_the_quota(db: TestDb) {
    let metadata = &db.metadata;
    // Room for five documents of 100 bytes, and (separately) for four files.
    let by_bytes = create_tenant(metadata, 1, 550, 1000).await;
    let by_files = create_tenant(metadata, 2, 1_000_000, 4).await;
    for (tenant, allowed) in [(by_bytes, 5u64), (by_files, 4u64)] {
        let mut tasks = Vec::new();
        for index in 0..12 {
            let metadata = metadata.clone();
            let tenant = tenant.clone();
            tasks.push(tokio::spawn(async move {
                let record = document(
                    &format!("{index}"),
                    PESEL,
                    datetime!(2021-06-15 08:41 UTC),
                    100,
                );
                metadata.insert_document(&tenant, &record).await
            }));
        }
        let mut accepted = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => accepted += 1,
                Err(
                    MetadataError::QuotaExceeded { .. } | MetadataError::FileLimitReached { .. },
                ) => {}
                Err(other) => panic!("unexpected error: {other:?}"),
            }
        }
        assert_eq!(accepted, allowed, "tenant {tenant}");
        assert_eq!(
            metadata.usage(&tenant).await.unwrap(),
            Usage {
                bytes: 100 * allowed,
                files: allowed
            }
        );
        assert_eq!(
            metadata
                .search_documents(&tenant, &SearchQuery::default())
                .await
                .unwrap()
                .total,
            allowed
        );
    }
}

pub async fn delete_returns_the_content_key_and_frees_the_quota(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 1).await;
    let record = document("1", PESEL, datetime!(2021-06-15 08:41 UTC), 1000);
    metadata.insert_document(&tenant, &record).await.unwrap();
    assert!(metadata
        .content_key_in_use(&record.content_key)
        .await
        .unwrap());

    let key = metadata
        .delete_document(&tenant, &record.document_id)
        .await
        .unwrap();
    assert_eq!(key, Some(record.content_key.clone()));
    assert_eq!(
        metadata
            .get_document(&tenant, &record.document_id)
            .await
            .unwrap(),
        None
    );
    assert!(!metadata
        .content_key_in_use(&record.content_key)
        .await
        .unwrap());
    assert_eq!(metadata.usage(&tenant).await.unwrap(), Usage::default());
    let by_patient = SearchQuery {
        patient: Some(PatientQuery {
            extension: PESEL.to_owned(),
            root: None,
        }),
        ..SearchQuery::default()
    };
    assert_eq!(
        metadata
            .search_documents(&tenant, &by_patient)
            .await
            .unwrap()
            .total,
        0
    );
    // Deleting again finds nothing.
    assert_eq!(
        metadata
            .delete_document(&tenant, &record.document_id)
            .await
            .unwrap(),
        None
    );

    // The freed quota and file slot can be used again, even by the same document id.
    metadata
        .insert_document(
            &tenant,
            &document("1", PESEL, datetime!(2021-06-16 08:41 UTC), 1000),
        )
        .await
        .unwrap();
}

pub async fn mark_indexed_records_the_time(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 10).await;
    let record = document("1", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    metadata.insert_document(&tenant, &record).await.unwrap();
    let at = datetime!(2021-06-20 12:00 UTC);
    assert!(metadata
        .mark_document_indexed(&tenant, &record.document_id, at)
        .await
        .unwrap());
    let stored = metadata
        .get_document(&tenant, &record.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.indexed_at, Some(at));
}

/// Group commit: documents stored with their audit entries and reads' audit entries, all at
/// once, share transactions; a refused document (a duplicate) is undone alone, its audit
/// entry with it, and the others are stored; the chain stays whole.
pub async fn concurrent_writes_share_commits_and_a_refusal_stays_alone(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 1000).await;
    let first = document("dup", PESEL, datetime!(2021-06-15 08:41 UTC), 100);
    metadata.insert_document(&tenant, &first).await.unwrap();
    let before = metadata.write_statistics();

    let mut tasks = Vec::new();
    for index in 0..48 {
        let metadata = metadata.clone();
        let tenant = tenant.clone();
        tasks.push(tokio::spawn(async move {
            let name = if index == 17 { "dup".to_owned() } else { format!("d{index}") };
            let record = document(&name, PESEL, datetime!(2021-06-15 08:41 UTC), 100);
            let audit = crate::audit::entry(Some(5010), "document.put", &name);
            if index % 3 == 0 && index != 17 {
                metadata.append_audit(&audit).await.map(|_| ())
            } else {
                metadata
                    .insert_document_audited(&tenant, &record, &audit)
                    .await
                    .map(|_| ())
            }
        }));
    }
    let mut refused = Vec::new();
    for (index, task) in tasks.into_iter().enumerate() {
        if let Err(error) = task.await.unwrap() {
            refused.push((index, error));
        }
    }
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, 17);
    assert!(matches!(refused[0].1, MetadataError::DocumentExists(_)), "{:?}", refused[0].1);

    // 1 + 31 documents (48 tasks: 16 audit-only, the duplicate refused).
    let stored = metadata.search_documents(&tenant, &SearchQuery::default()).await.unwrap();
    assert_eq!(stored.total, 1 + 31);
    assert_eq!(metadata.usage(&tenant).await.unwrap(), Usage { bytes: 3200, files: 32 });
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.entries_verified, 47, "the refused document's entry is undone");

    let after = metadata.write_statistics();
    let writes = after.writes - before.writes;
    let batches = after.batches - before.batches;
    assert_eq!(writes, 48);
    assert!(batches < writes, "48 writes at once took {batches} transactions");
    assert!(after.largest_batch > 1);
}

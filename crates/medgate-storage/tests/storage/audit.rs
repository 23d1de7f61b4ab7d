//! The audit log: the hash chain, its verification, and detection of tampering.

use std::net::{IpAddr, Ipv4Addr};

use medgate_storage::{
    AuditAnchor, AuditEntry, AuditFault, AuditOrigin, AuditProblem, Metadata, NewAuditEntry,
    Sha256Digest,
};

use crate::support::{tenant_id, TestDb};

pub fn entry(tenant: Option<u64>, action: &str, target: &str) -> NewAuditEntry {
    NewAuditEntry {
        tenant: tenant.map(tenant_id),
        actor: "CN=0000000000005010 TLS".to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        origin: AuditOrigin::Address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
        details: "{\"size\":1234}".to_owned(),
        patient: None,
    }
}

async fn append_five(metadata: &Metadata) {
    for index in 1..=5 {
        metadata
            .append_audit(&entry(
                Some(5010),
                "document.store",
                &format!("doc-{index}"),
            ))
            .await
            .unwrap();
    }
}

pub async fn appended_entries_form_a_verifiable_chain(db: TestDb) {
    let metadata = &db.metadata;
    let empty = metadata.verify_audit().await.unwrap();
    assert!(empty.is_intact());
    assert_eq!(empty.entries_verified, 0);

    let first = metadata
        .append_audit(&entry(None, "tenant.create", "0000000000005010"))
        .await
        .unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.prev_hash, Sha256Digest::ZERO);
    assert_eq!(first.computed_hash(), first.hash);
    let mut cli = entry(Some(5010), "tenant.activate", "0000000000005010");
    cli.origin = AuditOrigin::Cli;
    let second = metadata.append_audit(&cli).await.unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(second.prev_hash, first.hash);
    assert_ne!(second.hash, first.hash);

    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.entries_verified, 2);
    // What was stored reads back identically, origin included.
    let listed = metadata.list_audit_all(10).await.unwrap();
    assert_eq!(listed, vec![second, first]);
}

pub async fn tampered_target_is_reported_with_its_seq(db: TestDb) {
    append_five(&db.metadata).await;
    assert!(db.metadata.verify_audit().await.unwrap().is_intact());
    assert_eq!(
        db.execute_raw("UPDATE audit_log SET target = 'doc-x' WHERE seq = 3")
            .await,
        1
    );
    let verification = db.metadata.verify_audit().await.unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 3,
            fault: AuditFault::ContentAltered
        })
    );
    assert_eq!(verification.entries_verified, 2);
}

pub async fn deleted_entry_is_reported_with_its_seq(db: TestDb) {
    append_five(&db.metadata).await;
    assert_eq!(
        db.execute_raw("DELETE FROM audit_log WHERE seq = 2").await,
        1
    );
    let verification = db.metadata.verify_audit().await.unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 2,
            fault: AuditFault::Missing
        })
    );
    let message = verification.problem.unwrap().to_string();
    assert!(
        message.contains("audit entry 2") && message.contains("removed"),
        "{message}"
    );
}

pub async fn deleted_last_entry_is_reported(db: TestDb) {
    append_five(&db.metadata).await;
    assert_eq!(
        db.execute_raw("DELETE FROM audit_log WHERE seq = 5").await,
        1
    );
    let verification = db.metadata.verify_audit().await.unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 5,
            fault: AuditFault::Missing
        })
    );
}

pub async fn swapped_entries_are_reported(db: TestDb) {
    append_five(&db.metadata).await;
    db.execute_raw("UPDATE audit_log SET seq = -seq WHERE seq IN (2, 3)")
        .await;
    db.execute_raw("UPDATE audit_log SET seq = 5 + seq WHERE seq IN (-2, -3)")
        .await;
    let verification = db.metadata.verify_audit().await.unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 2,
            fault: AuditFault::ContentAltered
        })
    );
}

pub async fn concurrent_appends_keep_one_valid_chain(db: TestDb) {
    let mut tasks = Vec::new();
    for index in 0..24 {
        let metadata = db.metadata.clone();
        tasks.push(tokio::spawn(async move {
            metadata
                .append_audit(&entry(
                    Some(1 + index % 3),
                    "document.read",
                    &format!("doc-{index}"),
                ))
                .await
                .unwrap()
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=24).collect::<Vec<_>>());
    let verification = db.metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.entries_verified, 24);
}

pub async fn list_is_per_tenant_and_newest_first(db: TestDb) {
    let metadata = &db.metadata;
    metadata
        .append_audit(&entry(Some(1), "document.store", "a"))
        .await
        .unwrap();
    metadata
        .append_audit(&entry(Some(2), "document.store", "b"))
        .await
        .unwrap();
    metadata
        .append_audit(&entry(None, "tenant.create", "c"))
        .await
        .unwrap();
    metadata
        .append_audit(&entry(Some(1), "document.delete", "a"))
        .await
        .unwrap();

    let first_tenant = metadata.list_audit(&tenant_id(1), 10).await.unwrap();
    let summary: Vec<_> = first_tenant
        .iter()
        .map(|entry| (entry.seq, entry.action.as_str()))
        .collect();
    assert_eq!(summary, vec![(4, "document.delete"), (1, "document.store")]);
    assert_eq!(
        metadata.list_audit(&tenant_id(1), 1).await.unwrap().len(),
        1
    );
    assert_eq!(
        metadata.list_audit(&tenant_id(3), 10).await.unwrap(),
        vec![]
    );
    assert_eq!(metadata.list_audit_all(10).await.unwrap().len(), 4);
}

fn patient_entry(tenant: u64, action: &str, target: &str, patient: &str) -> NewAuditEntry {
    NewAuditEntry {
        patient: Some(patient.to_owned()),
        ..entry(Some(tenant), action, target)
    }
}

pub async fn patient_entries_verify_and_list_by_patient(db: TestDb) {
    let metadata = &db.metadata;
    // A chain mixing entries without a patient (encoding v1) and with one (v2).
    metadata
        .append_audit(&entry(Some(1), "document.search", "q"))
        .await
        .unwrap();
    let read = metadata
        .append_audit(&patient_entry(1, "document.read", "a", "44051401359"))
        .await
        .unwrap();
    assert_eq!(read.patient.as_deref(), Some("44051401359"));
    assert_eq!(read.computed_hash(), read.hash);
    // The patient is part of the hash: the same entry without it hashes differently.
    let without = medgate_storage::AuditEntry {
        patient: None,
        ..read.clone()
    };
    assert_ne!(without.computed_hash(), read.hash);
    metadata
        .append_audit(&patient_entry(1, "document.render", "b", "02070803628"))
        .await
        .unwrap();
    metadata
        .append_audit(&patient_entry(2, "document.read", "c", "44051401359"))
        .await
        .unwrap();
    metadata
        .append_audit(&patient_entry(1, "document.delete", "a", "44051401359"))
        .await
        .unwrap();
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.entries_verified, 5);

    let summary = |entries: Vec<medgate_storage::AuditEntry>| -> Vec<(u64, String)> {
        entries
            .into_iter()
            .map(|entry| (entry.seq, entry.action))
            .collect()
    };
    // Only this tenant's entries about this patient, newest first.
    let patient = metadata
        .list_audit_page(&tenant_id(1), Some("44051401359"), None, 10)
        .await
        .unwrap();
    assert_eq!(
        summary(patient),
        vec![(5, "document.delete".to_owned()), (2, "document.read".to_owned())]
    );
    // Paging: `before` is the last seq of the previous page.
    let first_page = metadata
        .list_audit_page(&tenant_id(1), None, None, 2)
        .await
        .unwrap();
    assert_eq!(
        first_page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![5, 3]
    );
    let second_page = metadata
        .list_audit_page(&tenant_id(1), None, Some(3), 2)
        .await
        .unwrap();
    assert_eq!(
        second_page.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert!(metadata
        .list_audit_page(&tenant_id(3), Some("44051401359"), None, 10)
        .await
        .unwrap()
        .is_empty());
}

pub async fn setting_or_clearing_the_patient_is_detected(db: TestDb) {
    let metadata = &db.metadata;
    metadata
        .append_audit(&entry(Some(1), "document.search", "q"))
        .await
        .unwrap();
    metadata
        .append_audit(&patient_entry(1, "document.read", "a", "44051401359"))
        .await
        .unwrap();
    assert!(metadata.verify_audit().await.unwrap().is_intact());

    db.execute_raw("UPDATE audit_log SET patient = '02070803628' WHERE seq = 1")
        .await;
    assert_eq!(
        metadata.verify_audit().await.unwrap().problem,
        Some(AuditProblem {
            seq: 1,
            fault: AuditFault::ContentAltered
        })
    );
    db.execute_raw("UPDATE audit_log SET patient = NULL WHERE seq = 1")
        .await;
    assert!(metadata.verify_audit().await.unwrap().is_intact());
    db.execute_raw("UPDATE audit_log SET patient = NULL WHERE seq = 2")
        .await;
    assert_eq!(
        metadata.verify_audit().await.unwrap().problem,
        Some(AuditProblem {
            seq: 2,
            fault: AuditFault::ContentAltered
        })
    );
}

/// Inserts a row behind the store's back, with any hashes.
async fn insert_row(db: &TestDb, seq: i64, tenant: Option<u64>, prev_hash: &str, hash: &str) {
    let tenant = tenant.map_or("NULL".to_owned(), |t| format!("'{}'", tenant_id(t)));
    assert_eq!(
        db.execute_raw(&format!(
            "INSERT INTO audit_log (seq, at, tenant_id, actor, action, target, origin, details, \
             patient, prev_hash, hash) VALUES ({seq}, 1700000000, {tenant}, 'forger', \
             'document.read', 'x', 'cli', '', NULL, '{prev_hash}', '{hash}')"
        ))
        .await,
        1
    );
}

/// A forged row that links properly: its hash is right for its fields and its previous hash
/// is a real entry's, as someone who knows the encoding would make it.
fn well_forged(seq: u64, prev: &AuditEntry) -> AuditEntry {
    let mut forged = AuditEntry {
        seq,
        at: prev.at,
        tenant: prev.tenant.clone(),
        actor: "forger".to_owned(),
        action: "document.read".to_owned(),
        target: "x".to_owned(),
        origin: AuditOrigin::Cli,
        details: String::new(),
        patient: None,
        prev_hash: prev.hash,
        hash: Sha256Digest::ZERO,
    };
    forged.hash = forged.computed_hash();
    forged
}

async fn insert_entry(db: &TestDb, entry: &AuditEntry) {
    insert_row(
        db,
        entry.seq as i64,
        Some(5010),
        &entry.prev_hash.to_hex(),
        &entry.hash.to_hex(),
    )
    .await;
    // The other fields as well_forged set them; the tenant is 5010 as in append_five.
    assert_eq!(entry.tenant, Some(tenant_id(5010)));
}

pub async fn rows_past_the_head_are_foreign_and_appends_go_on(db: TestDb) {
    let metadata = &db.metadata;
    append_five(metadata).await;
    let fifth = metadata.list_audit_all(1).await.unwrap().remove(0);
    // A row with made-up hashes right after the head, where the next append would go.
    insert_row(&db, 6, Some(5010), "00", "not a hash").await;
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.foreign_rows, vec![6]);
    assert_eq!(verification.foreign_row_count, 1);
    assert_eq!(verification.entries_verified, 5);
    assert!(!verification.is_intact());

    // The next append neither fails on it nor builds on it.
    let sixth = metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-6"))
        .await
        .unwrap();
    assert_eq!(sixth.seq, 7);
    assert_eq!(sixth.prev_hash, fifth.hash);
    assert_eq!(metadata.audit_head().await.unwrap().seq, 7);
    // The unreadable row does not break listings either.
    let listed = metadata.list_audit(&tenant_id(5010), 10).await.unwrap();
    assert_eq!(listed.first().map(|e| e.seq), Some(7));
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.foreign_rows, vec![6]);
    assert_eq!(verification.entries_verified, 6);

    // A well-forged row past the head (right hash, linked to the head) is foreign too, and
    // stays foreign once the chain has gone past it.
    let forged = well_forged(8, &sixth);
    insert_entry(&db, &forged).await;
    assert_eq!(
        metadata.verify_audit().await.unwrap().foreign_rows,
        vec![6, 8]
    );
    let seventh = metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-7"))
        .await
        .unwrap();
    assert_eq!((seventh.seq, seventh.prev_hash), (9, sixth.hash));
    // Rows below 1 are outside the chain as well.
    insert_row(&db, -3, None, "00", "00").await;
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.foreign_rows, vec![-3, 6, 8]);
    assert_eq!(verification.foreign_row_count, 3);
    assert_eq!(verification.entries_verified, 7);

    // Removing the foreign rows leaves gaps the links bridge: intact.
    db.execute_raw("DELETE FROM audit_log WHERE seq IN (-3, 6, 8)")
        .await;
    let verification = metadata.verify_audit().await.unwrap();
    assert!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.entries_verified, 7);

    // A real entry removed next to a gap is still named.
    db.execute_raw("DELETE FROM audit_log WHERE seq = 7").await;
    assert_eq!(
        metadata.verify_audit().await.unwrap().problem,
        Some(AuditProblem {
            seq: 6,
            fault: AuditFault::Missing
        })
    );
}

pub async fn foreign_rows_before_damage_are_listed_and_damage_is_named(db: TestDb) {
    let metadata = &db.metadata;
    append_five(metadata).await;
    insert_row(&db, 6, Some(5010), "00", "00").await;
    metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-6"))
        .await
        .unwrap();
    metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-7"))
        .await
        .unwrap();
    // Entry 8 altered: the problem is named, the foreign row before it still listed.
    db.execute_raw("UPDATE audit_log SET target = 'other' WHERE seq = 8")
        .await;
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 8,
            fault: AuditFault::ContentAltered
        })
    );
    assert_eq!(verification.foreign_rows, vec![6]);
    assert_eq!(verification.entries_verified, 6);
}

pub async fn an_anchor_catches_a_truncated_tail_with_a_rewritten_head(db: TestDb) {
    let metadata = &db.metadata;
    append_five(metadata).await;
    let entries = metadata.list_audit_all(10).await.unwrap();
    let at = |seq: u64| entries.iter().find(|e| e.seq == seq).unwrap().clone();
    let anchor = |seq: u64| AuditAnchor {
        seq,
        hash: at(seq).hash,
    };
    let checkpoint = anchor(5);
    assert!(metadata
        .verify_audit_against(Some(&checkpoint))
        .await
        .unwrap()
        .is_intact());
    // An anchor with a hash the chain never had is reported.
    let wrong = AuditAnchor {
        seq: 5,
        hash: Sha256Digest::of(b"other"),
    };
    assert_eq!(
        metadata
            .verify_audit_against(Some(&wrong))
            .await
            .unwrap()
            .problem,
        Some(AuditProblem {
            seq: 5,
            fault: AuditFault::CheckpointMismatch
        })
    );

    // Someone with the database drops entries 4 and 5, rewrites entry 3 with a correct hash
    // and moves the head: the chain alone is consistent again.
    db.execute_raw("DELETE FROM audit_log WHERE seq > 3").await;
    let mut rewritten = at(3);
    rewritten.target = "nothing to see".to_owned();
    rewritten.hash = rewritten.computed_hash();
    db.execute_raw(&format!(
        "UPDATE audit_log SET target = 'nothing to see', hash = '{}' WHERE seq = 3",
        rewritten.hash.to_hex()
    ))
    .await;
    db.execute_raw(&format!(
        "UPDATE audit_chain_head SET last_seq = 3, last_hash = '{}'",
        rewritten.hash.to_hex()
    ))
    .await;
    let alone = metadata.verify_audit().await.unwrap();
    assert!(alone.is_intact(), "{alone:?}");
    assert_eq!(alone.entries_verified, 3);

    // The anchor of entry 5 finds the chain ending early…
    let verification = metadata
        .verify_audit_against(Some(&checkpoint))
        .await
        .unwrap();
    assert_eq!(
        verification.problem,
        Some(AuditProblem {
            seq: 5,
            fault: AuditFault::Truncated { chain_end: 3 }
        })
    );
    let message = verification.problem.unwrap().to_string();
    assert!(
        message.contains("audit entry 5") && message.contains("ends at entry 3"),
        "{message}"
    );
    // …one of entry 3 finds its other hash, one of entry 2 finds nothing wrong.
    assert_eq!(
        metadata
            .verify_audit_against(Some(&anchor(3)))
            .await
            .unwrap()
            .problem,
        Some(AuditProblem {
            seq: 3,
            fault: AuditFault::CheckpointMismatch
        })
    );
    assert!(metadata
        .verify_audit_against(Some(&anchor(2)))
        .await
        .unwrap()
        .is_intact());
}

pub async fn an_anchor_on_a_foreign_row_is_a_mismatch(db: TestDb) {
    let metadata = &db.metadata;
    append_five(metadata).await;
    let fifth = metadata.list_audit_all(1).await.unwrap().remove(0);
    let forged = well_forged(6, &fifth);
    insert_entry(&db, &forged).await;
    metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-6"))
        .await
        .unwrap();
    // A checkpoint of seq 6 with the forged row's hash: seq 6 is not in the chain.
    let anchor = AuditAnchor {
        seq: 6,
        hash: forged.hash,
    };
    assert_eq!(
        metadata
            .verify_audit_against(Some(&anchor))
            .await
            .unwrap()
            .problem,
        Some(AuditProblem {
            seq: 6,
            fault: AuditFault::CheckpointMismatch
        })
    );
}

pub async fn a_row_at_the_largest_seq_does_not_stop_appends(db: TestDb) {
    let metadata = &db.metadata;
    append_five(metadata).await;
    insert_row(&db, i64::MAX, None, "00", "00").await;
    insert_row(&db, 6, None, "00", "00").await;
    // No number past the highest row: the first free one after the head is taken.
    let next = metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-6"))
        .await
        .unwrap();
    assert_eq!(next.seq, 7);
    let again = metadata
        .append_audit(&entry(Some(5010), "document.read", "doc-7"))
        .await
        .unwrap();
    assert_eq!((again.seq, again.prev_hash), (8, next.hash));
    let verification = metadata.verify_audit().await.unwrap();
    assert_eq!(verification.problem, None);
    assert_eq!(verification.foreign_rows, vec![6, i64::MAX]);
    assert_eq!(verification.entries_verified, 7);
}

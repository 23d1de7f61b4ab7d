//! The audit log: the hash chain, its verification, and detection of tampering.

use std::net::{IpAddr, Ipv4Addr};

use medgate_storage::{
    AuditFault, AuditOrigin, AuditProblem, Metadata, NewAuditEntry, Sha256Digest,
};

use crate::support::{tenant_id, TestDb};

fn entry(tenant: Option<u64>, action: &str, target: &str) -> NewAuditEntry {
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

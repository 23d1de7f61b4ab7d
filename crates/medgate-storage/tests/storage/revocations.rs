//! Certificate revocations shared by the nodes of a deployment.

use medgate_storage::RevocationGeneration;
use time::{Duration, OffsetDateTime};

use crate::support::TestDb;

pub async fn revocations_change_the_generation_and_are_recorded_once(db: TestDb) {
    let metadata = &db.metadata;
    assert_eq!(
        metadata.revocation_generation().await.unwrap(),
        RevocationGeneration::default()
    );
    let when = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
    let (first, new) = metadata.record_revocation("0a:bc:01", "key-compromise", when).await.unwrap();
    assert!(new);
    let after_one = metadata.revocation_generation().await.unwrap();
    assert_eq!(after_one, RevocationGeneration { count: 1, highest_seq: first });

    // The same serial in another spelling is the same revocation.
    let (again, new) = metadata.record_revocation("ABC01", "superseded", when).await.unwrap();
    assert!(!new);
    assert_eq!(again, first);
    assert_eq!(metadata.revocation_generation().await.unwrap(), after_one);

    let (second, _) = metadata.record_revocation("FF", "unspecified", when).await.unwrap();
    assert!(second > first);
    let all = metadata.revoked_serials().await.unwrap();
    let serials: Vec<&str> = all.iter().map(|r| r.serial_hex.as_str()).collect();
    assert_eq!(serials, ["ABC01", "FF"]);
    assert_eq!(all[0].reason, "key-compromise");
    assert_eq!(all[0].revoked_at, when);
}

pub async fn nodes_report_what_they_applied(db: TestDb) {
    let metadata = &db.metadata;
    let before = OffsetDateTime::now_utc() - Duration::seconds(2);
    metadata.acknowledge_revocations("node-a", 0).await.unwrap();
    metadata.acknowledge_revocations("node-b", 3).await.unwrap();
    metadata.acknowledge_revocations("node-a", 4).await.unwrap();
    let status = metadata.node_revocation_status(before).await.unwrap();
    let applied: Vec<(&str, i64)> = status.iter().map(|s| (s.node_id.as_str(), s.applied_seq)).collect();
    assert_eq!(applied, [("node-a", 4), ("node-b", 3)]);
    // Nodes not heard from since the given time are left out.
    let later = OffsetDateTime::now_utc() + Duration::seconds(60);
    assert!(metadata.node_revocation_status(later).await.unwrap().is_empty());
}

//! The signature replay guard.

use medgate_storage::{MetadataError, Sha256Digest};
use time::{Duration, OffsetDateTime};

use crate::support::TestDb;

pub async fn second_use_within_the_window_is_refused(db: TestDb) {
    let metadata = &db.metadata;
    let signature = Sha256Digest::of(b"signature bytes");
    let expires_at = OffsetDateTime::now_utc() + Duration::minutes(5);
    metadata
        .remember_signature("0000000000005010 WSS", &signature, expires_at)
        .await
        .unwrap();

    let replay = metadata
        .remember_signature("0000000000005010 WSS", &signature, expires_at)
        .await
        .unwrap_err();
    assert!(
        matches!(replay, MetadataError::SignatureReplayed { ref key_id } if key_id == "0000000000005010 WSS"),
        "{replay:?}"
    );
    // The same signature bytes under another key, and another signature under the same key,
    // are first uses.
    metadata
        .remember_signature("0000000000005011 WSS", &signature, expires_at)
        .await
        .unwrap();
    metadata
        .remember_signature(
            "0000000000005010 WSS",
            &Sha256Digest::of(b"other"),
            expires_at,
        )
        .await
        .unwrap();
    // Nothing is expired yet.
    assert_eq!(metadata.purge_expired_signatures().await.unwrap(), 0);
}

pub async fn expired_signatures_can_be_purged_and_reused(db: TestDb) {
    let metadata = &db.metadata;
    let past = OffsetDateTime::now_utc() - Duration::seconds(10);
    let future = OffsetDateTime::now_utc() + Duration::minutes(5);
    let expired = Sha256Digest::of(b"old");
    metadata
        .remember_signature("key", &expired, past)
        .await
        .unwrap();
    // Its window is over, so it is accepted again (and now remembered until `future`).
    metadata
        .remember_signature("key", &expired, future)
        .await
        .unwrap();
    assert!(metadata
        .remember_signature("key", &expired, future)
        .await
        .is_err());

    metadata
        .remember_signature("key", &Sha256Digest::of(b"a"), past)
        .await
        .unwrap();
    metadata
        .remember_signature("key", &Sha256Digest::of(b"b"), past)
        .await
        .unwrap();
    assert_eq!(metadata.purge_expired_signatures().await.unwrap(), 2);
    assert_eq!(metadata.purge_expired_signatures().await.unwrap(), 0);
    // The live one survived the purge.
    assert!(metadata
        .remember_signature("key", &expired, future)
        .await
        .is_err());
}

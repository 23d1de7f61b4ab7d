//! The organisational structure blob.

use medgate_storage::MetadataError;

use crate::support::{create_tenant, tenant_id, TestDb};

pub async fn structure_is_stored_with_increasing_revisions(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 10).await;
    assert_eq!(metadata.load_organisation(&tenant).await.unwrap(), None);

    let first_json = r#"{"provider":{"name":"Przychodnia","regon9":"010334578"}}"#;
    let first = metadata
        .store_organisation(&tenant, first_json)
        .await
        .unwrap();
    assert_eq!((first.revision, first.json.as_str()), (1, first_json));

    let second_json = r#"{"provider":{"name":"Przychodnia Zdrowie","regon9":"010334578"}}"#;
    let second = metadata
        .store_organisation(&tenant, second_json)
        .await
        .unwrap();
    assert_eq!(second.revision, 2);
    assert_eq!(
        metadata.load_organisation(&tenant).await.unwrap(),
        Some(second)
    );

    let refused = metadata
        .store_organisation(&tenant_id(99), first_json)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::TenantNotFound(_)),
        "{refused:?}"
    );
}

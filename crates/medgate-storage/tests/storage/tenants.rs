//! Tenants: creation, duplicates, status, plan, activation and OID arc allocation.

use std::collections::HashSet;

use medgate_storage::{
    Metadata, MetadataError, NewTenant, OidArc, TenantActivation, TenantStatus, Usage,
};

use crate::support::{create_tenant, oid, plan, tenant_id, TestDb};

pub async fn create_get_list_and_refuse_duplicate(db: TestDb) {
    let metadata = &db.metadata;
    let created = metadata
        .create_tenant(&NewTenant {
            id: tenant_id(5010),
            plan: plan(20_010 * 1024 * 1024, 10_000),
        })
        .await
        .unwrap();
    assert_eq!(created.id.as_str(), "0000000000005010");
    assert_eq!(created.status, TenantStatus::Created);
    assert_eq!(created.plan, plan(20_010 * 1024 * 1024, 10_000));
    assert_eq!(created.domain_id, None);
    assert_eq!(created.national_repository_id, None);

    assert_eq!(
        metadata.get_tenant(&tenant_id(5010)).await.unwrap(),
        Some(created.clone())
    );
    assert_eq!(metadata.get_tenant(&tenant_id(5011)).await.unwrap(), None);
    assert_eq!(
        metadata.usage(&tenant_id(5010)).await.unwrap(),
        Usage::default()
    );

    let duplicate = metadata
        .create_tenant(&NewTenant {
            id: tenant_id(5010),
            plan: plan(1, 1),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(duplicate, MetadataError::TenantExists(ref id) if *id == tenant_id(5010)),
        "{duplicate:?}"
    );
    // The duplicate did not change the original.
    assert_eq!(
        metadata.get_tenant(&tenant_id(5010)).await.unwrap(),
        Some(created)
    );

    create_tenant(metadata, 42, 1, 1).await;
    let ids: Vec<_> = metadata
        .list_tenants()
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| tenant.id)
        .collect();
    assert_eq!(ids, vec![tenant_id(42), tenant_id(5010)]);
}

pub async fn status_plan_activation_and_national_repository_id(db: TestDb) {
    let metadata = &db.metadata;
    let id = create_tenant(metadata, 5010, 1000, 10).await;

    let activation = TenantActivation {
        provider_oid: oid("2.16.840.1.113883.3.4424.2.7.26"),
        domain_id: oid("1.3.6.1.4.1.31367.1.2.20210609.83245.589.5010.16"),
        repository_id: oid("1.3.6.1.4.1.31367.1.4.20210609.83245.589.5010.9"),
    };
    let active = metadata.activate_tenant(&id, &activation).await.unwrap();
    assert_eq!(active.status, TenantStatus::Active);
    assert_eq!(active.provider_oid, Some(activation.provider_oid.clone()));
    assert_eq!(active.domain_id, Some(activation.domain_id.clone()));
    assert_eq!(active.repository_id, Some(activation.repository_id.clone()));

    let suspended = metadata
        .set_tenant_status(&id, TenantStatus::Suspended)
        .await
        .unwrap();
    assert_eq!(suspended.status, TenantStatus::Suspended);

    let new_plan = plan(5000, 50);
    let replanned = metadata.set_tenant_plan(&id, &new_plan).await.unwrap();
    assert_eq!(replanned.plan, new_plan);

    let national = oid("2.16.840.1.113883.3.4424.7.24.8879");
    let registered = metadata
        .set_national_repository_id(&id, Some(&national))
        .await
        .unwrap();
    assert_eq!(registered.national_repository_id, Some(national));
    let deregistered = metadata
        .set_national_repository_id(&id, None)
        .await
        .unwrap();
    assert_eq!(deregistered.national_repository_id, None);

    let stored = metadata.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(stored, deregistered);
    assert_eq!(stored.domain_id, Some(activation.domain_id));

    let missing = metadata
        .set_tenant_status(&tenant_id(1), TenantStatus::Active)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, MetadataError::TenantNotFound(_)),
        "{missing:?}"
    );
}

pub async fn activation_refuses_a_domain_id_taken_by_another_tenant(db: TestDb) {
    let metadata = &db.metadata;
    let first = create_tenant(metadata, 1, 1000, 10).await;
    let second = create_tenant(metadata, 2, 1000, 10).await;
    let activation = TenantActivation {
        provider_oid: oid("2.16.840.1.113883.3.4424.2.7.26"),
        domain_id: oid("1.3.6.1.4.1.31367.1.2.1"),
        repository_id: oid("1.3.6.1.4.1.31367.1.4.1"),
    };
    metadata.activate_tenant(&first, &activation).await.unwrap();
    let refused = metadata
        .activate_tenant(
            &second,
            &TenantActivation {
                repository_id: oid("1.3.6.1.4.1.31367.1.4.2"),
                ..activation.clone()
            },
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::IdentifierInUse(ref id) if *id == activation.domain_id),
        "{refused:?}"
    );
    let second = metadata.get_tenant(&second).await.unwrap().unwrap();
    assert_eq!(second.status, TenantStatus::Created);
    assert_eq!(second.domain_id, None);
}

pub async fn concurrent_arc_allocations_never_repeat(db: TestDb) {
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let metadata = db.metadata.clone();
        tasks.push(tokio::spawn(async move {
            (
                metadata.allocate_arc(OidArc::Domain).await.unwrap(),
                metadata.allocate_arc(OidArc::Repository).await.unwrap(),
            )
        }));
    }
    let mut domains = HashSet::new();
    let mut repositories = HashSet::new();
    for task in tasks {
        let (domain, repository) = task.await.unwrap();
        assert!(
            domains.insert(domain),
            "domain arc {domain} handed out twice"
        );
        assert!(
            repositories.insert(repository),
            "repository arc {repository} handed out twice"
        );
    }
    assert_eq!(domains, (1..=20).collect());
    assert_eq!(repositories, (1..=20).collect());
}

pub async fn connecting_again_keeps_the_data(db: TestDb) {
    let id = create_tenant(&db.metadata, 7, 100, 1).await;
    // A second store on the same database runs the migrations again (nothing to do) and
    // sees the same data: what happens when the server restarts or a second node starts.
    let again = Metadata::connect(&db.url).await.unwrap();
    assert_eq!(again.get_tenant(&id).await.unwrap().unwrap().id, id);
    again.close().await;
}

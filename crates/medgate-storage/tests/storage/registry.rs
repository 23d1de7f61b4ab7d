//! The national registry (repositories, entries) and the repository's national credentials.

use medgate_storage::{
    EntryStored, Metadata, NationalCredentials, RegistryEntry, RegistryRepositoryStatus,
    RepositoryRegistration, Sha1Digest, Sha256Digest,
};
use time::macros::datetime;

use crate::support::{create_tenant, document, oid, pesel_id, tenant_id, TestDb};

const PESEL: &str = "44051401359";
const OTHER_PESEL: &str = "02070803628";
const ROOT: &str = "2.999.7.5";

fn registration(provider: u64, serial: &str) -> RepositoryRegistration {
    RepositoryRegistration {
        provider: tenant_id(provider),
        name: Some(format!("Repository {provider}")),
        repository_url: format!("https://repo-{provider}.example.org:8443"),
        tls_serial: format!("{serial}01"),
        tls_fingerprint: Sha256Digest::of(format!("tls {serial}").as_bytes()),
        wss_serial: format!("{serial}02"),
        wss_certificate_pem: format!(
            "-----BEGIN CERTIFICATE-----\n{serial}\n-----END CERTIFICATE-----\n"
        ),
    }
}

fn entry(extension: &str, pesel: &str, day: u8) -> RegistryEntry {
    let content = format!("document {extension}");
    RegistryEntry {
        unique_id: format!("2.16.840.1.113883.3.4424.2.7.26.7.1^{extension}"),
        patient: pesel_id(pesel),
        class_code: Some("KIF".to_owned()),
        type_code: Some("11490-0".to_owned()),
        type_system: Some("2.16.840.1.113883.6.1".to_owned()),
        type_display: Some("Karta informacyjna".to_owned()),
        creation_time: datetime!(2021-06-01 08:00 UTC) + time::Duration::days(i64::from(day)),
        sha1: Sha1Digest::of(content.as_bytes()),
        sha256: Sha256Digest::of(content.as_bytes()),
        size_bytes: 1234,
        author: Some("Łucja Żółkiewska".to_owned()),
        title: Some(format!("Karta {extension}")),
        confidentiality: Some("N".to_owned()),
        mime_type: "text/xml".to_owned(),
    }
}

async fn register(metadata: &Metadata, provider: u64, serial: &str) -> String {
    metadata
        .register_repository(&registration(provider, serial), &oid(ROOT))
        .await
        .unwrap()
        .repository
        .national_repository_id
        .as_str()
        .to_owned()
}

pub async fn registering_again_keeps_the_national_id(db: TestDb) {
    let metadata = &db.metadata;
    let first = metadata
        .register_repository(&registration(5010, "AA"), &oid(ROOT))
        .await
        .unwrap();
    assert!(first.new_id);
    assert_eq!(
        first.repository.national_repository_id.as_str(),
        "2.999.7.5.1"
    );
    assert_eq!(
        first.repository.status,
        RegistryRepositoryStatus::Registered
    );
    let other = register(metadata, 7020, "BB").await;
    assert_eq!(other, "2.999.7.5.2");

    // New certificates, same provider: same id, certificates replaced.
    let again = metadata
        .register_repository(&registration(5010, "CC"), &oid(ROOT))
        .await
        .unwrap();
    assert!(!again.new_id);
    assert_eq!(
        again.repository.national_repository_id.as_str(),
        "2.999.7.5.1"
    );
    assert_eq!(again.repository.tls_serial, "CC01");
    let stored = metadata
        .get_registry_repository(&tenant_id(5010))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, again.repository);
    assert_eq!(
        stored.wss_certificate_pem,
        registration(5010, "CC").wss_certificate_pem
    );
    assert_eq!(
        metadata
            .get_registry_repository(&tenant_id(9))
            .await
            .unwrap(),
        None
    );

    // Deregistered, then registered again: still the same id, and the next new provider
    // continues the counter.
    let (gone, withdrawn) = metadata
        .deregister_repository(&tenant_id(5010))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.status, RegistryRepositoryStatus::Deregistered);
    assert!(gone.deregistered_at.is_some());
    assert_eq!(withdrawn, 0);
    assert_eq!(
        metadata
            .deregister_repository(&tenant_id(5010))
            .await
            .unwrap(),
        None
    );
    assert_eq!(register(metadata, 5010, "DD").await, "2.999.7.5.1");
    let back = metadata
        .get_registry_repository(&tenant_id(5010))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.status, RegistryRepositoryStatus::Registered);
    assert_eq!(back.deregistered_at, None);
    assert_eq!(register(metadata, 8030, "EE").await, "2.999.7.5.3");
}

pub async fn entries_are_found_by_patient_across_repositories(db: TestDb) {
    let metadata = &db.metadata;
    let first = register(metadata, 5010, "AA").await;
    let second = register(metadata, 7020, "BB").await;
    let a = entry("A", PESEL, 1);
    let b = entry("B", PESEL, 5);
    let c = entry("C", OTHER_PESEL, 3);
    assert_eq!(
        metadata
            .put_registry_entry(&tenant_id(5010), &a)
            .await
            .unwrap(),
        EntryStored::Created
    );
    assert_eq!(
        metadata
            .put_registry_entry(&tenant_id(7020), &b)
            .await
            .unwrap(),
        EntryStored::Created
    );
    assert_eq!(
        metadata
            .put_registry_entry(&tenant_id(7020), &c)
            .await
            .unwrap(),
        EntryStored::Created
    );

    let found = metadata
        .find_registry_entries(PESEL, None, 100)
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|f| f.entry.unique_id.as_str()).collect();
    assert_eq!(
        ids,
        [b.unique_id.as_str(), a.unique_id.as_str()],
        "newest first"
    );
    assert_eq!(found[0].entry, b);
    assert_eq!(found[0].repository_unique_id.as_str(), second);
    assert_eq!(
        found[0].repository_url,
        "https://repo-7020.example.org:8443"
    );
    assert_eq!(found[1].repository_unique_id.as_str(), first);
    assert_eq!(found[1].provider, tenant_id(5010));
    // By root: the PESEL root matches, another root does not.
    assert_eq!(
        metadata
            .find_registry_entries(PESEL, Some(&oid("2.16.840.1.113883.3.4424.1.1.616")), 100)
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(metadata
        .find_registry_entries(PESEL, Some(&oid("2.999.1")), 100)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        metadata
            .find_registry_entries(PESEL, None, 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(metadata
        .find_registry_entries("000", None, 100)
        .await
        .unwrap()
        .is_empty());
    let one = metadata
        .get_registry_entry(&c.unique_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.entry, c);
    assert_eq!(metadata.get_registry_entry("1.2^none").await.unwrap(), None);
}

pub async fn an_entry_belongs_to_the_repository_that_indexed_it(db: TestDb) {
    let metadata = &db.metadata;
    register(metadata, 5010, "AA").await;
    register(metadata, 7020, "BB").await;
    let a = entry("A", PESEL, 1);
    metadata
        .put_registry_entry(&tenant_id(5010), &a)
        .await
        .unwrap();

    // The same repository replaces its entry.
    let mut changed = a.clone();
    changed.title = Some("Poprawiona karta".to_owned());
    assert_eq!(
        metadata
            .put_registry_entry(&tenant_id(5010), &changed)
            .await
            .unwrap(),
        EntryStored::Replaced
    );
    // Another repository can neither replace nor withdraw it.
    let mut hijack = a.clone();
    hijack.title = Some("hijacked".to_owned());
    assert_eq!(
        metadata
            .put_registry_entry(&tenant_id(7020), &hijack)
            .await
            .unwrap(),
        EntryStored::OwnedByAnotherRepository
    );
    assert!(!metadata
        .withdraw_registry_entry(&tenant_id(7020), &a.unique_id)
        .await
        .unwrap());
    let stored = metadata
        .get_registry_entry(&a.unique_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.entry, changed);
    assert_eq!(stored.provider, tenant_id(5010));

    assert!(metadata
        .withdraw_registry_entry(&tenant_id(5010), &a.unique_id)
        .await
        .unwrap());
    assert!(!metadata
        .withdraw_registry_entry(&tenant_id(5010), &a.unique_id)
        .await
        .unwrap());
    assert!(metadata
        .find_registry_entries(PESEL, None, 100)
        .await
        .unwrap()
        .is_empty());
}

pub async fn deregistering_withdraws_the_repositorys_entries(db: TestDb) {
    let metadata = &db.metadata;
    register(metadata, 5010, "AA").await;
    register(metadata, 7020, "BB").await;
    metadata
        .put_registry_entry(&tenant_id(5010), &entry("A", PESEL, 1))
        .await
        .unwrap();
    metadata
        .put_registry_entry(&tenant_id(5010), &entry("B", PESEL, 2))
        .await
        .unwrap();
    metadata
        .put_registry_entry(&tenant_id(7020), &entry("C", PESEL, 3))
        .await
        .unwrap();
    let (_, withdrawn) = metadata
        .deregister_repository(&tenant_id(5010))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(withdrawn, 2);
    let left = metadata
        .find_registry_entries(PESEL, None, 100)
        .await
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].provider, tenant_id(7020));
    // Registering again does not bring withdrawn entries back.
    register(metadata, 5010, "CC").await;
    assert_eq!(
        metadata
            .find_registry_entries(PESEL, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
}

fn credentials(national_id: &str, serial: &str) -> NationalCredentials {
    NationalCredentials {
        national_repository_id: oid(national_id),
        registry_url: "https://registry.example.org:9443".to_owned(),
        tls_certificate_pem: format!("TLS CERT {serial}"),
        tls_key_pem: format!("ENCRYPTED TLS KEY {serial}"),
        tls_serial: format!("{serial}01"),
        wss_certificate_pem: format!("WSS CERT {serial}"),
        wss_key_pem: format!("ENCRYPTED WSS KEY {serial}"),
        wss_serial: format!("{serial}02"),
        not_after: datetime!(2027-01-01 00:00 UTC),
        registered_at: datetime!(2020-01-01 00:00 UTC),
    }
}

pub async fn national_credentials_are_saved_replaced_and_removed_with_the_id(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1_000_000, 100).await;
    let other = create_tenant(metadata, 7020, 1_000_000, 100).await;
    assert_eq!(metadata.national_credentials(&tenant).await.unwrap(), None);

    let saved = metadata
        .save_national_credentials(&tenant, &credentials("2.999.7.5.1", "AA"))
        .await
        .unwrap();
    assert_eq!(saved.national_repository_id, Some(oid("2.999.7.5.1")));
    let stored = metadata
        .national_credentials(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tls_key_pem, "ENCRYPTED TLS KEY AA");
    assert_eq!(stored.wss_serial, "AA02");
    assert!(
        stored.registered_at > datetime!(2024-01-01 00:00 UTC),
        "set by the store"
    );
    assert!(
        !format!("{stored:?}").contains("KEY"),
        "no keys in debug output"
    );

    // Registering again replaces the credentials.
    metadata
        .save_national_credentials(&tenant, &credentials("2.999.7.5.1", "BB"))
        .await
        .unwrap();
    let stored = metadata
        .national_credentials(&tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.tls_certificate_pem, "TLS CERT BB");
    assert_eq!(metadata.national_credentials(&other).await.unwrap(), None);

    // Removal clears the id and the indexed marks of this tenant's documents only.
    let mine = document("1", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    let not_indexed = document("2", PESEL, datetime!(2021-06-16 08:41 UTC), 10);
    let theirs = document("3", PESEL, datetime!(2021-06-15 08:41 UTC), 10);
    metadata.insert_document(&tenant, &mine).await.unwrap();
    metadata
        .insert_document(&tenant, &not_indexed)
        .await
        .unwrap();
    metadata.insert_document(&other, &theirs).await.unwrap();
    let at = datetime!(2021-06-20 12:00 UTC);
    metadata
        .mark_document_indexed(&tenant, &mine.document_id, at)
        .await
        .unwrap();
    metadata
        .mark_document_indexed(&other, &theirs.document_id, at)
        .await
        .unwrap();
    let (updated, unindexed) = metadata.remove_national_credentials(&tenant).await.unwrap();
    assert_eq!(unindexed, 1);
    assert_eq!(updated.national_repository_id, None);
    assert_eq!(metadata.national_credentials(&tenant).await.unwrap(), None);
    let mine = metadata
        .get_document(&tenant, &mine.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.indexed_at, None);
    let theirs = metadata
        .get_document(&other, &theirs.document_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(theirs.indexed_at, Some(at));

    // Credentials of an unknown tenant are refused and nothing is stored.
    let unknown = tenant_id(99);
    assert!(metadata
        .save_national_credentials(&unknown, &credentials("2.999.7.5.9", "CC"))
        .await
        .is_err());
    assert_eq!(metadata.national_credentials(&unknown).await.unwrap(), None);
}

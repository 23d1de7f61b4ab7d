//! Document type policies: the seed's defaults and tenant overrides.

use medgate_storage::{default_document_type, MetadataError, DEFAULT_DOCUMENT_TYPES};

use crate::support::{create_tenant, TestDb};

pub async fn defaults_come_from_the_seed(db: TestDb) {
    let tenant = create_tenant(&db.metadata, 5010, 1000, 10).await;
    let types = db.metadata.list_document_types(&tenant).await.unwrap();
    assert_eq!(types.len(), DEFAULT_DOCUMENT_TYPES.len());
    assert!(types.iter().all(|policy| !policy.overridden));

    let policy = |code: &str| types.iter().find(|policy| policy.code == code).unwrap();
    // The seed's own codes and names.
    assert_eq!(
        policy("ZBD").name,
        "Skierowanie na badania diagnostyczne wysłane do P1"
    );
    assert_eq!(
        policy("KIF").name,
        "Karta informacyjna leczenia szpitalnego"
    );
    assert_eq!(policy("ILK").name, "Informacja dla lekarza kierującego");
    assert_eq!(
        policy("ZPS").name,
        "Wynik weryfikacji zlecenia na zaopatrzenie w wyroby medyczne"
    );
    assert_eq!(
        policy("ZPA").name,
        "Anulowanie zlecenia na zaopatrzenie w wyroby medyczne"
    );
    assert_eq!(
        policy("ZPO").name,
        "Zlecenie na zaopatrzenie w wyroby medyczne"
    );
    // E-prescriptions and e-referrals processed by P1 are not archived automatically.
    // (SKD is the e-referral for a diagnostic test sent to P1; ZBD is one downloaded from P1,
    // which the seed archives like every other document.)
    for code in ["REC", "SKS", "SKH", "SKD"] {
        assert!(
            !policy(code).archive_automatically,
            "{code} must not be archived by default"
        );
    }
    // Everything else is.
    for code in [
        "ZBD", "KIF", "ILK", "DAN", "WBL", "WBD", "DWP", "ZAL", "UDM", "KOP", "ZPS", "ZPA", "ZPO",
    ] {
        assert!(
            policy(code).archive_automatically,
            "{code} must be archived by default"
        );
    }
    assert!(default_document_type("NOPE").is_none());
}

pub async fn override_and_reset(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 5010, 1000, 10).await;
    let other = create_tenant(metadata, 5011, 1000, 10).await;
    let changed = metadata
        .set_document_type(&tenant, "REC", true, 7)
        .await
        .unwrap();
    assert!(changed.overridden && changed.archive_automatically);
    assert_eq!(changed.keep_local_days, 7);
    // Setting again replaces the override.
    metadata
        .set_document_type(&tenant, "KIF", false, 90)
        .await
        .unwrap();
    metadata
        .set_document_type(&tenant, "KIF", false, 120)
        .await
        .unwrap();

    let types = metadata.list_document_types(&tenant).await.unwrap();
    let rec = types.iter().find(|policy| policy.code == "REC").unwrap();
    assert_eq!(
        (
            rec.archive_automatically,
            rec.keep_local_days,
            rec.overridden
        ),
        (true, 7, true)
    );
    let kif = types.iter().find(|policy| policy.code == "KIF").unwrap();
    assert_eq!(
        (kif.archive_automatically, kif.keep_local_days),
        (false, 120)
    );
    assert_eq!(types.iter().filter(|policy| policy.overridden).count(), 2);

    // Another tenant still sees the defaults.
    let other_types = metadata.list_document_types(&other).await.unwrap();
    assert!(other_types.iter().all(|policy| !policy.overridden));

    let reset = metadata.reset_document_type(&tenant, "REC").await.unwrap();
    assert!(!reset.archive_automatically && !reset.overridden);
    let types = metadata.list_document_types(&tenant).await.unwrap();
    assert_eq!(types.iter().filter(|policy| policy.overridden).count(), 1);
}

pub async fn unknown_code_is_refused(db: TestDb) {
    let tenant = create_tenant(&db.metadata, 5010, 1000, 10).await;
    let refused = db
        .metadata
        .set_document_type(&tenant, "XYZ", true, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, MetadataError::UnknownDocumentType(ref code) if code == "XYZ"),
        "{refused:?}"
    );
    assert!(db
        .metadata
        .list_document_types(&tenant)
        .await
        .unwrap()
        .iter()
        .all(|policy| !policy.overridden));
}

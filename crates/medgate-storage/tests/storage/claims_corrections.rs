//! The corrections made at a claims node: a package with FLK errors corrected once into a
//! new package linked to it, registered in one job (nothing stored when refused).

use medgate_storage::{ClaimsStoreError, MekOutcome, NewClaimsCorrection, PackageOutcome};

use crate::claims::{finding, package, AT};
use crate::support::TestDb;

pub async fn a_package_with_flk_errors_is_corrected_once_into_a_linked_new_package(db: TestDb) {
    let store = &db.metadata;
    store
        .create_claims_medical_organisation("140001", "Больница", AT)
        .await
        .unwrap();
    store.open_claims_period("2026-11", AT).await.unwrap();
    let original = store
        .register_claims_package(&package("HM1.zip", "aa"))
        .await
        .unwrap();
    let correction = NewClaimsCorrection {
        corrects_package_id: original,
        n_zap: "2".to_owned(),
        element: "USL_OK".to_owned(),
        old_value: "9".to_owned(),
        new_value: "3".to_owned(),
    };
    let count = || async { store.claims_packages("140001").await.unwrap().len() };
    // Still being checked: not corrected, nothing stored.
    let early = store
        .register_claims_correction(&package("HM1.zip", "bb"), &correction)
        .await;
    assert!(
        matches!(early, Err(ClaimsStoreError::NotFound { .. })),
        "{early:?}"
    );
    assert_eq!(count().await, 1);
    let with_errors = PackageOutcome::Checked {
        cases: 10,
        patients: 9,
        total_findings: 1,
        findings: vec![finding(904, "USL_OK", "2")],
        mek: MekOutcome::NoCatalogue,
    };
    store
        .finish_claims_package(original, with_errors, AT)
        .await
        .unwrap();
    // Another MO's package is not found either.
    let mut foreign = package("HM1.zip", "bb");
    foreign.mo_code = "140002".to_owned();
    let refused = store
        .register_claims_correction(&foreign, &correction)
        .await;
    assert!(
        matches!(refused, Err(ClaimsStoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert_eq!(count().await, 1);

    let corrected = store
        .register_claims_correction(&package("HM1.zip", "bb"), &correction)
        .await
        .unwrap();
    let links = store.claims_package_corrections(corrected).await.unwrap();
    let held = links.corrects.clone().unwrap();
    assert_eq!(
        (held.package_id, held.corrects_package_id),
        (corrected, original)
    );
    assert_eq!(
        (
            held.n_zap.as_str(),
            held.element.as_str(),
            held.old_value.as_str(),
            held.new_value.as_str()
        ),
        ("2", "USL_OK", "9", "3")
    );
    assert_eq!(links.corrected_by, None);
    let back = store.claims_package_corrections(original).await.unwrap();
    assert_eq!(back.corrected_by, Some(held));
    assert_eq!(back.corrects, None);
    let new = store.claims_package(corrected).await.unwrap().unwrap();
    assert_eq!(
        (new.status.as_str(), new.sha256.as_str()),
        ("checking", "bb")
    );

    // Corrected once: a second correction is refused and leaves no package behind.
    let twice = store
        .register_claims_correction(&package("HM1.zip", "cc"), &correction)
        .await;
    assert!(
        matches!(twice, Err(ClaimsStoreError::Exists { .. })),
        "{twice:?}"
    );
    assert_eq!(count().await, 2);
}

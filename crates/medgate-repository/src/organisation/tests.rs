//! Tests of the organisational structure: validation of every field, the canonical form,
//! and the stored revisions.

use super::*;

/// The structure of seed 000's screenshot (with a real e-mail address; the seed shows
/// `00`).
fn seed_form() -> OrganisationForm {
    OrganisationForm {
        provider: ProviderForm {
            name: "Asseco Poland S.A.".into(),
            address: AddressForm {
                street: "ul. Jana Kilińskiego".into(),
                building: "29".into(),
                apartment: None,
                postal_code: "08-110".into(),
                city: "Siedlce".into(),
                country: None,
            },
            phone: "178885550".into(),
            regon: "010334578".into(),
            nip: "5220003782".into(),
            register_code_part_1: "00000025677".into(),
        },
        facilities: vec![FacilityForm {
            id: "01".into(),
            name: "Przychodnia (Asseco Poland S.A.)".into(),
            address: AddressForm {
                street: "ul. Dubois".into(),
                building: "5A".into(),
                apartment: None,
                postal_code: "00-184".into(),
                city: "Warszawa".into(),
                country: Some("pl".into()),
            },
            phone: Some("178885550".into()),
            regon14: "01033457800005".into(),
            nip: "522-000-37-82".into(),
        }],
        units: vec![UnitForm {
            code: "01".into(),
            name: "Przychodnia".into(),
            facility: "01".into(),
            register_code_part_5: "01".into(),
            register_code_part_7: "001".into(),
            register_code_part_8: "1810".into(),
            register_code_part_9: "HC.1.1".into(),
            register_code_part_10: "115".into(),
            phone: Some("178885550".into()),
            email: Some("przychodnia@example.pl".into()),
        }],
    }
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn the_seed_structure_is_valid_and_canonical() {
    let organisation = validate(&seed_form()).map_err(|e| format!("{e:?}"));
    let Ok(organisation) = organisation else {
        panic!("{organisation:?}");
    };
    let canonical = organisation.to_form();
    assert_eq!(canonical.provider.address.country.as_deref(), Some("PL"));
    assert_eq!(
        canonical.facilities[0].address.country.as_deref(),
        Some("PL")
    );
    assert_eq!(canonical.facilities[0].nip, "5220003782");
    // The canonical form validates to the same structure.
    assert_eq!(validate(&canonical), Ok(organisation.clone()));
    assert_eq!(
        organisation.csr_defaults(),
        (
            "Asseco Poland S.A.".into(),
            "Przychodnia".into(),
            "PL".into()
        )
    );
}

#[test]
fn a_bad_nip_names_the_field_and_the_checksum_rule() {
    let mut form = seed_form();
    form.provider.nip = "5220003783".into();
    let errors = validate(&form).err().unwrap_or_default();
    assert_eq!(fields(&errors), ["provider.nip"]);
    assert!(
        errors[0]
            .message
            .contains("check digit is 3 but should be 2"),
        "{errors:?}"
    );
}

#[test]
fn every_error_is_reported_at_once() {
    let mut form = seed_form();
    form.provider.regon = "010334579".into();
    form.provider.address.postal_code = "08110".into();
    form.provider.name = "  ".into();
    form.facilities[0].regon14 = "01033457800006".into();
    form.units[0].register_code_part_8 = "181".into();
    form.units[0].register_code_part_9 = "1.1".into();
    form.units[0].email = Some("przychodnia.example.pl".into());
    form.units[0].phone = Some("12".into());
    let errors = validate(&form).err().unwrap_or_default();
    assert_eq!(
        fields(&errors),
        [
            "provider.name",
            "provider.address.postal_code",
            "provider.regon",
            "facilities[0].regon14",
            "units[0].register_code_part_8",
            "units[0].register_code_part_9",
            "units[0].phone",
            "units[0].email",
        ]
    );
    assert!(errors[1].message.contains("NN-NNN"), "{errors:?}");
    assert!(errors[4].message.contains("exactly 4 digits"), "{errors:?}");
}

#[test]
fn missing_fields_are_required() {
    let errors = validate(&OrganisationForm::default())
        .err()
        .unwrap_or_default();
    assert!(fields(&errors).contains(&"provider.nip"), "{errors:?}");
    assert!(
        fields(&errors).contains(&"provider.address.city"),
        "{errors:?}"
    );
    assert!(
        errors.iter().all(|e| e.message == "is required"),
        "{errors:?}"
    );
}

#[test]
fn duplicates_and_unknown_facilities_are_refused() {
    let mut form = seed_form();
    form.facilities.push(form.facilities[0].clone());
    let mut second = form.units[0].clone();
    second.facility = "02".into();
    form.units.push(second);
    let errors = validate(&form).err().unwrap_or_default();
    assert_eq!(
        fields(&errors),
        [
            "facilities[1].id",
            "units[1].code",
            "units[1].facility",
            "units[1].register_code_part_7"
        ]
    );
    assert!(errors[2].message.contains("known ids: 01"), "{errors:?}");
}

#[test]
fn a_facility_regon_of_another_entity_is_accepted() {
    // Seed 000 does not say that a facility's REGON-14 must extend the provider's
    // REGON-9, so a facility whose first nine digits differ is not refused.
    let mut form = seed_form();
    form.facilities[0].regon14 = "12345678512347".into();
    assert!(validate(&form).is_ok());
}

#[test]
fn stored_json_reads_back() {
    let Ok(organisation) = validate(&seed_form()) else {
        panic!("seed form is valid");
    };
    let json = serde_json::to_string(&organisation.to_form()).unwrap_or_default();
    assert_eq!(
        Organisation::from_stored_json(&json).ok(),
        Some(organisation)
    );
    assert!(Organisation::from_stored_json("{").is_err());
}

#[tokio::test]
async fn the_account_structure_is_stored_as_revisions_and_audited() {
    let fixture = crate::testing::Fixture::new().await;
    let (repository, actor) = (&fixture.repository, &fixture.actor);
    let never = show(repository, actor).await.err();
    assert_eq!(never.as_ref().map(RepositoryError::code), Some("not_found"));

    let mut broken = seed_form();
    broken.provider.nip = "5220003781".into();
    broken.units[0].facility = "99".into();
    match replace(repository, actor, &broken).await {
        Err(RepositoryError::InvalidOrganisation(errors)) => {
            assert_eq!(fields(&errors), ["provider.nip", "units[0].facility"]);
        }
        other => panic!("expected the invalid fields, got {other:?}"),
    }
    assert!(matches!(
        show(repository, actor).await,
        Err(RepositoryError::NoOrganisation)
    ));

    let first = replace(repository, actor, &seed_form()).await.ok();
    let second = replace(repository, actor, &seed_form()).await.ok();
    assert_eq!(first.as_ref().map(|r| r.revision), Some(1));
    assert_eq!(second.as_ref().map(|r| r.revision), Some(2));
    let shown = show(repository, actor).await.ok();
    assert_eq!(
        shown.as_ref().map(|r| &r.organisation),
        second.as_ref().map(|r| &r.organisation)
    );
    // The canonical form: the facility's NIP compact, the country explicit.
    let organisation = shown.map(|r| r.organisation).unwrap_or_default();
    assert_eq!(organisation["facilities"][0]["nip"], "5220003782");
    assert_eq!(organisation["provider"]["address"]["country"], "PL");
    let actions: Vec<String> = fixture
        .audit()
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "organisation.update",
            "organisation.update",
            "organisation.show"
        ]
    );
}

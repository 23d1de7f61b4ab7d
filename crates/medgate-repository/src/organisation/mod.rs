//! The tenant's organisational structure (seed 000 §1.1.4, SPEC §4.4): the form as the API,
//! the CLI's TOML file and the web UI receive it, its validation into an [`Organisation`]
//! that cannot be invalid, and the canonical form that is stored and shown back.
//!
//! Validation reports every problem at once, each with the path of its field
//! (`units[2].register_code_part_8`), so that a form can show them beside the fields.
//!
//! The "kod resortowy" (register code) parts follow the Polish regulation on the system of
//! departmental identification codes and the example of seed 000:
//! - part I, the provider's register book number (`numer księgi rejestrowej`): digits only.
//!   The register writes it zero-padded to 12 digits, seed 000 shows `00000025677` (11), so
//!   any 1 to 12 digits are accepted and kept as given;
//! - part V, the facility's identifier within the provider: 2 digits (seed `01`);
//! - part VII, the unit's identifier within the facility: 3 digits (seed `001`);
//! - part VIII, the unit's speciality: 4 digits (seed `1810`);
//! - part IX, the health-care function after the ICHA-HC classification: `HC.` followed by
//!   dot-separated groups (seed `HC.1.1`). The exact list of codes is not checked;
//! - part X, the unit's medical field: 3 digits (seed `115`).
//!
//! [`show`] and [`replace`] read and store the account's structure (audited); the pages'
//! form and the CLI's TOML file use the same form types.

use std::fmt;

use medgate_ids::{Nip, Regon14, Regon9};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::error::RepositoryError;
use crate::{Actor, Repository};

mod validate;

pub use validate::validate;

/// The country assumed when an address gives none.
pub const DEFAULT_COUNTRY: &str = "PL";

// ---------------------------------------------------------------------------------------
// The form: what a client sends. Every text is a plain string, missing ones default to
// empty, so that a missing field is one more entry in the error list instead of a refusal
// of the whole document.
// ---------------------------------------------------------------------------------------

/// The organisational structure as sent by a client (JSON body, TOML file, web form).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationForm {
    #[serde(default)]
    pub provider: ProviderForm,
    #[serde(default)]
    pub facilities: Vec<FacilityForm>,
    #[serde(default)]
    pub units: Vec<UnitForm>,
}

/// The healthcare provider (`świadczeniodawca`, `podmiot leczniczy`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: AddressForm,
    #[serde(default)]
    pub phone: String,
    /// REGON-9.
    #[serde(default)]
    pub regon: String,
    #[serde(default)]
    pub nip: String,
    /// Register code part I: the register book number.
    #[serde(default)]
    pub register_code_part_1: String,
}

/// A postal address.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressForm {
    #[serde(default)]
    pub street: String,
    #[serde(default)]
    pub building: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apartment: Option<String>,
    /// `NN-NNN` in Poland.
    #[serde(default)]
    pub postal_code: String,
    #[serde(default)]
    pub city: String,
    /// ISO 3166 two-letter code; [`DEFAULT_COUNTRY`] when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A medical facility (`zakład leczniczy`) of the provider.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FacilityForm {
    /// Local code that units refer to.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub address: AddressForm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default)]
    pub regon14: String,
    #[serde(default)]
    pub nip: String,
}

/// An organisational unit (`komórka organizacyjna`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    /// The `id` of the facility the unit belongs to.
    #[serde(default)]
    pub facility: String,
    #[serde(default)]
    pub register_code_part_5: String,
    #[serde(default)]
    pub register_code_part_7: String,
    #[serde(default)]
    pub register_code_part_8: String,
    #[serde(default)]
    pub register_code_part_9: String,
    #[serde(default)]
    pub register_code_part_10: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// One problem of a form: the field's path and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// Path of the field, e.g. `provider.nip` or `units[2].register_code_part_8`.
    pub field: String,
    /// What is wrong, as a sentence fragment that follows the field name.
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

// ---------------------------------------------------------------------------------------
// The validated structure.
// ---------------------------------------------------------------------------------------

/// A validated organisational structure: every identifier passed its checksum, codes have
/// their formats, facility ids and unit codes are unique and every unit's facility exists.
/// Only [`validate`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organisation {
    provider: Provider,
    facilities: Vec<Facility>,
    units: Vec<Unit>,
}

/// A validated postal address (texts trimmed, country upper-case).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    pub street: String,
    pub building: String,
    pub apartment: Option<String>,
    pub postal_code: String,
    pub city: String,
    pub country: String,
}

/// The validated provider.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Provider {
    pub name: String,
    pub address: Address,
    pub phone: String,
    pub regon: Regon9,
    pub nip: Nip,
    pub register_code_part_1: String,
}

/// A validated facility.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facility {
    pub id: String,
    pub name: String,
    pub address: Address,
    pub phone: Option<String>,
    pub regon14: Regon14,
    pub nip: Nip,
}

/// A validated organisational unit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unit {
    pub code: String,
    pub name: String,
    /// Id of an existing [`Facility`].
    pub facility: String,
    pub register_code_part_5: String,
    pub register_code_part_7: String,
    pub register_code_part_8: String,
    pub register_code_part_9: String,
    pub register_code_part_10: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl Organisation {
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    pub fn facilities(&self) -> &[Facility] {
        &self.facilities
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    /// Subject defaults for a certificate request: organisation (O) = the provider's name,
    /// organisational unit (OU) = the first unit's name (the first facility's, or the
    /// provider's, when there is none), country (C) = the provider's country.
    pub fn csr_defaults(&self) -> (String, String, String) {
        let unit = self
            .units
            .first()
            .map(|unit| unit.name.clone())
            .or_else(|| {
                self.facilities
                    .first()
                    .map(|facility| facility.name.clone())
            })
            .unwrap_or_else(|| self.provider.name.clone());
        (
            self.provider.name.clone(),
            unit,
            self.provider.address.country.clone(),
        )
    }

    /// The canonical form: trimmed texts, compact NIPs, explicit country. This is what the
    /// repository stores and shows back; validating it again gives the same structure.
    pub fn to_form(&self) -> OrganisationForm {
        let provider = &self.provider;
        OrganisationForm {
            provider: ProviderForm {
                name: provider.name.clone(),
                address: address_form(&provider.address),
                phone: provider.phone.clone(),
                regon: provider.regon.to_string(),
                nip: provider.nip.to_string(),
                register_code_part_1: provider.register_code_part_1.clone(),
            },
            facilities: self
                .facilities
                .iter()
                .map(|facility| FacilityForm {
                    id: facility.id.clone(),
                    name: facility.name.clone(),
                    address: address_form(&facility.address),
                    phone: facility.phone.clone(),
                    regon14: facility.regon14.to_string(),
                    nip: facility.nip.to_string(),
                })
                .collect(),
            units: self
                .units
                .iter()
                .map(|unit| UnitForm {
                    code: unit.code.clone(),
                    name: unit.name.clone(),
                    facility: unit.facility.clone(),
                    register_code_part_5: unit.register_code_part_5.clone(),
                    register_code_part_7: unit.register_code_part_7.clone(),
                    register_code_part_8: unit.register_code_part_8.clone(),
                    register_code_part_9: unit.register_code_part_9.clone(),
                    register_code_part_10: unit.register_code_part_10.clone(),
                    phone: unit.phone.clone(),
                    email: unit.email.clone(),
                })
                .collect(),
        }
    }

    /// Reads a structure stored by the repository (the JSON of [`Organisation::to_form`]),
    /// e.g. for the certificate request step.
    pub fn from_stored_json(json: &str) -> Result<Organisation, StoredOrganisationError> {
        let form: OrganisationForm =
            serde_json::from_str(json).map_err(|e| StoredOrganisationError(e.to_string()))?;
        validate(&form).map_err(|errors| {
            StoredOrganisationError(
                errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        })
    }
}

/// A stored structure that no longer reads or validates (e.g. after a rule became stricter).
#[derive(Debug, thiserror::Error)]
#[error("the stored organisational structure is not valid: {0}")]
pub struct StoredOrganisationError(String);

fn address_form(address: &Address) -> AddressForm {
    AddressForm {
        street: address.street.clone(),
        building: address.building.clone(),
        apartment: address.apartment.clone(),
        postal_code: address.postal_code.clone(),
        city: address.city.clone(),
        country: Some(address.country.clone()),
    }
}

// ---------------------------------------------------------------------------------------
// The account's stored structure.
// ---------------------------------------------------------------------------------------

/// A stored revision of the account's structure.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    /// 1 for the first version stored, one more for every later one.
    pub revision: u64,
    pub updated_at: OffsetDateTime,
    /// The canonical form ([`Organisation::to_form`]) as JSON.
    pub organisation: Value,
}

/// The account's current structure, audited as `organisation.show`; not found
/// ([`RepositoryError::NoOrganisation`]) until one was sent.
pub async fn show(repository: &Repository, actor: &Actor) -> Result<Revision, RepositoryError> {
    let stored = repository
        .metadata
        .load_organisation(&actor.tenant)
        .await
        .map_err(RepositoryError::storage(
            "reading the organisational structure",
        ))?
        .ok_or(RepositoryError::NoOrganisation)?;
    let organisation: Value = serde_json::from_str(&stored.json)
        .map_err(|e| RepositoryError::internal("stored organisational structure", e))?;
    repository
        .audit(
            actor,
            "organisation.show",
            actor.tenant.as_str(),
            None,
            format!("revision {}", stored.revision),
        )
        .await?;
    Ok(Revision {
        revision: stored.revision,
        updated_at: stored.updated_at,
        organisation,
    })
}

/// Validates the whole structure (every invalid field at once:
/// [`RepositoryError::InvalidOrganisation`]) and stores its canonical form as a new
/// revision, audited as `organisation.update`. An invalid structure stores nothing.
pub async fn replace(
    repository: &Repository,
    actor: &Actor,
    form: &OrganisationForm,
) -> Result<Revision, RepositoryError> {
    let organisation = validate(form).map_err(RepositoryError::InvalidOrganisation)?;
    let canonical = organisation.to_form();
    let text = serde_json::to_string(&canonical)
        .map_err(|e| RepositoryError::internal("serialising the organisational structure", e))?;
    let stored = repository
        .metadata
        .store_organisation(&actor.tenant, &text)
        .await
        .map_err(RepositoryError::storage(
            "storing the organisational structure",
        ))?;
    repository
        .audit(
            actor,
            "organisation.update",
            actor.tenant.as_str(),
            None,
            format!(
                "revision {}; {} facilities; {} units",
                stored.revision,
                organisation.facilities().len(),
                organisation.units().len()
            ),
        )
        .await?;
    let organisation = serde_json::to_value(&canonical)
        .map_err(|e| RepositoryError::internal("serialising the organisational structure", e))?;
    Ok(Revision {
        revision: stored.revision,
        updated_at: stored.updated_at,
        organisation,
    })
}

#[cfg(test)]
mod tests;

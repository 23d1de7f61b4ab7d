//! The clinic's side of the clinical record service, on a repository node: an account's
//! connection to the service (one institution per account) with its practitioners, and the
//! practitioners' desk sessions that hold the service's session token.
//!
//! The institution's certificate and key arrive here already encrypted by the server (a
//! PKCS#12 keystore under the node's credentials key, as the national keys are kept); this
//! store never sees the key in clear. A connection and its practitioners are saved and replaced in one transaction, so a
//! refused or failed save leaves the previous settings whole. A desk session belongs to one
//! web session (removed with it) and is read only before its `expires_at`: the store
//! enforces the service's expiry whoever asks.

use medgate_ids::{InstitutionId, StampNumber, TenantId, UnitId};
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{column, from_unix, now, parsed_column, to_unix, Metadata};
use crate::error::MetadataError;
use crate::values::Sha256Digest;

/// A practitioner of the institution, as the clinic's administrator lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClinicPractitioner {
    pub name: String,
    pub stamp_number: StampNumber,
    /// The practitioner's user name at the service.
    pub user_name: String,
}

/// An account's connection to the clinical record service.
#[derive(Clone, PartialEq, Eq)]
pub struct ClinicalConnection {
    pub service_url: String,
    /// PEM: the service's CA certificate(s).
    pub service_ca_pem: String,
    pub institution: InstitutionId,
    pub institution_name: String,
    /// PEM `PKCS12`: the institution's certificate, key and the service CA, encrypted.
    pub keystore_pem: String,
    /// The institution certificate's serial (upper hex).
    pub serial: String,
    pub not_after: OffsetDateTime,
    pub units: Vec<UnitId>,
    pub practitioners: Vec<ClinicPractitioner>,
    /// Set by the store when saved.
    pub saved_at: OffsetDateTime,
}

/// The key stays out of debug output even encrypted.
impl std::fmt::Debug for ClinicalConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClinicalConnection")
            .field("service_url", &self.service_url)
            .field("institution", &self.institution)
            .field("institution_name", &self.institution_name)
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .field("units", &self.units)
            .field("practitioners", &self.practitioners)
            .field("saved_at", &self.saved_at)
            .finish_non_exhaustive()
    }
}

/// A practitioner's desk session: who signed in at the service for which account, and the
/// service's session token, valid until `expires_at`.
#[derive(Clone, PartialEq, Eq)]
pub struct DeskSession {
    pub tenant: TenantId,
    pub user_name: String,
    pub service_token: String,
    pub expires_at: OffsetDateTime,
}

/// The token is a bearer secret: never in debug output (and so never in a log line).
impl std::fmt::Debug for DeskSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeskSession")
            .field("tenant", &self.tenant)
            .field("user_name", &self.user_name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "service_url, service_ca_pem, institution_id, institution_name, \
     keystore_pem, serial, not_after, units, saved_at";

fn connection_from_row(
    row: &AnyRow,
    practitioners: Vec<ClinicPractitioner>,
) -> Result<ClinicalConnection, MetadataError> {
    let units: String = column(row, "units")?;
    let units = units
        .split_whitespace()
        .map(|unit| UnitId::parse(unit).map_err(|e| MetadataError::corrupt("units", e)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClinicalConnection {
        service_url: column(row, "service_url")?,
        service_ca_pem: column(row, "service_ca_pem")?,
        institution: parsed_column(row, "institution_id", InstitutionId::parse)?,
        institution_name: column(row, "institution_name")?,
        keystore_pem: column(row, "keystore_pem")?,
        serial: column(row, "serial")?,
        not_after: from_unix("not_after", column(row, "not_after")?)?,
        units,
        practitioners,
        saved_at: from_unix("saved_at", column(row, "saved_at")?)?,
    })
}

impl Metadata {
    /// Stores (or replaces) the account's connection and its practitioners, in one
    /// transaction; a practitioner user name listed twice refuses the whole save.
    pub async fn save_clinical_connection(
        &self,
        tenant: &TenantId,
        connection: &ClinicalConnection,
    ) -> Result<(), MetadataError> {
        const OPERATION: &str = "store the clinical service connection";
        let (tenant, connection) = (tenant.clone(), connection.clone());
        self.writer
            .transact(OPERATION, move |db| {
                Box::pin(async move {
                    let units: Vec<&str> = connection.units.iter().map(UnitId::as_str).collect();
                    sqlx::query(&format!(
                        "INSERT INTO clinic_connections (tenant_id, {COLUMNS}) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                         ON CONFLICT (tenant_id) DO UPDATE SET \
                         service_url = excluded.service_url, \
                         service_ca_pem = excluded.service_ca_pem, \
                         institution_id = excluded.institution_id, \
                         institution_name = excluded.institution_name, \
                         keystore_pem = excluded.keystore_pem, serial = excluded.serial, \
                         not_after = excluded.not_after, units = excluded.units, \
                         saved_at = excluded.saved_at"
                    ))
                    .bind(tenant.as_str())
                    .bind(connection.service_url.as_str())
                    .bind(connection.service_ca_pem.as_str())
                    .bind(connection.institution.as_str())
                    .bind(connection.institution_name.as_str())
                    .bind(connection.keystore_pem.as_str())
                    .bind(connection.serial.as_str())
                    .bind(to_unix(connection.not_after))
                    .bind(units.join(" "))
                    .bind(to_unix(now()))
                    .execute(&mut *db)
                    .await
                    .map_err(|error| {
                        if super::is_foreign_key_violation(&error) {
                            MetadataError::TenantNotFound(tenant.clone())
                        } else {
                            MetadataError::database(OPERATION)(error)
                        }
                    })?;
                    sqlx::query("DELETE FROM clinic_practitioners WHERE tenant_id = $1")
                        .bind(tenant.as_str())
                        .execute(&mut *db)
                        .await
                        .map_err(MetadataError::database(OPERATION))?;
                    for practitioner in &connection.practitioners {
                        sqlx::query(
                            "INSERT INTO clinic_practitioners \
                             (tenant_id, user_name, name, stamp_number) VALUES ($1, $2, $3, $4)",
                        )
                        .bind(tenant.as_str())
                        .bind(practitioner.user_name.as_str())
                        .bind(practitioner.name.as_str())
                        .bind(practitioner.stamp_number.as_str())
                        .execute(&mut *db)
                        .await
                        .map_err(|error| {
                            if super::is_unique_violation(&error) {
                                MetadataError::PractitionerListedTwice(
                                    practitioner.user_name.clone(),
                                )
                            } else {
                                MetadataError::database(OPERATION)(error)
                            }
                        })?;
                    }
                    Ok::<_, MetadataError>(())
                })
            })
            .await
    }

    /// The account's connection to the clinical record service, if it set one up.
    pub async fn clinical_connection(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<ClinicalConnection>, MetadataError> {
        const OPERATION: &str = "read the clinical service connection";
        let Some(row) = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM clinic_connections WHERE tenant_id = $1"
        ))
        .bind(tenant.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database(OPERATION))?
        else {
            return Ok(None);
        };
        let practitioners = sqlx::query(
            "SELECT user_name, name, stamp_number FROM clinic_practitioners \
             WHERE tenant_id = $1 ORDER BY name, user_name",
        )
        .bind(tenant.as_str())
        .fetch_all(self.pool())
        .await
        .map_err(MetadataError::database(OPERATION))?
        .iter()
        .map(|row| {
            Ok(ClinicPractitioner {
                user_name: column(row, "user_name")?,
                name: column(row, "name")?,
                stamp_number: parsed_column(row, "stamp_number", StampNumber::parse)?,
            })
        })
        .collect::<Result<Vec<_>, MetadataError>>()?;
        connection_from_row(&row, practitioners).map(Some)
    }

    /// Keeps the service's session token for the web session `session_hash` until
    /// `expires_at` (replacing an earlier one of that web session).
    pub async fn save_desk_session(
        &self,
        session_hash: &Sha256Digest,
        desk: &DeskSession,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "store a desk session",
            "INSERT INTO clinic_desk_sessions \
             (session_hash, tenant_id, user_name, service_token, expires_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_hash) DO UPDATE SET \
             tenant_id = excluded.tenant_id, user_name = excluded.user_name, \
             service_token = excluded.service_token, expires_at = excluded.expires_at",
            vec![
                session_hash.to_hex().into(),
                desk.tenant.as_str().into(),
                desk.user_name.as_str().into(),
                desk.service_token.as_str().into(),
                to_unix(desk.expires_at).into(),
            ],
        )
        .await?;
        Ok(())
    }

    /// The desk session of the web session `session_hash`, unless it has expired at `now`
    /// (an expired one is never given out, whether or not it was removed yet).
    pub async fn desk_session(
        &self,
        session_hash: &Sha256Digest,
        now: OffsetDateTime,
    ) -> Result<Option<DeskSession>, MetadataError> {
        sqlx::query(
            "SELECT tenant_id, user_name, service_token, expires_at FROM clinic_desk_sessions \
             WHERE session_hash = $1 AND expires_at > $2",
        )
        .bind(session_hash.to_hex())
        .bind(to_unix(now))
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a desk session"))?
        .map(|row| {
            Ok(DeskSession {
                tenant: parsed_column(&row, "tenant_id", TenantId::parse)?,
                user_name: column(&row, "user_name")?,
                service_token: column(&row, "service_token")?,
                expires_at: from_unix("expires_at", column(&row, "expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Removes the desk session of `session_hash` and every desk session expired at `now`.
    pub async fn end_desk_session(
        &self,
        session_hash: &Sha256Digest,
        now: OffsetDateTime,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "end a desk session",
            "DELETE FROM clinic_desk_sessions WHERE session_hash = $1 OR expires_at <= $2",
            vec![session_hash.to_hex().into(), to_unix(now).into()],
        )
        .await?;
        Ok(())
    }
}

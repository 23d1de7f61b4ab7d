//! What the service's operator does (from the command line or the operator pages): register
//! institutions, their units and practitioners, grant lines of the authorisation matrix,
//! record the certificates issued to institutions, suspend and reactivate, and mark an
//! institution's connection check as verified. Identifiers arrive as text and are parsed
//! here, so a bad one is refused naming its rule; every change is audited.

use medgate_ids::{InstitutionId, StampNumber, UnitId};
use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::{Certificate, KeyAlgorithm, Password};
use medgate_storage::{
    AuditOrigin, Authorisation, ClinicalInstitution, ClinicalStoreError, ClinicalUnit,
    InstitutionCertificate, Metadata, NewAuditEntry, NewPractitioner,
};
use time::OffsetDateTime;

use crate::auth;
use crate::error::ClinicalError;

/// The operator acting (the audit log's actor).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// E.g. `operator:<login>` or `cli`.
    pub name: String,
    pub origin: AuditOrigin,
}

impl Operator {
    fn audit(&self, action: &str, target: &str, details: String) -> NewAuditEntry {
        NewAuditEntry {
            tenant: None,
            actor: self.name.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: self.origin,
            details,
            patient: None,
        }
    }
}

/// A refusal of the store for operator writes.
fn refused(error: ClinicalStoreError) -> ClinicalError {
    match error {
        ClinicalStoreError::Exists { what, id } => ClinicalError::AlreadyRegistered { what, id },
        ClinicalStoreError::NotFound { what, id } => ClinicalError::NotRegistered { what, id },
        ClinicalStoreError::Metadata(source) => ClinicalError::Storage {
            operation: "change the registry",
            source,
        },
        _ => ClinicalError::Internal {
            what: "an unknown refusal of the store",
        },
    }
}

fn non_empty(field: &str, value: &str) -> Result<String, ClinicalError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 200 {
        return Err(ClinicalError::invalid(field, "must be 1 to 200 characters"));
    }
    Ok(value.to_owned())
}

async fn audited(
    store: &Metadata,
    operator: &Operator,
    action: &str,
    target: &str,
    details: String,
) -> Result<(), ClinicalError> {
    store
        .append_audit(&operator.audit(action, target, details))
        .await
        .map_err(ClinicalError::storage("audit the change"))?;
    Ok(())
}

/// Registers an institution: `id` 6 digits, a name.
pub async fn register_institution(
    store: &Metadata,
    operator: &Operator,
    id: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<ClinicalInstitution, ClinicalError> {
    let id = InstitutionId::parse(id)?;
    let name = non_empty("name", name)?;
    let institution = store
        .create_clinical_institution(&id, &name, now)
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.institution.register",
        &format!("institution:{id}"),
        name,
    )
    .await?;
    Ok(institution)
}

/// Adds a unit (9 digits) to a registered institution.
pub async fn add_unit(
    store: &Metadata,
    operator: &Operator,
    institution: &str,
    unit: &str,
    name: &str,
) -> Result<ClinicalUnit, ClinicalError> {
    let unit = ClinicalUnit {
        id: UnitId::parse(unit)?,
        institution: InstitutionId::parse(institution)?,
        name: non_empty("name", name)?,
    };
    store.add_clinical_unit(&unit).await.map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.unit.add",
        &format!("unit:{}", unit.id),
        format!("institution {}", unit.institution),
    )
    .await?;
    Ok(unit)
}

/// A practitioner just registered, with the TOTP secret for their token (shown once, to be
/// enrolled in the practitioner's authenticator).
pub struct RegisteredPractitioner {
    pub user_name: String,
    pub totp_secret: String,
}

impl RegisteredPractitioner {
    /// The `otpauth://` URI an authenticator app enrols the token from (the QR code's
    /// content): issuer `medgate`, SHA-1, [`auth::TOTP_DIGITS`] digits,
    /// [`auth::TOTP_STEP_SECONDS`] seconds.
    pub fn otpauth_uri(&self) -> String {
        // A user name holds letters, digits, '.', '-', '_' and '@' only: '@' is the one to
        // percent-encode in the label.
        format!(
            "otpauth://totp/medgate:{user}?secret={secret}&issuer=medgate&algorithm=SHA1&digits={digits}&period={period}",
            user = self.user_name.replace('@', "%40"),
            secret = self.totp_secret,
            digits = auth::TOTP_DIGITS,
            period = auth::TOTP_STEP_SECONDS,
        )
    }
}

impl std::fmt::Debug for RegisteredPractitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredPractitioner")
            .field("user_name", &self.user_name)
            .finish_non_exhaustive()
    }
}

/// The most characters a practitioner's password may have (bounds the hashing work).
const PASSWORD_MAX: usize = 128;
/// The fewest.
const PASSWORD_MIN: usize = 12;

/// Registers a practitioner: user name, name, stamp number (5 digits), password (12 to 128
/// characters, stored as its Argon2id hash); a fresh TOTP secret is made and returned once.
pub async fn register_practitioner(
    store: &Metadata,
    operator: &Operator,
    user_name: &str,
    name: &str,
    stamp_number: &str,
    password: &str,
    now: OffsetDateTime,
) -> Result<RegisteredPractitioner, ClinicalError> {
    let user_name = non_empty("user_name", user_name)?;
    if !user_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
    {
        return Err(ClinicalError::invalid(
            "user_name",
            "may hold letters, digits, '.', '-', '_' and '@' only",
        ));
    }
    let name = non_empty("name", name)?;
    let stamp_number = StampNumber::parse(stamp_number)?;
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Err(ClinicalError::invalid(
            "password",
            format!("must have {PASSWORD_MIN} to {PASSWORD_MAX} characters"),
        ));
    }
    let password = password.to_owned();
    let password_hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|_| ClinicalError::Internal {
            what: "the password hashing did not finish",
        })??;
    let totp_secret = auth::generate_totp_secret()?;
    store
        .create_clinical_practitioner(
            &NewPractitioner {
                user_name: user_name.clone(),
                name,
                stamp_number: stamp_number.clone(),
                password_hash,
                totp_secret: totp_secret.clone(),
            },
            now,
        )
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.practitioner.register",
        &format!("practitioner:{user_name}"),
        format!("stamp number {stamp_number}"),
    )
    .await?;
    Ok(RegisteredPractitioner {
        user_name,
        totp_secret,
    })
}

/// Grants a practitioner the right to act for an institution (for one unit of it, or all
/// units) in a role.
pub async fn grant(
    store: &Metadata,
    operator: &Operator,
    user_name: &str,
    institution: &str,
    unit: Option<&str>,
    role: &str,
) -> Result<Authorisation, ClinicalError> {
    let institution = InstitutionId::parse(institution)?;
    let unit = unit.map(UnitId::parse).transpose()?;
    if let Some(unit) = &unit {
        let units = store
            .clinical_units(&institution)
            .await
            .map_err(ClinicalError::storage("read the institution's units"))?;
        if !units.iter().any(|known| &known.id == unit) {
            return Err(ClinicalError::NotRegistered {
                what: "unit of the institution",
                id: unit.to_string(),
            });
        }
    }
    let authorisation = Authorisation {
        user_name: user_name.to_owned(),
        institution,
        unit,
        role: non_empty("role", role)?,
    };
    store
        .grant_clinical_authorisation(&authorisation)
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.matrix.grant",
        &format!("practitioner:{}", authorisation.user_name),
        format!(
            "institution {} unit {} role {}",
            authorisation.institution,
            authorisation
                .unit
                .as_ref()
                .map_or("(all)".to_owned(), UnitId::to_string),
            authorisation.role
        ),
    )
    .await?;
    Ok(authorisation)
}

/// Removes a line of the authorisation matrix (the unit `None`: the line for all units); when
/// it was the user's last line for the institution, their sessions for it end.
pub async fn revoke(
    store: &Metadata,
    operator: &Operator,
    user_name: &str,
    institution: &str,
    unit: Option<&str>,
    role: &str,
) -> Result<(), ClinicalError> {
    let authorisation = Authorisation {
        user_name: non_empty("user_name", user_name)?,
        institution: InstitutionId::parse(institution)?,
        unit: unit.map(UnitId::parse).transpose()?,
        role: non_empty("role", role)?,
    };
    store
        .revoke_clinical_authorisation(&authorisation)
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.matrix.revoke",
        &format!("practitioner:{}", authorisation.user_name),
        format!(
            "institution {} unit {} role {}",
            authorisation.institution,
            authorisation
                .unit
                .as_ref()
                .map_or("(all)".to_owned(), UnitId::to_string),
            authorisation.role
        ),
    )
    .await
}

/// The longest validity of an institution certificate, in days.
pub const CERTIFICATE_MAX_DAYS: u32 = 825;

/// A certificate issued to an institution: the PKCS#12 file (certificate, its fresh key and
/// the service's CA certificate) encrypted with the one-time code the caller gave, to be
/// handed out once. The key is in no other place.
pub struct IssuedCertificate {
    /// Upper-case hexadecimal serial number.
    pub serial: String,
    pub not_after: OffsetDateTime,
    pub pkcs12: Vec<u8>,
}

impl std::fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Issues an institution certificate (TLS client and request signing, a fresh ECDSA P-256
/// key) from the service's CA for a registered institution, valid `days` (1 to
/// [`CERTIFICATE_MAX_DAYS`]), packaged as PKCS#12 under `code` (the one-time code the
/// operator hands over separately), and records it. Nothing is recorded when packaging fails.
pub async fn issue_certificate(
    store: &Metadata,
    operator: &Operator,
    ca: &CertificateAuthority,
    institution: &str,
    days: u32,
    code: &str,
    now: OffsetDateTime,
) -> Result<IssuedCertificate, ClinicalError> {
    let id = InstitutionId::parse(institution)?;
    if !(1..=CERTIFICATE_MAX_DAYS).contains(&days) {
        return Err(ClinicalError::invalid(
            "days",
            format!("the validity must be 1 to {CERTIFICATE_MAX_DAYS} days"),
        ));
    }
    let known = store
        .clinical_institution(&id)
        .await
        .map_err(ClinicalError::storage("read the institution"))?;
    if known.is_none() {
        return Err(ClinicalError::NotRegistered {
            what: "institution",
            id: id.to_string(),
        });
    }
    let pki = |step: &str| {
        let step = step.to_owned();
        move |error: medgate_pki::PkiError| {
            ClinicalError::CertificateNotIssued(format!("{step}: {error}"))
        }
    };
    let validity = Validity::days_from_now(days).map_err(pki("validity"))?;
    let (certificate, key) = ca
        .issue_client(
            &format!("{id} clinical institution"),
            KeyAlgorithm::EcdsaP256,
            validity,
        )
        .map_err(pki("signing"))?;
    let summary = certificate.summary().map_err(pki("reading it back"))?;
    let pkcs12 = write_pkcs12(
        &certificate,
        std::slice::from_ref(ca.certificate()),
        &key,
        &Password::new(code.to_owned()),
        &Pkcs12Options::default(),
    )
    .map_err(pki("packaging as PKCS#12"))?;
    let issued = InstitutionCertificate {
        serial: summary.serial_hex.to_ascii_uppercase(),
        institution: id,
        not_after: summary.not_after,
    };
    record_certificate(store, operator, &issued, now).await?;
    Ok(IssuedCertificate {
        serial: issued.serial,
        not_after: issued.not_after,
        pkcs12,
    })
}

/// Checks an institution's signed connection-check report (made with `medgate connect-check
/// --p12 … --report`) before its connection is marked verified: the CMS signature verifies
/// against the service's CA (`trust`) and the readable report was not edited; the signing
/// certificate is one recorded for `institution` (active, not expired); the report says the
/// service accepted that institution's certificate and signature (`usable`). Returns the
/// report's summary line; a refusal names what is wrong.
pub async fn check_connection_report(
    store: &Metadata,
    trust: &Certificate,
    institution: &str,
    report: &[u8],
    now: OffsetDateTime,
) -> Result<String, ClinicalError> {
    let institution = InstitutionId::parse(institution)?;
    let refuse = |reason: String| ClinicalError::ReportRefused { reason };
    let verified = medgate_pki::report::verify_report(report, std::slice::from_ref(trust))
        .map_err(|error| {
            refuse(format!(
                "it is not a signed connection-check report ({error})"
            ))
        })?;
    let problems = verified.problems();
    if !problems.is_empty() {
        return Err(refuse(problems.join("; ")));
    }
    let signer = verified
        .signer()
        .ok_or_else(|| refuse("the report has no signer".to_owned()))?;
    let signed_for =
        institution_of_certificate(store, &signer.serial_hex.to_ascii_uppercase(), now)
            .await
            .map_err(|error| {
                refuse(format!(
                    "signed with certificate {}, which is not an active institution's certificate of this service ({error})",
                    signer.serial_hex
                ))
            })?;
    if signed_for != institution {
        return Err(refuse(format!(
            "signed with a certificate of institution {signed_for}, not {institution}"
        )));
    }
    let payload: serde_json::Value = serde_json::from_slice(&verified.payload)
        .map_err(|_| refuse("the signed report is not JSON".to_owned()))?;
    let summary = payload["summary"].as_str().unwrap_or_default().to_owned();
    if payload["usable"] != serde_json::Value::Bool(true) {
        return Err(refuse(format!(
            "the check did not pass, so the connection is not verified: {summary}"
        )));
    }
    if payload["client_certificate"]["tenant"].as_str() != Some(institution.as_str()) {
        return Err(refuse(format!(
            "the service did not accept the certificate as institution {institution}'s during the check"
        )));
    }
    Ok(summary)
}

/// Records a certificate issued to an institution.
pub async fn record_certificate(
    store: &Metadata,
    operator: &Operator,
    certificate: &InstitutionCertificate,
    now: OffsetDateTime,
) -> Result<(), ClinicalError> {
    store
        .add_clinical_certificate(certificate, now)
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.certificate.issue",
        &format!("institution:{}", certificate.institution),
        format!("serial {}", certificate.serial),
    )
    .await
}

/// The active institution a certificate serial (upper-case hex) belongs to, when the
/// certificate is known and valid at `now`: what the API checks on every call.
pub async fn institution_of_certificate(
    store: &Metadata,
    serial: &str,
    now: OffsetDateTime,
) -> Result<InstitutionId, ClinicalError> {
    let certificate = store
        .clinical_certificate(serial)
        .await
        .map_err(ClinicalError::storage("read the certificate"))?
        .ok_or_else(|| ClinicalError::NotRegistered {
            what: "institution certificate",
            id: serial.to_owned(),
        })?;
    if certificate.not_after < now {
        return Err(ClinicalError::NotRegistered {
            what: "valid institution certificate",
            id: serial.to_owned(),
        });
    }
    let active = store
        .clinical_institution(&certificate.institution)
        .await
        .map_err(ClinicalError::storage("read the institution"))?
        .is_some_and(|institution| institution.active);
    if !active {
        return Err(ClinicalError::InstitutionNotActive(certificate.institution));
    }
    Ok(certificate.institution)
}

/// Suspends (`active` false) or reactivates an institution.
pub async fn set_institution_active(
    store: &Metadata,
    operator: &Operator,
    institution: &str,
    active: bool,
) -> Result<(), ClinicalError> {
    let institution = InstitutionId::parse(institution)?;
    store
        .set_clinical_institution_active(&institution, active)
        .await
        .map_err(refused)?;
    let action = if active {
        "clinical.institution.activate"
    } else {
        "clinical.institution.suspend"
    };
    audited(
        store,
        operator,
        action,
        &format!("institution:{institution}"),
        String::new(),
    )
    .await
}

/// Suspends (ending their sessions) or reactivates a practitioner.
pub async fn set_practitioner_active(
    store: &Metadata,
    operator: &Operator,
    user_name: &str,
    active: bool,
) -> Result<(), ClinicalError> {
    store
        .set_clinical_practitioner_active(user_name, active)
        .await
        .map_err(refused)?;
    let action = if active {
        "clinical.practitioner.activate"
    } else {
        "clinical.practitioner.suspend"
    };
    audited(
        store,
        operator,
        action,
        &format!("practitioner:{user_name}"),
        String::new(),
    )
    .await
}

/// Marks the institution's connection check as verified (after the operator checked its
/// signed report).
pub async fn mark_connection_verified(
    store: &Metadata,
    operator: &Operator,
    institution: &str,
    now: OffsetDateTime,
) -> Result<(), ClinicalError> {
    let institution = InstitutionId::parse(institution)?;
    store
        .mark_clinical_connection_verified(&institution, now)
        .await
        .map_err(refused)?;
    audited(
        store,
        operator,
        "clinical.institution.connection-verified",
        &format!("institution:{institution}"),
        String::new(),
    )
    .await
}

//! The MOs' information systems at the fund: the operator issues a client certificate from
//! the claims node's CA to a medical organisation (and, where it submits separately, one
//! subdivision) as PKCS#12 under a one-time code; the system presents it over mutual TLS to
//! the node's API and signs its writes with its key (RFC 9421). Every request finds the
//! certificate by serial ([`system_of_certificate`]); a revoked one ([`revoke_certificate`],
//! also recorded in the node's revocations, which the TLS layer enforces) opens nothing
//! from the next request on. The node keeps the serial and dates, never the key.

use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::{KeyAlgorithm, Password};
use medgate_storage::{AuditOrigin, ClaimsMoCertificate, Metadata};
use time::OffsetDateTime;

use crate::error::FundError;
use crate::fund::{parse_mo_code, parse_subdivision_code, Actor};
use crate::intake::Uploader;

/// The longest validity of an MO system certificate, in days.
pub const CERTIFICATE_MAX_DAYS: u32 = 825;

/// What a system certificate's common name ends with, after the MO code (and `/subdivision`).
pub const COMMON_NAME_SUFFIX: &str = "claims MO system";

/// A certificate issued: its serial, end, the MO (and subdivision) and the PKCS#12 bytes
/// (certificate, key and the node's CA certificate) under the one-time code.
pub struct IssuedCertificate {
    pub serial: String,
    pub mo_code: String,
    pub subdivision_code: Option<String>,
    pub not_after: OffsetDateTime,
    pub pkcs12: Vec<u8>,
}

impl std::fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("serial", &self.serial)
            .field("mo_code", &self.mo_code)
            .field("subdivision_code", &self.subdivision_code)
            .finish_non_exhaustive()
    }
}

/// The common name of a system certificate: `140001 claims MO system`, or with a
/// subdivision `140001/2 claims MO system`.
pub fn common_name(mo_code: &str, subdivision: Option<&str>) -> String {
    match subdivision {
        Some(subdivision) => format!("{mo_code}/{subdivision} {COMMON_NAME_SUFFIX}"),
        None => format!("{mo_code} {COMMON_NAME_SUFFIX}"),
    }
}

/// The MO (and subdivision) a system certificate's common name names.
pub fn mo_of_common_name(common_name: &str) -> Option<(String, Option<String>)> {
    let party = common_name.strip_suffix(COMMON_NAME_SUFFIX)?.trim();
    let (mo, subdivision) = match party.split_once('/') {
        Some((mo, subdivision)) => (mo, Some(subdivision)),
        None => (party, None),
    };
    let mo = parse_mo_code(mo).ok()?;
    let subdivision = subdivision.map(parse_subdivision_code).transpose().ok()?;
    Some((mo, subdivision))
}

/// Issues a certificate for the information system of the MO `mo` (and `subdivision`, which
/// must be one of its subdivisions) valid `days` days, packaged as PKCS#12 under `code`;
/// recorded and audited before it is answered.
#[allow(clippy::too_many_arguments)]
pub async fn issue_certificate(
    store: &Metadata,
    actor: &Actor,
    ca: &CertificateAuthority,
    mo: &str,
    subdivision: Option<&str>,
    days: u32,
    code: &Password,
    now: OffsetDateTime,
) -> Result<IssuedCertificate, FundError> {
    let mo_code = parse_mo_code(mo)?;
    let subdivision_code = subdivision.map(parse_subdivision_code).transpose()?;
    if !(1..=CERTIFICATE_MAX_DAYS).contains(&days) {
        return Err(FundError::invalid_ru(
            "days",
            &days.to_string(),
            format!("the validity must be 1 to {CERTIFICATE_MAX_DAYS} days"),
            format!("срок действия — от 1 до {CERTIFICATE_MAX_DAYS} дней"),
        ));
    }
    if store
        .claims_medical_organisation(&mo_code)
        .await
        .map_err(FundError::storage("read a medical organisation"))?
        .is_none()
    {
        return Err(FundError::NotRegistered {
            what: "medical organisation",
            id: mo_code,
        });
    }
    if let Some(subdivision) = &subdivision_code {
        let known = store
            .claims_subdivisions(&mo_code)
            .await
            .map_err(FundError::storage("list the subdivisions"))?;
        if !known.iter().any(|s| &s.code == subdivision) {
            return Err(FundError::NotRegistered {
                what: "subdivision",
                id: format!("{subdivision} of {mo_code}"),
            });
        }
    }
    let failed = |_| FundError::Internal {
        what: "the certificate could not be issued by the node's CA",
    };
    let validity = Validity::days_from_now(days).map_err(failed)?;
    let (certificate, key) = ca
        .issue_client(
            &common_name(&mo_code, subdivision_code.as_deref()),
            KeyAlgorithm::EcdsaP256,
            validity,
        )
        .map_err(failed)?;
    let summary = certificate.summary().map_err(failed)?;
    let pkcs12 = write_pkcs12(
        &certificate,
        std::slice::from_ref(ca.certificate()),
        &key,
        code,
        &Pkcs12Options::default(),
    )
    .map_err(failed)?;
    let record = ClaimsMoCertificate {
        serial: summary.serial_hex.to_ascii_uppercase(),
        mo_code: mo_code.clone(),
        subdivision_code: subdivision_code.clone(),
        not_after: summary.not_after,
        issued_at: now,
        issued_by: actor.name.clone(),
        revoked_at: None,
        revoked_reason: None,
    };
    store
        .add_claims_mo_certificate(&record)
        .await
        .map_err(FundError::refused("record a certificate"))?;
    actor
        .record(
            store,
            "claims.mo.certificate.issue",
            &format!("certificate:{}", record.serial),
            format!(
                "MO {}{} system certificate until {}",
                mo_code,
                subdivision_code
                    .as_deref()
                    .map(|s| format!("/{s}"))
                    .unwrap_or_default(),
                summary.not_after.date()
            ),
        )
        .await?;
    Ok(IssuedCertificate {
        serial: record.serial,
        mo_code,
        subdivision_code,
        not_after: summary.not_after,
        pkcs12,
    })
}

fn serial_of(text: &str) -> Result<String, FundError> {
    let serial = text.trim().trim_start_matches("0x").to_ascii_uppercase();
    if serial.is_empty() || serial.len() > 64 || !serial.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FundError::invalid_ru(
            "serial",
            text,
            "must be the certificate's serial in hex (as `medgate claims mo certificate list` shows it)",
            "нужен серийный номер сертификата в шестнадцатеричном виде (как в списке сертификатов МО)",
        ));
    }
    Ok(serial)
}

/// Revokes a system certificate: marked in the claims store and recorded in the node's
/// revocations (which the TLS layer enforces); audited. A second revocation is refused.
pub async fn revoke_certificate(
    store: &Metadata,
    actor: &Actor,
    serial: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<ClaimsMoCertificate, FundError> {
    let serial = serial_of(serial)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(FundError::invalid_ru(
            "reason",
            reason,
            "must say in 1 to 200 characters why the certificate is revoked",
            "нужно объяснить в 1–200 символах, почему сертификат отозван",
        ));
    }
    let revoked = store
        .revoke_claims_mo_certificate(&serial, reason, now)
        .await
        .map_err(FundError::refused("revoke a certificate"))?;
    store
        .record_revocation(&serial, reason, now)
        .await
        .map_err(FundError::storage("record the revocation"))?;
    actor
        .record(
            store,
            "claims.mo.certificate.revoke",
            &format!("certificate:{serial}"),
            format!("MO {}: {reason}", revoked.mo_code),
        )
        .await?;
    Ok(revoked)
}

/// The information system a presented certificate (by its serial) acts for, checked now:
/// recorded by this node, not revoked, within its dates. It uploads as `<MO>_mis` (the
/// audit log's actor `claims:<MO>_mis`, or with a subdivision `<MO>/<sub>_mis`).
pub async fn system_of_certificate(
    store: &Metadata,
    serial: &str,
    origin: AuditOrigin,
    now: OffsetDateTime,
) -> Result<Uploader, FundError> {
    let serial = serial_of(serial)?;
    let refused = |reason: String| FundError::CertificateRefused {
        serial: serial.clone(),
        reason,
    };
    let certificate = store
        .claims_mo_certificate(&serial)
        .await
        .map_err(FundError::storage("read a certificate"))?
        .ok_or_else(|| refused("it was not issued to an MO's information system".to_owned()))?;
    if let Some(at) = certificate.revoked_at {
        return Err(refused(format!(
            "it was revoked on {} ({})",
            at.date(),
            certificate.revoked_reason.as_deref().unwrap_or("")
        )));
    }
    if certificate.not_after < now {
        return Err(refused(format!(
            "it expired on {}",
            certificate.not_after.date()
        )));
    }
    let party = match &certificate.subdivision_code {
        Some(subdivision) => format!("{}/{subdivision}", certificate.mo_code),
        None => certificate.mo_code.clone(),
    };
    Ok(Uploader {
        login: format!("{party}_mis"),
        mo_code: certificate.mo_code,
        subdivision_code: certificate.subdivision_code,
        origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_name_names_the_mo_and_subdivision_and_reads_back() {
        assert_eq!(common_name("140001", None), "140001 claims MO system");
        assert_eq!(
            mo_of_common_name(&common_name("140001", Some("2"))),
            Some(("140001".to_owned(), Some("2".to_owned())))
        );
        assert_eq!(
            mo_of_common_name("140001 claims MO system"),
            Some(("140001".to_owned(), None))
        );
        assert_eq!(mo_of_common_name("140001 clinical institution"), None);
        assert_eq!(mo_of_common_name("14x001 claims MO system"), None);
    }

    #[test]
    fn a_serial_is_hex_and_named_when_it_is_not() {
        assert_eq!(serial_of(" 0a1b ").unwrap_or_default(), "0A1B");
        let error = serial_of("zz")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("serial \"zz\" is not valid"), "{error}");
    }
}

//! Institutions of a clinical record service node (`--role clinical`), enrolled as the
//! operator's `medgate clinical …` commands do: the institution, a unit, a practitioner in
//! its matrix, and the institution's certificate from the node's CA, recorded.

use medgate_clinical::admin::{self, Operator};
use medgate_ids::InstitutionId;
use medgate_pki::ca::Validity;
use medgate_pki::{Certificate, KeyAlgorithm, PrivateKey};
use medgate_storage::{AuditOrigin, InstitutionCertificate};
use time::OffsetDateTime;

use super::Node;

/// Every enrolled practitioner's service password.
pub const PASSWORD: &str = "korrekt ló elem kapocs";

/// What an enrolled institution's system holds.
pub struct Enrolled {
    pub certificate: Certificate,
    pub key: PrivateKey,
    /// The certificate's serial, upper-case hex: the keyid of its signatures.
    pub serial_hex: String,
    /// The practitioner's TOTP secret (base32).
    pub totp_secret: String,
}

/// Registers institution `id` with `unit` and practitioner `user_name` (stamp `stamp`,
/// password [`PASSWORD`]) in its matrix as a doctor, and issues and records its certificate.
pub async fn enrol(node: &Node, id: &str, unit: &str, user_name: &str, stamp: &str) -> Enrolled {
    let store = &node.metadata;
    let operator = Operator {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    let now = OffsetDateTime::now_utc();
    admin::register_institution(store, &operator, id, &format!("Intézmény {id}"), now)
        .await
        .unwrap();
    admin::add_unit(store, &operator, id, unit, "Rendelő")
        .await
        .unwrap();
    let registered =
        admin::register_practitioner(store, &operator, user_name, user_name, stamp, PASSWORD, now)
            .await
            .unwrap();
    admin::grant(store, &operator, user_name, id, None, "doctor")
        .await
        .unwrap();
    let (certificate, key) = node
        .ca
        .issue_client(
            &format!("{id} clinical institution"),
            KeyAlgorithm::EcdsaP256,
            Validity::days_from_now(30).unwrap(),
        )
        .unwrap();
    let summary = certificate.summary().unwrap();
    admin::record_certificate(
        store,
        &operator,
        &InstitutionCertificate {
            serial: summary.serial_hex.to_ascii_uppercase(),
            institution: InstitutionId::parse(id).unwrap(),
            not_after: summary.not_after,
        },
        now,
    )
    .await
    .unwrap();
    Enrolled {
        certificate,
        key,
        serial_hex: summary.serial_hex,
        totp_secret: registered.totp_secret,
    }
}

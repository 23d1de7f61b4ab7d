//! The CAs a fund trusts for its signers' certificates, with certificates made by `openssl ca`
//! (an independent peer): a CA and its leaf (accepted), a leaf of another CA (refused, naming
//! its issuer), a leaf the CA revoked and listed on its CRL (refused), an expired leaf
//! (refused at registration whatever the CAs); the installation (`add`, `list`, `remove`) and
//! nothing checked when nothing is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medgate_claims::signing::trust::{self, Installed, SignerTrust};
use medgate_claims::signing::{CertificateProblem, SignerCertificate};
use medgate_claims::workflow::Role;
use medgate_pki::load_certificate;
use medgate_test_peers::openssl_ca::OpensslCa;
use medgate_test_peers::require_command;
use time::OffsetDateTime;

#[test]
fn signer_certificates_are_checked_against_the_installed_cas_and_crls() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let trusted = OpensslCa::new(&openssl, &work.path().join("trusted"), "/CN=УЦ ТФОМС/C=RU");
    let other = OpensslCa::new(&openssl, &work.path().join("other"), "/CN=Чужой УЦ/C=RU");
    let good = trusted.issue("good", "Исполнитель", false);
    let stranger = other.issue("stranger", "Посторонний", false);
    let revoked = trusted.issue("revoked", "Уволенный", false);
    let expired = trusted.issue("expired", "Прежний", true);
    trusted.revoke("revoked");
    let now = OffsetDateTime::now_utc();
    let check = |trust: &SignerTrust, cer: &std::path::Path| {
        trust.check(&load_certificate(cer).unwrap(), "leaf.cer", now)
    };

    // Nothing installed: nothing to check against (the page says so).
    let nothing = SignerTrust::load(&data).unwrap();
    assert!(nothing.is_empty());
    assert!(check(&nothing, &stranger).is_ok());

    // A leaf is no CA; a CRL before its CA is refused.
    let not_ca = trust::install(&data, &good).unwrap_err().to_string();
    assert!(not_ca.contains("is not a CA's certificate"), "{not_ca}");
    let crl = trusted.crl();
    let early = trust::install(&data, &crl).unwrap_err().to_string();
    assert!(early.contains("signed by no installed CA"), "{early}");

    let installed = trust::install(&data, &trusted.certificate()).unwrap();
    let [Installed::Ca {
        file: ca_file,
        subject,
        ..
    }] = installed.as_slice()
    else {
        panic!("{installed:?}")
    };
    assert_eq!(subject, "CN=УЦ ТФОМС, C=RU");
    let again = trust::install(&data, &trusted.certificate()).unwrap_err();
    assert!(
        again.to_string().contains("is installed already"),
        "{again}"
    );
    let crl_installed = trust::install(&data, &crl).unwrap();
    assert!(
        matches!(&crl_installed[..], [Installed::Crl { issuer, .. }] if issuer == "CN=УЦ ТФОМС, C=RU"),
        "{crl_installed:?}"
    );
    assert_eq!(trust::installed(&data).unwrap().len(), 2);

    let trust = SignerTrust::load(&data).unwrap();
    assert_eq!(trust.cas(), 1);
    check(&trust, &good).unwrap();

    let refused = check(&trust, &stranger).unwrap_err();
    assert!(
        matches!(refused, CertificateProblem::Untrusted { .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "leaf.cer: the certificate of CN=Посторонний is not issued by a CA this fund trusts for \
         signers (its issuer: CN=Чужой УЦ, C=RU); a certificate from an accredited CA installed \
         on the node is needed"
    );
    assert_eq!(
        refused.russian(),
        "Файл leaf.cer: сертификат CN=Посторонний выдан не удостоверяющим центром, которому \
         доверяет фонд (издатель: CN=Чужой УЦ, C=RU); нужен сертификат аккредитованного УЦ, \
         установленного на узле."
    );

    let on_crl = check(&trust, &revoked).unwrap_err();
    let serial = load_certificate(&revoked)
        .unwrap()
        .summary()
        .unwrap()
        .serial_hex;
    assert!(
        matches!(&on_crl, CertificateProblem::Revoked { serial_hex, .. } if *serial_hex == serial),
        "{on_crl:?}"
    );
    assert!(
        on_crl
            .to_string()
            .contains("is revoked: its CA's revocation list lists it since"),
        "{on_crl}"
    );
    assert!(
        on_crl.russian().starts_with(&format!(
            "Файл leaf.cer: сертификат CN=Уволенный (серийный номер {serial}) отозван: он в \
             списке отзыва своего УЦ с "
        )),
        "{}",
        on_crl.russian()
    );

    // An expired certificate is refused when registered, whatever the CAs.
    let bytes = std::fs::read(&expired).unwrap();
    let old =
        SignerCertificate::register("M140001_1", Role::Executor, bytes, &expired, now).unwrap_err();
    assert!(old.to_string().contains("expired on 2020-02-01"), "{old}");
    assert!(
        old.russian().ends_with("истёк 2020-02-01."),
        "{}",
        old.russian()
    );

    // Removing the CA: its leaves are no longer checked (nothing is installed but a CRL).
    let removed = trust::remove(&data, ca_file).unwrap();
    assert_eq!(removed.file(), ca_file);
    let missing = trust::remove(&data, ca_file).unwrap_err();
    assert!(
        missing.to_string().contains("is not installed"),
        "{missing}"
    );
    assert!(SignerTrust::load(&data).unwrap().is_empty());
}

/// The same with a GOST R 34.10-2012 CA, as Russian funds' accredited CAs are, made by
/// `openssl ca` with the GOST engine: its CRL is installed (its signature checked by the
/// engine), its leaf accepted through the engine's chain check, its revoked leaf refused, an
/// RSA CA's leaf refused; a CRL of a GOST CA not installed is refused.
#[test]
fn gost_signer_certificates_are_checked_against_a_gost_ca_and_its_crl() {
    let Some(openssl) = medgate_test_peers::openssl_ca::require_gost_openssl() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let gost = OpensslCa::new_gost(&openssl, &work.path().join("gost"), "/CN=ГОСТ УЦ/C=RU");
    let unknown = OpensslCa::new_gost(&openssl, &work.path().join("unknown"), "/CN=ГОСТ УЦ/C=RU");
    let rsa = OpensslCa::new(&openssl, &work.path().join("rsa"), "/CN=УЦ RSA/C=RU");
    let good = gost.issue("good", "Главный бухгалтер", false);
    let revoked = gost.issue("revoked", "Уволенный", false);
    let stranger = rsa.issue("stranger", "Посторонний", false);
    gost.revoke("revoked");
    // Another CA of the same name signed this one: its signature does not hold.
    let forged = unknown.crl();
    let now = OffsetDateTime::now_utc();
    let check = |trust: &SignerTrust, cer: &std::path::Path| {
        trust.check(&load_certificate(cer).unwrap(), "leaf.cer", now)
    };
    assert!(medgate_pki::gost::is_gost_certificate(
        &load_certificate(&good).unwrap()
    ));

    trust::install(&data, &rsa.certificate()).unwrap();
    trust::install(&data, &gost.certificate()).unwrap();
    let refused = trust::install(&data, &forged).unwrap_err().to_string();
    assert!(refused.contains("signed by no installed CA"), "{refused}");
    let crl = trust::install(&data, &gost.crl()).unwrap();
    assert!(
        matches!(&crl[..], [Installed::Crl { issuer, .. }] if issuer == "CN=ГОСТ УЦ, C=RU"),
        "{crl:?}"
    );

    let trust = SignerTrust::load(&data).unwrap();
    assert_eq!(trust.cas(), 2);
    check(&trust, &good).unwrap();
    check(&trust, &stranger).unwrap();
    let on_crl = check(&trust, &revoked).unwrap_err();
    assert!(
        matches!(on_crl, CertificateProblem::Revoked { .. }),
        "{on_crl:?}"
    );

    // Without the RSA CA, its leaf is refused; the GOST leaf still passes.
    let installed = trust::installed(&data).unwrap();
    let rsa_file = installed
        .iter()
        .find_map(|entry| match entry {
            Installed::Ca { file, subject, .. } if subject == "CN=УЦ RSA, C=RU" => {
                Some(file.clone())
            }
            _ => None,
        })
        .unwrap();
    trust::remove(&data, &rsa_file).unwrap();
    let trust = SignerTrust::load(&data).unwrap();
    let untrusted = check(&trust, &stranger).unwrap_err();
    assert!(
        matches!(untrusted, CertificateProblem::Untrusted { .. }),
        "{untrusted:?}"
    );
    check(&trust, &good).unwrap();
}

//! The three signatures over a generated register with RSA and ECDSA keys and certificates
//! made by `openssl`: signed in order by `signing::sign`, each signature checked by the
//! independent peer (`openssl cms -verify` over the package's bytes), and every refusal the
//! fund's system makes — out of order, by the wrong user, with another certificate, over other
//! bytes, signed before the previous one — named; the signed package read back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_claims::generate::{self, Options};
use medgate_claims::signing::{
    self, read_signed_package, write_signed_package, SignatureProgress, SignatureRefusal,
    SignedPackage, SignerCertificate, Signers, SigningKey,
};
use medgate_claims::workflow::{Role, SIGNING_ORDER};
use medgate_claims::Period;
use medgate_pki::{load_certificate, PrivateKey};
use medgate_test_peers::require_command;
use time::{Duration, OffsetDateTime};

const STEMS: [&str; 3] = ["executor", "accountant", "head"];

fn openssl_ok(openssl: &Path, args: &[&str]) {
    let out = Command::new(openssl).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and, for each stem, a key and a certificate it issued (digitalSignature,
/// nonRepudiation), all made by OpenSSL; `algorithm` is `rsa` or `ec`.
fn pki(openssl: &Path, dir: &Path, algorithm: &str, stems: &[&str]) {
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let key_args: Vec<&str> = match algorithm {
        "rsa" => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        _ => vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    };
    if !dir.join("ca.pem").exists() {
        let mut args = vec!["genpkey"];
        args.extend(&key_args);
        let ca_key = p("ca.key");
        args.extend(["-out", &ca_key]);
        openssl_ok(openssl, &args);
        openssl_ok(
            openssl,
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                &p("ca.key"),
                "-days",
                "30",
                "-utf8",
                "-subj",
                "/CN=Удостоверяющий центр ТФОМС/C=RU",
                "-out",
                &p("ca.pem"),
            ],
        );
        std::fs::write(
            dir.join("signer.ext"),
            "keyUsage=critical,digitalSignature,nonRepudiation\n",
        )
        .unwrap();
    }
    for (index, stem) in stems.iter().enumerate() {
        let key = p(&format!("{stem}.key"));
        let mut args = vec!["genpkey"];
        args.extend(&key_args);
        args.extend(["-out", &key]);
        openssl_ok(openssl, &args);
        let subject = format!("/CN={stem} ГБУЗ Поликлиника № 1/O=ГБУЗ Поликлиника № 1/C=RU");
        openssl_ok(
            openssl,
            &[
                "req",
                "-new",
                "-utf8",
                "-key",
                &key,
                "-subj",
                &subject,
                "-out",
                &p(&format!("{stem}.csr")),
            ],
        );
        let serial = format!("{}", 0x40 + index);
        openssl_ok(
            openssl,
            &[
                "x509",
                "-req",
                "-in",
                &p(&format!("{stem}.csr")),
                "-CA",
                &p("ca.pem"),
                "-CAkey",
                &p("ca.key"),
                "-set_serial",
                &serial,
                "-days",
                "30",
                "-extfile",
                &p("signer.ext"),
                "-out",
                &p(&format!("{stem}.pem")),
            ],
        );
        // The `.cer` the signer uploads: DER, as CryptoPro's "copy to file" writes it.
        openssl_ok(
            openssl,
            &[
                "x509",
                "-in",
                &p(&format!("{stem}.pem")),
                "-outform",
                "DER",
                "-out",
                &p(&format!("{stem}.cer")),
            ],
        );
    }
}

fn register(dir: &Path, cases: u32) -> (PathBuf, Vec<u8>) {
    let options = Options::new(cases, Period::new(2025, 1).unwrap());
    let path = dir.join(format!("{}.zip", options.name().main_stem()));
    let file = std::fs::File::create(&path).unwrap();
    generate::write_package(std::io::BufWriter::new(file), &options).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn registered(dir: &Path, stem: &str, role: Role) -> SignerCertificate {
    let path = dir.join(format!("{stem}.cer"));
    let login = format!("M010001_{}", role.signing_position().unwrap());
    SignerCertificate::register(
        &login,
        role,
        std::fs::read(&path).unwrap(),
        &path,
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

fn signers(dir: &Path) -> Signers {
    Signers::new(
        registered(dir, "executor", Role::Executor),
        registered(dir, "accountant", Role::ChiefAccountant),
        registered(dir, "head", Role::Head),
    )
    .unwrap()
}

fn sign_as(dir: &Path, stem: &str, register: &[u8], at: OffsetDateTime) -> Vec<u8> {
    let cert = load_certificate(&dir.join(format!("{stem}.pem"))).unwrap();
    let key = PrivateKey::load(&dir.join(format!("{stem}.key")), None).unwrap();
    signing::sign(register, &cert, SigningKey::InProcess(&key), at).unwrap()
}

fn openssl_verifies(openssl: &Path, dir: &Path, signature: &[u8], content: &Path) -> bool {
    let sig = dir.join("check.sig");
    std::fs::write(&sig, signature).unwrap();
    let out = Command::new(openssl)
        .args([
            "cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-in",
        ])
        .arg(&sig)
        .arg("-content")
        .arg(content)
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .arg("-out")
        .arg(dir.join("check.out"))
        .output()
        .unwrap();
    out.status.success()
}

fn three_signatures_in_order(algorithm: &str, key_description: &str) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    pki(&openssl, dir, algorithm, &STEMS);
    let (path, bytes) = register(dir, 30);
    // The certificates were issued a moment ago; the signers sign in the next minutes.
    let start = OffsetDateTime::now_utc() + Duration::minutes(10);
    let signatures: Vec<Vec<u8>> = STEMS
        .iter()
        .enumerate()
        .map(|(index, stem)| sign_as(dir, stem, &bytes, start + Duration::minutes(index as i64)))
        .collect();
    for (index, signature) in signatures.iter().enumerate() {
        assert!(
            openssl_verifies(&openssl, dir, signature, &path),
            "OpenSSL refuses signature {}",
            index + 1
        );
    }
    let signers = signers(dir);
    let verified = signing::verify_in_order(&signers, &bytes, &signatures).unwrap();
    let roles: Vec<Role> = verified.iter().map(|v| v.role).collect();
    assert_eq!(roles, SIGNING_ORDER);
    assert_eq!(verified[1].login, "M010001_2");
    assert!(verified[2].subject.contains("CN=head"), "{:?}", verified[2]);
    assert!(
        verified.iter().all(|v| v.algorithm == key_description),
        "{verified:?}"
    );
    assert_eq!(
        verified[0].signing_time.map(|t| t.unix_timestamp()),
        Some(start.unix_timestamp())
    );

    // One changed byte in the package breaks every signature, for OpenSSL and for us.
    let mut changed = bytes.clone();
    let last = changed.len() - 30;
    changed[last] ^= 1;
    let changed_path = dir.join("changed.zip");
    std::fs::write(&changed_path, &changed).unwrap();
    assert!(!openssl_verifies(
        &openssl,
        dir,
        &signatures[0],
        &changed_path
    ));
    let refusal = signing::verify_in_order(&signers, &changed, &signatures).unwrap_err();
    assert_eq!(
        refusal,
        SignatureRefusal::OtherBytes {
            position: 1,
            role: Role::Executor
        }
    );
}

#[test]
fn three_rsa_signatures_in_order_verify_here_and_with_openssl() {
    three_signatures_in_order("rsa", "RSA 2048");
}

#[test]
fn three_ecdsa_signatures_in_order_verify_here_and_with_openssl() {
    three_signatures_in_order("ec", "ECDSA P-256");
}

#[test]
fn signatures_out_of_order_by_the_wrong_user_with_another_certificate_or_over_other_bytes_are_refused(
) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // "stranger" holds a certificate issued by the same CA with the executor's name: not the
    // one registered for the executor.
    pki(
        &openssl,
        dir,
        "ec",
        &["executor", "accountant", "head", "stranger"],
    );
    let (_, bytes) = register(dir, 5);
    let other_dir = dir.join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let (_, other_register) = register(&other_dir, 6);
    let signers = signers(dir);
    let at = OffsetDateTime::now_utc() + Duration::hours(2);
    let [first, second, third] = STEMS.map(|stem| {
        sign_as(
            dir,
            stem,
            &bytes,
            at + Duration::minutes(STEMS.iter().position(|s| *s == stem).unwrap() as i64),
        )
    });

    // The chief accountant's signature given first: out of order.
    let refusal = signing::verify_in_order(
        &signers,
        &bytes,
        &[second.clone(), first.clone(), third.clone()],
    )
    .unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::OutOfOrder {
                position: 1,
                role: Role::ChiefAccountant,
                expected: Role::Executor,
                ..
            }
        ),
        "{refusal:?}"
    );
    let said = refusal.to_string();
    assert!(
        said.starts_with(
            "signature 1 is out of order: it is the chief accountant's (M010001_2, CN=accountant"
        ),
        "{said}"
    );
    assert!(
        said.ends_with(
            "and the executor signs first; the order is executor, chief accountant, head"
        ),
        "{said}"
    );

    // The executor's signature given again as the chief accountant's: the wrong user.
    let refusal = signing::verify_in_order(
        &signers,
        &bytes,
        &[first.clone(), first.clone(), third.clone()],
    )
    .unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::WrongUser {
                position: 2,
                expected: Role::ChiefAccountant,
                signed_by: Role::Executor,
                ..
            }
        ),
        "{refusal:?}"
    );
    assert!(refusal.to_string().starts_with("signature 2 is by the wrong user: it was made with the executor's certificate (M010001_1"), "{refusal}");

    // Made with a certificate registered for nobody.
    let stranger = sign_as(dir, "stranger", &bytes, at);
    let refusal =
        signing::verify_in_order(&signers, &bytes, &[stranger, second.clone(), third.clone()])
            .unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::OtherCertificate {
                position: 1,
                expected: Role::Executor,
                ..
            }
        ),
        "{refusal:?}"
    );
    let said = refusal.to_string();
    assert!(
        said.starts_with("signature 1 was made with another certificate (CN=stranger"),
        "{said}"
    );
    assert!(
        said.contains("than the one registered for the executor (M010001_1, CN=executor"),
        "{said}"
    );

    // The head signed another register.
    let elsewhere = sign_as(dir, "head", &other_register, at + Duration::minutes(5));
    let refusal = signing::verify_in_order(
        &signers,
        &bytes,
        &[first.clone(), second.clone(), elsewhere],
    )
    .unwrap_err();
    assert_eq!(
        refusal,
        SignatureRefusal::OtherBytes {
            position: 3,
            role: Role::Head
        }
    );
    assert_eq!(
        refusal.to_string(),
        "signature 3 (the head's) was made over other bytes than this register: its message digest does not match the package"
    );
    assert_eq!(
        refusal.russian(),
        "Подпись 3 (роль «руководитель») сделана не над этим реестром: хэш не совпадает с файлом реестра."
    );

    // The chief accountant's signing time is before the executor's.
    let early = sign_as(dir, "accountant", &bytes, at - Duration::hours(1));
    let refusal =
        signing::verify_in_order(&signers, &bytes, &[first.clone(), early, third.clone()])
            .unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::SignedBeforePrevious {
                position: 2,
                role: Role::ChiefAccountant,
                ..
            }
        ),
        "{refusal:?}"
    );
    assert!(
        refusal
            .to_string()
            .starts_with("signature 2 is out of order: the chief accountant signed at"),
        "{refusal}"
    );
    assert!(
        refusal
            .russian()
            .starts_with("Подпись 2 нарушает порядок: роль «главный бухгалтер» подписала в"),
        "{}",
        refusal.russian()
    );

    // A signing time when the certificate was not valid yet.
    let backdated = sign_as(dir, "executor", &bytes, at - Duration::days(1));
    let refusal = signing::verify_in_order(
        &signers,
        &bytes,
        &[backdated, second.clone(), third.clone()],
    )
    .unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::CertificateNotValid {
                position: 1,
                role: Role::Executor,
                ..
            }
        ),
        "{refusal:?}"
    );
    assert!(
        refusal
            .to_string()
            .ends_with("when its certificate was not valid"),
        "{refusal}"
    );

    // Incomplete and too many.
    let refusal =
        signing::verify_in_order(&signers, &bytes, &[first.clone(), second.clone()]).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "the head's signature (number 3) is missing; a register carries three"
    );
    let refusal = signing::verify_in_order(
        &signers,
        &bytes,
        &[first.clone(), second.clone(), third.clone(), third.clone()],
    )
    .unwrap_err();
    assert_eq!(refusal, SignatureRefusal::TooMany { count: 4 });

    // Not a signature at all.
    let refusal =
        signing::verify_in_order(&signers, &bytes, std::slice::from_ref(&bytes)).unwrap_err();
    assert!(
        matches!(refusal, SignatureRefusal::Unreadable { position: 1, .. }),
        "{refusal:?}"
    );
}

#[test]
fn signatures_arrive_one_at_a_time_and_each_signer_waits_for_their_turn() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    pki(&openssl, dir, "rsa", &STEMS);
    let (_, bytes) = register(dir, 3);
    let signers = signers(dir);
    let at = OffsetDateTime::now_utc();
    let [first, second, third] = STEMS.map(|stem| sign_as(dir, stem, &bytes, at));
    let mut progress = SignatureProgress::new(&signers, &bytes);
    assert_eq!(progress.next_role(), Some(Role::Executor));

    let refusal = progress.accept(Role::Head, &third).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "signature 1 is out of order: it is the head's (M010001_3, CN=head ГБУЗ Поликлиника № 1, O=ГБУЗ Поликлиника № 1, C=RU, serial 42), and the executor signs first; the order is executor, chief accountant, head"
    );
    // The chief accountant uploads the executor's signature as their own.
    progress.accept(Role::Executor, &first).unwrap();
    let refusal = progress.accept(Role::ChiefAccountant, &first).unwrap_err();
    assert!(
        matches!(
            refusal,
            SignatureRefusal::WrongUser {
                position: 2,
                signed_by: Role::Executor,
                ..
            }
        ),
        "{refusal:?}"
    );
    let refusal = progress.accept(Role::Executor, &first).unwrap_err();
    assert_eq!(
        refusal.to_string(),
        "the executor has already signed (signature 1); signature 2 is the chief accountant's"
    );
    assert_eq!(progress.accepted().len(), 1);
    progress.accept(Role::ChiefAccountant, &second).unwrap();
    let head = progress.accept(Role::Head, &third).unwrap();
    assert_eq!((head.position, head.login.as_str()), (3, "M010001_3"));
    assert!(progress.is_complete());
    assert_eq!(
        progress.accept(Role::Head, &third).unwrap_err(),
        SignatureRefusal::Complete
    );
}

#[test]
fn certificates_are_registered_only_for_their_signer() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    pki(&openssl, dir, "ec", &STEMS);
    let now = OffsetDateTime::now_utc();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    // PEM and DER alike.
    let pem = SignerCertificate::register(
        "M010001_1",
        Role::Executor,
        read("executor.pem"),
        &dir.join("executor.pem"),
        now,
    )
    .unwrap();
    let der = SignerCertificate::register(
        "M010001_1",
        Role::Executor,
        read("executor.cer"),
        &dir.join("executor.cer"),
        now,
    )
    .unwrap();
    assert_eq!(pem.certificate().der(), der.certificate().der());
    assert_eq!(der.serial_hex(), "40");

    let refused = |login: &str, role: Role, name: &str, at: OffsetDateTime| {
        SignerCertificate::register(login, role, read(name), &dir.join(name), at)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        refused("M010001_2", Role::Executor, "executor.cer", now),
        "login M010001_2 is the chief accountant's (its suffix), not the executor's"
    );
    assert_eq!(refused("smo_reviewer", Role::InsurerReviewer, "executor.cer", now), "the insurer's reviewer does not sign registers; the signers are the executor, the chief accountant and the head");
    assert!(refused("M010001_1", Role::Executor, "ca.pem", now)
        .ends_with("is a CA certificate (CN=Удостоверяющий центр ТФОМС, C=RU), not a signer's"));
    assert!(refused(
        "M010001_1",
        Role::Executor,
        "executor.cer",
        now + Duration::days(60)
    )
    .contains("expired on"));
    assert!(refused("M010001_1", Role::Executor, "executor.key", now)
        .contains("is a private key, not a certificate"));
    assert!(refused("M010001_1", Role::Executor, "executor.csr", now)
        .contains("is a certificate request (CSR)"));

    // Each refusal has its Russian sentence for the fund's pages, with no English in it.
    let russian = |login: &str, role: Role, name: &str, at: OffsetDateTime| {
        SignerCertificate::register(login, role, read(name), &dir.join(name), at)
            .unwrap_err()
            .russian()
    };
    let file = |name: &str| dir.join(name).display().to_string();
    assert_eq!(
        russian("M010001_2", Role::Executor, "executor.cer", now),
        "Логин M010001_2 по своему окончанию относится к роли «главный бухгалтер», а не \
         «исполнитель»."
    );
    assert_eq!(
        russian("smo_reviewer", Role::InsurerReviewer, "executor.cer", now),
        "Роль «специалист страховой компании» не подписывает реестры; подписывают \
         исполнитель, главный бухгалтер и руководитель."
    );
    assert_eq!(
        russian("M010001_1", Role::Executor, "ca.pem", now),
        format!(
            "Файл {}: это сертификат удостоверяющего центра (CN=Удостоверяющий центр ТФОМС, \
             C=RU), а не подписанта.",
            file("ca.pem")
        )
    );
    let expired = russian(
        "M010001_1",
        Role::Executor,
        "executor.cer",
        now + Duration::days(60),
    );
    assert!(
        expired.starts_with(&format!(
            "Файл {}: срок действия сертификата ",
            file("executor.cer")
        )) && expired.contains(" истёк 20"),
        "{expired}"
    );
    assert_eq!(
        russian("M010001_1", Role::Executor, "executor.key", now),
        format!(
            "Файл {} — закрытый ключ, а не сертификат. Закрытый ключ не покидает компьютер \
             подписанта; загрузите сертификат (.cer).",
            file("executor.key")
        )
    );
    assert_eq!(
        russian("M010001_1", Role::Executor, "executor.csr", now),
        format!(
            "Файл {} — запрос на сертификат (CSR), а не сертификат; сначала получите по нему \
             сертификат в удостоверяющем центре.",
            file("executor.csr")
        )
    );
    std::fs::write(dir.join("notes.txt"), "просто текст").unwrap();
    assert_eq!(
        russian("M010001_1", Role::Executor, "notes.txt", now),
        format!(
            "Файл {} не является сертификатом: ожидается сертификат X.509 в формате DER или PEM \
             (.cer).",
            file("notes.txt")
        )
    );
    let bundle = [read("executor.pem"), read("head.pem")].concat();
    std::fs::write(dir.join("bundle.pem"), bundle).unwrap();
    assert_eq!(
        russian("M010001_1", Role::Executor, "bundle.pem", now),
        format!(
            "Файл {} содержит сертификатов: 2; загрузите только собственный сертификат \
             подписанта (.cer).",
            file("bundle.pem")
        )
    );

    // One certificate registered for two signers.
    let twice = Signers::new(
        der.clone(),
        SignerCertificate::register(
            "M010001_2",
            Role::ChiefAccountant,
            read("executor.cer"),
            &dir.join("executor.cer"),
            now,
        )
        .unwrap(),
        SignerCertificate::register(
            "M010001_3",
            Role::Head,
            read("head.cer"),
            &dir.join("head.cer"),
            now,
        )
        .unwrap(),
    )
    .unwrap_err();
    assert!(
        twice
            .to_string()
            .contains("is registered for both the executor and the chief accountant"),
        "{twice}"
    );
    assert!(
        twice.russian().starts_with("Один сертификат (")
            && twice
                .russian()
                .ends_with("загружен и для роли «исполнитель», и для роли «главный бухгалтер»; у каждого подписанта свой сертификат."),
        "{}",
        twice.russian()
    );
}

#[test]
fn the_signed_package_holds_the_register_and_its_three_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = register(dir.path(), 2);
    let name = "HM010001S14002_25011.zip".to_owned();
    let package = SignedPackage {
        register_name: name.clone(),
        register: bytes.clone(),
        signatures: vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
    };
    let zip = write_signed_package(&package).unwrap();
    assert_eq!(read_signed_package("signed.zip", &zip).unwrap(), package);
    assert_eq!(
        signing::signature_name(&name, 2),
        "HM010001S14002_25011.2.sig"
    );

    // Written without the head's signature by another tool: named.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (entry, content) in [
        (name.as_str(), &bytes[..]),
        ("HM010001S14002_25011.1.sig", b"1"),
        ("HM010001S14002_25011.2.sig", b"2"),
    ] {
        writer.start_file(entry, options).unwrap();
        std::io::Write::write_all(&mut writer, content).unwrap();
    }
    let partial = writer.finish().unwrap().into_inner();
    let error = read_signed_package("signed.zip", &partial).unwrap_err();
    assert_eq!(
        error.to_string(),
        "signed.zip: HM010001S14002_25011.3.sig (the head's signature) is missing"
    );
    let error = read_signed_package("signed.zip", b"not a zip").unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("signed.zip: not a ZIP archive"),
        "{error}"
    );
    let error = signing::check_register("register.zip", &bytes).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("a signed register keeps its federal name"),
        "{error}"
    );
}

//! `medgate claims sign` and `medgate claims verify`: a generated register signed by its three
//! signers in order with RSA and with ECDSA keys made by `openssl`, each signature checked by
//! `openssl cms -verify`, the set verified in order (and as a signed package), the refusals
//! named with exit status 1; and GOST R 34.10-2012: a 2012-256 key and certificate made with
//! `openssl` and its GOST engine, a register signed through medgate and verified by
//! `openssl cms -verify -engine gost`.

use std::path::{Path, PathBuf};

use medgate_test_peers::{require_command, require_python};
use medgate_test_peers::openssl_ca::require_gost_openssl as gost_openssl;

use crate::support::{medgate, path, run_fails, run_ok, run_peer, run_peer_ok, temp_dir};

const SIGNERS: [(&str, &str); 3] = [
    (
        "executor",
        "/CN=Иванова Мария Петровна/O=ГБУЗ Поликлиника № 1/C=RU",
    ),
    (
        "accountant",
        "/CN=Петрова Анна Сергеевна/O=ГБУЗ Поликлиника № 1/C=RU",
    ),
    ("head", "/CN=Сидоров Пётр Ильич/O=ГБУЗ Поликлиника № 1/C=RU"),
];

/// `engine` is `Some("gost")` for GOST keys; `key_args` the `genpkey` options.
fn pki(
    openssl: &Path,
    dir: &Path,
    engine: Option<&str>,
    key_args: &[&str],
    signers: &[(&str, &str)],
) {
    let p = |name: &str| path(dir, name);
    let with_engine = |command: &str, rest: &[&str]| {
        let mut args = vec![command.to_owned()];
        if let Some(engine) = engine {
            args.extend(["-engine".to_owned(), engine.to_owned()]);
        }
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_peer_ok(openssl, &args);
    };
    if !dir.join("ca.pem").exists() {
        let mut args = key_args.to_vec();
        let ca_key = p("ca.key");
        args.extend(["-out", &ca_key]);
        with_engine("genpkey", &args);
        with_engine(
            "req",
            &[
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
    for (index, (stem, subject)) in signers.iter().enumerate() {
        let key = p(&format!("{stem}.key"));
        let mut args = key_args.to_vec();
        args.extend(["-out", &key]);
        with_engine("genpkey", &args);
        with_engine(
            "req",
            &[
                "-new",
                "-utf8",
                "-key",
                &key,
                "-subj",
                subject,
                "-out",
                &p(&format!("{stem}.csr")),
            ],
        );
        let serial = format!("{}", 0x30 - index);
        with_engine(
            "x509",
            &[
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
        with_engine(
            "x509",
            &[
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

fn generate(dir: &Path) -> PathBuf {
    let out = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "12",
        "--period",
        "2025-01",
        "--out",
        dir.to_str().unwrap(),
    ]);
    PathBuf::from(out.trim())
}

fn sign(dir: &Path, register: &Path, stem: &str, out: &str) -> String {
    run_ok(&[
        "claims",
        "sign",
        "--register",
        register.to_str().unwrap(),
        "--key",
        &path(dir, &format!("{stem}.key")),
        "--cert",
        &path(dir, &format!("{stem}.cer")),
        "--out",
        &path(dir, out),
    ])
}

fn openssl_verifies(
    openssl: &Path,
    engine: Option<&str>,
    dir: &Path,
    sig: &str,
    content: &Path,
) -> bool {
    let mut args = vec!["cms".to_owned()];
    if let Some(engine) = engine {
        args.extend(["-engine".to_owned(), engine.to_owned()]);
    }
    args.extend(
        [
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-purpose",
            "any",
            "-in",
            &path(dir, sig),
            "-content",
            content.to_str().unwrap(),
            "-CAfile",
            &path(dir, "ca.pem"),
            "-out",
            &path(dir, "verified.out"),
        ]
        .map(str::to_owned),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_peer(openssl, &args).status.success()
}

fn verify_args<'a>(dir: &'a Path, register: &'a str, sigs: [&'a str; 3]) -> Vec<String> {
    let mut args: Vec<String> = ["claims", "verify", "--register", register]
        .map(str::to_owned)
        .to_vec();
    for sig in sigs {
        args.extend(["--sig".to_owned(), path(dir, sig)]);
    }
    for (stem, _) in SIGNERS {
        args.extend(["--signer".to_owned(), path(dir, &format!("{stem}.cer"))]);
    }
    args.extend(["--mo".to_owned(), "M010001".to_owned()]);
    args
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn three_signers_in_order(key_args: &[&str], key_description: &str) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    let dir = temp_dir();
    let dir = dir.path();
    let mut signers = SIGNERS.to_vec();
    signers.push((
        "stranger",
        "/CN=Иванова Мария Петровна/O=ГБУЗ Поликлиника № 1/C=RU",
    ));
    pki(&openssl, dir, None, key_args, &signers);
    let register = generate(dir);
    let name = register.file_name().unwrap().to_str().unwrap().to_owned();

    for (index, (stem, _)) in SIGNERS.iter().enumerate() {
        let sig = format!("{}.sig", index + 1);
        let said = sign(dir, &register, stem, &sig);
        assert!(said.starts_with(&format!("signed {name} (")), "{said}");
        assert!(
            said.contains(key_description)
                && said.contains(&format!("signature written to {}", path(dir, &sig))),
            "{said}"
        );
        assert!(
            openssl_verifies(&openssl, None, dir, &sig, &register),
            "OpenSSL refuses signature {}",
            index + 1
        );
        // Each signer signs at their own second, as they do at their own desks.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }

    let register_arg = register.to_str().unwrap().to_owned();
    let out = run_ok(&as_strs(&verify_args(
        dir,
        &register_arg,
        ["1.sig", "2.sig", "3.sig"],
    )));
    assert!(
        out.starts_with(&format!("{name}: 3 signatures in order")),
        "{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    for (line, (login, role, who)) in lines[2..5].iter().zip([
        ("M010001_1", "executor", "Иванова"),
        ("M010001_2", "chief_accountant", "Петрова"),
        ("M010001_3", "head", "Сидоров"),
    ]) {
        assert!(
            line.contains(login)
                && line.contains(role)
                && line.contains(who)
                && line.contains(key_description),
            "{out}"
        );
    }

    // The signed package, verified as such.
    let signed = path(dir, "signed.zip");
    let mut args = verify_args(dir, &register_arg, ["1.sig", "2.sig", "3.sig"]);
    args.extend(["--write-package".to_owned(), signed.clone()]);
    assert!(run_ok(&as_strs(&args)).contains(&format!("signed package written to {signed}")));
    let mut args: Vec<String> = ["claims", "verify", "--package", &signed]
        .map(str::to_owned)
        .to_vec();
    for (stem, _) in SIGNERS {
        args.extend(["--signer".to_owned(), path(dir, &format!("{stem}.cer"))]);
    }
    assert!(run_ok(&as_strs(&args)).starts_with(&format!("{name}: 3 signatures in order")));
    // Python's own ZIP reader lists the package; OpenSSL checks each signature taken out of it
    // against the register taken out of it.
    if let Some(python) = require_python("zipfile", "apt-get install python3") {
        let unpacked = dir.join("unpacked");
        let listing = run_peer_ok(&python, &[
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(' '.join(z.namelist())); z.extractall(sys.argv[2])",
            &signed,
            unpacked.to_str().unwrap(),
        ]);
        let stem = name.trim_end_matches(".zip");
        assert_eq!(
            listing.trim(),
            format!("{name} {stem}.1.sig {stem}.2.sig {stem}.3.sig"),
            "{listing}"
        );
        for position in 1..=3 {
            let sig = format!("unpacked/{stem}.{position}.sig");
            assert!(
                openssl_verifies(&openssl, None, dir, &sig, &unpacked.join(&name)),
                "OpenSSL refuses signature {position} taken out of the signed package"
            );
        }
    }

    // Refusals, each in its own words, exit status 1.
    let fails = |sigs: [&str; 3]| run_fails(&as_strs(&verify_args(dir, &register_arg, sigs)));
    let out_of_order = fails(["2.sig", "1.sig", "3.sig"]);
    assert!(
        out_of_order
            .contains("signature 1 is out of order: it is the chief accountant's (M010001_2"),
        "{out_of_order}"
    );
    let wrong_user = fails(["1.sig", "1.sig", "3.sig"]);
    assert!(
        wrong_user.contains(
            "signature 2 is by the wrong user: it was made with the executor's certificate"
        ),
        "{wrong_user}"
    );
    sign(dir, &register, "stranger", "stranger.sig");
    let other_certificate = fails(["stranger.sig", "2.sig", "3.sig"]);
    assert!(
        other_certificate.contains("signature 1 was made with another certificate"),
        "{other_certificate}"
    );
    let elsewhere = dir.join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let other_register = run_ok(&[
        "claims",
        "generate",
        "--cases",
        "13",
        "--period",
        "2025-01",
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    sign(dir, Path::new(other_register.trim()), "head", "other.sig");
    let other_bytes = fails(["1.sig", "2.sig", "other.sig"]);
    assert!(
        other_bytes
            .contains("signature 3 (the head's) was made over other bytes than this register"),
        "{other_bytes}"
    );
    assert!(!openssl_verifies(
        &openssl,
        None,
        dir,
        "other.sig",
        &register
    ));

    // Not a register package, or one renamed: refused before anything is signed.
    let renamed = dir.join("register.zip");
    std::fs::copy(&register, &renamed).unwrap();
    let refused = run_fails(&[
        "claims",
        "sign",
        "--register",
        renamed.to_str().unwrap(),
        "--key",
        &path(dir, "executor.key"),
        "--cert",
        &path(dir, "executor.cer"),
        "--out",
        &path(dir, "x.sig"),
    ]);
    assert!(
        refused.contains("a signed register keeps its federal name"),
        "{refused}"
    );
    let not_zip = dir.join(&name).with_extension("xml");
    std::fs::write(&not_zip, "<ZL_LIST/>").unwrap();
    let refused = run_fails(&[
        "claims",
        "sign",
        "--register",
        not_zip.to_str().unwrap(),
        "--key",
        &path(dir, "executor.key"),
        "--cert",
        &path(dir, "executor.cer"),
        "--out",
        &path(dir, "x.sig"),
    ]);
    assert!(
        refused.contains("is not a register package (a .zip archive)"),
        "{refused}"
    );

    // A key that is not the certificate's: nothing written.
    let mismatch = run_fails(&[
        "claims",
        "sign",
        "--register",
        &register_arg,
        "--key",
        &path(dir, "head.key"),
        "--cert",
        &path(dir, "executor.cer"),
        "--out",
        &path(dir, "x.sig"),
    ]);
    assert!(
        mismatch.contains("does not match certificate"),
        "{mismatch}"
    );
    assert!(!dir.join("x.sig").exists());
}

#[test]
fn claims_registers_are_signed_in_order_with_rsa_keys_and_verified_by_openssl() {
    three_signers_in_order(
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        "RSA 2048",
    );
}

#[test]
fn claims_registers_are_signed_in_order_with_ecdsa_keys_and_verified_by_openssl() {
    three_signers_in_order(
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
        "ECDSA P-256",
    );
}

#[test]
fn claims_registers_are_signed_with_gost_keys_and_verified_by_openssl_with_its_engine() {
    let Some(openssl) = gost_openssl() else {
        return;
    };
    let dir = temp_dir();
    let dir = dir.path();
    pki(
        &openssl,
        dir,
        Some("gost"),
        &["-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"],
        &SIGNERS,
    );
    let register = generate(dir);
    let register_arg = register.to_str().unwrap().to_owned();
    for (index, (stem, _)) in SIGNERS.iter().enumerate() {
        let sig = format!("{}.sig", index + 1);
        let said = sign(dir, &register, stem, &sig);
        assert!(said.contains("GOST R 34.10-2012 256"), "{said}");
        assert!(
            openssl_verifies(&openssl, Some("gost"), dir, &sig, &register),
            "OpenSSL with the GOST engine refuses signature {}",
            index + 1
        );
    }
    let out = run_ok(&as_strs(&verify_args(
        dir,
        &register_arg,
        ["1.sig", "2.sig", "3.sig"],
    )));
    assert!(out.contains("3 signatures in order"), "{out}");
    assert_eq!(out.matches("GOST R 34.10-2012 256").count(), 3, "{out}");
    let out_of_order = run_fails(&as_strs(&verify_args(
        dir,
        &register_arg,
        ["1.sig", "3.sig", "2.sig"],
    )));
    assert!(
        out_of_order.contains("signature 2 is out of order: it is the head's"),
        "{out_of_order}"
    );

    // Without the engine: the sentence says what to install.
    let without = medgate()
        .env("MEDGATE_OPENSSL", dir.join("no-openssl-here"))
        .args(as_strs(&verify_args(
            dir,
            &register_arg,
            ["1.sig", "2.sig", "3.sig"],
        )))
        .output()
        .expect("medgate runs");
    let said = String::from_utf8_lossy(&without.stderr);
    assert_eq!(without.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "signature 1 is a GOST R 34.10-2012 signature and cannot be checked on this machine"
        ),
        "{said}"
    );
    assert!(
        said.contains("apt-get install openssl libengine-gost-openssl"),
        "{said}"
    );
    let sign_without = medgate()
        .env("MEDGATE_OPENSSL", dir.join("no-openssl-here"))
        .args([
            "claims",
            "sign",
            "--register",
            &register_arg,
            "--key",
            &path(dir, "head.key"),
            "--cert",
            &path(dir, "head.cer"),
            "--out",
            &path(dir, "y.sig"),
        ])
        .output()
        .expect("medgate runs");
    let said = String::from_utf8_lossy(&sign_without.stderr);
    assert!(
        !sign_without.status.success() && said.contains("libengine-gost-openssl"),
        "{said}"
    );
    assert!(!dir.join("y.sig").exists());
}

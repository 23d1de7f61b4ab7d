//! A signed register from an empty data folder, end to end on the real binary: the fund's
//! operator sets up the MO, the insurer, the period and four logins (`medgate claims
//! mo|smo|period|user`, the reviewer with `--smo`); the staff and the reviewer on the real
//! pages through Python `requests` (`claims_registers_desk.py`, which knows nothing of
//! medgate's insides): links, forced password changes, packages made by `medgate claims
//! generate` uploaded, the register formed, sent, returned for rework with a comment, sent
//! again, passed for signature; certificates made by `openssl` (RSA and ECDSA) uploaded;
//! signatures made by `medgate claims sign` uploaded — out of order, another certificate,
//! other bytes and the wrong user refused — then in order. The signed package's three
//! signatures are verified by `openssl cms -verify` and the PDFs read back by `pdftotext`.
//! The same walk with GOST R 34.10-2012 256 keys and certificates made by `openssl -engine
//! gost` when the engine is installed, verified by `openssl cms -engine gost -verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::{python_runs, require, require_command};
use medgate_test_peers::openssl_ca::require_gost_openssl as gost_openssl;

use super::harness::{Backend, Node};
use crate::support::run_ok;

const SCRIPT: &str = include_str!("claims_registers_desk.py");

fn python() -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let probe = python_runs(&python, "import requests", &[]);
    require(
        "Python requests",
        "pip install requests",
        probe.map(|()| python),
    )
}

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The one-time link printed, on the node's own address.
fn link_of(node: &Node, issued: &str) -> String {
    let token = issued
        .lines()
        .find_map(|line| line.trim().split_once("/claims/link?token="))
        .unwrap_or_else(|| panic!("no link in {issued}"))
        .1;
    format!("{}/claims/link?token={token}", node.url())
}

fn openssl_ok(openssl: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(openssl)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The keys of a walk: RSA and ECDSA mixed, or GOST R 34.10-2012 256 through the engine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    RsaAndEcdsa,
    Gost,
}

/// A CA and a key and certificate (`.key`, `.cer` DER) per signer, made by `openssl`.
fn pki(openssl: &Path, dir: &Path, keys: Keys) {
    let run = |command: &str, rest: &[&str]| {
        let mut args = vec![command];
        if keys == Keys::Gost {
            args.extend(["-engine", "gost"]);
        }
        args.extend(rest);
        openssl_ok(openssl, dir, &args)
    };
    let key_args = |who: &str| -> Vec<&'static str> {
        match (keys, who) {
            (Keys::Gost, _) => vec!["-algorithm", "gost2012_256", "-pkeyopt", "paramset:A"],
            (_, "accountant" | "other") => {
                vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
            }
            _ => vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        }
    };
    let mut args = key_args("ca");
    args.extend(["-out", "ca.key"]);
    run("genpkey", &args);
    run(
        "req",
        &[
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-days",
            "30",
            "-subj",
            "/CN=Test CA of the fund/C=RU",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(
        dir.join("signer.ext"),
        "keyUsage=critical,digitalSignature,nonRepudiation\n",
    )
    .unwrap();
    for who in ["executor", "accountant", "head", "other"] {
        let (key, csr, pem, cer) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
            format!("{who}.cer"),
        );
        let mut args = key_args(who);
        args.extend(["-out", &key]);
        run("genpkey", &args);
        let subject = format!("/CN={who} of M140001/O=Gorodskaya bolnitsa/C=RU");
        run(
            "req",
            &["-new", "-key", &key, "-subj", &subject, "-out", &csr],
        );
        run(
            "x509",
            &[
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-days",
                "30",
                "-extfile",
                "signer.ext",
                "-out",
                &pem,
            ],
        );
        run("x509", &["-in", &pem, "-outform", "DER", "-out", &cer]);
    }
}

#[test]
fn a_register_is_formed_reviewed_signed_in_order_and_documented_on_the_real_pages() {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    walk(&openssl, Keys::RsaAndEcdsa);
}

#[test]
fn a_register_is_signed_with_gost_keys_on_the_real_pages_and_verified_by_openssl_with_its_engine() {
    let Some(openssl) = gost_openssl() else {
        return;
    };
    walk(&openssl, Keys::Gost);
}

fn walk(openssl: &Path, keys: Keys) {
    let Some(python) = python() else { return };
    let Some(pdftotext) = require_command("pdftotext", "apt-get install poppler-utils") else {
        return;
    };
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");
    claims(
        &node,
        &[
            "mo",
            "add",
            "--code",
            "140001",
            "--name",
            "Городская больница",
        ],
    );
    claims(&node, &["smo", "add", "--code", "14002", "--name", "СМО"]);
    claims(&node, &["period", "open", "2025-01"]);
    let mut links = Vec::new();
    for role in ["executor", "chief-accountant", "head"] {
        let issued = claims(
            &node,
            &[
                "user",
                "add",
                "--mo",
                "140001",
                "--role",
                role,
                "--name",
                "Иванова И. И.",
            ],
        );
        links.push(link_of(&node, &issued));
    }
    let issued = claims(
        &node,
        &["user", "add", "--smo", "14002", "--name", "Петров П. П."],
    );
    assert!(issued.starts_with("login S14002_R1\n"), "{issued}");
    links.push(link_of(&node, &issued));
    let listed = claims(&node, &["user", "list"]);
    assert!(
        listed.contains("S14002_R1  insurer_reviewer  SMO 14002"),
        "{listed}"
    );

    let work = node.dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    pki(openssl, &work, keys);
    let out = work.to_string_lossy().into_owned();
    let mut packages = Vec::new();
    for (number, fault) in [("1", None), ("2", Some("date-after-period"))] {
        let mut args = vec![
            "claims", "generate", "--cases", "40", "--period", "2025-01", "--mo", "140001",
            "--number", number, "--out", &out,
        ];
        if let Some(fault) = fault {
            args.extend(["--fault", fault]);
        }
        packages.push(run_ok(&args).trim().to_owned());
    }
    let script = work.join("registers_desk.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let medgate = assert_cmd::cargo::cargo_bin("medgate");
    let output = Command::new(&python)
        .arg(&script)
        .arg(node.url())
        .arg(node.ca())
        .arg(&medgate)
        .arg(&work)
        .args(&links)
        .args(&packages)
        .output()
        .expect("python runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{printed}");
    for line in [
        "M140001_1: link opened, password changed: 303 -> /claims/upload?changed=1",
        "S14002_R1: link opened, password changed: 303 -> /claims/upload?changed=1",
        "HM140001S14002_25011.zip: accepted",
        "HM140001S14002_25012.zip: flk_errors",
        "form: 303 -> /claims/registers?formed=1",
        "register HM140001S14002_25011.zip: Черновик",
        "reviewer sees the draft: 404",
        "accountant sends: 403 Отказано:",
        "executor sends: 303 Отправлен",
        "reviewer returns without a comment: 403 Отказано:",
        "reviewer returns: 303 На доработку",
        "executor sends again: 303 Отправлен",
        "reviewer passes for signature: 303 На подпись МО",
        "certificate of executor: 200 Сертификат зарегистрирован: CN=executor of M140001",
        "certificate of head: 200 Сертификат зарегистрирован",
        "head signs first: 422 Отказано: Подпись 1 нарушает порядок",
        "executor with another certificate: 422 Отказано: Подпись 1 сделана другим сертификатом",
        "executor over other bytes: 422 Отказано: Подпись 1 (роль «исполнитель») сделана не над этим реестром",
        "executor signs: 200 Подпись 1 принята (",
        "accountant with the executor's certificate: 422 Отказано:",
        "accountant signs: 200 Подпись 2 принята (",
        "head signs: 200 Подпись 3 принята",
        "register HM140001S14002_25011.zip: Подписан",
        "signed package: 200 application/zip",
        "document invoice: page 200, pdf 200 application/pdf",
        "document mek-act: page 200, pdf 200 application/pdf",
    ] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }

    let algorithms: &[&str] = match keys {
        Keys::Gost => &[
            "Подпись 1 принята (GOST R 34.10-2012 256",
            "Подпись 3 принята (GOST R 34.10-2012 256",
        ],
        Keys::RsaAndEcdsa => &[
            "Подпись 1 принята (RSA 2048",
            "Подпись 2 принята (ECDSA P-256",
        ],
    };
    for algorithm in algorithms {
        assert!(
            printed.contains(algorithm),
            "missing {algorithm:?} in:\n{printed}"
        );
    }

    // The signed package: the register and its three signatures, each verified by OpenSSL.
    let bytes = std::fs::read(work.join("signed.zip")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let name = "HM140001S14002_25011";
    for entry in [
        format!("{name}.zip"),
        format!("{name}.1.sig"),
        format!("{name}.2.sig"),
        format!("{name}.3.sig"),
    ] {
        let mut file = archive.by_name(&entry).unwrap();
        let mut out = std::fs::File::create(work.join(&entry)).unwrap();
        std::io::copy(&mut file, &mut out).unwrap();
    }
    for position in 1..=3 {
        let (sig, content) = (format!("{name}.{position}.sig"), format!("{name}.zip"));
        let mut args = vec!["cms"];
        if keys == Keys::Gost {
            args.extend(["-engine", "gost"]);
        }
        args.extend([
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            &sig,
            "-content",
            &content,
            "-CAfile",
            "ca.pem",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ]);
        let verified = openssl_ok(openssl, &work, &args);
        assert!(verified.contains("Verification successful"), "{verified}");
    }
    // 79 cases: the defective package's record 2 stayed out.
    let checked = run_ok(&[
        "claims",
        "check",
        work.join(format!("{name}.zip")).to_str().unwrap(),
    ]);
    assert!(checked.contains("79 cases"), "{checked}");

    // The PDFs read back.
    let text = |document: &str| {
        let out = Command::new(&pdftotext)
            .args([
                "-layout",
                work.join(format!("{document}.pdf")).to_str().unwrap(),
                "-",
            ])
            .output()
            .expect("pdftotext runs");
        assert!(out.status.success(), "{document}");
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let invoice = text("invoice");
    assert!(
        invoice.contains("140001") && invoice.contains("14002"),
        "{invoice}"
    );
    assert!(text("summary").contains("79"), "summary");
    // 79 cases, each patient named from the register's own personal-data file.
    let register = text("register");
    assert!(register.contains("Итого: случаев 79"), "{register}");
    assert!(!register.contains("P000000"), "{register}");
    assert!(!text("mek-act").is_empty());
}

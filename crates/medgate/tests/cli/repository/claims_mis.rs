//! The API of the MOs' information systems end to end: the real `medgate serve --role
//! claims`; the fund's operator issues system certificates (`medgate claims mo certificate
//! issue`, the one-time code printed once); `medgate client claims setup` refuses a wrong
//! code and keeps the right one; `medgate client claims upload` pushes a clean package
//! made by `medgate claims generate` (accepted, exit 0) and a defective one (the exact
//! finding printed, exit 1); `findings --json` and `protocol` read them back. An
//! independent system — Python `requests` with the certificate and
//! `requests-http-signature` (`claims_mis.py`) — pushes a package and pulls its findings
//! and protocol; another MO's package is 404, a call without a certificate 401, an unsigned
//! push 401; after `medgate claims mo certificate revoke` its next call is refused, and so
//! is the CLI's with a revoked certificate.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use medgate_test_peers::require_python;
use serde_json::{json, Value};

use super::harness::{Backend, Node};
use crate::support::{run, run_fails, run_ok};

const SCRIPT: &str = include_str!("claims_mis.py");

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn generate(dir: &Path, mo: &str, number: &str, fault: Option<&str>) -> String {
    let out = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "claims", "generate", "--cases", "40", "--period", "2025-01", "--mo", mo, "--number",
        number, "--out", &out,
    ];
    if let Some(fault) = fault {
        args.extend(["--fault", fault]);
    }
    run_ok(&args).trim().to_owned()
}

/// Issues a certificate for `mo`'s system: the PKCS#12 path, its one-time code and serial.
fn issue(node: &Node, mo: &str, out: &Path) -> (String, String, String) {
    let p12 = out.to_string_lossy().into_owned();
    let printed = claims(
        node,
        &["mo", "certificate", "issue", "--mo", mo, "--out", &p12],
    );
    let serial = printed
        .split_whitespace()
        .nth(1)
        .unwrap_or_else(|| panic!("{printed}"))
        .to_owned();
    assert!(
        printed.contains(&format!(
            "issued to the information system of MO {mo} until"
        )),
        "{printed}"
    );
    let code = printed
        .lines()
        .find_map(|line| line.strip_prefix("PKCS#12 password (shown once): "))
        .unwrap_or_else(|| panic!("{printed}"))
        .trim()
        .to_owned();
    (p12, code, serial)
}

fn client(dir: &Path, args: &[&str]) -> std::process::Output {
    let config = dir.to_string_lossy().into_owned();
    let mut all = vec!["client", "claims", "--config-dir", config.as_str()];
    all.extend(args);
    run(&all)
}

fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn python_peer(python: &PathBuf, script: &Path, input: &Value) -> Value {
    let mut child = Command::new(python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn an_mo_system_pushes_packages_with_the_cli_and_python_and_a_revoked_certificate_opens_nothing() {
    let Some(python) = require_python(
        "requests, requests_http_signature, cryptography",
        "pip install requests requests-http-signature cryptography",
    ) else {
        return;
    };
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");
    for (code, name) in [
        ("140001", "Городская больница"),
        ("140002", "Районная больница"),
    ] {
        claims(&node, &["mo", "add", "--code", code, "--name", name]);
    }
    claims(&node, &["smo", "add", "--code", "14002", "--name", "СМО"]);
    claims(&node, &["period", "open", "2025-01"]);
    let work = node.dir.path().join("mis");
    std::fs::create_dir_all(&work).unwrap();

    // The operator's certificates: one for the CLI, one for the Python system, one for the
    // other MO; an unknown MO is refused by name.
    let mut unknown = vec![
        "claims",
        "mo",
        "certificate",
        "issue",
        "--mo",
        "140009",
        "--out",
    ];
    let nowhere = work.join("nowhere.p12").to_string_lossy().into_owned();
    unknown.push(&nowhere);
    let store = node.store_args();
    unknown.extend(store.iter().map(String::as_str));
    let refused = run_fails(&unknown);
    assert!(
        refused.contains("there is no medical organisation 140009"),
        "{refused}"
    );
    let (p12, code, cli_serial) = issue(&node, "140001", &work.join("cli.p12"));
    let (python_p12, python_code, python_serial) = issue(&node, "140001", &work.join("python.p12"));
    let (other_p12, other_code, _) = issue(&node, "140002", &work.join("other.p12"));
    let listed = claims(&node, &["mo", "certificate", "list", "--mo", "140001"]);
    assert!(
        listed.contains(&format!("{cli_serial}  MO 140001")) && listed.contains("active"),
        "{listed}"
    );

    // Setup: a wrong code is refused and keeps nothing; the right one is kept.
    let cli_dir = work.join("cli-config");
    let url = node.url();
    let wrong = client(
        &cli_dir,
        &[
            "setup",
            "--url",
            &url,
            "--p12",
            &p12,
            "--code",
            "wrong-code",
        ],
    );
    let (_, stderr) = text(&wrong);
    assert_eq!(wrong.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the one-time code does not open"),
        "{stderr}"
    );
    assert!(!cli_dir.join("claims.toml").exists());
    let set_up = client(
        &cli_dir,
        &["setup", "--url", &url, "--p12", &p12, "--code", &code],
    );
    let (stdout, stderr) = text(&set_up);
    assert!(set_up.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "the information system of MO 140001 set up for {url}/: certificate {cli_serial}"
        )),
        "{stdout}"
    );

    // A clean package: accepted, exit 0; the plain progress lines without a terminal.
    let clean = generate(&work, "140001", "1", None);
    let uploaded = client(&cli_dir, &["upload", &clean]);
    let (stdout, stderr) = text(&uploaded);
    assert!(uploaded.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("registered; checking") && stdout.contains("40 cases  accepted"),
        "{stdout}"
    );
    assert!(
        stderr.contains("sent: 100 %") && stderr.contains("checked: 100 %"),
        "{stderr}"
    );

    // A defective one: the date after the period in record 2, printed with its code, rule,
    // element and record; exit 1.
    let defective = generate(&work, "140001", "2", Some("date-after-period"));
    let uploaded = client(&cli_dir, &["upload", &defective]);
    let (stdout, stderr) = text(&uploaded);
    assert_eq!(uploaded.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("FLK findings"), "{stdout}");
    assert!(
        stdout.contains("904 006F.00.0340 DATE_Z_2 in Z_SL, N_ZAP 2"),
        "{stdout}"
    );
    let id: i64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    let found = client(&cli_dir, &["--json", "findings", &id.to_string()]);
    let (stdout, stderr) = text(&found);
    assert!(found.status.success(), "{stderr}");
    let found: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(found["package"]["status"], "flk_errors");
    assert!(
        found["flk"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == 904
                && f["rule_id"] == "006F.00.0340"
                && f["IM_POL"] == "DATE_Z_2"
                && f["N_ZAP"] == "2"),
        "{found}"
    );
    let protocol_file = work.join("protocol.zip");
    let protocol_path = protocol_file.to_string_lossy().into_owned();
    let saved = client(
        &cli_dir,
        &["protocol", &id.to_string(), "--out", &protocol_path],
    );
    let (stdout, stderr) = text(&saved);
    assert!(saved.status.success(), "{stderr}");
    assert!(
        stdout.contains(&format!(
            "protocol V{}",
            Path::new(&defective).file_stem().unwrap().to_string_lossy()
        )),
        "{stdout}"
    );
    assert_eq!(&std::fs::read(&protocol_file).unwrap()[..2], b"PK");

    // The same clean package again: refused whole with 805, exit 1.
    let again = client(&cli_dir, &["upload", &clean]);
    let (stdout, _) = text(&again);
    assert_eq!(again.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("refused: F012 805"), "{stdout}");

    // The other MO's package, pushed by its own system.
    let other_dir = work.join("other-config");
    let other_package = generate(&work, "140002", "1", None);
    assert!(client(
        &other_dir,
        &[
            "setup",
            "--url",
            &url,
            "--p12",
            &other_p12,
            "--code",
            &other_code
        ]
    )
    .status
    .success());
    let pushed = client(&other_dir, &["--json", "upload", &other_package]);
    let (stdout, stderr) = text(&pushed);
    assert!(pushed.status.success(), "{stdout}\n{stderr}");
    let other_id = serde_json::from_str::<Value>(&stdout).unwrap()["package"]["id"].clone();

    // The Python system: push, poll, findings, protocol; refusals by code.
    let script = work.join("claims_mis.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let third = generate(&work, "140001", "3", Some("date-after-period"));
    let ca = node.ca().to_string_lossy().into_owned();
    let seen = python_peer(
        &python,
        &script,
        &json!({"phase": "push", "url": url, "ca": ca, "p12": python_p12, "code": python_code,
                "package": third, "other_id": other_id}),
    );
    assert_eq!(seen["package"]["status"], "flk_errors", "{seen}");
    assert_eq!(seen["package"]["uploaded_by"], "140001_mis");
    assert!(
        seen["findings"]["flk"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["IM_POL"] == "DATE_Z_2" && f["code"] == 904),
        "{seen}"
    );
    assert_eq!(
        (&seen["protocol_type"], &seen["protocol_is_zip"]),
        (&json!("application/zip"), &json!(true))
    );
    assert_eq!(seen["other"][0], 404, "{seen}");
    assert_eq!(seen["other"][1]["code"], "not_registered");
    assert_eq!(
        (&seen["anonymous"][0], &seen["anonymous"][1]["code"]),
        (&json!(401), &json!("client_certificate_required"))
    );
    assert_eq!(seen["unsigned"][0], 401, "{seen}");

    // Revoked: the Python system's next call is refused; the CLI's certificate still works
    // until it is revoked too.
    let revoked = claims(
        &node,
        &[
            "mo",
            "certificate",
            "revoke",
            &python_serial,
            "--reason",
            "key lost",
        ],
    );
    assert!(
        revoked.contains("opens nothing from the next request on"),
        "{revoked}"
    );
    let seen = python_peer(
        &python,
        &script,
        &json!({"phase": "revoked", "url": url, "ca": ca, "p12": python_p12, "code": python_code}),
    );
    let refusal = match &seen["revoked"][1] {
        Value::String(tls) => tls.to_ascii_lowercase(),
        answer => answer["message"].as_str().unwrap_or("").to_owned(),
    };
    assert!(
        (seen["revoked"][0] == 403 || seen["revoked"][0] == "tls") && refusal.contains("revoked"),
        "{seen}"
    );
    assert!(client(&cli_dir, &["list"]).status.success());
    claims(&node, &["mo", "certificate", "revoke", &cli_serial]);
    let listed = client(&cli_dir, &["list"]);
    let (_, stderr) = text(&listed);
    assert_eq!(listed.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("revoked"), "{stderr}");
    let listed = claims(&node, &["mo", "certificate", "list"]);
    assert!(
        listed.contains("revoked") && listed.contains("key lost"),
        "{listed}"
    );
}

//! The claims registers end to end: the real `medgate serve --role claims`, the fund
//! operator's `medgate claims mo|smo|period|user` on its data folder (clear refusals of bad
//! identifiers), and a medical organisation's staff on the real pages through Python
//! `requests` (`claims_mo_desk.py`, which knows nothing of medgate): the one-time link opened
//! once then 410 Gone, the forced password change, packages made by `medgate claims
//! generate` uploaded — a clean one accepted, a defective one with the exact finding, the
//! clean one again refused with 805 — and each `V` protocol parsed by lxml.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::{python_runs, require, require_command};

use super::harness::{Backend, Node};
use crate::support::{run_fails, run_ok};

const SCRIPT: &str = include_str!("claims_mo_desk.py");

fn python() -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let probe = python_runs(&python, "import requests, lxml", &[]);
    require(
        "Python requests and lxml",
        "pip install requests lxml",
        probe.map(|()| python),
    )
}

fn claims(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn claims_fails(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["claims".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    run_fails(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn generate(dir: &Path, number: &str, fault: Option<&str>) -> String {
    let out = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "claims", "generate", "--cases", "50", "--period", "2025-01", "--mo", "140001", "--number",
        number, "--out", &out,
    ];
    if let Some(fault) = fault {
        args.extend(["--fault", fault]);
    }
    run_ok(&args).trim().to_owned()
}

#[test]
fn an_mo_uploads_registers_on_the_real_pages_and_reads_the_flk_protocol_with_lxml() {
    let Some(python) = python() else { return };
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");

    let added = claims(
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
    assert!(
        added.contains("medical organisation 140001 registered"),
        "{added}"
    );
    let refused = claims_fails(&node, &["mo", "add", "--code", "14001", "--name", "x"]);
    assert!(
        refused.contains("MO code \"14001\" is not valid: must be 6 digits"),
        "{refused}"
    );
    let refused = claims_fails(&node, &["smo", "add", "--code", "1400", "--name", "x"]);
    assert!(refused.contains("SMO code \"1400\""), "{refused}");
    claims(&node, &["smo", "add", "--code", "14002", "--name", "СМО"]);
    let refused = claims_fails(&node, &["period", "open", "2025-13"]);
    assert!(
        refused.contains("period \"2025-13\" is not valid"),
        "{refused}"
    );
    claims(&node, &["period", "open", "2025-01"]);
    let refused = claims_fails(
        &node,
        &[
            "user", "add", "--mo", "140009", "--role", "executor", "--name", "x",
        ],
    );
    assert!(
        refused.contains("there is no medical organisation 140009"),
        "{refused}"
    );
    let issued = claims(
        &node,
        &[
            "user",
            "add",
            "--mo",
            "140001",
            "--role",
            "executor",
            "--name",
            "Иванова И. И.",
        ],
    );
    assert!(issued.starts_with("login M140001_1\n"), "{issued}");
    let token = issued.trim().rsplit('=').next().unwrap().to_owned();
    assert_eq!(token.len(), 64, "{issued}");
    let listed = claims(&node, &["user", "list"]);
    assert!(
        listed.contains("M140001_1  executor  MO 140001"),
        "{listed}"
    );

    let work = node.dir.path();
    let clean = generate(work, "1", None);
    let defective = generate(work, "2", Some("date-after-period"));
    let script = work.join("mo_desk.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let output = Command::new(&python)
        .arg(&script)
        .arg(node.url())
        .arg(node.ca())
        .arg(format!("{}/claims/link?token={token}", node.url()))
        .args([&clean, &defective, &clean])
        .output()
        .expect("python runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "link address: 200, opens nothing",
        "link: 200, login M140001_1, default password shown",
        "link again: 410 Gone",
        "upload tab: 303 -> /claims/password",
        "password changed: 303 -> /claims/upload?changed=1",
        "HM140001S14002_25011.zip: /claims/packages/1 accepted",
        "protocol VHM140001S14002_25011.xml: FNAME_I HM140001S14002_25011, 0 PR []",
        "HM140001S14002_25012.zip: /claims/packages/2 flk_errors",
        "finding: OSHIB 904 rule 006F.00.0340 IM_POL DATE_Z_2 BAS_EL Z_SL N_ZAP 2",
        "protocol VHM140001S14002_25012.xml: FNAME_I HM140001S14002_25012, 1 PR [('904', 'DATE_Z_2', '2')]",
        "HM140001S14002_25011.zip: /claims/packages/3 refused",
        "protocol VHM140001S14002_25011.xml: FNAME_I HM140001S14002_25011, 1 PR [('805', None, None)]",
    ] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
    let listed = claims(&node, &["user", "list"]);
    assert!(
        listed.contains("M140001_1  executor  MO 140001  Иванова И. И.  active"),
        "{listed}"
    );
}

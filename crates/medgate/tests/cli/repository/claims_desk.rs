//! The claims registers end to end: the real `medgate serve --role claims`, the fund
//! operator's `medgate claims mo|smo|period|user` on its data folder (clear refusals of bad
//! identifiers), and a medical organisation's staff on the real pages through Python
//! `requests` (`claims_mo_desk.py`, which knows nothing of medgate): the one-time link opened
//! once then 410 Gone, the forced password change, packages made by `medgate claims
//! generate` uploaded — a clean one accepted, a defective one with the exact finding, the
//! clean one again refused with 805 — and each `V` protocol parsed by lxml; then the MEK on
//! the node: the MEK catalogue installed with `medgate claims nsi import`, a case recorded as
//! paid with `medgate claims paid import`, and each seeded MEK fault's exact finding and sum
//! on the package's МЭК tab.

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

/// Runs the MO's walk over the pages with the link `token` and `packages`; answers what it
/// printed.
fn walk(python: &Path, node: &Node, token: &str, packages: &[&str]) -> String {
    let script = node.dir.path().join("mo_desk.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let output = Command::new(python)
        .arg(&script)
        .arg(node.url())
        .arg(node.ca())
        .arg(format!("{}/claims/link?token={token}", node.url()))
        .args(packages)
        .output()
        .expect("python runs");
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    printed
}

#[test]
fn the_node_runs_mek_with_its_installed_catalogue_and_the_paid_cases_imported() {
    let Some(python) = python() else { return };
    let node = Node::start_with(Backend::Sqlite, &["--role", "claims"])
        .expect("SQLite is always available");
    claims(
        &node,
        &["mo", "add", "--code", "140001", "--name", "Больница"],
    );
    claims(&node, &["smo", "add", "--code", "14002", "--name", "СМО"]);
    claims(&node, &["period", "open", "2025-01"]);
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
    let token = issued.trim().rsplit('=').next().unwrap().to_owned();
    let catalogues = Path::new(env!("CARGO_MANIFEST_DIR")).join("../medgate-claims/catalogues");
    for name in ["Q016.xml", "Q023.xml"] {
        let installed = run_ok(&[
            "claims",
            "nsi",
            "import",
            &catalogues.join(name).to_string_lossy(),
            "--data",
            &node.data.to_string_lossy(),
        ]);
        assert!(
            installed.starts_with(&format!("installed {}", &name[..4])),
            "{installed}"
        );
    }

    let work = node.dir.path();
    let faults = [
        "sex-diagnosis",
        "age-diagnosis",
        "same-case-twice",
        "sum-mismatch",
        "case-outside-period",
    ];
    let mut packages: Vec<String> = faults
        .iter()
        .enumerate()
        .map(|(index, fault)| {
            let dir = work.join(fault);
            std::fs::create_dir_all(&dir).unwrap();
            generate(&dir, &(index + 1).to_string(), Some(fault))
        })
        .collect();
    // The first case of a clean package recorded as paid before it is uploaded.
    let clean = generate(work, "6", None);
    let keys = run_ok(&["claims", "keys", &clean]);
    let paid = work.join("paid.txt");
    std::fs::write(
        &paid,
        format!("# paid in December\n{}\n", keys.lines().next().unwrap()),
    )
    .unwrap();
    let bad = work.join("bad.txt");
    std::fs::write(&bad, "140001;7700000000000001;02.01.2025\n").unwrap();
    let refused = claims_fails(&node, &["paid", "import", &bad.to_string_lossy()]);
    assert!(
        refused.contains("line 1: a key has 7 fields separated by ';'"),
        "{refused}"
    );
    let imported = claims(&node, &["paid", "import", &paid.to_string_lossy()]);
    assert!(
        imported.starts_with("1 paid case key read from ") && imported.contains(", 1 new;"),
        "{imported}"
    );
    packages.push(clean);

    let printed = walk(
        &python,
        &node,
        &token,
        &packages.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for line in [
        "HM140001S14002_25011.zip: /claims/packages/1 accepted_mek",
        "  mek: F014 207 1.4.4. rule 003K.00.0620 DS1 N_ZAP 2 IDCASE 2 SL_ID 1 withheld 501,00: DS1 O80 (рубрика O) у пациента пола W=1: Несоответствие диагноза полу пациента",
        "HM140001S14002_25012.zip: /claims/packages/2 accepted_mek",
        "  mek: F014 207 1.4.4. rule 003K.00.0590 DS1 N_ZAP 2 IDCASE 2 SL_ID 1 withheld 501,00: DS1 P07 (рубрика P) у пациента 85 лет: Несоответствие диагноза возрасту пациента",
        "HM140001S14002_25013.zip: /claims/packages/3 accepted_mek",
        "  mek: F014 222 1.10.2. rule 003K.00.0410 SL N_ZAP 2 IDCASE 2 SL_ID 1 withheld 501,00: то же пребывание (2025-01-02 – 2025-01-03, USL_OK 3, PROFIL 97, PRVS 76, тот же пациент), что и N_ZAP 1 IDCASE 1 SL_ID 1",
        "HM140001S14002_25014.zip: /claims/packages/4 accepted_mek",
        "  mek: F014 208 1.4.5. rule  SUM_M N_ZAP 2 IDCASE 2 SL_ID 1 withheld 501,00: SUM_M 501.00 не равна TARIF 500.00 × ED_COL 1.00 = 500.00",
        "HM140001S14002_25015.zip: /claims/packages/5 accepted_mek",
        "  mek: F014 209 1.4.6. rule  DATE_Z_2 N_ZAP 2 IDCASE 2 SL_ID  withheld 501,00: случай завершён 2024-12-22, вне отчётного периода 2025-01",
        "HM140001S14002_25016.zip: /claims/packages/6 accepted_mek",
        "  mek: F014 221 1.10.1. rule  Z_SL N_ZAP 1 IDCASE 1 SL_ID  withheld 500,50: случай 140001;7700000000000001;2025-01-02;2025-01-02;3;97;J06.9 оплачен в более раннем реестре",
    ] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
    // The paid case is the first case of every generated package but the one whose first
    // case the same-case-twice fault moved: each of those is refused for it too.
    let paid_line = "  mek: F014 221 1.10.1. rule  Z_SL N_ZAP 1 IDCASE 1 SL_ID  withheld 500,50";
    assert_eq!(printed.matches(paid_line).count(), 5, "{printed}");
    assert_eq!(printed.matches("  mek: F014 ").count(), 10, "{printed}");
    let totals: Vec<&str> = printed
        .lines()
        .filter_map(|line| line.strip_prefix("  mek total withheld: "))
        .collect();
    assert_eq!(
        totals,
        [
            "1\u{202f}001,50",
            "1\u{202f}001,50",
            "501,00",
            "1\u{202f}001,50",
            "1\u{202f}001,50",
            "500,50"
        ],
        "{printed}"
    );
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
    let printed = walk(&python, &node, &token, &[&clean, &defective, &clean]);
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
        "  mek: not run, no MEK catalogue installed",
        "  mek: not run, package refused whole",
    ] {
        assert!(printed.contains(line), "missing {line:?} in:\n{printed}");
    }
    let listed = claims(&node, &["user", "list"]);
    assert!(
        listed.contains("M140001_1  executor  MO 140001  Иванова И. И.  active"),
        "{listed}"
    );
}

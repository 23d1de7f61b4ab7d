//! The audit log end to end: the real node records every read, write and delete with who,
//! what, from where and the patient; `client audit` shows a tenant its own entries only (also
//! for one patient); and with the node stopped, `medgate audit verify` passes on the real
//! database, then fails naming the entry after a row is edited directly in the database
//! (sqlite3 / psql), and names the missing entry after a row is deleted. On SQLite and
//! PostgreSQL.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use crate::support::{medgate, peer, run_peer, run_peer_ok};

const A: &str = "0000000000007010";
const B: &str = "0000000000007020";
const DOCUMENT_ID: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001";
const PESEL: &str = "44051401359";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml")
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn entries(clinic: &Clinic, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "--json"];
    args.extend_from_slice(extra);
    json(&clinic.run_ok(&args))["entries"]
        .as_array()
        .expect("entries")
        .clone()
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().expect("action").to_owned())
        .collect()
}

/// `medgate audit verify` on the node's store: (exit code, stdout, stderr).
fn verify(node: &Node, extra: &[&str]) -> (Option<i32>, String, String) {
    let mut args: Vec<String> = vec!["audit".into(), "verify".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut store = node.store_args();
    // The alias the operator documentation uses.
    store[0] = "--data-dir".into();
    args.extend(store);
    let output = medgate().args(&args).output().expect("medgate audit runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

/// The tenant's actions and the log they leave; returns the number of entries of A.
fn exercise(node: &Node) -> usize {
    let a = node.enroll(A, 10, 100);
    let b = node.enroll(B, 10, 100);
    let work = a.dir.clone();
    a.run_ok(&["put", &s(&fixture())]);
    a.run_ok(&["get", DOCUMENT_ID, "--out", &s(&work.join("copy.xml"))]);
    a.run_ok(&["search", "--patient", PESEL]);
    a.run_ok(&["search", "--title", "wypis"]);
    a.run_ok(&["render", DOCUMENT_ID, "--out", &s(&work.join("view.html"))]);
    a.run_ok(&["export", DOCUMENT_ID, "--out", &s(&work.join("export.zip"))]);
    a.run_ok(&["types", "list"]);
    a.run_ok(&["delete", DOCUMENT_ID]);
    // The other tenant stores a document of the same patient.
    b.run_ok(&["put", &s(&fixture())]);

    let all = entries(&a, &["--limit", "1000"]);
    let listed = actions(&all);
    // Newest first, every read, write and delete of this session in order.
    let expected = [
        "document.delete",
        "document_types.list",
        "document.export",
        "document.render",
        "document.search",
        "document.search",
        "document.read",
        "document.put",
    ];
    assert_eq!(&listed[..expected.len()], &expected, "{all:#?}");
    assert!(
        listed.contains(&"account.activate".to_owned()),
        "{listed:?}"
    );
    for entry in &all {
        // Who: the certificate subject of A; from where: the loopback client.
        let actor = entry["actor"].as_str().unwrap();
        assert!(actor.contains(&format!("CN={A} TLS")), "{entry}");
        assert_eq!(entry["origin"], "127.0.0.1", "{entry}");
        assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{entry}");
        assert!(entry["seq"].as_u64().unwrap() >= 1);
    }
    let by_action =
        |action: &str| -> Vec<&Value> { all.iter().filter(|e| e["action"] == action).collect() };
    for action in [
        "document.put",
        "document.read",
        "document.render",
        "document.export",
        "document.delete",
    ] {
        let entry = by_action(action)[0];
        assert_eq!(entry["target"], DOCUMENT_ID, "{entry}");
        assert_eq!(entry["patient"], PESEL, "{entry}");
    }
    // One entry per search with its query; the patient only for the search by patient.
    let searches = by_action("document.search");
    let by_title = searches[0];
    assert_eq!(by_title["patient"], Value::Null, "{by_title}");
    assert!(
        by_title["details"]
            .as_str()
            .unwrap()
            .contains("title=\"wypis\""),
        "{by_title}"
    );
    let by_patient = searches[1];
    assert_eq!(by_patient["patient"], PESEL);
    let details = by_patient["details"].as_str().unwrap();
    assert!(
        details.contains(&format!("patient={PESEL}")) && details.contains("1 matches"),
        "{details}"
    );
    assert_eq!(by_action("document_types.list")[0]["patient"], Value::Null);

    // The patient's access log: exactly this tenant's entries about this patient.
    let patient_log = entries(&a, &["--patient", PESEL]);
    let patient_actions = actions(&patient_log);
    assert!(patient_log.iter().all(|e| e["patient"] == PESEL));
    assert_eq!(
        patient_actions,
        [
            "document.delete",
            "document.export",
            "document.render",
            "document.search",
            "document.read",
            "document.put",
        ],
        "{patient_log:#?}"
    );
    // A root^extension filter means the same patient. Reading a patient's log is itself an
    // access concerning that patient, so the previous listing now shows first.
    let rooted = entries(
        &a,
        &[
            "--patient",
            &format!("2.16.840.1.113883.3.4424.1.1.616^{PESEL}"),
        ],
    );
    assert_eq!(actions(&rooted[..1]), ["audit.list"]);
    assert_eq!(actions(&rooted[1..]), patient_actions);

    // Tenant isolation: B sees only its own entries, A none of B's.
    let b_log = entries(&b, &["--limit", "1000"]);
    assert!(!b_log.is_empty());
    for entry in &b_log {
        assert!(
            entry["actor"]
                .as_str()
                .unwrap()
                .contains(&format!("CN={B} TLS")),
            "{entry}"
        );
    }
    let b_patient = entries(&b, &["--patient", PESEL]);
    assert_eq!(actions(&b_patient), ["document.put"]);
    let b_seq = b_patient[0]["seq"].as_u64().unwrap();
    assert!(all.iter().all(|e| e["seq"].as_u64() != Some(b_seq)));

    // Paging: two at a time, `before` continues where the page ended.
    let page: Value = json(&a.run_ok(&["audit", "--json", "--limit", "2"]));
    let first: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    let before = page["next_before"]
        .as_u64()
        .expect("next_before on a full page");
    assert_eq!(before, first[1]);
    let next: Value = json(&a.run_ok(&[
        "audit",
        "--json",
        "--limit",
        "2",
        "--before",
        &before.to_string(),
    ]));
    let second = next["entries"][0]["seq"].as_u64().unwrap();
    assert!(second < before);

    // Text output names actor, action, origin and patient.
    let text = a.run_ok(&["audit", "--patient", PESEL]);
    assert!(text.starts_with("SEQ"), "{text}");
    for needle in [
        "document.render",
        "127.0.0.1",
        PESEL,
        &format!("CN={A} TLS"),
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
    // Bad parameters are refused by name.
    let error = a.run_fails(&["audit", "--limit", "0"]);
    assert!(error.contains("limit"), "{error}");
    let error = a.run_fails(&["audit", "--before", "0"]);
    assert!(error.contains("before"), "{error}");
    all.len()
}

/// With the node stopped: intact, then an edited row is named, then a removed row is named.
fn tamper(node: &Node, sql: impl Fn(&str) -> String, entries_of_a: usize) {
    let (code, stdout, stderr) = verify(node, &[]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let count: usize = stdout
        .trim()
        .strip_prefix("audit log intact: ")
        .and_then(|rest| rest.strip_suffix(" entries"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected: {stdout}"));
    assert!(
        count > entries_of_a,
        "{count} entries, A alone has {entries_of_a}"
    );

    let original = sql("SELECT actor FROM audit_log WHERE seq = 3");
    assert!(!original.trim().is_empty());
    sql("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3");
    let (code, stdout, stderr) = verify(node, &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("audit entry 3") && stderr.contains("altered"),
        "{stderr}"
    );
    let (code, stdout, _) = verify(node, &["--json"]);
    assert_eq!(code, Some(1));
    let report = json(&stdout);
    assert_eq!(report["intact"], false);
    assert_eq!(report["problem"]["seq"], 3);
    assert_eq!(report["problem"]["fault"], "content_altered");
    assert_eq!(report["entries_verified"], 2);

    // Put back exactly as it was: intact again (the check is on content, not on a flag).
    sql(&format!(
        "UPDATE audit_log SET actor = '{}' WHERE seq = 3",
        original.trim().replace('\'', "''")
    ));
    assert_eq!(verify(node, &[]).0, Some(0));

    // A patient set on an entry that had none (or changed) is an alteration too.
    sql("UPDATE audit_log SET patient = '02070803628' WHERE seq = 1");
    let (code, _, stderr) = verify(node, &[]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("audit entry 1"), "{stderr}");
    sql("UPDATE audit_log SET patient = NULL WHERE seq = 1");
    assert_eq!(verify(node, &[]).0, Some(0));

    sql("DELETE FROM audit_log WHERE seq = 5");
    let (code, stdout, stderr) = verify(node, &[]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("audit entry 5") && stderr.contains("removed"),
        "{stderr}"
    );
    let report = json(&verify(node, &["--json"]).1);
    assert_eq!(report["problem"]["fault"], "missing");
    assert_eq!(report["problem"]["seq"], 5);
}

#[test]
fn every_access_is_logged_and_tampering_is_detected_on_sqlite() {
    let Some(sqlite3) = peer("sqlite3", "apt-get install sqlite3") else {
        return;
    };
    let Some(mut node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let entries_of_a = exercise(&node);
    node.kill();
    let database = node.data.join("medgate.db");
    let sql = |statement: &str| run_peer_ok(&sqlite3, &[&s(&database), statement]);
    tamper(&node, sql, entries_of_a);

    // The operator's listing reads the same store.
    let listed = json(&crate::support::run_ok(&[
        "audit",
        "list",
        "--tenant",
        A,
        "--patient",
        PESEL,
        "--json",
        "--data",
        &s(&node.data),
    ]));
    assert!(listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["tenant"] == A && e["patient"] == PESEL));

    // A folder without a database is an error, not an empty intact log.
    let empty = node.dir.path().join("no-such-node");
    let output = medgate()
        .args(["audit", "verify", "--data", &s(&empty)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no database"), "{stderr}");
    assert!(!empty.join("medgate.db").exists());
}

#[test]
fn tampering_is_detected_on_postgres() {
    let Some(psql) = peer("psql", "apt-get install postgresql-client") else {
        return;
    };
    let Some(mut node) = Node::start(Backend::Postgres) else {
        return;
    };
    let entries_of_a = exercise(&node);
    node.kill();
    let url = node.database_url.clone().expect("PostgreSQL URL");
    let sql = |statement: &str| {
        let output = run_peer(&psql, &[&url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    tamper(&node, sql, entries_of_a);
}

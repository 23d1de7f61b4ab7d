//! The audit log end to end: `client audit` prints a tenant's entries (also for one
//! patient, paged); and with the node stopped, `medgate audit verify` passes on the real
//! database, then fails naming the entry after a row is edited directly in the database
//! (sqlite3 / psql), and names the missing entry after a row is deleted. A row forged past
//! the chain head is named by `verify` while the node keeps serving and auditing (one error
//! line in its log); signed checkpoints (checked with `openssl cms -verify`) catch a
//! truncated tail with a rewritten head, and a checkpoint whose signature fails is named.
//! On SQLite here; on PostgreSQL (content, and so checkpoints, in S3) as part of the
//! end-to-end scenario in `documents.rs`. (Tampering on PostgreSQL, and what the node
//! records, are tested in process in `crates/medgate-server/tests/audit.rs`.)

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use medgate_ids::TenantId;
use medgate_storage::{AuditEntry, AuditOrigin, Sha256Digest};
use medgate_test_peers::require_command;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::harness::{eventually, Backend, Clinic, Node, BUCKET};
use crate::support::{medgate, run_peer, run_peer_ok};

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

/// Activity of two tenants for the operator's commands to check, and what `client audit`
/// prints of it; returns the number of entries of A. (What the node records for every
/// access, and what `GET /api/v1/audit` answers, is tested in process in
/// `crates/medgate-server/tests/audit.rs`.)
fn exercise(node: &Node) -> usize {
    let a = node.enroll(A, 10, 100);
    let b = node.enroll(B, 10, 100);
    let work = a.dir.clone();
    a.run_ok(&["put", &s(&fixture())]);
    a.run_ok(&["render", DOCUMENT_ID, "--out", &s(&work.join("view.html"))]);
    a.run_ok(&["types", "list"]);
    // The other tenant stores a document of the same patient.
    b.run_ok(&["put", &s(&fixture())]);

    // `--patient`: the patient's entries, newest first.
    let patient_log = entries(&a, &["--patient", PESEL]);
    assert_eq!(actions(&patient_log), ["document.render", "document.put"], "{patient_log:#?}");
    // Paging: two at a time, `--before` continues where the page ended.
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
    entries(&a, &["--limit", "1000"]).len()
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
fn client_audit_prints_the_log_and_tampering_is_detected_on_sqlite() {
    let Some(sqlite3) = require_command("sqlite3", "apt-get install sqlite3") else {
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

/// Runs SQL on the node's PostgreSQL database with psql; returns the output.
pub(super) fn postgres_sql(psql: PathBuf, node: &Node) -> impl Fn(&str) -> String {
    let url = node.database_url.clone().expect("PostgreSQL URL");
    move |statement: &str| {
        let output = run_peer(&psql, &[&url, "-v", "ON_ERROR_STOP=1", "-qAtc", statement]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// `medgate audit <args>` on the node's store: (exit code, stdout, stderr).
fn operator(node: &Node, args: &[&str]) -> (Option<i32>, String, String) {
    let mut all: Vec<String> = vec!["audit".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    let output = medgate().args(&all).output().expect("medgate audit runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr,
    )
}

/// The highest sequence number in the log (the operator's listing, newest first).
fn highest_seq(node: &Node) -> u64 {
    let (code, stdout, stderr) = operator(node, &["list", "--json", "--limit", "1"]);
    assert_eq!(code, Some(0), "{stderr}");
    json(&stdout)["entries"][0]["seq"]
        .as_u64()
        .expect("an entry")
}

/// Stops the node and starts it again on the same store and port with its log (stderr,
/// level warn) going to a file, which is returned.
fn restart_logging(node: &mut Node) -> PathBuf {
    node.kill();
    let log = node.dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("log file");
    let listen = format!("127.0.0.1:{}", node.port);
    node.child = medgate()
        .args(["serve", "--listen", &listen])
        .args(node.store_args())
        .env("MEDGATE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("medgate serve starts");
    assert!(
        eventually(Duration::from_secs(60), || std::net::TcpStream::connect(
            &listen
        )
        .is_ok()),
        "the node listens again: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    log
}

const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Before any checkpoint: `verify` passes with a warning, `checkpoint --show` has none.
fn no_checkpoint_yet(node: &Node) {
    let (code, _, stderr) = operator(node, &["checkpoint", "--show"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("no valid audit checkpoint"), "{stderr}");
    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with("audit log intact: "), "{stdout}");
    assert!(
        stderr.contains("no signed audit checkpoint yet"),
        "{stderr}"
    );
}

/// A row appended past the chain head behind the node's back: the node keeps answering
/// audited requests, says so once in its log, does not build on the row, and `verify`
/// names it. Returns the forged row's seq.
fn forged_row(node: &mut Node, a: &Clinic, sql: &dyn Fn(&str) -> String) -> u64 {
    let log = restart_logging(node);
    a.run_ok(&["types", "list"]);
    let forged = highest_seq(node) + 1;
    sql(&format!(
        "INSERT INTO audit_log (seq, at, tenant_id, actor, action, target, origin, details, \
         patient, prev_hash, hash) VALUES ({forged}, 1700000000, '{A}', 'CN=someone else', \
         'document.read', 'forged', '127.0.0.1', '', NULL, '{ZEROS}', '{}')",
        "f".repeat(64)
    ));
    // Audited requests go on: each appends past the forged row (it would collide otherwise).
    for _ in 0..3 {
        a.run_ok(&["types", "list"]);
    }
    let listed = entries(a, &["--limit", "10"]);
    assert!(
        listed[0]["seq"].as_u64().unwrap() >= forged + 3,
        "{listed:#?}"
    );
    node.kill();

    // One error line names the row, however many requests followed.
    let text = std::fs::read_to_string(&log).expect("server log");
    let alerts: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("did not write"))
        .collect();
    assert_eq!(alerts.len(), 1, "{text}");
    assert!(
        alerts[0].contains("ERROR") && alerts[0].contains(&format!("seq {forged} to {forged}")),
        "{}",
        alerts[0]
    );

    // The entry after it links to the head before it, not to the forged row.
    let after = sql(&format!(
        "SELECT prev_hash FROM audit_log WHERE seq = {}",
        forged + 1
    ));
    let before = sql(&format!(
        "SELECT hash FROM audit_log WHERE seq = {}",
        forged - 1
    ));
    assert_eq!(after.trim(), before.trim());

    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("1 row is not part of the chain")
            && stderr.contains(&format!("seq {forged}")),
        "{stderr}"
    );
    let (code, stdout, _) = operator(node, &["verify", "--json"]);
    assert_eq!(code, Some(1));
    let report = json(&stdout);
    assert_eq!(report["intact"], false);
    assert_eq!(report["foreign_rows"], serde_json::json!([forged]));
    assert_eq!(report["problem"]["fault"], "foreign");
    assert_eq!(report["problem"]["seq"], forged);
    let verified = report["entries_verified"].as_u64().unwrap();
    assert_eq!(
        verified,
        highest_seq(node) - 1,
        "every other row is in the chain"
    );

    // Without the forged row the gap it leaves is bridged by the links: intact.
    sql(&format!("DELETE FROM audit_log WHERE seq = {forged}"));
    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("audit log intact: {verified} entries")),
        "{stdout}"
    );
    forged
}

/// The stored record of a checkpoint (`audit-checkpoints/NAME`): a file under
/// `DATA/content`, or an object under `content/` in the bucket.
fn read_checkpoint(node: &Node, key: &str) -> Vec<u8> {
    match node.s3() {
        None => std::fs::read(node.data.join("content").join(key)).expect("checkpoint file"),
        Some(s3) => s3
            .get(BUCKET, &format!("content/{key}"))
            .expect("checkpoint object"),
    }
}

fn write_checkpoint(node: &Node, key: &str, bytes: &[u8]) {
    match node.s3() {
        None => std::fs::write(node.data.join("content").join(key), bytes).expect("written"),
        Some(s3) => s3.put(BUCKET, &format!("content/{key}"), bytes),
    }
}

/// The node writes a checkpoint when it starts; `audit checkpoint` writes one now; openssl
/// verifies it; after the tail is cut and the new last entry rewritten with a correct hash
/// and the head moved back, `verify` names the checkpoint the chain no longer reaches; a
/// checkpoint whose signature fails is named too.
fn checkpoints(node: &mut Node, a: &Clinic, sql: &dyn Fn(&str) -> String) {
    let Some(openssl) = require_command("openssl", "apt-get install openssl") else {
        return;
    };
    // The running node anchors the head it starts with.
    node.restart();
    let head = highest_seq(node);
    let mut shown = Value::Null;
    assert!(
        eventually(Duration::from_secs(30), || {
            let (code, stdout, _) = operator(node, &["checkpoint", "--show", "--json"]);
            if code == Some(0) {
                shown = json(&stdout);
            }
            shown["seq"] == head
        }),
        "no checkpoint of entry {head} from the node: {shown}"
    );
    assert_eq!(shown["signature_verified"], true);
    assert!(shown["node"]
        .as_str()
        .unwrap()
        .starts_with("https://127.0.0.1:"));
    let started = head;
    a.run_ok(&["types", "list"]);
    a.run_ok(&["types", "list"]);
    node.kill();

    // One now, from the command line, at the new head.
    let head = highest_seq(node);
    let (code, stdout, stderr) = operator(node, &["checkpoint", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let written = json(&stdout);
    assert_eq!(written["seq"], head);
    let key = written["checkpoint"].as_str().unwrap().to_owned();
    assert!(key.starts_with("audit-checkpoints/"), "{key}");
    let (code, text, _) = operator(node, &["checkpoint", "--show"]);
    assert_eq!(code, Some(0));
    assert!(
        text.contains(&key)
            && text.contains("signature verified")
            && text.contains(&format!("entry:      {head}")),
        "{text}"
    );

    // OpenSSL verifies the signature over the document with the node's CA, and refuses a
    // document changed by one character.
    let (_, stdout, _) = operator(node, &["checkpoint", "--show", "--json"]);
    let shown = json(&stdout);
    assert_eq!(shown["checkpoint"], key.as_str());
    let document = shown["document"].as_str().unwrap();
    assert!(
        document.starts_with(&format!(
            "{{\"format\":\"medgate-audit-checkpoint-v1\",\"seq\":{head},\"head\":\"{}\"",
            written["head"].as_str().unwrap()
        )),
        "{document}"
    );
    let work = node.dir.path();
    std::fs::write(work.join("checkpoint.json"), document).unwrap();
    std::fs::write(
        work.join("checkpoint.p7s"),
        shown["signature"].as_str().unwrap(),
    )
    .unwrap();
    let openssl_verify = |content: &Path| {
        run_peer(
            &openssl,
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "PEM",
                "-in",
                &s(&work.join("checkpoint.p7s")),
                "-content",
                &s(content),
                "-CAfile",
                &s(&node.ca()),
                // A server certificate (serverAuth), not an S/MIME one.
                "-purpose",
                "any",
                "-out",
                "/dev/null",
            ],
        )
    };
    let verified = openssl_verify(&work.join("checkpoint.json"));
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    std::fs::write(
        work.join("changed.json"),
        document.replace(&format!("\"seq\":{head}"), &format!("\"seq\":{}", head + 1)),
    )
    .unwrap();
    assert!(!openssl_verify(&work.join("changed.json")).status.success());

    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "matches the signed checkpoint {key} (entry {head},"
        )),
        "{stdout}"
    );

    // Someone with the database cuts the entries from the one the node's checkpoint anchors
    // on, rewrites the new last one with a correct hash and moves the head back: a
    // consistent chain, a few entries short.
    let kept = started - 1;
    let limit = (head - kept + 1).to_string();
    let listed = json(&operator(node, &["list", "--json", "--limit", &limit]).1);
    let row = listed["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["seq"] == kept)
        .expect("the entry kept last");
    let prev_hash = sql(&format!(
        "SELECT prev_hash FROM audit_log WHERE seq = {kept}"
    ));
    let origin = row["origin"].as_str().unwrap();
    let mut rewritten = AuditEntry {
        seq: kept,
        at: OffsetDateTime::parse(row["at"].as_str().unwrap(), &Rfc3339).unwrap(),
        tenant: row["tenant"].as_str().map(|t| TenantId::parse(t).unwrap()),
        actor: row["actor"].as_str().unwrap().to_owned(),
        action: row["action"].as_str().unwrap().to_owned(),
        target: "nothing to see".to_owned(),
        origin: match origin {
            "cli" => AuditOrigin::Cli,
            address => AuditOrigin::Address(address.parse().unwrap()),
        },
        details: row["details"].as_str().unwrap().to_owned(),
        patient: row["patient"].as_str().map(str::to_owned),
        prev_hash: Sha256Digest::parse_hex(prev_hash.trim()).unwrap(),
        hash: Sha256Digest::ZERO,
    };
    rewritten.hash = rewritten.computed_hash();
    let hash = rewritten.hash.to_hex();
    sql(&format!("DELETE FROM audit_log WHERE seq > {kept}"));
    sql(&format!(
        "UPDATE audit_log SET target = 'nothing to see', hash = '{hash}' WHERE seq = {kept}"
    ));
    sql(&format!(
        "UPDATE audit_chain_head SET last_seq = {kept}, last_hash = '{hash}'"
    ));
    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("audit entry {head}: entry missing"))
            && stderr.contains(&format!("chain ends at entry {kept}"))
            && stderr.contains(&key),
        "{stderr}"
    );
    let report = json(&operator(node, &["verify", "--json"]).1);
    assert_eq!(report["intact"], false);
    assert_eq!(report["problem"]["fault"], "truncated");
    assert_eq!(report["problem"]["seq"], head);
    assert_eq!(report["checkpoint"]["checkpoint"], key.as_str());
    // The chain alone is consistent: every entry that is left verifies (all numbers up to
    // the one kept but the forged row's, deleted earlier).
    assert_eq!(report["entries_verified"], kept - 1);

    // A checkpoint changed after signing is named; the one before it is used instead.
    let record = read_checkpoint(node, &key);
    let mut envelope: Value = serde_json::from_slice(&record).unwrap();
    let forged_document = envelope["document"]
        .as_str()
        .unwrap()
        .replace(&format!("\"seq\":{head}"), &format!("\"seq\":{kept}"))
        .replace(written["head"].as_str().unwrap(), &hash);
    envelope["document"] = Value::String(forged_document);
    write_checkpoint(node, &key, &serde_json::to_vec(&envelope).unwrap());
    let (code, stdout, stderr) = operator(node, &["verify"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: audit checkpoint {key}: named for another entry"
        )),
        "{stderr}"
    );
    // Same name, same entry, another head: the signature no longer covers it.
    let mut envelope: Value = serde_json::from_slice(&record).unwrap();
    envelope["document"] = Value::String(
        envelope["document"]
            .as_str()
            .unwrap()
            .replace(written["head"].as_str().unwrap(), &hash),
    );
    write_checkpoint(node, &key, &serde_json::to_vec(&envelope).unwrap());
    let (code, stdout, stderr) = operator(node, &["verify", "--json"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: audit checkpoint {key}: signature does not verify"
        )),
        "{stderr}"
    );
    let report = json(&stdout);
    assert_eq!(
        report["rejected_checkpoints"][0]["checkpoint"],
        key.as_str()
    );
    // The node's own checkpoint at start is older and still catches the cut tail.
    assert_eq!(report["problem"]["fault"], "truncated");
    assert_eq!(report["problem"]["seq"], started);
    assert_eq!(report["checkpoint"]["seq"], started);
    assert_ne!(report["checkpoint"]["checkpoint"], key.as_str());
}

/// On a node that has not restarted since it started empty: no checkpoint yet, a forged
/// row, then the checkpoints (the node is restarted twice). The scale-out store's run is part
/// of the end-to-end scenario on PostgreSQL with S3 (`documents.rs`).
pub(super) fn forged_rows_and_checkpoints(node: &mut Node, sql: &dyn Fn(&str) -> String) {
    let a = node.enroll(A, 10, 100);
    no_checkpoint_yet(node);
    forged_row(node, &a, sql);
    checkpoints(node, &a, sql);
}

#[test]
fn forged_rows_and_checkpoints_on_sqlite() {
    let Some(sqlite3) = require_command("sqlite3", "apt-get install sqlite3") else {
        return;
    };
    let Some(mut node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let database = node.data.join("medgate.db");
    let sql = move |statement: &str| run_peer_ok(&sqlite3, &[&s(&database), statement]);
    forged_rows_and_checkpoints(&mut node, &sql);
}

//! `medgate backup` of a node while a bulk upload runs, `medgate restore` into a new folder,
//! and the restored node started on it: every document acknowledged before the backup began is
//! there byte for byte, the audit chain verifies, the clinic's certificates still authenticate.
//! Then the refusals: a damaged backup (one byte flipped, in a document's entry and after the
//! end of the archive) names what is damaged, a wrong passphrase is said, an existing folder
//! or file is never overwritten, and a node on PostgreSQL is sent to the documented procedure.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use medgate_test_peers::{require_command, POSTGRES_INSTALL};

use super::harness::{Backend, Node};
use crate::support::{medgate, run_fails, run_ok};

const DOCUMENTS: usize = 300;
const TENANT: &str = "0000000000005028";

fn document(number: usize) -> String {
    include_str!("../../../assets/bench-document.xml")
        .replace("{{NUMBER}}", &format!("{number:07}"))
        .replace("{{MONTH}}", &format!("{:02}", number % 12 + 1))
        .replace("{{DAY}}", &format!("{:02}", number % 28 + 1))
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `stored FILE: ID (…)` lines of `client put` as (file, id).
fn stored(line: &str) -> Option<(String, String)> {
    let (file, description) = line.strip_prefix("stored ")?.split_once(": ")?;
    Some((file.to_owned(), description.split(' ').next()?.to_owned()))
}

#[test]
fn backup_during_bulk_upload_restores_a_node_serving_every_document() {
    let Some(mut node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 100, 10_000);
    let work = node.dir.path().to_path_buf();
    let passphrase = work.join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").expect("passphrase");
    let outbox = clinic.dir.join("outbox");
    std::fs::create_dir_all(&outbox).expect("folder");
    for number in 0..DOCUMENTS {
        std::fs::write(
            outbox.join(format!("doc-{number:04}.xml")),
            document(number),
        )
        .expect("document");
    }
    // A signed audit checkpoint before the upload: a record beside the content.
    run_ok(&["audit", "checkpoint", "--data", &s(&node.data)]);

    let mut upload = medgate()
        .args(["client", "--config", &s(&clinic.config), "put", &s(&outbox)])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("client starts");
    let stdout = upload.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    let started = Instant::now();
    while acknowledged.len() < 30 && started.elapsed() < Duration::from_secs(60) {
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(50)) {
            acknowledged.extend(stored(&line));
        }
    }
    assert!(acknowledged.len() >= 30, "the upload did not get going");
    // Everything acknowledged up to now must be in the backup, which starts now, while the
    // upload goes on.
    acknowledged.extend(receiver.try_iter().filter_map(|line| stored(&line)));
    let archive = work.join("node.backup");
    let said = run_ok(&[
        "backup",
        "--data",
        &s(&node.data),
        "--out",
        &s(&archive),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(said.contains("backup written to"), "{said}");
    let in_backup: usize = said
        .split("written to ")
        .nth(1)
        .and_then(|rest| rest.split(": ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the document count");
    assert!(in_backup >= acknowledged.len(), "{said}");
    // The snapshot was taken while the upload ran, not after it.
    assert!(
        in_backup < DOCUMENTS,
        "the backup came too late to test anything: {said}"
    );

    // A backup never overwrites.
    let refused = run_fails(&[
        "backup",
        "--data",
        &s(&node.data),
        "--out",
        &s(&archive),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(refused.contains("never overwrites"), "{refused}");

    // Restore into a new folder and start the node there (same port: the clinic's
    // configuration is unchanged).
    let restored = work.join("restored");
    let said = run_ok(&[
        "restore",
        &s(&archive),
        "--data",
        &s(&restored),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(said.contains(&format!("{in_backup} documents")), "{said}");
    assert!(said.contains("1 audit checkpoints"), "{said}");
    let verified = run_ok(&["audit", "verify", "--data", &s(&restored)]);
    assert!(verified.contains("intact"), "{verified}");
    // The upload went on while the backup was taken, and finished.
    let status = upload.wait().expect("client ends");
    assert!(
        status.success(),
        "the upload goes on while the backup is taken"
    );
    let all: usize =
        receiver.try_iter().filter_map(|line| stored(&line)).count() + acknowledged.len();
    assert_eq!(all, DOCUMENTS);
    node.kill();
    node.data = restored.clone();
    node.restart();
    // Every document acknowledged before the backup began, byte for byte, fetched with the
    // clinic's own certificates (mutual TLS and signed requests on the restored CA).
    for (file, id) in &acknowledged {
        let out = clinic.path("fetched.xml");
        clinic.run_ok(&["get", id, "--out", &out, "--force"]);
        let fetched = std::fs::read(&out).expect("fetched");
        let original = std::fs::read(outbox.join(file)).expect("original");
        assert_eq!(fetched, original, "{id} differs after the restore");
    }
    let listed: serde_json::Value =
        serde_json::from_str(&clinic.run_ok(&["search", "--limit", "1", "--json"])).expect("json");
    assert_eq!(listed["total"], in_backup);
    node.kill();

    // Restoring over a folder that holds something is refused.
    let refused = run_fails(&[
        "restore",
        &s(&archive),
        "--data",
        &s(&restored),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(
        refused.contains("is not empty") && refused.contains("never overwrites"),
        "{refused}"
    );
    // A wrong passphrase is said as such, and nothing is written.
    let wrong = work.join("wrong");
    std::fs::write(&wrong, "incorrect horse\n").expect("passphrase");
    let target = work.join("again");
    let refused = run_fails(&[
        "restore",
        &s(&archive),
        "--data",
        &s(&target),
        "--passphrase-file",
        &s(&wrong),
    ]);
    assert!(
        refused.contains("the passphrase does not open the backup"),
        "{refused}"
    );
    assert!(!target.exists());

    // One byte flipped inside a document: refused, the document's entry named.
    let bytes = std::fs::read(&archive).expect("archive");
    let original = std::fs::read(outbox.join(&acknowledged[0].0)).expect("original");
    let at = bytes
        .windows(original.len())
        .position(|window| window == original.as_slice())
        .expect("the document is stored in the archive as it is");
    let damaged = work.join("damaged.backup");
    let mut flipped = bytes.clone();
    flipped[at + original.len() / 2] ^= 0x20;
    std::fs::write(&damaged, &flipped).expect("damaged");
    let refused = run_fails(&[
        "restore",
        &s(&damaged),
        "--data",
        &s(&target),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(
        refused.contains("is damaged") && refused.contains("the entry content/"),
        "{refused}"
    );
    assert!(refused.contains("does not match its SHA-256"), "{refused}");
    assert!(!target.exists());
    // One byte flipped where the tar format has only zeros (after the end of the archive).
    let mut flipped = bytes;
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01;
    std::fs::write(&damaged, &flipped).expect("damaged");
    let refused = run_fails(&[
        "restore",
        &s(&damaged),
        "--data",
        &s(&target),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(
        refused.contains("is damaged") && refused.contains("after the end of the archive"),
        "{refused}"
    );
    assert!(!target.exists());
}

#[test]
fn backup_of_a_node_on_postgresql_points_at_the_procedure() {
    let dir = crate::support::temp_dir();
    let passphrase = dir.path().join("passphrase");
    std::fs::write(&passphrase, "p\n").expect("passphrase");
    let refused = run_fails(&[
        "backup",
        "--data",
        &s(&dir.path().join("data")),
        "--out",
        &s(&dir.path().join("b")),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    // No node there: said as such.
    assert!(refused.contains("there is no medgate node"), "{refused}");
    let refused = medgate()
        .args([
            "backup",
            "--data",
            &s(&dir.path().join("data")),
            "--out",
            &s(&dir.path().join("b")),
        ])
        .args(["--passphrase-file", &s(&passphrase)])
        .env(
            "MEDGATE_DATABASE_URL",
            "postgres://medgate@127.0.0.1:1/medgate",
        )
        .output()
        .expect("runs");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("PostgreSQL") && said.contains("pg_dump") && said.contains("--secrets-only"),
        "{said}"
    );
}

/// Drops a test's second PostgreSQL database, whatever happens.
struct DropDatabase(String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let _ = super::harness::psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

/// The README's procedure for a node on PostgreSQL with content in S3: `pg_dump` of the
/// database, a copy of the bucket by listing it, `medgate backup --secrets-only`; restored
/// with `pg_restore` into a fresh database, the objects into a new bucket and `medgate
/// restore` of the secrets; the node started on them serves every document byte for byte to
/// the clinic's own certificates, and its audit chain verifies.
#[test]
fn postgres_and_s3_procedure_restores_a_node_serving_every_document() {
    let Some(pg_dump) = require_command("pg_dump", POSTGRES_INSTALL) else {
        return;
    };
    let Some(pg_restore) = require_command("pg_restore", POSTGRES_INSTALL) else {
        return;
    };
    let Some(mut node) = Node::start(Backend::Postgres) else {
        return;
    };
    let clinic = node.enroll(TENANT, 100, 10_000);
    let work = node.dir.path().to_path_buf();
    let outbox = clinic.dir.join("outbox");
    std::fs::create_dir_all(&outbox).expect("folder");
    for number in 0..5 {
        std::fs::write(
            outbox.join(format!("doc-{number:04}.xml")),
            document(number),
        )
        .expect("document");
    }
    let put = clinic.run_ok(&["put", &s(&outbox)]);
    let documents: Vec<(String, String)> = put.lines().filter_map(stored).collect();
    assert_eq!(documents.len(), 5, "{put}");
    let passphrase = work.join("passphrase");
    std::fs::write(&passphrase, "correct horse battery staple\n").expect("passphrase");
    let url = node.database_url.clone().expect("a PostgreSQL node");
    let config = node.config.clone().expect("a configuration with [content]");

    // `medgate backup` refuses the node and names the procedure.
    let refused = run_fails(&[
        "backup",
        "--data",
        &s(&node.data),
        "--config",
        &s(&config),
        "--out",
        &s(&work.join("b")),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(
        refused.contains("pg_dump") && refused.contains("--secrets-only"),
        "{refused}"
    );
    // The procedure: the database, then the bucket, then the secrets.
    let dump = work.join("medgate.pgdump");
    let dumped = std::process::Command::new(&pg_dump)
        .args(["--format=custom", "--file", &s(&dump), &url])
        .output()
        .expect("pg_dump runs");
    assert!(
        dumped.status.success(),
        "{}",
        String::from_utf8_lossy(&dumped.stderr)
    );
    let s3 = node.s3().expect("moto");
    let copy = "medgate-e2e-restored";
    s3.create_bucket(copy);
    let keys = s3.keys(super::harness::BUCKET, "");
    assert!(keys.len() >= 5, "{keys:?}");
    for key in &keys {
        let bytes = s3.get(super::harness::BUCKET, key).expect("object");
        s3.put(copy, key, &bytes);
    }
    let secrets = work.join("secrets.backup");
    let said = run_ok(&[
        "backup",
        "--secrets-only",
        "--data",
        &s(&node.data),
        "--config",
        &s(&config),
        "--out",
        &s(&secrets),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(said.contains("0 documents"), "{said}");
    node.kill();

    // Restore: a fresh database, the new bucket, the secrets into a new folder.
    let Some((name, restored_url)) = super::harness::fresh_postgres_database() else {
        return;
    };
    let _drop = DropDatabase(name);
    let restored = std::process::Command::new(&pg_restore)
        .args(["--no-owner", "--dbname", &restored_url, &s(&dump)])
        .output()
        .expect("pg_restore runs");
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    let data = work.join("restored");
    let said = run_ok(&[
        "restore",
        &s(&secrets),
        "--data",
        &s(&data),
        "--passphrase-file",
        &s(&passphrase),
    ]);
    assert!(
        said.contains("restored the CA folder and secrets"),
        "{said}"
    );
    let restored_config = work.join("restored.toml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&restored_config, text.replace(super::harness::BUCKET, copy)).expect("config");
    node.data = data;
    node.database_url = Some(restored_url);
    node.config = Some(restored_config);
    node.restart();
    for (file, id) in &documents {
        let out = clinic.path("fetched.xml");
        clinic.run_ok(&["get", id, "--out", &out, "--force"]);
        let fetched = std::fs::read(&out).expect("fetched");
        let original = std::fs::read(outbox.join(file)).expect("original");
        assert_eq!(fetched, original, "{id} differs after the restore");
    }
    let mut verify: Vec<String> = vec!["audit".into(), "verify".into()];
    verify.extend(node.store_args());
    let verify: Vec<&str> = verify.iter().map(String::as_str).collect();
    assert!(run_ok(&verify).contains("intact"));
    node.kill();
}

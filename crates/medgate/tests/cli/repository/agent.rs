//! The archiving agent end to end on SQLite: the real `medgate agent` against a real
//! `medgate serve`, with policies set by `medgate client types set` and results checked with
//! `medgate client search`. Covers upload by policy (at once, after N days, never), an
//! attachment with a sidecar uploaded once however often it is processed, a repository that
//! goes down and comes back, and an agent SIGKILLed in the middle of its uploads.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use crate::support::medgate;

const TENANT: &str = "0000000000008010";
const CCDA_ID: &str = "2.16.840.1.113883.19.5.99999.1^TT988";
const KIF_ID: &str = "2.16.840.1.113883.3.4424.2.7.0.7.1^2345678";
const ATTACHMENT_ROOT: &str = "2.999.1.77";
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn ccda() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml"),
    )
    .expect("C-CDA fixture")
}

/// The C-CDA fixture as a distinct document: its own id (`…^TT988-n`) and set id, since the
/// repository also refuses a second document with the same set id and version.
fn ccda_number(n: usize) -> Vec<u8> {
    let mut text = String::from_utf8(ccda()).expect("UTF-8");
    for (element, root, extension) in [
        ("id", "2.16.840.1.113883.19.5.99999.1", "TT988"),
        ("setId", "2.16.840.1.113883.19.5.99999.19", "sTT988"),
    ] {
        let original = format!(r#"<{element} root="{root}" extension="{extension}"/>"#);
        assert!(text.contains(&original), "the fixture's {element} changed");
        text = text.replace(
            &original,
            &format!(r#"<{element} root="{root}" extension="{extension}-{n}"/>"#),
        );
    }
    text.into_bytes()
}

/// A PIK example, or `None` (loudly) when the shared examples are not there.
fn pik(name: &str) -> Option<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/cda/pik")
        .join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(error) => {
            eprintln!("\n*** SKIPPED: {} ({error}) ***\n", path.display());
            None
        }
    }
}

/// A clinic's agent: `agent.toml` with the clinic's client settings under `[client]` and an
/// outbox beside it; polling every second, files taken as soon as they are there.
struct AgentSetup {
    config: PathBuf,
    outbox: PathBuf,
}

impl AgentSetup {
    fn new(clinic: &Clinic) -> AgentSetup {
        let client = std::fs::read_to_string(&clinic.config).expect("client.toml");
        let outbox = clinic.dir.join("outbox");
        std::fs::create_dir_all(&outbox).expect("outbox");
        let config = clinic.dir.join("agent.toml");
        std::fs::write(
            &config,
            format!(
                "[client]\n{client}\n[agent]\noutbox = \"outbox\"\npoll_seconds = 1\nsettle_seconds = 0\n\
                 attachment_oid_root = \"{ATTACHMENT_ROOT}\"\n"
            ),
        )
        .expect("agent.toml");
        AgentSetup { config, outbox }
    }

    fn drop_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.outbox.join(name);
        std::fs::write(&path, bytes).expect("file in the outbox");
        path
    }

    /// `medgate agent --config agent.toml --once`.
    fn once(&self) -> (Option<i32>, String) {
        let output: Output = medgate()
            .args([
                "agent",
                "--config",
                &self.config.to_string_lossy(),
                "--once",
            ])
            .env("MEDGATE_LOG", "warn")
            .output()
            .expect("medgate agent runs");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{stderr}");
        eprintln!("--- medgate agent --once ---\n{stdout}{stderr}");
        (output.status.code(), stdout)
    }

    /// The regular files left in the outbox (the state and rejected folders are not files).
    fn files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.outbox)
            .expect("outbox")
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// Sets a file's modification time `by` into the past, as if dropped that long ago.
fn age(path: &Path, by: Duration) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(SystemTime::now() - by)
        .expect("set mtime");
}

fn set_policy(clinic: &Clinic, code: &str, archive: &str, days: u32) {
    clinic.run_ok(&[
        "types",
        "set",
        code,
        "--archive",
        archive,
        "--local-days",
        &days.to_string(),
    ]);
}

/// `client search --json` with a page large enough for every test.
fn search(clinic: &Clinic) -> Value {
    let text = clinic.run_ok(&["search", "--json", "--limit", "500"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn stored_ids(clinic: &Clinic) -> Vec<String> {
    let answer = search(clinic);
    let ids: Vec<String> = answer["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(answer["total"].as_u64(), Some(ids.len() as u64), "{answer}");
    ids
}

fn sha256_hex(bytes: &[u8]) -> String {
    medgate_cda::hashes(bytes).sha256_hex
}

#[test]
fn agent_uploads_by_type_policy_on_sqlite() {
    let (Some(recepta), Some(karta)) = (
        pik("2.16.840.1.113883.3.4424.13.10.1.26-1.xml"),
        pik("2.16.840.1.113883.3.4424.13.10.1.18-1.xml"),
    ) else {
        return;
    };
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 50, 1000);
    // The C-CDA maps to UDM (shared medical records): uploaded at once. Discharge summaries
    // (KIF) stay local for 3 days. Attachments (ZAL) go at once. E-prescriptions (REC) keep
    // the default: never archived automatically.
    set_policy(&clinic, "UDM", "yes", 0);
    set_policy(&clinic, "KIF", "yes", 3);
    set_policy(&clinic, "ZAL", "yes", 0);
    let agent = AgentSetup::new(&clinic);
    agent.drop_file("ccd.xml", &ccda());
    agent.drop_file("recepta.xml", &recepta);
    let kif = agent.drop_file("karta.xml", &karta);
    agent.drop_file("notes.bin", b"\x00\x01 not a document");

    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("uploaded ccd.xml as {CCDA_ID} (UDM)")),
        "{out}"
    );
    assert!(
        out.contains("skipped by policy (REC: not archived automatically): recepta.xml"),
        "{out}"
    );
    assert!(
        out.contains("deferred: karta.xml (KIF: kept locally for 3 days, uploaded from "),
        "{out}"
    );
    assert!(out.contains("not handled: notes.bin"), "{out}");
    assert_eq!(agent.files(), ["karta.xml", "notes.bin", "recepta.xml"]);
    // Found by search, as stored by the agent.
    assert_eq!(stored_ids(&clinic), [CCDA_ID]);

    // A second run says nothing new and uploads nothing: the journal remembers.
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.lines().count(), 1, "only the summary: {out}");
    assert!(
        out.contains("0 uploaded")
            && out.contains("1 deferred by policy")
            && out.contains("1 skipped by policy"),
        "{out}"
    );

    // Two days later the discharge summary is still local; after three it goes.
    age(&kif, DAY * 2);
    let (_, out) = agent.once();
    assert!(out.contains("deferred: karta.xml"), "{out}");
    assert_eq!(stored_ids(&clinic).len(), 1);
    age(&kif, DAY * 3 + Duration::from_secs(60));
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("uploaded karta.xml as {KIF_ID} (KIF)")),
        "{out}"
    );
    assert_eq!(agent.files(), ["notes.bin", "recepta.xml"]);
    assert_eq!(stored_ids(&clinic).len(), 2);

    // An attachment with its sidecar: uploaded under an id derived from its bytes…
    let scan = b"%PDF-1.7\n% a scanned referral\n".to_vec();
    let sidecar = "patient = \"44051401359\"\ntitle = \"Skan skierowania\"\ntype = \"ZAL\"\n";
    agent.drop_file("scan.pdf", &scan);
    agent.drop_file("scan.pdf.meta.toml", sidecar.as_bytes());
    let attachment_id = format!("{ATTACHMENT_ROOT}^{}", sha256_hex(&scan));
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("uploaded scan.pdf as {attachment_id} (ZAL)")),
        "{out}"
    );
    assert_eq!(agent.files(), ["notes.bin", "recepta.xml"]);
    // …and when the same scan is dropped again (the clinic software sent it twice), it is
    // recognised as stored and not uploaded a second time.
    agent.drop_file("scan-again.pdf", &scan);
    agent.drop_file("scan-again.pdf.meta.toml", sidecar.as_bytes());
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "already stored: scan-again.pdf is in the repository as {attachment_id}"
        )),
        "{out}"
    );
    assert_eq!(agent.files(), ["notes.bin", "recepta.xml"]);
    let ids = stored_ids(&clinic);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids.iter().filter(|id| **id == attachment_id).count(), 1);

    // A malformed document is refused for good: moved aside with its reason, exit 1.
    agent.drop_file(
        "broken.xml",
        b"<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><id root=\"1.2\"/>",
    );
    let (code, out) = agent.once();
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("rejected: broken.xml: not a valid CDA document"),
        "{out}"
    );
    assert!(agent.outbox.join("rejected/broken.xml").exists());
    let reason = std::fs::read_to_string(agent.outbox.join("rejected/broken.xml.reason.txt"))
        .expect("reason file");
    assert!(reason.contains("not a valid CDA document"), "{reason}");
    assert_eq!(agent.files(), ["notes.bin", "recepta.xml"]);
    assert_eq!(stored_ids(&clinic).len(), 3);
}

#[test]
fn agent_waits_for_a_stopped_repository_and_loses_nothing_on_sqlite() {
    let Some(mut node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 50, 1000);
    set_policy(&clinic, "UDM", "yes", 0);
    let agent = AgentSetup::new(&clinic);
    // A first run while the repository is up keeps a copy of the tenant's policies.
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");

    node.kill();
    agent.drop_file("ccd-1.xml", &ccda_number(1));
    let (code, out) = agent.once();
    assert_eq!(
        code,
        Some(1),
        "pending because the repository is down: {out}"
    );
    assert!(
        out.contains("waiting: server unreachable, retry in"),
        "{out}"
    );
    assert!(out.contains("ccd-1.xml stays in the outbox"), "{out}");
    assert!(
        out.contains("using the policies last fetched from the repository"),
        "{out}"
    );
    assert!(out.contains("1 waiting for the repository"), "{out}");
    assert_eq!(agent.files(), ["ccd-1.xml"]);

    // The repository is back: uploaded once.
    node.restart();
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("uploaded ccd-1.xml as {CCDA_ID}-1 (UDM)")),
        "{out}"
    );
    assert!(agent.files().is_empty());
    assert_eq!(stored_ids(&clinic), [format!("{CCDA_ID}-1")]);

    // A document the repository already has (the agent died after the upload, before it
    // noted it; here: sent by hand first) is recognised, not stored twice.
    let second = clinic.dir.join("ccd-2.xml");
    std::fs::write(&second, ccda_number(2)).expect("write");
    clinic.run_ok(&["put", &second.to_string_lossy()]);
    agent.drop_file("ccd-2.xml", &ccda_number(2));
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("already stored: ccd-2.xml"), "{out}");
    assert!(agent.files().is_empty());
    assert_eq!(stored_ids(&clinic).len(), 2);
}

#[test]
fn agent_keeps_files_when_the_account_is_full_on_sqlite() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    // A plan for one file.
    let clinic = node.enroll(TENANT, 50, 1);
    set_policy(&clinic, "UDM", "yes", 0);
    let agent = AgentSetup::new(&clinic);
    agent.drop_file("ccd-1.xml", &ccda_number(1));
    agent.drop_file("ccd-2.xml", &ccda_number(2));
    let (code, out) = agent.once();
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("uploaded ccd-1.xml"), "{out}");
    assert!(
        out.contains("QUOTA EXCEEDED: the repository account is full (507 file_limit_reached")
            && out.contains("ccd-2.xml stays in the outbox"),
        "{out}"
    );
    assert_eq!(agent.files(), ["ccd-2.xml"]);
    assert_eq!(stored_ids(&clinic).len(), 1);
}

/// Reads the watching agent's stdout lines through a channel.
fn spawn_watching(agent: &AgentSetup) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = medgate()
        .args(["agent", "--config", &agent.config.to_string_lossy()])
        .env("MEDGATE_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("medgate agent starts");
    let stdout = child.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    (child, receiver)
}

/// Waits (at most `limit`) for a line containing `text`; returns it.
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, text: &str, limit: Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                eprintln!("agent: {line}");
                if line.contains(text) {
                    return line;
                }
            }
            Err(_) => panic!("no line with '{text}' within {limit:?}"),
        }
    }
}

#[test]
fn watching_agent_backs_off_while_the_repository_is_down_and_stops_on_sigterm_on_sqlite() {
    let Some(mut node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 50, 1000);
    set_policy(&clinic, "UDM", "yes", 0);
    let agent = AgentSetup::new(&clinic);
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "policies fetched and kept: {out}");

    node.kill();
    agent.drop_file("ccd-1.xml", &ccda_number(1));
    let (mut child, lines) = spawn_watching(&agent);
    wait_for_line(
        &lines,
        "using the policies last fetched",
        Duration::from_secs(30),
    );
    wait_for_line(
        &lines,
        "retry in 1 s: ccd-1.xml stays in the outbox",
        Duration::from_secs(30),
    );
    // The back-off doubles: 1 s, 2 s, 4 s…
    wait_for_line(
        &lines,
        "waiting: server unreachable, retry in 2 s",
        Duration::from_secs(30),
    );
    wait_for_line(
        &lines,
        "waiting: server unreachable, retry in 4 s",
        Duration::from_secs(30),
    );
    assert_eq!(agent.files(), ["ccd-1.xml"]);

    node.restart();
    wait_for_line(&lines, "uploaded ccd-1.xml", Duration::from_secs(60));
    assert!(agent.files().is_empty());
    assert_eq!(stored_ids(&clinic), [format!("{CCDA_ID}-1")]);

    // SIGTERM (systemd, docker stop) ends it cleanly.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    wait_for_line(&lines, "stopped", Duration::from_secs(30));
    assert_eq!(child.wait().expect("exit").code(), Some(0));
}

/// Starts the watching agent and SIGKILLs it `delay` after its `uploads`-th "uploaded" line,
/// so that it dies in the middle of the next upload or journal write.
fn kill_after_uploads(agent: &AgentSetup, uploads: usize, delay: Duration) {
    let (mut child, receiver) = spawn_watching(agent);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    while seen < uploads {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = receiver
            .recv_timeout(left)
            .expect("the agent uploads within 60 s");
        eprintln!("agent: {line}");
        if line.starts_with("uploaded ") || line.starts_with("already stored: ") {
            seen += 1;
        }
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
}

/// The stages the journal holds (one JSON file per document still in the outbox).
fn journal_stages(agent: &AgentSetup) -> Vec<String> {
    let folder = agent.outbox.join(".medgate-agent/journal");
    std::fs::read_dir(&folder)
        .expect("journal")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "json"))
        .map(|entry| {
            let entry: Value =
                serde_json::from_slice(&std::fs::read(entry.path()).expect("entry")).expect("JSON");
            entry["stage"].as_str().expect("stage").to_owned()
        })
        .collect()
}

#[test]
fn agent_killed_mid_upload_resumes_without_loss_or_duplicates_on_sqlite() {
    const FILES: usize = 60;
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(TENANT, 50, 1000);
    set_policy(&clinic, "UDM", "yes", 0);
    let agent = AgentSetup::new(&clinic);
    for n in 0..FILES {
        agent.drop_file(&format!("ccd-{n:02}.xml"), &ccda_number(n));
    }

    // Three lives of the watching agent, each ended by SIGKILL in the middle of its work.
    let mut caught_uploading = 0;
    for (uploads, delay_ms) in [(1, 3), (4, 8), (9, 15), (3, 25)] {
        kill_after_uploads(&agent, uploads, Duration::from_millis(delay_ms));
        let stages = journal_stages(&agent);
        caught_uploading += stages.iter().filter(|s| *s == "uploading").count();
        eprintln!(
            "killed with {} of {FILES} files in the outbox; journal stages: {stages:?}",
            agent.files().len()
        );
    }
    eprintln!("killed {caught_uploading} time(s) with an upload in flight");
    let left = agent.files().len();
    assert!(left <= FILES - 17, "the agent uploaded between the kills");

    // Started again: everything left is uploaded, nothing twice.
    let (code, out) = agent.once();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        agent.files().is_empty(),
        "outbox not empty: {:?}",
        agent.files()
    );
    let mut ids = stored_ids(&clinic);
    assert_eq!(ids.len(), FILES, "search total equals the number of files");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), FILES, "every document stored exactly once");
    assert!(
        journal_stages(&agent).is_empty(),
        "the journal is empty once every file is done"
    );
}

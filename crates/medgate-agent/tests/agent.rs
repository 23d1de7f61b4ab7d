//! The agent's passes over a real outbox with the repository unreachable: what is decided
//! without the repository (policy, classification, rejection), what waits for it, that
//! nothing leaves the outbox until the repository has it, and that each thing is reported
//! once. The end-to-end tests with a running repository are in the `medgate` crate
//! (`tests/cli/repository/agent.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use medgate_agent::{Agent, AgentConfig, AgentError, Outcome, Report};

/// The project's sample documents.
const SAMPLES: &str = "../../examples/cda";

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SAMPLES).join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ccda() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml");
    fs::read(path).unwrap()
}

/// A clinic folder with certificates (self-signed: the repository is never reached), an
/// outbox and `agent.toml` pointing at a port where nothing listens.
struct Clinic {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Clinic {
    fn new(extra_agent_settings: &str) -> Clinic {
        let dir = tempfile::tempdir().unwrap();
        for kind in ["tls", "wss"] {
            let certified =
                rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
            fs::write(dir.path().join(format!("{kind}.pem")), certified.cert.pem()).unwrap();
            fs::write(
                dir.path().join(format!("{kind}.key")),
                certified.signing_key.serialize_pem(),
            )
            .unwrap();
        }
        fs::create_dir(dir.path().join("outbox")).unwrap();
        // A port that was free a moment ago: connections are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = dir.path().join("agent.toml");
        fs::write(
            &config,
            format!(
                "[client]\nserver = \"https://127.0.0.1:{port}\"\ntenant = \"0000000000005010\"\n\
                 tls_cert = \"tls.pem\"\ntls_key = \"tls.key\"\nwss_cert = \"wss.pem\"\nwss_key = \"wss.key\"\n\
                 ca = \"tls.pem\"\ntimeout_ms = 2000\n\n[agent]\noutbox = \"outbox\"\nsettle_seconds = 0\n\
                 attachment_oid_root = \"2.999.1.77\"\n{extra_agent_settings}\n"
            ),
        )
        .unwrap();
        Clinic { dir, config }
    }

    fn outbox(&self) -> PathBuf {
        self.dir.path().join("outbox")
    }

    fn drop_file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.outbox().join(name);
        fs::write(&path, bytes).unwrap();
        path
    }

    fn agent(&self) -> Agent {
        Agent::new(AgentConfig::load(&self.config).unwrap()).unwrap()
    }

    fn outbox_files(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.outbox())
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().unwrap().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

fn age(path: &Path, by: Duration) {
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - by)
        .unwrap();
}

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn outcome_of<'a>(report: &'a Report, file: &str) -> Vec<&'a Outcome> {
    report
        .actions
        .iter()
        .filter(|a| a.file == file)
        .map(|a| &a.outcome)
        .collect()
}

fn run(agent: &mut Agent) -> Report {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(agent.run_once())
        .unwrap()
}

#[test]
fn offline_pass_decides_by_policy_and_keeps_everything_waiting_for_the_repository() {
    let clinic = Clinic::new("");
    clinic.drop_file(
        "recepta.xml",
        &sample("03-recepta.xml"),
    );
    clinic.drop_file(
        "karta.xml",
        &sample("01-karta-informacyjna.xml"),
    );
    let old = clinic.drop_file("ccd.xml", &ccda());
    age(&old, DAY * 31);
    clinic.drop_file(
        "broken.xml",
        b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2'/>",
    );
    clinic.drop_file("photo.jpg", b"\xFF\xD8\xFF\xE0 not really a jpeg");
    clinic.drop_file("notes.txt.part", b"still being written");

    let mut agent = clinic.agent();
    let report = run(&mut agent);

    // No repository answer: the built-in policies, said once.
    assert!(report
        .actions
        .iter()
        .any(|a| matches!(&a.outcome, Outcome::PolicyFallback { using, .. } if using.contains("built-in"))));
    // e-prescriptions are not archived automatically.
    assert_eq!(
        outcome_of(&report, "recepta.xml"),
        [&Outcome::SkippedByPolicy {
            type_code: "REC".into()
        }]
    );
    // A discharge summary is kept locally for the default 30 days.
    assert!(matches!(
        outcome_of(&report, "karta.xml")[..],
        [Outcome::Deferred { type_code, keep_local_days: 30, .. }] if type_code == "KIF"
    ));
    // A 31-day-old document is due, but the repository is unreachable.
    let waiting = outcome_of(&report, "ccd.xml");
    assert!(
        matches!(waiting[..], [Outcome::Waiting { reason, .. }] if reason.contains("nothing is listening")),
        "{waiting:?}"
    );
    let line = report
        .actions
        .iter()
        .find(|a| a.file == "ccd.xml")
        .unwrap()
        .to_string();
    assert!(
        line.starts_with("waiting: server unreachable, retry in 1 s"),
        "{line}"
    );
    // Malformed CDA: rejected with the reason, moved aside with a reason file.
    let rejected = outcome_of(&report, "broken.xml");
    let [Outcome::Rejected { reason, moved_to }] = &rejected[..] else {
        panic!("{rejected:?}")
    };
    assert!(reason.contains("not a valid CDA document"), "{reason}");
    assert_eq!(moved_to, &clinic.outbox().join("rejected/broken.xml"));
    let reason_file =
        fs::read_to_string(clinic.outbox().join("rejected/broken.xml.reason.txt")).unwrap();
    assert!(
        reason_file.contains("reason: not a valid CDA document"),
        "{reason_file}"
    );
    // Not XML and no sidecar: left alone, said once.
    assert!(matches!(
        outcome_of(&report, "photo.jpg")[..],
        [Outcome::NotRecognised { why }] if why.contains("photo.jpg.meta.toml")
    ));
    assert_eq!(report.waiting, 1);
    assert!(report.needs_attention());

    // Everything except the rejected file is still in the outbox.
    assert_eq!(
        clinic.outbox_files(),
        [
            "ccd.xml",
            "karta.xml",
            "notes.txt.part",
            "photo.jpg",
            "recepta.xml"
        ]
    );

    // A second pass (in a new process: a new agent on the same state) repeats nothing it
    // already said; the due document is tried and reported again.
    drop(agent);
    let mut agent = clinic.agent();
    let report = run(&mut agent);
    let files: Vec<&str> = report
        .actions
        .iter()
        .map(|a| a.file.as_str())
        .filter(|f| !f.is_empty())
        .collect();
    assert_eq!(files, ["ccd.xml"]);
    assert_eq!(
        (
            report.skipped,
            report.deferred,
            report.not_recognised,
            report.waiting
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(
        report.summary(),
        "outbox: 0 uploaded, 0 already stored, 0 rejected, 1 waiting for the repository, \
         1 deferred by policy, 1 skipped by policy, 1 not recognised"
    );
}

#[test]
fn the_journal_records_each_file_and_the_type_map_overrides_the_table() {
    let clinic = Clinic::new("[agent.type_map]\n\"04.01\" = \"KIF\"\n");
    clinic.drop_file(
        "recepta.xml",
        &sample("03-recepta.xml"),
    );
    let mut agent = clinic.agent();
    let report = run(&mut agent);
    // Mapped to KIF, which is archived after 30 days, instead of REC (never).
    assert!(matches!(
        outcome_of(&report, "recepta.xml")[..],
        [Outcome::Deferred { type_code, .. }] if type_code == "KIF"
    ));
    let journal = clinic.outbox().join(".medgate-agent/journal");
    let entries: Vec<serde_json::Value> = fs::read_dir(&journal)
        .unwrap()
        .map(|e| serde_json::from_slice(&fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["file"], "recepta.xml");
    assert_eq!(entries[0]["stage"], "pending");
    assert_eq!(
        entries[0]["item"]["document_id"],
        "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0003"
    );
    assert_eq!(entries[0]["item"]["type_code"], "KIF");

    // The clinic removes the file: its entry goes too, silently.
    fs::remove_file(clinic.outbox().join("recepta.xml")).unwrap();
    let report = run(&mut agent);
    assert!(
        report.actions.iter().all(|a| a.file.is_empty()),
        "{:?}",
        report.actions
    );
    assert_eq!(fs::read_dir(&journal).unwrap().count(), 0);
}

#[test]
fn attachments_need_a_valid_sidecar_and_get_a_content_derived_id() {
    let clinic = Clinic::new("");
    let scan = clinic.drop_file("scan.pdf", b"%PDF-1.7 scan");
    age(&scan, DAY * 40);
    fs::write(
        clinic.outbox().join("scan.pdf.meta.toml"),
        "patient = \"02070803628\"\ntitle = \"Skan skierowania\"\n",
    )
    .unwrap();
    clinic.drop_file("bad.pdf", b"%PDF-1.7 other");
    fs::write(
        clinic.outbox().join("bad.pdf.meta.toml"),
        "patient = \"02070803628\"\ntitle = \"Skan\"\ntype = \"NOPE\"\n",
    )
    .unwrap();
    let mut agent = clinic.agent();
    let report = run(&mut agent);
    // ZAL (the default attachment type) after 40 days: due, waiting for the repository.
    assert!(matches!(
        outcome_of(&report, "scan.pdf")[..],
        [Outcome::Waiting { .. }]
    ));
    let rejected = outcome_of(&report, "bad.pdf");
    assert!(
        matches!(&rejected[..], [Outcome::Rejected { reason, .. }] if reason.contains("'NOPE'")),
        "{rejected:?}"
    );
    // The sidecar goes along with its file.
    assert!(clinic.outbox().join("rejected/bad.pdf.meta.toml").exists());
    assert_eq!(clinic.outbox_files(), ["scan.pdf", "scan.pdf.meta.toml"]);
    let journal = clinic.outbox().join(".medgate-agent/journal");
    let entry: serde_json::Value = serde_json::from_slice(
        &fs::read(
            fs::read_dir(&journal)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap(),
    )
    .unwrap();
    // Held back: the repository was found unreachable when the policies were asked for.
    assert_eq!(entry["stage"], "pending");
    assert_eq!(
        entry["item"]["document_id"],
        format!(
            "2.999.1.77^{}",
            medgate_cda::hashes(b"%PDF-1.7 scan").sha256_hex
        )
    );
    assert_eq!(entry["item"]["content_type"], "application/pdf");
    assert_eq!(entry["item"]["type_code"], "ZAL");
}

#[test]
fn files_still_being_written_wait_and_a_second_agent_is_refused() {
    let clinic = Clinic::new("");
    // With the default settle time (one poll, 5 s) a file written just now is not taken.
    let text = fs::read_to_string(&clinic.config)
        .unwrap()
        .replace("settle_seconds = 0\n", "");
    fs::write(&clinic.config, text).unwrap();
    clinic.drop_file(
        "karta.xml",
        &sample("01-karta-informacyjna.xml"),
    );
    let mut agent = clinic.agent();
    let report = run(&mut agent);
    assert_eq!(report.settling, 1);
    assert!(outcome_of(&report, "karta.xml").is_empty());
    assert!(!report.needs_attention());

    let second = Agent::new(AgentConfig::load(&clinic.config).unwrap());
    assert!(matches!(second, Err(AgentError::Locked { .. })));
    drop(agent);
    assert!(Agent::new(AgentConfig::load(&clinic.config).unwrap()).is_ok());
}

#[test]
fn a_file_that_cannot_be_moved_is_reported_once_and_does_not_hold_up_the_others() {
    // The rejected folder cannot be created (a file is in the way), even for root.
    let clinic = Clinic::new("rejected_dir = \"blocker/rejected\"\n");
    fs::write(clinic.dir.path().join("blocker"), b"").unwrap();
    clinic.drop_file("a-broken.xml", b"<ClinicalDocument");
    clinic.drop_file(
        "b-recepta.xml",
        &sample("03-recepta.xml"),
    );
    let mut agent = clinic.agent();
    let report = run(&mut agent);
    let failed = outcome_of(&report, "a-broken.xml");
    assert!(
        matches!(&failed[..], [Outcome::LocalError { reason }] if reason.contains("moving a rejected file")),
        "{failed:?}"
    );
    assert!(matches!(
        outcome_of(&report, "b-recepta.xml")[..],
        [Outcome::SkippedByPolicy { .. }]
    ));
    assert_eq!(report.local_errors, 1);
    assert!(report.needs_attention());
    // Still failing at the next pass: counted, not said again.
    let report = run(&mut agent);
    assert!(outcome_of(&report, "a-broken.xml").is_empty());
    assert_eq!(report.local_errors, 1);
    assert_eq!(clinic.outbox_files(), ["a-broken.xml", "b-recepta.xml"]);
}

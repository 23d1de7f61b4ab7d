//! The clinic's side of the clinical record service end to end: the real `medgate serve
//! --role clinical` set up by its operator (`medgate clinical …`, as in `clinical.rs`), and
//! two clinics driving it with the real `medgate client clinical …` — set up from the
//! PKCS#12 file and one-time code (a wrong code and another institution's file refused,
//! nothing kept), practitioners signed in with TOTP codes computed by Python `pyotp` (an
//! independent implementation), an encounter with its document, the documents read by the
//! other institution, a profile entry with its history, a referral used once, a retried
//! submission stored once, and a service that is not there named by its URL. And the
//! patient, on the service's portal through Python `requests`: account activated with the
//! operator's code, every document restricted, the other institution's read refused, read
//! with the glass broken, and that read with its institution and reason in the patient's
//! access log.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::{python_runs, require, require_command};
use serde_json::Value;

use super::clinical::{set_up, PASSWORD};
use super::harness::{Backend, Node};
use crate::support::{password_file, run_fails, run_ok};

const REASON: &str = "eszméletlen beteg a sürgősségi osztályon";

/// The patient's browser on the clinical service's portal, as a script using `requests`:
/// every form read from the page (its hidden CSRF field included) and sent back filled in.
/// `restrict`: activate with the operator's code, sign in, restrict every document.
/// `access-log`: sign in, print the access log page's text.
const PATIENT_PORTAL: &str = r#"
import html.parser, os, re, sys, requests
url, taj, password = os.environ["PORTAL_URL"], os.environ["PORTAL_TAJ"], os.environ["PORTAL_PASSWORD"]
s = requests.Session()
ca = os.environ["PORTAL_CA"]  # per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE

class Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(); self.forms = []; self.text = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action"), "fields": {}})
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
    def handle_data(self, data):
        self.text.append(data)

def page(path):
    r = s.get(url + path + ("&" if "?" in path else "?") + "lang=en", verify=ca)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    p = Forms(); p.feed(r.text)
    return p

def submit(path, action, fields, hidden=None):
    forms = [f for f in page(path).forms if f["action"] == action and all(f["fields"].get(k) == v for k, v in (hidden or {}).items())]
    assert forms, (path, action)
    data = dict(forms[0]["fields"]); data.update(fields)
    r = s.post(url + action, data=data, verify=ca)
    assert r.status_code == 200, (action, r.status_code, r.text[:800])
    return r

if sys.argv[1] == "restrict":
    submit("/portal/activate", "/portal/activate", {"taj": taj, "code": os.environ["PORTAL_CODE"], "password": password, "password2": password})
submit("/portal", "/portal", {"taj": taj, "password": password})
if sys.argv[1] == "restrict":
    r = submit("/portal/restrictions", "/portal/restrictions", {}, {"scope": "all"})
    assert "in force" in r.text or "érvényes" in r.text, r.text[:800]
else:
    p = page("/portal/access-log")
    print(re.sub(r"\s+", " ", " ".join(p.text)))
"#;

const PATIENT: &str = "123456788";

/// Python 3 with pyotp, under the one missing-peer rule.
fn python() -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let probe = python_runs(&python, "import pyotp", &[]);
    require("Python pyotp", "pip install pyotp", probe.map(|()| python))
}

/// The code the practitioner's token shows now, computed by pyotp from the otpauth URI.
fn totp(python: &Path, otpauth: &str) -> String {
    let output = Command::new(python)
        .args([
            "-c",
            "import sys, pyotp; print(pyotp.parse_uri(sys.argv[1]).now())",
            otpauth,
        ])
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// `medgate client clinical --config-dir <dir> <args>`.
fn clinic_args(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = vec![
        "client".into(),
        "clinical".into(),
        "--config-dir".into(),
        dir.to_string_lossy().into_owned(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    all
}

fn clinic(dir: &Path, args: &[&str]) -> String {
    let all = clinic_args(dir, args);
    run_ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn clinic_json(dir: &Path, args: &[&str]) -> Value {
    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = clinic(dir, &with_json);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn clinic_fails(dir: &Path, args: &[&str]) -> String {
    let all = clinic_args(dir, args);
    run_fails(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

fn text(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not text: {value}"))
}

/// True when `dir` is missing or empty: nothing was kept.
fn nothing_in(dir: &Path) -> bool {
    std::fs::read_dir(dir).map_or(true, |mut entries| entries.next().is_none())
}

#[test]
fn two_clinics_work_with_the_clinical_record_service_through_medgate_client_clinical() {
    let Some(python) = python() else { return };
    let node = Node::start_with(Backend::Sqlite, &["--role", "clinical"])
        .expect("SQLite is always available");
    let a = set_up(&node, "506097", "001044299", "dr.kovacs", "58012");
    let b = set_up(&node, "111111", "002000001", "dr.nagy", "41234");
    let work = node.dir.path();
    let (clinic_a, clinic_b) = (work.join("clinic-a"), work.join("clinic-b"));
    let url = node.url();
    let ca = node.ca().to_string_lossy().into_owned();
    let code_a = password_file(work, "a.code", text(&a["password"]));
    let code_b = password_file(work, "b.code", text(&b["password"]));
    let setup = |dir: &Path, p12: &Value, code: &str, institution: &str| {
        clinic_args(
            dir,
            &[
                "setup",
                "--service-url",
                &url,
                "--service-ca",
                &ca,
                "--p12",
                text(p12),
                "--code-file",
                code,
                "--institution",
                institution,
            ],
        )
    };
    let fails = |args: Vec<String>| run_fails(&args.iter().map(String::as_str).collect::<Vec<_>>());

    // A wrong code, and another institution's certificate: refused, nothing kept.
    let wrong_code = password_file(work, "wrong.code", "AAAA-BBBB-CCCC");
    let refused = fails(setup(&clinic_a, &a["p12"], &wrong_code, "506097"));
    assert!(
        refused.contains("the one-time code does not open"),
        "{refused}"
    );
    assert!(!refused.contains("AAAA-BBBB-CCCC"), "{refused}");
    let refused = fails(setup(&clinic_a, &b["p12"], &code_b, "506097"));
    assert!(
        refused.contains("belongs to institution 111111, not to institution 506097"),
        "{refused}"
    );
    assert!(nothing_in(&clinic_a), "a refused setup kept files");

    // Both clinics set up.
    let args = setup(&clinic_a, &a["p12"], &code_a, "506097");
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.push("--json");
    let done: Value = serde_json::from_str(&run_ok(&args)).expect("JSON");
    assert_eq!(done["institution"], "506097");
    assert_eq!(done["certificate_serial"], a["serial"]);
    let args = setup(&clinic_b, &b["p12"], &code_b, "111111");
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    // The one-time code is not kept; the key is, re-encrypted and owner-only.
    let kept = std::fs::read_dir(&clinic_a)
        .expect("folder")
        .map(|entry| std::fs::read(entry.expect("entry").path()).unwrap_or_default())
        .any(|bytes| String::from_utf8_lossy(&bytes).contains(text(&a["password"])));
    assert!(!kept, "the one-time code was kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(clinic_a.join("institution.p12"))
            .expect("keystore")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "keystore mode {mode:o}");
    }

    // Nothing clinical before a practitioner signs in.
    let none = clinic_fails(&clinic_a, &["document", "list", "--patient", PATIENT]);
    assert!(none.contains("no practitioner is signed in"), "{none}");

    // Practitioners sign in with their password and the code pyotp computes.
    let password = password_file(work, "practitioner.password", PASSWORD);
    let signed_in = clinic_json(
        &clinic_a,
        &[
            "login",
            "--user-name",
            "dr.kovacs",
            "--password-file",
            &password,
            "--code",
            &totp(&python, text(&a["otpauth"])),
        ],
    );
    assert_eq!(signed_in["institution"], "506097");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(clinic_a.join("session.json"))
            .expect("session file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "session file mode {mode:o}");
    }
    clinic(
        &clinic_b,
        &[
            "login",
            "--user-name",
            "dr.nagy",
            "--password-file",
            &password,
            "--code",
            &totp(&python, text(&b["otpauth"])),
        ],
    );

    // An encounter opened, its document submitted (and submitted again: stored once), closed.
    let encounter = clinic_json(
        &clinic_a,
        &[
            "encounter",
            "open",
            "--patient",
            PATIENT,
            "--unit",
            "001044299",
            "--care-type",
            "járóbeteg-ellátás",
        ],
    );
    assert_eq!(encounter["status"], "in-progress");
    let encounter_id = text(&encounter["id"]).to_owned();
    let pdf = work.join("ambulans-lap.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 ambulans lap").expect("pdf");
    let submit = [
        "document",
        "submit",
        "--patient",
        PATIENT,
        "--file",
        &pdf.to_string_lossy(),
        "--encounter",
        &encounter_id,
        "--title",
        "Ambuláns lap",
        "--identifier",
        "lap-2026-0001",
    ];
    let first = clinic_json(&clinic_a, &submit);
    assert_eq!(first["created"], true, "{first}");
    let retried = clinic_json(&clinic_a, &submit);
    assert_eq!(retried["created"], false, "{retried}");
    assert_eq!(retried["id"], first["id"]);
    let closed = clinic_json(&clinic_a, &["encounter", "close", "--id", &encounter_id]);
    assert_eq!(closed["status"], "finished");

    // The other institution lists the patient's documents and reads the one stored once.
    let listed = clinic_json(&clinic_b, &["document", "list", "--patient", PATIENT]);
    let documents = listed["documents"].as_array().expect("documents");
    assert_eq!(documents.len(), 1, "{listed}");
    assert_eq!(documents[0]["id"], first["id"]);
    let table = clinic(&clinic_b, &["document", "list", "--patient", PATIENT]);
    assert!(
        table.contains("Ambuláns lap") && table.contains("506097"),
        "{table}"
    );
    let saved = work.join("saved.pdf");
    clinic(
        &clinic_b,
        &[
            "document",
            "get",
            "--id",
            text(&first["id"]),
            "--out",
            &saved.to_string_lossy(),
        ],
    );
    assert_eq!(
        std::fs::read(&saved).expect("saved"),
        b"%PDF-1.4 ambulans lap"
    );

    // The patient: the operator makes their portal account; in their browser (here Python
    // `requests`, which knows nothing of medgate) they activate it, sign in and restrict
    // every document. The other institution's read is refused; with the glass broken and a
    // reason it succeeds, and the patient finds that read, the institution and the reason in
    // their access log.
    let added = run_ok(&[&["clinical", "patient", "add", "--taj", PATIENT, "--name", "Kiss Anna"][..], &node.store_args().iter().map(String::as_str).collect::<Vec<_>>()[..]].concat());
    let activation = added
        .lines()
        .find_map(|line| line.strip_prefix("activation code (shown once): "))
        .unwrap_or_else(|| panic!("no activation code printed: {added}"))
        .trim()
        .to_owned();
    let portal = |step: &str| {
        let output = Command::new(&python)
            .args(["-c", PATIENT_PORTAL, step])
            .env("PORTAL_URL", &url)
            .env("PORTAL_CA", &ca)
            .env("PORTAL_TAJ", PATIENT)
            .env("PORTAL_CODE", &activation)
            .env("PORTAL_PASSWORD", "Kiss Anna jelszava 2026")
            .env("PORTAL_REASON", REASON)
            .output()
            .expect("python runs");
        assert!(
            output.status.success(),
            "the patient's browser failed at {step}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    portal("restrict");
    let id = text(&first["id"]).to_owned();
    let out = work.join("read-with-the-glass-broken.pdf").to_string_lossy().into_owned();
    let refused = clinic_fails(&clinic_b, &["document", "get", "--id", &id, "--out", &out]);
    assert!(refused.contains("restricted"), "{refused}");
    clinic(&clinic_b, &["document", "get", "--id", &id, "--out", &out, "--break-glass", REASON]);
    assert_eq!(std::fs::read(&out).expect("read"), b"%PDF-1.4 ambulans lap");
    let log = portal("access-log");
    assert!(
        log.contains(REASON) && log.contains("111111") && log.contains("dr.nagy"),
        "the patient's access log does not show the break-glass read: {log}"
    );

    // A profile entry changed by its institution (history: both versions); the other
    // institution may not delete it.
    let entry = clinic_json(
        &clinic_a,
        &[
            "profile",
            "add",
            "--type",
            "Condition",
            "--patient",
            PATIENT,
            "--text",
            "Diabetes mellitus",
        ],
    );
    let entry_id = text(&entry["id"]).to_owned();
    let updated = clinic_json(
        &clinic_a,
        &[
            "profile",
            "update",
            "--type",
            "Condition",
            "--id",
            &entry_id,
            "--text",
            "Diabetes mellitus, 2-es típus",
        ],
    );
    assert_eq!(updated["meta"]["versionId"], "2");
    let history = clinic_json(
        &clinic_b,
        &[
            "profile",
            "history",
            "--type",
            "Condition",
            "--id",
            &entry_id,
        ],
    );
    let versions = history["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2, "{history}");
    assert_eq!(versions[1]["resource"]["code"]["text"], "Diabetes mellitus");
    let refused = clinic_fails(
        &clinic_b,
        &[
            "profile",
            "delete",
            "--type",
            "Condition",
            "--id",
            &entry_id,
        ],
    );
    assert!(
        refused.contains("created by institution 506097"),
        "{refused}"
    );
    assert!(refused.contains("not_owner"), "{refused}");
    let listed = clinic_json(
        &clinic_b,
        &[
            "profile",
            "list",
            "--type",
            "Condition",
            "--patient",
            PATIENT,
        ],
    );
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    // A referral issued by one institution, consumed by the other, once.
    let referral = clinic_json(
        &clinic_a,
        &[
            "referral",
            "issue",
            "--patient",
            PATIENT,
            "--specialty",
            "szájsebészet",
        ],
    );
    let referral_id = text(&referral["id"]).to_owned();
    let found = clinic_json(&clinic_b, &["referral", "find", "--id", &referral_id]);
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let consumed = clinic_json(&clinic_b, &["referral", "consume", "--id", &referral_id]);
    assert_eq!(consumed["status"], "completed");
    let again = clinic_fails(&clinic_b, &["referral", "consume", "--id", &referral_id]);
    assert!(again.contains("referral_consumed"), "{again}");
    let by_patient = clinic(&clinic_a, &["referral", "find", "--patient", PATIENT]);
    assert!(by_patient.contains("consumed"), "{by_patient}");

    // Past its end (the service's 7 hours, here moved back), a session is refused with the
    // sentence of its own and forgotten.
    let session_file = clinic_b.join("session.json");
    let mut session: Value =
        serde_json::from_slice(&std::fs::read(&session_file).expect("session")).expect("JSON");
    session["expires_at"] = Value::from("2026-01-01T00:00:00Z");
    std::fs::write(&session_file, session.to_string()).expect("session written");
    let ended = clinic_fails(&clinic_b, &["document", "list", "--patient", PATIENT]);
    assert!(ended.contains("the practitioner's session ended; sign in again"), "{ended}");
    assert!(!session_file.exists(), "an ended session was kept");

    // Signed out, the next call says so.
    clinic(&clinic_a, &["logout"]);
    let ended = clinic_fails(&clinic_a, &["document", "list", "--patient", PATIENT]);
    assert!(ended.contains("no practitioner is signed in"), "{ended}");

    // A service that is not there: one clear line naming its URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("address")
        .port();
    let nowhere = format!("https://127.0.0.1:{port}");
    let clinic_c = work.join("clinic-c");
    let mut args = setup(&clinic_c, &a["p12"], &code_a, "506097");
    args[6] = nowhere.clone();
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let down = clinic_fails(
        &clinic_c,
        &[
            "--timeout-ms",
            "2000",
            "login",
            "--user-name",
            "dr.kovacs",
            "--password-file",
            &password,
            "--code",
            "000000",
        ],
    );
    assert!(
        down.contains("cannot be reached") && down.contains(&nowhere),
        "{down}"
    );
    assert_eq!(down.trim().lines().count(), 1, "{down}");
}

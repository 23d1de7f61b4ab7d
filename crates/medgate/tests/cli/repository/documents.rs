//! Documents end to end with the real binaries: the one scenario on the scale-out store
//! (PostgreSQL with content in S3, a local moto) that drives every document command of
//! `medgate client` against `medgate serve` — upload, search, byte-identical download,
//! content damaged in the bucket behind the repository's back, the HTML view and its headers
//! (checked with curl), the ZIP export (unzipped with Python and transformed with xsltproc),
//! deletion, tenant isolation, the audit entries read with psql — and, on SQLite, the bulk
//! upload of a folder (its per-file lines, summary and exit status).
//!
//! What the server does behind these commands — every refusal, search filter, limit and
//! header, on SQLite and PostgreSQL, and every PIK example — is tested in process in
//! `crates/medgate-server/tests/documents.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use medgate_test_peers::{require_command, require_python};
use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use crate::support::run_peer_ok;

const A: &str = "0000000000006010";
const B: &str = "0000000000006020";
const C: &str = "0000000000006030";

/// The hand-made fixture: PESEL 44051401359, effective 2024-03-15 10:30 +01:00.
const OWN_ID: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001";
const OWN_PESEL: &str = "44051401359";
const OWN_PATIENT: &str = "Zofia Testowa-Wiśniewska";
/// The C-CDA fixture: effective 2024-01-05 14:30 -05:00 (19:30 UTC).
const CCDA_ID: &str = "2.16.840.1.113883.19.5.99999.1^TT988";

fn own_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml")
}

fn ccda_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml")
}

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn search(clinic: &Clinic, filters: &[&str]) -> Value {
    let mut args = vec!["search", "--json"];
    args.extend_from_slice(filters);
    json(&clinic.run_ok(&args))
}

fn ids(answer: &Value) -> Vec<String> {
    answer["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_str().expect("id").to_owned())
        .collect()
}

fn quota(clinic: &Clinic) -> (u64, u64) {
    let account = clinic.account();
    (
        account["quota"]["files"].as_u64().expect("files"),
        account["quota"]["used_bytes"].as_u64().expect("used_bytes"),
    )
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).expect("file").len()
}

/// A raw GET with curl, an HTTP client independent of ours: status, headers (lower-cased
/// names) and body.
struct Fetched {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

fn curl_get(curl: &Path, node: &Node, clinic: &Clinic, path: &str) -> Fetched {
    let headers = clinic.dir.join("curl-headers");
    let body = clinic.dir.join("curl-body");
    let out = run_peer_ok(
        curl,
        &[
            "-sS",
            "--cacert",
            &s(&node.ca()),
            "--cert",
            &clinic.path("certs/tls.pem"),
            "--key",
            &clinic.path("certs/tls.key"),
            "--pass",
            "clinic-secret",
            "-D",
            &s(&headers),
            "-o",
            &s(&body),
            "-w",
            "%{http_code}",
            &format!("{}{path}", node.url()),
        ],
    );
    Fetched {
        status: out.trim().parse().expect("status code"),
        headers: std::fs::read_to_string(&headers)
            .expect("headers")
            .to_lowercase(),
        body: std::fs::read(&body).expect("body"),
    }
}

/// `action target` of the tenant's audit entries, read from the database with the
/// database's own client (psql, or Python's sqlite3 module); `None` when that client is
/// missing and MEDGATE_SKIP_MISSING_PEERS=1.
fn audit_entries(node: &Node, tenant: &str) -> Option<Vec<String>> {
    let sql = format!(
        "SELECT action || ' ' || target FROM audit_log WHERE tenant_id = '{tenant}' ORDER BY seq"
    );
    let output = match &node.database_url {
        Some(url) => {
            let psql = require_command("psql", "apt-get install postgresql-client")?;
            Command::new(psql)
                .args([url.as_str(), "-qAtc", &sql])
                .output()
                .expect("psql runs")
        }
        None => {
            let python = require_python(
                "sqlite3",
                "apt-get install python3 (sqlite3 is in its standard library)",
            )?;
            Command::new(python)
                .args([
                    "-c",
                    "import sqlite3, sys; [print(r[0]) for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2])]",
                    &s(&node.data.join("medgate.db")),
                    &sql,
                ])
                .output()
                .expect("python runs")
        }
    };
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

fn encoded(id: &str) -> String {
    id.replace('^', "%5E")
}

/// Uploads, search, download, views, export, deletion and isolation.
fn documents_round_trip(node: &Node) {
    let clinic = node.enroll(A, 20, 1000);
    let other = node.enroll(B, 20, 1000);
    let work = clinic.dir.clone();

    // Upload: the text names id, title, size and SHA-256.
    let stored = clinic.run_ok(&["put", &s(&own_fixture())]);
    let own_sha256 =
        medgate_cda::hashes(&std::fs::read(own_fixture()).expect("fixture")).sha256_hex;
    assert!(
        stored.starts_with(&format!(
            "stored {OWN_ID} (Karta informacyjna z leczenia szpitalnego, {} bytes, sha256 {own_sha256})",
            size(&own_fixture())
        )),
        "{stored}"
    );
    let stored = json(&clinic.run_ok(&["put", "--json", &s(&ccda_fixture())]));
    let document = &stored["document"];
    assert_eq!(document["id"], CCDA_ID);
    assert_eq!(document["kind"], "cda");
    assert_eq!(document["set_id"], "2.16.840.1.113883.19.5.99999.19^sTT988");
    assert_eq!(document["version"], 2);
    assert_eq!(document["patient_name"], "Eve Marie Everywoman");
    assert_eq!(document["effective_time"], "2024-01-05T14:30:00-05:00");
    assert_eq!(document["effective_time_text"], "2024-01-05 14:30:00 -05:00");
    assert_eq!(document["size"], size(&ccda_fixture()));

    // The same bytes again: nothing changes; different bytes under the same id: 409.
    let again = clinic.run_ok(&["put", &s(&own_fixture())]);
    assert!(
        again.starts_with(&format!("already stored {OWN_ID}")),
        "{again}"
    );
    let own_text = std::fs::read_to_string(own_fixture()).expect("fixture");
    let changed = work.join("changed.xml");
    std::fs::write(
        &changed,
        own_text.replace("<title>Karta", "<title>Poprawiona karta"),
    )
    .expect("write");
    let error = clinic.run_fails(&["put", &s(&changed)]);
    assert!(
        error.contains("409 document_exists")
            && error.contains(OWN_ID)
            && error.contains("higher versionNumber"),
        "{error}"
    );
    let same_version = work.join("same-version.xml");
    std::fs::write(
        &same_version,
        own_text.replace("extension=\"MG-0001\"", "extension=\"MG-0002\""),
    )
    .expect("write");
    let error = clinic.run_fails(&["put", &s(&same_version)]);
    assert!(error.contains("409 document_version_exists"), "{error}");

    // Refusals that name what is wrong; nothing is stored.
    let malformed = work.join("malformed.xml");
    std::fs::write(&malformed, "<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n  <id root=\"1.2.3\">\n</ClinicalDocument>\n").expect("write");
    let error = clinic.run_fails(&["put", &s(&malformed)]);
    assert!(
        error.contains("400 invalid_cda") && error.contains("line 4"),
        "{error}"
    );
    let not_cda = work.join("note.xml");
    std::fs::write(&not_cda, "<note><to>Tove</to></note>\n").expect("write");
    let error = clinic.run_fails(&["put", &s(&not_cda)]);
    assert!(
        error.contains("400 invalid_cda") && error.contains("line 1") && error.contains("<note>"),
        "{error}"
    );
    let (files, bytes) = quota(&clinic);
    assert_eq!(files, 2);
    assert_eq!(bytes, size(&own_fixture()) + size(&ccda_fixture()));

    // An attachment for the same patient.
    let scan = work.join("skan.pdf");
    std::fs::write(&scan, b"%PDF-1.4\n% not really a scan\n").expect("write");
    let attachment = json(&clinic.run_ok(&[
        "put-attachment",
        &s(&scan),
        "--patient",
        OWN_PESEL,
        "--title",
        "Skan skierowania",
        "--type",
        "ZAL",
        "--json",
    ]));
    let attachment = &attachment["document"];
    let attachment_id = attachment["id"].as_str().expect("id").to_owned();
    assert!(
        attachment_id.starts_with("2.999.1.4.1.9^"),
        "{attachment_id}"
    );
    assert_eq!(attachment["kind"], "attachment");
    assert_eq!(attachment["content_type"], "application/pdf");
    assert_eq!(attachment["type_code"], "ZAL");
    assert_eq!(
        attachment["patient"]["root"],
        "2.16.840.1.113883.3.4424.1.1.616"
    );
    let error = clinic.run_fails(&[
        "put-attachment",
        &s(&scan),
        "--patient",
        OWN_PESEL,
        "--title",
        "x",
        "--type",
        "NOPE",
    ]);
    assert!(
        error.contains("400 unknown_document_type") && error.contains("ZAL"),
        "{error}"
    );
    let error = clinic.run_fails(&[
        "put-attachment",
        &s(&scan),
        "--patient",
        "44051401358",
        "--title",
        "x",
    ]);
    assert!(error.contains("400 bad_patient"), "{error}");

    // Search by PESEL, by the other identifier, by dates (the end day included), by type,
    // title and author, and paged newest first.
    let by_pesel = search(&clinic, &["--patient", OWN_PESEL]);
    assert_eq!(by_pesel["total"], 2);
    assert_eq!(
        ids(&by_pesel),
        vec![attachment_id.clone(), OWN_ID.to_owned()]
    );
    let by_other_id = search(
        &clinic,
        &["--patient", "2.16.840.1.113883.3.4424.2.7.26.17.1^P-778"],
    );
    assert_eq!(ids(&by_other_id), vec![OWN_ID.to_owned()]);
    assert_eq!(
        ids(&search(
            &clinic,
            &["--from", "2024-03-15", "--to", "2024-03-15"]
        )),
        vec![OWN_ID.to_owned()]
    );
    assert_eq!(
        ids(&search(&clinic, &["--to", "2024-01-05"])),
        vec![CCDA_ID.to_owned()]
    );
    assert_eq!(
        search(&clinic, &["--from", "2024-01-06", "--to", "2024-03-14"])["total"],
        0
    );
    assert_eq!(
        ids(&search(&clinic, &["--type", "34105-7"])),
        vec![OWN_ID.to_owned()]
    );
    assert_eq!(
        ids(&search(&clinic, &["--title", "continuity"])),
        vec![CCDA_ID.to_owned()]
    );
    assert_eq!(
        ids(&search(&clinic, &["--author", "nowak"])),
        vec![OWN_ID.to_owned()]
    );
    let first = search(&clinic, &["--to", "2024-12-31", "--limit", "1"]);
    assert_eq!(
        (first["total"].as_u64(), ids(&first)),
        (Some(2), vec![OWN_ID.to_owned()])
    );
    let second = search(
        &clinic,
        &["--to", "2024-12-31", "--limit", "1", "--offset", "1"],
    );
    assert_eq!(ids(&second), vec![CCDA_ID.to_owned()]);
    let error = clinic.run_fails(&["search", "--from", "2024-13-01"]);
    assert!(
        error.contains("400 bad_parameter") && error.contains("from"),
        "{error}"
    );
    let table = clinic.run_ok(&["search", "--patient", OWN_PESEL]);
    assert!(
        table.starts_with("DATE")
            && table.contains(OWN_ID)
            && table.contains("2024-03-15 10:30:00 +01:00")
            && table.contains("documents 1-2 of 2"),
        "{table}"
    );
    // The date as the document writes it, its own offset: not the UTC instant's.
    let table = clinic.run_ok(&["search", "--title", "continuity"]);
    assert!(
        table.contains("2024-01-05 14:30:00 -05:00") && !table.contains("19:30"),
        "{table}"
    );

    // Downloads are byte-identical.
    for (id, original) in [
        (OWN_ID, own_fixture()),
        (CCDA_ID, ccda_fixture()),
        (attachment_id.as_str(), scan.clone()),
    ] {
        let out = work.join(format!("download-{}", id.len()));
        let said = clinic.run_ok(&["get", id, "--out", &s(&out)]);
        assert!(said.contains("verified"), "{said}");
        assert_eq!(
            std::fs::read(&out).expect("download"),
            std::fs::read(&original).expect("original"),
            "{id}"
        );
    }
    let error = clinic.run_fails(&[
        "get",
        OWN_ID,
        "--out",
        &s(&work.join(format!("download-{}", OWN_ID.len()))),
    ]);
    assert!(error.contains("--force"), "{error}");

    // Bytes changed behind the repository's back (in its content folder, or in its S3
    // bucket) are not handed out as the original.
    let original = std::fs::read(ccda_fixture()).expect("fixture");
    let stored = node
        .content_holding(&original)
        .expect("the C-CDA content, stored as uploaded");
    if node.content_in_s3() {
        assert!(
            !node.data.join("content").exists(),
            "a node on S3 keeps no content files"
        );
    }
    let mut damaged = original.clone();
    damaged[100] ^= 0x20;
    node.overwrite_content(&stored, &damaged);
    let error = clinic.run_fails(&["get", CCDA_ID, "--out", &s(&work.join("damaged.xml"))]);
    assert!(
        error.contains("500 content_corrupted") && error.contains(CCDA_ID),
        "{error}"
    );
    assert!(!work.join("damaged.xml").exists());
    node.overwrite_content(&stored, &original);

    // The HTML view: the patient's name; the headers checked with curl.
    let html = work.join("own.html");
    let said = clinic.run_ok(&["render", OWN_ID, "--out", &s(&html)]);
    assert!(
        said.contains(medgate_cda::CONTENT_SECURITY_POLICY),
        "{said}"
    );
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(
        page.contains(OWN_PATIENT) && page.contains("J18.9"),
        "{page}"
    );
    let curl = require_command("curl", "apt-get install curl");
    if let Some(curl) = &curl {
        let fetched = curl_get(
            curl,
            node,
            &clinic,
            &format!("/api/v1/documents/{}/render", encoded(OWN_ID)),
        );
        assert_eq!(fetched.status, 200);
        let expected = format!(
            "content-security-policy: {}",
            medgate_cda::CONTENT_SECURITY_POLICY.to_lowercase()
        );
        assert!(fetched.headers.contains(&expected), "{}", fetched.headers);
        assert!(
            fetched.headers.contains("x-content-type-options: nosniff"),
            "{}",
            fetched.headers
        );
        assert!(
            fetched.headers.contains("referrer-policy: no-referrer"),
            "{}",
            fetched.headers
        );
        assert!(
            fetched.headers.contains("content-type: text/html"),
            "{}",
            fetched.headers
        );
        let fetched = curl_get(
            curl,
            node,
            &clinic,
            &format!("/api/v1/documents/{}", encoded(OWN_ID)),
        );
        assert!(
            fetched
                .headers
                .contains(&format!("x-content-sha256: {own_sha256}")),
            "{}",
            fetched.headers
        );
        assert!(
            fetched.headers.contains("content-disposition: attachment"),
            "{}",
            fetched.headers
        );
        assert_eq!(fetched.body, std::fs::read(own_fixture()).expect("fixture"));
    }
    let error = clinic.run_fails(&[
        "render",
        &attachment_id,
        "--out",
        &s(&work.join("scan.html")),
    ]);
    assert!(error.contains("400 not_cda"), "{error}");

    // The export: unzipped by Python, transformed by xsltproc.
    let zip = work.join("own.zip");
    clinic.run_ok(&["export", OWN_ID, "--out", &s(&zip)]);
    let unzipped = work.join("unzipped");
    if let Some(python) = require_python(
        "zipfile",
        "apt-get install python3 (zipfile is in its standard library)",
    ) {
        let listing = run_peer_ok(
            &python,
            &["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print('\\n'.join(z.namelist())); z.extractall(sys.argv[2])", &s(&zip), &s(&unzipped)],
        );
        let xml_name = "2.16.840.1.113883.3.4424.2.7.26.7.1_MG-0001.xml";
        assert_eq!(
            listing.lines().collect::<Vec<_>>(),
            vec![xml_name, medgate_cda::STYLESHEET_FILE_NAME],
            "{listing}"
        );
        let exported = std::fs::read_to_string(unzipped.join(xml_name)).expect("xml");
        assert!(
            exported.contains("<?xml-stylesheet type=\"text/xsl\" href=\"medgate-cda.xsl\"?>"),
            "{exported}"
        );
        if let Some(xsltproc) = require_command("xsltproc", "apt-get install xsltproc") {
            let output = run_peer_ok(
                &xsltproc,
                &[
                    &s(&unzipped.join(medgate_cda::STYLESHEET_FILE_NAME)),
                    &s(&unzipped.join(xml_name)),
                ],
            );
            assert!(
                output.contains("Zofia") && output.contains("Testowa-Wiśniewska"),
                "{output}"
            );
        }
        let attachment_zip = work.join("scan.zip");
        clinic.run_ok(&["export", &attachment_id, "--out", &s(&attachment_zip)]);
        let listing = run_peer_ok(
            &python,
            &["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); n = z.namelist(); print(n[0]); sys.stdout.flush(); assert z.read(n[0]) == open(sys.argv[2], 'rb').read() and len(n) == 1", &s(&attachment_zip), &s(&scan)],
        );
        assert!(
            listing.trim().ends_with(".pdf") && !listing.contains('^'),
            "{listing}"
        );
    }

    // Another tenant sees nothing of A's: 404 alike for every route, and no search hits.
    for command in [
        vec!["get", OWN_ID, "--out"],
        vec!["render", OWN_ID, "--out"],
        vec!["export", OWN_ID, "--out"],
    ] {
        let mut command: Vec<String> = command.iter().map(|c| c.to_string()).collect();
        command.push(other.path(&format!("{}.out", command[0])));
        let refs: Vec<&str> = command.iter().map(String::as_str).collect();
        let error = other.run_fails(&refs);
        assert!(error.contains("404 not_found"), "{error}");
    }
    let error = other.run_fails(&["delete", OWN_ID]);
    assert!(error.contains("404 not_found"), "{error}");
    if let Some(curl) = &curl {
        let fetched = curl_get(
            curl,
            node,
            &other,
            &format!("/api/v1/documents/{}/metadata", encoded(OWN_ID)),
        );
        assert_eq!(fetched.status, 404);
        assert_eq!(
            json(&String::from_utf8_lossy(&fetched.body))["code"],
            "not_found"
        );
        let fetched = curl_get(
            curl,
            node,
            &clinic,
            &format!("/api/v1/documents/{}/metadata", encoded(OWN_ID)),
        );
        assert_eq!(fetched.status, 200);
        assert_eq!(
            json(&String::from_utf8_lossy(&fetched.body))["document"]["patient"]["extension"],
            OWN_PESEL
        );
    }
    assert_eq!(search(&other, &["--patient", OWN_PESEL])["total"], 0);
    assert_eq!(search(&other, &[])["total"], 0);

    // Deletion: gone for good, and the account counts go down.
    let said = clinic.run_ok(&["delete", OWN_ID]);
    assert_eq!(said.trim(), format!("deleted {OWN_ID}"));
    let error = clinic.run_fails(&["get", OWN_ID, "--out", &s(&work.join("after-delete.xml"))]);
    assert!(error.contains("404 not_found"), "{error}");
    assert_eq!(
        ids(&search(&clinic, &["--patient", OWN_PESEL])),
        vec![attachment_id.clone()]
    );
    let error = clinic.run_fails(&["delete", OWN_ID]);
    assert!(error.contains("404 not_found"), "{error}");
    let (files, bytes) = quota(&clinic);
    assert_eq!(files, 2);
    assert_eq!(bytes, size(&ccda_fixture()) + size(&scan));
    // The deleted document can be stored again under its id.
    clinic.run_ok(&["put", &s(&own_fixture())]);

    // Every upload, download and deletion is in the audit log, under the tenant.
    let Some(entries) = audit_entries(node, A) else {
        return;
    };
    for (action, target) in [
        ("document.put", OWN_ID),
        ("document.put", CCDA_ID),
        ("document.put", attachment_id.as_str()),
        ("document.read", OWN_ID),
        ("document.render", OWN_ID),
        ("document.export", OWN_ID),
        ("document.delete", OWN_ID),
    ] {
        assert!(
            entries.contains(&format!("{action} {target}")),
            "{action} {target} missing: {entries:?}"
        );
    }
    assert!(
        !audit_entries(node, B)
            .into_iter()
            .flatten()
            .any(|e| e.contains(OWN_ID)),
        "B's refusals are not A's accesses"
    );
}

/// A folder uploaded with one `client put`: a line per file, the summary, exit status 1
/// while a file failed; run again, the stored ones are recognised.
#[test]
fn bulk_upload_of_a_folder_on_sqlite() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll(C, 1, 3);
    let work = clinic.dir.clone();

    // A folder: two CDA files stored, a malformed one and a non-XML file without --patient
    // reported; a sub-folder is not entered.
    let folder = work.join("outbox");
    std::fs::create_dir_all(folder.join("nested")).expect("folder");
    std::fs::copy(own_fixture(), folder.join("a-own.xml")).expect("copy");
    std::fs::copy(ccda_fixture(), folder.join("b-ccda.xml")).expect("copy");
    std::fs::write(
        folder.join("c-broken.xml"),
        "<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n<id>\n",
    )
    .expect("write");
    std::fs::write(folder.join("d-notes.txt"), "notes\n").expect("write");
    std::fs::copy(own_fixture(), folder.join("nested/ignored.xml")).expect("copy");
    let output = clinic.run(&["put", &s(&folder)]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("summary: 2 stored, 0 already stored, 2 failed (of 4 files"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("stored a-own.xml: {OWN_ID}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed c-broken.xml: 400 invalid_cda") && stdout.contains("line "),
        "{stdout}"
    );
    assert!(
        stdout.contains("failed d-notes.txt:") && stdout.contains("--patient"),
        "{stdout}"
    );
    // Run again: the stored ones are recognised; the JSON summary says the same.
    let output = clinic.run(&["put", "--json", &s(&folder)]);
    let summary = json(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(summary["stored"].as_array().map(Vec::len), Some(0));
    assert_eq!(summary["already_stored"].as_array().map(Vec::len), Some(2));
    assert_eq!(summary["failed"].as_array().map(Vec::len), Some(2));
    // With --patient the text file goes in as an attachment; the broken file still fails.
    std::fs::remove_file(folder.join("c-broken.xml")).expect("remove");
    let said = clinic.run_ok(&["put", &s(&folder), "--patient", OWN_PESEL]);
    assert!(
        said.contains("summary: 1 stored, 2 already stored, 0 failed"),
        "{said}"
    );
    let (files, _) = quota(&clinic);
    assert_eq!(files, 3);
}

/// The one end-to-end scenario on PostgreSQL with content in S3: the documents round
/// trip, then `ca revoke` naming the shared database, then the audit log's forged row and
/// signed checkpoints (in the bucket) through `medgate audit`.
#[test]
fn end_to_end_on_postgres_and_s3() {
    let Some(psql) = require_command("psql", "apt-get install postgresql-client") else {
        return;
    };
    let Some(mut node) = Node::start(Backend::Postgres) else {
        return;
    };
    documents_round_trip(&node);
    super::revocation::revocation_takes_effect(&node, "0000000000006050");
    let sql = super::audit::postgres_sql(psql, &node);
    super::audit::forged_rows_and_checkpoints(&mut node, &sql);
}

/// `client search --patient` by a local identifier shows the PESEL under PATIENT and the
/// identifier that matched under MATCHED; by the PESEL itself the table has no such column.
#[test]
fn search_by_a_local_identifier_shows_which_identifier_matched() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000007112", 20, 100);
    super::portal::put_document(
        &clinic,
        "MATCH-CLI",
        super::portal::PESEL_A,
        super::portal::NAME_A,
        "Karta",
    );
    let by_local = clinic.run_ok(&["search", "--patient", "P-778"]);
    let mut lines = by_local.lines();
    let heading = lines.next().unwrap();
    assert!(heading.contains("PATIENT      MATCHED"), "{by_local}");
    let row = lines.next().unwrap();
    assert!(
        row.contains(super::portal::PESEL_A)
            && row.contains("2.16.840.1.113883.3.4424.2.7.26.17.1^P-778"),
        "{by_local}"
    );
    let by_pesel = clinic.run_ok(&["search", "--patient", super::portal::PESEL_A]);
    assert!(!by_pesel.contains("MATCHED"), "{by_pesel}");
}

//! Documents in process, on SQLite and PostgreSQL: CDA and attachment upload, the refusals
//! that name what is wrong and store nothing, search by every filter, byte-identical
//! download with its headers, content damaged behind the repository's back, the HTML view
//! and its headers, the ZIP export, deletion, quotas and file limits, tenant isolation and
//! the audit entries; every PIK example stored, downloaded, rendered and deleted; an uploaded
//! page never served as a page; content a crash left behind swept while the node runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, SystemTime};

use http::Method;
use medgate_client::ApiResponse;
use support::documents::*;
use support::{actions, document_path, eventually, ids, refusal, Backend, Clinic, Node, Options, Plan};

const A: &str = "0000000000006010";
const B: &str = "0000000000006020";
const C: &str = "0000000000006030";
const P: &str = "0000000000006040";

async fn fetch(clinic: &Clinic, path: &str) -> ApiResponse {
    clinic.client.send(Method::GET, path, None).await.unwrap()
}

fn header(response: &ApiResponse, name: &str) -> String {
    response
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no {name} in {:?}", response.headers))
}

/// The file under `DATA/content` holding exactly `bytes`.
fn content_file_with(dir: &Path, bytes: &[u8]) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = content_file_with(&path, bytes) {
                return Some(found);
            }
        } else if std::fs::read(&path).ok().as_deref() == Some(bytes) {
            return Some(path);
        }
    }
    None
}

/// The names and contents of a ZIP's entries, in order.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|index| {
            let mut file = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (file.name().to_owned(), content)
        })
        .collect()
}

/// Uploads, refusals, search, download, views, export, deletion, isolation and audit.
async fn documents_round_trip(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(A, Plan::mb(20, 1000)).await;
    let other = node.enrol(B, Plan::mb(20, 1000)).await;
    let own = own_bytes();
    let ccda = ccda_bytes();

    // Upload: the answer names id, title, size and SHA-256.
    let stored = clinic.put(own.clone()).await.unwrap();
    let own_sha256 = medgate_cda::hashes(&own).sha256_hex;
    assert_eq!(stored["id"], OWN_ID);
    assert_eq!(stored["title"], "Karta informacyjna z leczenia szpitalnego");
    assert_eq!(stored["size"], own.len());
    assert_eq!(stored["sha256"], own_sha256.as_str());
    let document = clinic.put(ccda.clone()).await.unwrap();
    assert_eq!(document["id"], CCDA_ID);
    assert_eq!(document["kind"], "cda");
    assert_eq!(document["set_id"], "2.16.840.1.113883.19.5.99999.19^sTT988");
    assert_eq!(document["version"], 2);
    assert_eq!(document["patient_name"], "Eve Marie Everywoman");
    assert_eq!(document["effective_time"], "2024-01-05T14:30:00-05:00");
    assert_eq!(document["effective_time_text"], "2024-01-05 14:30:00 -05:00");
    assert_eq!(document["size"], ccda.len());

    // The same id again: 409 naming the id (the client compares the stored SHA-256 to say
    // "already stored"); different bytes under the same id likewise; nothing changes.
    let (status, code, _) = refusal(clinic.put(own.clone()).await);
    assert_eq!((status, code.as_str()), (409, "document_exists"));
    let metadata = clinic.get(&document_path(OWN_ID, "/metadata")).await;
    assert_eq!(metadata["document"]["sha256"], own_sha256.as_str());
    let own_text = String::from_utf8(own.clone()).unwrap();
    let changed = own_text.replace("<title>Karta", "<title>Poprawiona karta");
    let (status, code, message) = refusal(clinic.put(changed).await);
    assert_eq!((status, code.as_str()), (409, "document_exists"));
    assert!(message.contains(OWN_ID) && message.contains("higher versionNumber"), "{message}");
    let same_version = own_text.replace("extension=\"MG-0001\"", "extension=\"MG-0002\"");
    let (status, code, _) = refusal(clinic.put(same_version).await);
    assert_eq!((status, code.as_str()), (409, "document_version_exists"));

    // Refusals that name what is wrong; nothing is stored.
    let malformed = "<?xml version=\"1.0\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\">\n  <id root=\"1.2.3\">\n</ClinicalDocument>\n";
    let (status, code, message) = refusal(clinic.put(malformed).await);
    assert_eq!((status, code.as_str()), (400, "invalid_cda"));
    assert!(message.contains("line 4"), "{message}");
    let (status, code, message) = refusal(clinic.put("<note><to>Tove</to></note>\n").await);
    assert_eq!((status, code.as_str()), (400, "invalid_cda"));
    assert!(message.contains("line 1") && message.contains("<note>"), "{message}");
    assert_eq!(clinic.quota().await, (2, (own.len() + ccda.len()) as u64));

    // An attachment for the same patient.
    let scan = b"%PDF-1.4\n% not really a scan\n".to_vec();
    let attachment = clinic
        .put_attachment(scan.clone(), OWN_PESEL, "Skan skierowania", Some("ZAL"), "application/pdf")
        .await
        .unwrap();
    let attachment_id = attachment["id"].as_str().unwrap().to_owned();
    assert!(attachment_id.starts_with("2.999.1.4.1.9^"), "{attachment_id}");
    assert_eq!(attachment["kind"], "attachment");
    assert_eq!(attachment["content_type"], "application/pdf");
    assert_eq!(attachment["type_code"], "ZAL");
    assert_eq!(attachment["patient"]["root"], PESEL_ROOT);
    let (status, code, message) =
        refusal(clinic.put_attachment(scan.clone(), OWN_PESEL, "x", Some("NOPE"), "application/pdf").await);
    assert_eq!((status, code.as_str()), (400, "unknown_document_type"));
    assert!(message.contains("ZAL"), "{message}");
    let (status, code, _) = refusal(clinic.put_attachment(scan.clone(), "44051401358", "x", None, "application/pdf").await);
    assert_eq!((status, code.as_str()), (400, "bad_patient"));

    // Search by PESEL, by the other identifier, by dates (the end day included), by type,
    // title and author, and paged newest first.
    let by_pesel = clinic.search(&[("patient", OWN_PESEL)]).await;
    assert_eq!(by_pesel["total"], 2);
    assert_eq!(ids(&by_pesel), vec![attachment_id.clone(), OWN_ID.to_owned()]);
    assert_eq!(
        clinic.search_ids(&[("patient", "2.16.840.1.113883.3.4424.2.7.26.17.1^P-778")]).await,
        vec![OWN_ID.to_owned()]
    );
    assert_eq!(clinic.search_ids(&[("from", "2024-03-15"), ("to", "2024-03-15")]).await, vec![OWN_ID.to_owned()]);
    assert_eq!(clinic.search_ids(&[("to", "2024-01-05")]).await, vec![CCDA_ID.to_owned()]);
    assert_eq!(clinic.search(&[("from", "2024-01-06"), ("to", "2024-03-14")]).await["total"], 0);
    assert_eq!(clinic.search_ids(&[("type", "34105-7")]).await, vec![OWN_ID.to_owned()]);
    assert_eq!(clinic.search_ids(&[("title", "continuity")]).await, vec![CCDA_ID.to_owned()]);
    assert_eq!(clinic.search_ids(&[("author", "nowak")]).await, vec![OWN_ID.to_owned()]);
    let first = clinic.search(&[("to", "2024-12-31"), ("limit", "1")]).await;
    assert_eq!((first["total"].as_u64(), ids(&first)), (Some(2), vec![OWN_ID.to_owned()]));
    let second = clinic.search(&[("to", "2024-12-31"), ("limit", "1"), ("offset", "1")]).await;
    assert_eq!(ids(&second), vec![CCDA_ID.to_owned()]);
    let (status, code, message) = clinic.get_refused("/api/v1/documents?from=2024-13-01").await;
    assert_eq!((status, code.as_str()), (400, "bad_parameter"));
    assert!(message.contains("from"), "{message}");

    // Downloads are byte-identical, with the SHA-256 the client verifies against.
    for (id, original) in [(OWN_ID, &own), (CCDA_ID, &ccda), (attachment_id.as_str(), &scan)] {
        let response = fetch(&clinic, &document_path(id, "")).await;
        assert_eq!(&response.body[..], &original[..], "{id}");
        assert_eq!(header(&response, "x-content-sha256"), medgate_cda::hashes(original).sha256_hex, "{id}");
    }
    let response = fetch(&clinic, &document_path(OWN_ID, "")).await;
    assert_eq!(header(&response, "x-content-sha256"), own_sha256);
    assert!(header(&response, "content-disposition").starts_with("attachment"));

    // Bytes changed behind the repository's back (in its content folder) are not handed
    // out as the original.
    let stored = content_file_with(&node.data.join("content"), &ccda).expect("the C-CDA content, stored as uploaded");
    let mut damaged = ccda.clone();
    damaged[100] ^= 0x20;
    std::fs::write(&stored, &damaged).unwrap();
    let (status, code, message) = refusal(clinic.client.send(Method::GET, &document_path(CCDA_ID, ""), None).await);
    assert_eq!((status, code.as_str()), (500, "content_corrupted"));
    assert!(message.contains(CCDA_ID), "{message}");
    std::fs::write(&stored, &ccda).unwrap();

    // The HTML view: the patient's name, served with a strict policy.
    let rendered = fetch(&clinic, &document_path(OWN_ID, "/render")).await;
    let page = String::from_utf8(rendered.body.to_vec()).unwrap();
    assert!(page.contains(OWN_PATIENT) && page.contains("J18.9"), "{page}");
    assert_eq!(header(&rendered, "content-security-policy"), medgate_cda::CONTENT_SECURITY_POLICY);
    assert_eq!(header(&rendered, "x-content-type-options"), "nosniff");
    assert_eq!(header(&rendered, "referrer-policy"), "no-referrer");
    assert!(header(&rendered, "content-type").starts_with("text/html"));
    let (status, code, _) =
        refusal(clinic.client.send(Method::GET, &document_path(&attachment_id, "/render"), None).await);
    assert_eq!((status, code.as_str()), (400, "not_cda"));

    // The export: the document with a stylesheet processing instruction, and the stylesheet.
    let zip = fetch(&clinic, &document_path(OWN_ID, "/export")).await;
    let entries = unzip(&zip.body);
    let xml_name = "2.16.840.1.113883.3.4424.2.7.26.7.1_MG-0001.xml";
    let names: Vec<&str> = entries.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, vec![xml_name, medgate_cda::STYLESHEET_FILE_NAME]);
    let exported = String::from_utf8(entries[0].1.clone()).unwrap();
    assert!(
        exported.contains("<?xml-stylesheet type=\"text/xsl\" href=\"medgate-cda.xsl\"?>"),
        "{exported}"
    );
    let zip = fetch(&clinic, &document_path(&attachment_id, "/export")).await;
    let entries = unzip(&zip.body);
    assert_eq!(entries.len(), 1);
    assert!(entries[0].0.ends_with(".pdf") && !entries[0].0.contains('^'), "{}", entries[0].0);
    assert_eq!(entries[0].1, scan);

    // Another tenant sees nothing of A's: 404 alike for every route, and no search hits.
    for suffix in ["", "/render", "/export", "/metadata"] {
        let (status, code, _) = refusal(other.client.send(Method::GET, &document_path(OWN_ID, suffix), None).await);
        assert_eq!((status, code.as_str()), (404, "not_found"), "{suffix}");
    }
    let (status, code, _) = refusal(other.delete(OWN_ID).await);
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let metadata = clinic.get(&document_path(OWN_ID, "/metadata")).await;
    assert_eq!(metadata["document"]["patient"]["extension"], OWN_PESEL);
    assert_eq!(other.search(&[("patient", OWN_PESEL)]).await["total"], 0);
    assert_eq!(other.search(&[]).await["total"], 0);

    // Deletion: gone for good, and the account counts go down.
    clinic.delete(OWN_ID).await.unwrap();
    let (status, code, _) = refusal(clinic.client.send(Method::GET, &document_path(OWN_ID, ""), None).await);
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(clinic.search_ids(&[("patient", OWN_PESEL)]).await, vec![attachment_id.clone()]);
    let (status, code, _) = refusal(clinic.delete(OWN_ID).await);
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert_eq!(clinic.quota().await, (2, (ccda.len() + scan.len()) as u64));
    // The deleted document can be stored again under its id.
    clinic.put(own.clone()).await.unwrap();

    // Every upload, download and deletion is in the audit log, under the tenant.
    let entries: Vec<String> = node
        .metadata
        .list_audit(&clinic.tenant, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.target))
        .collect();
    for (action, target) in [
        ("document.put", OWN_ID),
        ("document.put", CCDA_ID),
        ("document.put", attachment_id.as_str()),
        ("document.read", OWN_ID),
        ("document.render", OWN_ID),
        ("document.export", OWN_ID),
        ("document.delete", OWN_ID),
    ] {
        assert!(entries.contains(&format!("{action} {target}")), "{action} {target} missing: {entries:?}");
    }
    let b_entries = node.metadata.list_audit(&other.tenant, 1000).await.unwrap();
    assert!(!b_entries.iter().any(|e| e.target.contains(OWN_ID)), "B's refusals are not A's accesses");
}

/// The quota warning and refusal, and the file limit.
async fn limits(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(C, Plan::mb(1, 3)).await;
    let own = own_bytes();
    let ccda = ccda_bytes();
    clinic.put(own.clone()).await.unwrap();
    clinic.put(ccda.clone()).await.unwrap();
    let notes = clinic
        .put_attachment(b"notes\n".to_vec(), OWN_PESEL, "d-notes", None, "text/plain")
        .await
        .unwrap();
    assert_eq!(clinic.quota().await.0, 3);

    // The file limit (3): the next upload is refused and nothing is stored.
    let (status, code, message) = refusal(clinic.put_attachment(b"x".to_vec(), OWN_PESEL, "extra", None, "text/plain").await);
    assert_eq!((status, code.as_str()), (507, "file_limit_reached"));
    assert!(message.contains('3'), "{message}");
    assert_eq!(clinic.quota().await.0, 3);
    assert_eq!(clinic.search_ids(&[("title", "d-notes")]).await, vec![notes["id"].as_str().unwrap().to_owned()]);
    clinic.delete(notes["id"].as_str().unwrap()).await.unwrap();

    // The quota (1 MB): filling it to 95 % warns; going over is refused with the numbers.
    let (_, used) = clinic.quota().await;
    let fill = (1024 * 1024 * 95 / 100) - used as usize;
    clinic
        .put_attachment(vec![0x5au8; fill], OWN_PESEL, "big scan", None, "image/tiff")
        .await
        .unwrap();
    let account = clinic.account().await;
    assert!(account["warnings"].to_string().contains("quota_nearly_full"), "{account}");
    let (files, used) = clinic.quota().await;
    assert_eq!(files, 3);
    clinic.delete(CCDA_ID).await.unwrap();
    let (status, code, message) = refusal(
        clinic
            .put_attachment(vec![1u8; 100 * 1024], OWN_PESEL, "too much", None, "application/octet-stream")
            .await,
    );
    assert_eq!((status, code.as_str()), (507, "quota_exceeded"));
    assert!(message.contains("MB") && message.contains("1.00 MB"), "{message}");
    let (files_after, used_after) = clinic.quota().await;
    assert_eq!(files_after, 2);
    assert_eq!(used_after, used - ccda.len() as u64);
    assert_eq!(clinic.search(&[("title", "too much")]).await["total"], 0);
}

/// Every PIK example is accepted, stored, downloaded byte for byte, rendered with its
/// patient's name, found by its PESEL and deleted. They share ids (each is an example of one
/// document), so each is deleted before the next.
async fn every_pik_example(backend: Backend) {
    let Some(files) = pik_files("the upload of every PIK document") else { return };
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol(P, Plan::mb(50, 1000)).await;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let header = medgate_cda::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let id = header.id.to_string();
        let stored = clinic.put(bytes.clone()).await.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(stored["id"], id.as_str(), "{}", file.display());
        let downloaded = fetch(&clinic, &document_path(&id, "")).await;
        assert_eq!(&downloaded.body[..], &bytes[..], "{}", file.display());
        let page = String::from_utf8(fetch(&clinic, &document_path(&id, "/render")).await.body.to_vec()).unwrap();
        let family = header.patient.name.as_ref().map(|n| n.family.join(" ")).unwrap_or_default();
        assert!(!family.is_empty() && page.contains(&family), "{}: {family} not in the view", file.display());
        if let Some(pesel) = header
            .patient
            .identifiers
            .iter()
            .find(|i| i.id.root.as_str() == medgate_ids::Pesel::OID)
        {
            let extension = pesel.id.extension.clone().expect("PESEL value");
            assert!(
                clinic.search_ids(&[("patient", &extension)]).await.contains(&id),
                "{}",
                file.display()
            );
        }
        clinic.delete(&id).await.unwrap();
    }
    assert_eq!(clinic.quota().await, (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_round_trip_on_sqlite() {
    documents_round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_round_trip_on_postgres() {
    documents_round_trip(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_sqlite() {
    limits(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_on_postgres() {
    limits(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pik_example_on_sqlite() {
    every_pik_example(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pik_example_on_postgres() {
    every_pik_example(Backend::Postgres).await;
}

/// An attachment uploaded as `text/html` (a page with a script) is never rendered on this
/// origin, where the staff pages and the portal live: FHIR `Binary` and the API's download
/// send it as an `application/octet-stream` attachment with a safe file name, `nosniff` and
/// the sandbox CSP; a PDF keeps its type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fhir_binary_and_api_download_never_render_an_uploaded_page() {
    let node = Node::sqlite().await;
    let a = node.enrol("0000000000008010", Plan::mb(10, 100)).await;
    let page = b"<html><body><script>document.title='owned'</script></body></html>\n";
    let pdf = b"%PDF-1.4 scan of a referral\n%%EOF\n";
    let put = |bytes: &'static [u8], title: &'static str, content_type: &'static str| {
        let a = &a;
        async move {
            let answer = a.put_attachment(bytes.to_vec(), OWN_PESEL, title, None, content_type).await.unwrap();
            assert_eq!(answer["content_type"], content_type, "{answer}");
            answer["id"].as_str().unwrap().to_owned()
        }
    };
    let page_id = put(page, "Strona", "text/html; charset=utf-8").await;
    let pdf_id = put(pdf, "Skan", "application/pdf").await;

    // The Binary addresses, from the DocumentReferences.
    let bundle = a.get(&format!("/fhir/DocumentReference?patient.identifier={OWN_PESEL}")).await;
    let binary_of = |title: &str| -> String {
        bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| &entry["resource"]["content"][0]["attachment"])
            .find(|attachment| attachment["title"] == title)
            .and_then(|attachment| attachment["url"].as_str())
            .unwrap_or_else(|| panic!("no DocumentReference titled {title}: {bundle}"))
            .strip_prefix(node.url.as_str().trim_end_matches('/'))
            .expect("a Binary address on this node")
            .to_owned()
    };

    let sandbox = "default-src 'none'; sandbox";
    for path in [binary_of("Strona"), document_path(&page_id, "")] {
        let fetched = fetch(&a, &path).await;
        assert_eq!(fetched.status, 200, "{path}");
        assert_eq!(&fetched.body[..], page, "{path}: the bytes as stored");
        assert_eq!(header(&fetched, "content-type"), "application/octet-stream", "{path}");
        let file_name = format!("attachment; filename=\"{}.bin\"", page_id.replace('^', "_").to_lowercase());
        assert_eq!(header(&fetched, "content-disposition"), file_name, "{path}");
        assert_eq!(header(&fetched, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&fetched, "content-security-policy"), sandbox, "{path}");
        assert_eq!(header(&fetched, "strict-transport-security"), "max-age=31536000", "{path}");
        assert!(!format!("{:?}", fetched.headers).contains("text/html"), "{path}: {:?}", fetched.headers);
    }
    for path in [binary_of("Skan"), document_path(&pdf_id, "")] {
        let fetched = fetch(&a, &path).await;
        assert_eq!(fetched.status, 200, "{path}");
        assert_eq!(&fetched.body[..], pdf);
        assert_eq!(header(&fetched, "content-type"), "application/pdf", "{path}");
        assert!(header(&fetched, "content-disposition").starts_with("attachment; filename="), "{path}");
        assert_eq!(header(&fetched, "content-security-policy"), sandbox, "{path}");
    }
}

fn orphan(content: &Path, key: &str, age: Duration) -> std::path::PathBuf {
    let folder = content.join(&key[0..2]).join(&key[2..4]);
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(key);
    std::fs::write(&path, b"<ClinicalDocument/> left by a crash").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(SystemTime::now() - age))
        .unwrap();
    path
}

/// Content a crash left without metadata is removed while the node runs, once it is older
/// than the grace period (`medgate.toml`) by its own write time; stored documents are never
/// touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_swept_while_the_node_runs() {
    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("medgate.toml");
    std::fs::write(&config, "orphan_sweep_seconds = 1\norphan_grace_seconds = 3\n").unwrap();
    let node = Node::start_with(Options {
        config_file: Some(config),
        ..Options::default()
    })
    .await;
    let clinic = node.enrol("0000000000006030", Plan::mb(20, 100)).await;
    clinic.put(own_bytes()).await.unwrap();
    let content = node.data.join("content");

    // Written an hour ago (a crash before a restart): gone at the next sweep.
    let old = orphan(&content, "00aa00aa00aa00aa00aa00aa00aa00aa", Duration::from_secs(3600));
    // Written just now (as an upload in flight would be): kept while younger than the grace
    // period, then removed.
    let fresh = orphan(&content, "00bb00bb00bb00bb00bb00bb00bb00bb", Duration::ZERO);
    assert!(eventually(Duration::from_secs(5), || async { !old.exists() }).await, "the old orphan is still there");
    assert!(fresh.exists(), "a fresh orphan was removed inside its grace period");
    assert!(
        eventually(Duration::from_secs(8), || async { !fresh.exists() }).await,
        "the fresh orphan outlived its grace period"
    );

    // The stored document is intact.
    let back = fetch(&clinic, &document_path(OWN_ID, "")).await;
    assert_eq!(&back.body[..], &own_bytes()[..]);
}


/// A document whose PESEL has a wrong check digit is stored (refusing would lose it) and
/// found by that value, with a warning in the answer naming what consents and the portal
/// will need; a valid one has no warning.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pesel_with_a_wrong_check_digit_is_stored_with_a_warning() {
    let node = Node::start(Backend::Sqlite).await.unwrap();
    let clinic = node.enrol("0000000000007110", Plan::mb(20, 100)).await;
    let bad = Made::new("PESEL-BAD", "44051401358", NAME_A, "Karta");
    let answer: serde_json::Value = clinic
        .client
        .send(Method::POST, "/api/v1/documents", Some((bad.text().into_bytes(), "application/xml")))
        .await
        .unwrap()
        .json()
        .unwrap();
    let warnings = answer["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{answer}");
    assert!(warnings[0].as_str().unwrap().contains("'44051401358' under the PESEL root is not a valid PESEL"), "{answer}");
    let found = clinic.search(&[("patient", "44051401358")]).await;
    assert_eq!(found["total"], 1, "found by the value as stored: {found}");
    let good = Made::new("PESEL-GOOD", PESEL_A, NAME_A, "Karta");
    let answer: serde_json::Value = clinic
        .client
        .send(Method::POST, "/api/v1/documents", Some((good.text().into_bytes(), "application/xml")))
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["warnings"], serde_json::json!([]), "{answer}");
}

/// A batch (`POST /api/v1/documents/batch`, built by the client crate): each document stored
/// or refused on its own with what a single upload would have been answered, in the order
/// sent; the audit has one entry per stored document; the plan's file limit stops a batch
/// part-way with the rest refused, nothing half-stored; a body that is not multipart, or
/// holds no part, is refused as a whole.
async fn batches(backend: Backend) {
    use medgate_client::BatchDocument;
    let Some(node) = Node::start(backend).await else { return };
    let clinic = node.enrol("0000000000006050", Plan::mb(20, 5)).await;
    let part = |filename: &str, text: String| BatchDocument { filename: filename.to_owned(), bytes: text.into_bytes() };
    let first = Made::new("BATCH-1", PESEL_A, NAME_A, "Pierwszy");
    let batch = vec![
        part("1.xml", first.text()),
        part("broken.xml", "<ClinicalDocument>".to_owned()),
        part("again.xml", first.text().replace("Pierwszy", "Inny tytuł")),
        part("bad-pesel.xml", Made::new("BATCH-2", "44051401358", NAME_A, "Drugi").text()),
        part("3.xml", Made::new("BATCH-3", PESEL_B, NAME_B, "Trzeci").text()),
    ];
    let results = clinic.client.put_batch(&batch).await.unwrap();
    let summary: Vec<(usize, Option<String>, Option<String>)> = results
        .iter()
        .map(|r| (r.part, r.filename.clone(), r.error.as_ref().map(|e| e.code.clone())))
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, Some("1.xml".into()), None),
            (2, Some("broken.xml".into()), Some("invalid_cda".into())),
            (3, Some("again.xml".into()), Some("document_exists".into())),
            (4, Some("bad-pesel.xml".into()), None),
            (5, Some("3.xml".into()), None),
        ]
    );
    assert_eq!(results[1].error.as_ref().unwrap().status, 400);
    assert!(results[1].error.as_ref().unwrap().message.contains("CDA"), "{:?}", results[1]);
    assert_eq!(results[2].error.as_ref().unwrap().status, 409);
    assert_eq!(results[0].document.as_ref().unwrap()["id"], first.id().as_str());
    assert_eq!(results[0].document.as_ref().unwrap()["title"], "Pierwszy");
    assert_eq!(results[3].warnings.len(), 1, "{:?}", results[3]);
    assert_eq!(clinic.quota().await.0, 3);
    let puts = actions(&clinic.audit(None).await).into_iter().filter(|a| a == "document.put").count();
    assert_eq!(puts, 3);

    // Room for two more files: the third of the next batch is refused, the first two stored.
    let more: Vec<BatchDocument> = (4..=6)
        .map(|n| part(&format!("{n}.xml"), Made::new(&format!("BATCH-{n}"), PESEL_A, NAME_A, "Kolejny").text()))
        .collect();
    let results = clinic.client.put_batch(&more).await.unwrap();
    let refused: Vec<_> = results.iter().filter_map(|r| r.error.as_ref().map(|e| (r.part, e.status, e.code.clone()))).collect();
    assert_eq!(refused, vec![(3, 507, "file_limit_reached".to_owned())], "the earlier parts first, as one by one");
    assert_eq!(clinic.quota().await.0, 5);
    assert_eq!(clinic.search(&[("title", "Kolejny")]).await["total"], 2);

    // Refused as a whole.
    let (status, code, _) = refusal(
        clinic.client.send(Method::POST, "/api/v1/documents/batch", Some((own_bytes(), "application/xml"))).await,
    );
    assert_eq!((status, code.as_str()), (415, "batch_not_multipart"));
    let (status, code, _) = refusal(
        clinic
            .client
            .send(Method::POST, "/api/v1/documents/batch", Some((b"--b--\r\n".to_vec(), "multipart/form-data; boundary=b")))
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "batch_empty"));
    let (status, code, _) = refusal(
        clinic
            .client
            .send(Method::POST, "/api/v1/documents/batch", Some((b"--b\r\nno headers end".to_vec(), "multipart/form-data; boundary=b")))
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "batch_malformed"));
    assert_eq!(clinic.quota().await.0, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_on_sqlite() {
    batches(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_on_postgres() {
    batches(Backend::Postgres).await;
}

/// A document carries every patient identifier of its header (`patient_ids`, the PESEL
/// first); a search by patient says which one matched (`matched_patient`), while `patient`
/// stays the PESEL whichever it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_by_patient_says_which_identifier_matched() {
    let node = Node::start(Backend::Sqlite).await.unwrap();
    let clinic = node.enrol("0000000000007111", Plan::mb(20, 100)).await;
    clinic.put_made(Made::new("MATCH-1", PESEL_A, NAME_A, "Karta")).await;
    let pesel_root = "2.16.840.1.113883.3.4424.1.1.616";
    let local_root = "2.16.840.1.113883.3.4424.2.7.26.17.1";

    let by_pesel = clinic.search(&[("patient", PESEL_A)]).await;
    let document = &by_pesel["documents"][0];
    assert_eq!(
        document["patient_ids"],
        serde_json::json!([
            { "root": pesel_root, "extension": PESEL_A },
            { "root": local_root, "extension": "P-778" },
        ]),
        "{by_pesel}"
    );
    assert_eq!(document["matched_patient"], serde_json::json!({ "root": pesel_root, "extension": PESEL_A }));

    let by_local = clinic.search(&[("patient", "P-778")]).await;
    let document = &by_local["documents"][0];
    assert_eq!(by_local["total"], 1, "{by_local}");
    assert_eq!(document["patient"]["extension"], PESEL_A, "the PESEL stays the patient: {by_local}");
    assert_eq!(document["matched_patient"], serde_json::json!({ "root": local_root, "extension": "P-778" }));

    let by_title = clinic.search(&[("title", "Karta")]).await;
    assert!(by_title["documents"][0].get("matched_patient").is_none(), "{by_title}");
}

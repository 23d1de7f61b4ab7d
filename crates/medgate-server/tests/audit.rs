//! The audit log in process, on SQLite and PostgreSQL: every read, write and delete recorded
//! with who, what, from where and the patient; `GET /api/v1/audit` shows a tenant its own
//! entries only (also for one patient, by value or root^extension), paged; bad parameters
//! refused by name; rows edited or removed behind the node's back are named by the
//! verification `medgate audit verify` runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use medgate_storage::AuditFault;
use serde_json::Value;
use support::documents::{own_bytes, PESEL_ROOT};
use support::{actions, document_path, Backend, Node, Plan};

const A: &str = "0000000000007010";
const B: &str = "0000000000007020";
const DOCUMENT_ID: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001";
const PESEL: &str = "44051401359";

async fn every_access_is_logged(backend: Backend) {
    let Some(node) = Node::start(backend).await else { return };
    let a = node.enrol(A, Plan::mb(10, 100)).await;
    let b = node.enrol(B, Plan::mb(10, 100)).await;
    a.put(own_bytes()).await.unwrap();
    for path in [
        document_path(DOCUMENT_ID, ""),
        format!("/api/v1/documents?patient={PESEL}"),
        "/api/v1/documents?title=wypis".to_owned(),
        document_path(DOCUMENT_ID, "/render"),
        document_path(DOCUMENT_ID, "/export"),
        "/api/v1/document-types".to_owned(),
    ] {
        a.client.send(http::Method::GET, &path, None).await.unwrap();
    }
    a.delete(DOCUMENT_ID).await.unwrap();
    // The other tenant stores a document of the same patient.
    b.put(own_bytes()).await.unwrap();

    let all = a.audit(None).await;
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
    assert!(listed.contains(&"account.activate".to_owned()), "{listed:?}");
    for entry in &all {
        // Who: the certificate subject of A; from where: the loopback client.
        let actor = entry["actor"].as_str().unwrap();
        assert!(actor.contains(&format!("CN={A} TLS")), "{entry}");
        assert_eq!(entry["origin"], "127.0.0.1", "{entry}");
        assert!(entry["at"].as_str().unwrap().ends_with('Z'), "{entry}");
        assert!(entry["seq"].as_u64().unwrap() >= 1);
    }
    let by_action = |action: &str| -> Vec<&Value> { all.iter().filter(|e| e["action"] == action).collect() };
    for action in ["document.put", "document.read", "document.render", "document.export", "document.delete"] {
        let entry = by_action(action)[0];
        assert_eq!(entry["target"], DOCUMENT_ID, "{entry}");
        assert_eq!(entry["patient"], PESEL, "{entry}");
    }
    // One entry per search with its query; the patient only for the search by patient.
    let searches = by_action("document.search");
    let by_title = searches[0];
    assert_eq!(by_title["patient"], Value::Null, "{by_title}");
    assert!(by_title["details"].as_str().unwrap().contains("title=\"wypis\""), "{by_title}");
    let by_patient = searches[1];
    assert_eq!(by_patient["patient"], PESEL);
    let details = by_patient["details"].as_str().unwrap();
    assert!(details.contains(&format!("patient={PESEL}")) && details.contains("1 matches"), "{details}");
    assert_eq!(by_action("document_types.list")[0]["patient"], Value::Null);

    // The patient's access log: exactly this tenant's entries about this patient.
    let patient_log = a.audit(Some(PESEL)).await;
    let patient_actions = actions(&patient_log);
    assert!(patient_log.iter().all(|e| e["patient"] == PESEL));
    assert_eq!(
        patient_actions,
        ["document.delete", "document.export", "document.render", "document.search", "document.read", "document.put"],
        "{patient_log:#?}"
    );
    // A root^extension filter means the same patient. Reading a patient's log is itself an
    // access concerning that patient, so the previous listing now shows first.
    let rooted = a.audit(Some(&format!("{PESEL_ROOT}^{PESEL}"))).await;
    assert_eq!(actions(&rooted[..1]), ["audit.list"]);
    assert_eq!(actions(&rooted[1..]), patient_actions);

    // Tenant isolation: B sees only its own entries, A none of B's.
    let b_log = b.audit(None).await;
    assert!(!b_log.is_empty());
    for entry in &b_log {
        assert!(entry["actor"].as_str().unwrap().contains(&format!("CN={B} TLS")), "{entry}");
    }
    let b_patient = b.audit(Some(PESEL)).await;
    assert_eq!(actions(&b_patient), ["document.put"]);
    let b_seq = b_patient[0]["seq"].as_u64().unwrap();
    assert!(all.iter().all(|e| e["seq"].as_u64() != Some(b_seq)));

    // Paging: two at a time, `before` continues where the page ended.
    let page = a.get("/api/v1/audit?limit=2").await;
    let first: Vec<u64> = page["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let before = page["next_before"].as_u64().expect("next_before on a full page");
    assert_eq!(before, first[1]);
    let next = a.get(&format!("/api/v1/audit?limit=2&before={before}")).await;
    let second = next["entries"][0]["seq"].as_u64().unwrap();
    assert!(second < before);

    // Bad parameters are refused by name.
    let (status, _, message) = a.get_refused("/api/v1/audit?limit=0").await;
    assert_eq!(status, 400);
    assert!(message.contains("limit"), "{message}");
    let (status, _, message) = a.get_refused("/api/v1/audit?limit=10&before=0").await;
    assert_eq!(status, 400);
    assert!(message.contains("before"), "{message}");

    // The operator's listing reads the same store: the tenant's entries about the patient.
    let operator = node
        .metadata
        .list_audit_page(&a.tenant, Some(PESEL), None, 1000)
        .await
        .unwrap();
    assert!(!operator.is_empty());
    assert!(operator.iter().all(|e| e.tenant.as_ref() == Some(&a.tenant) && e.patient.as_deref() == Some(PESEL)));
    // And the whole chain verifies.
    let verification = node.metadata.verify_audit().await.unwrap();
    assert!(verification.is_intact());
    assert!(verification.entries_verified as usize > all.len(), "A's entries and B's");
    tamper(node, all.len()).await;
}

/// Runs SQL on the node's database behind its back (with psql, or the sqlite3 shell);
/// returns the output.
fn sql(node: &Node, statement: &str) -> String {
    let output = if node.database_url.starts_with("postgres") {
        std::process::Command::new("psql")
            .args([node.database_url.as_str(), "-v", "ON_ERROR_STOP=1", "-qAtc", statement])
            .output()
    } else {
        std::process::Command::new("sqlite3")
            .arg(node.data.join("medgate.db"))
            .arg(statement)
            .output()
    }
    .expect("psql / sqlite3 runs (apt-get install postgresql-client sqlite3)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// With the node stopped, what `medgate audit verify` reports (`Metadata::verify_audit`):
/// intact, then an edited row is named, put back it is intact again, a patient set on an
/// entry is an alteration, and a removed row is named.
async fn tamper(mut node: Node, entries_of_a: usize) {
    node.stop().await;
    let verify = || async { node.metadata.verify_audit().await.unwrap() };
    let intact = verify().await;
    assert!(intact.is_intact());
    assert!(intact.entries_verified as usize > entries_of_a, "{} entries, A alone has {entries_of_a}", intact.entries_verified);

    let original = sql(&node, "SELECT actor FROM audit_log WHERE seq = 3");
    assert!(!original.trim().is_empty());
    sql(&node, "UPDATE audit_log SET actor = 'someone else' WHERE seq = 3");
    let report = verify().await;
    assert!(!report.is_intact());
    let problem = report.problem.clone().expect("a problem");
    assert_eq!((problem.seq, &problem.fault), (3, &AuditFault::ContentAltered));
    assert!(problem.to_string().contains("audit entry 3") && problem.to_string().contains("altered"), "{problem}");
    assert_eq!(report.entries_verified, 2);

    // Put back exactly as it was: intact again (the check is on content, not on a flag).
    sql(&node, &format!("UPDATE audit_log SET actor = '{}' WHERE seq = 3", original.trim().replace('\'', "''")));
    assert!(verify().await.is_intact());

    // A patient set on an entry that had none (or changed) is an alteration too.
    sql(&node, "UPDATE audit_log SET patient = '02070803628' WHERE seq = 1");
    let report = verify().await;
    assert_eq!(report.problem.map(|p| p.seq), Some(1));
    sql(&node, "UPDATE audit_log SET patient = NULL WHERE seq = 1");
    assert!(verify().await.is_intact());

    sql(&node, "DELETE FROM audit_log WHERE seq = 5");
    let problem = verify().await.problem.expect("a problem");
    assert_eq!((problem.seq, &problem.fault), (5, &AuditFault::Missing));
    assert!(problem.to_string().contains("audit entry 5") && problem.to_string().contains("removed"), "{problem}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_logged_and_tampering_is_detected_on_sqlite() {
    every_access_is_logged(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_logged_and_tampering_is_detected_on_postgres() {
    every_access_is_logged(Backend::Postgres).await;
}

//! The archive pages of the administrator's desk without a browser: the export ZIP and an
//! attachment downloaded with the administrator's session; another tenant's document id
//! typed into every action address answers the same 404 page as an id that does not exist,
//! and changes nothing; a forged form deletes nothing.

use crate::support::documents::{Made, NAME_A, NAME_B, PESEL_A, PESEL_B, ROOT};
use crate::support::web::{admin_client, assert_audited, audited, main_of};
use crate::support::{Node, Plan};

const TENANT: &str = "0000000000009050";
const OTHER: &str = "0000000000009051";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_archive_downloads_the_export_and_an_attachment() {
    let node = Node::sqlite().await;
    let clinic = node.enrol(TENANT, Plan::mb(50, 1000)).await;
    let id = clinic
        .put_made(Made {
            day: "20240315",
            author: "Kowalska",
            ..Made::new("ARC-B1", PESEL_B, NAME_B, "Karta informacyjna z leczenia szpitalnego")
        })
        .await;
    let scan = b"%PDF-1.4 scan of a referral".to_vec();
    let attachment = clinic
        .put_attachment(scan.clone(), PESEL_B, "Skan skierowania", None, "application/pdf")
        .await
        .unwrap();
    let admin = admin_client(&node, TENANT, "archiwista").await;

    let zip = admin.get(&format!("/admin/documents/{}/export", urlencoding::encode(&id))).await;
    assert_eq!(zip.status, 200);
    assert_eq!(zip.header("content-type").as_deref(), Some("application/zip"));
    assert!(zip.body.starts_with(b"PK\x03\x04"), "a ZIP");
    let listing = zip.text();
    assert!(listing.contains(".xsl") && listing.contains("ARC-B1.xml"), "the XML and its stylesheet");
    let file = admin
        .get(&format!(
            "/admin/documents/{}/content",
            urlencoding::encode(attachment["id"].as_str().unwrap())
        ))
        .await;
    assert_eq!(file.status, 200);
    assert_eq!(file.body, scan);
    assert_eq!(file.header("content-type").as_deref(), Some("application/pdf"));
    let entries = audited(&node, TENANT).await;
    for action in ["document.export", "document.read"] {
        assert_audited(&entries, "admin:archiwista", action);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_archive_actions_on_another_tenants_document_answer_404_and_change_nothing() {
    let node = Node::sqlite().await;
    let ours = node.enrol(TENANT, Plan::mb(10, 100)).await;
    let theirs = node.enrol(OTHER, Plan::mb(10, 100)).await;
    let made = |extension, title| Made {
        day: "20240101",
        ..Made::new(extension, PESEL_A, NAME_A, title)
    };
    ours.put_made(made("OURS-1", "Nasz dokument")).await;
    let foreign = theirs.put_made(made("THEIRS-1", "Cudzy dokument")).await;
    let admin = admin_client(&node, TENANT, "ciekawski").await;
    let encoded = urlencoding::encode(&foreign).into_owned();
    let missing = urlencoding::encode(&format!("{ROOT}^NO-SUCH")).into_owned();
    let token = admin.token("/admin/account").await;
    let mut pages = Vec::new();
    for id in [&encoded, &missing] {
        for suffix in ["", "/view", "/export", "/content", "/delete"] {
            let answer = admin.get(&format!("/admin/documents/{id}{suffix}")).await;
            assert_eq!(answer.status, 404, "GET {suffix}: {}", answer.text());
            pages.push(main_of(&answer.text()));
        }
        for suffix in ["/delete", "/index"] {
            let answer = admin.post(&format!("/admin/documents/{id}{suffix}"), &[("csrf", &token)]).await;
            assert_eq!(answer.status, 404, "POST {suffix}: {}", answer.text());
            pages.push(main_of(&answer.text()));
        }
    }
    // The same page whether the document is another tenant's or does not exist.
    assert!(pages.iter().all(|page| *page == pages[0]), "{pages:?}");
    assert!(pages[0].contains("nie ma dokumentu o takim identyfikatorze"));
    assert!(!pages.iter().any(|page| page.contains("Cudzy")), "nothing of it leaks");
    // Nothing changed: the other tenant still has its document, not indexed.
    let left = theirs.search(&[("patient", PESEL_A)]).await["documents"].as_array().unwrap().clone();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["indexed"], false);
    // Nor does a search reach it.
    let listing = admin.get(&format!("/admin/documents?patient={PESEL_A}")).await.text();
    assert!(listing.contains("Nasz dokument") && !listing.contains("Cudzy"), "{listing}");
    // A forged form (no token) deletes nothing of one's own either.
    let own = format!("{ROOT}^OURS-1");
    let refused = admin.post(&format!("/admin/documents/{}/delete", urlencoding::encode(&own)), &[]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(ours.search(&[("patient", PESEL_A)]).await["total"], 1);
}

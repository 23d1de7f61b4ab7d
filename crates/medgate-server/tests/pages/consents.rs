//! The consent register of the administrator's desk without a browser: another account's
//! consent and document ids in the register's addresses answer 404 and change nothing, and
//! another account's document posted in the consent form is refused.

use crate::support::consents::consent_path;
use crate::support::documents::{Made, NAME_A, PESEL_A};
use crate::support::web::{admin_client, main_of};
use crate::support::{Node, Plan};

const TENANT: &str = "0000000000009060";
const OTHER: &str = "0000000000009061";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_consent_actions_on_another_accounts_ids_answer_404_and_change_nothing() {
    let node = Node::sqlite().await;
    let ours = node.enrol(TENANT, Plan::mb(10, 100)).await;
    let theirs = node.enrol(OTHER, Plan::mb(10, 100)).await;
    let made = |extension, title| Made {
        day: "20240101",
        ..Made::new(extension, PESEL_A, NAME_A, title)
    };
    ours.put_made(made("OUR-1", "Nasz")).await;
    let foreign = theirs.put_made(made("THEIR-1", "Cudzy")).await;
    let answer = theirs
        .try_create_consent(PESEL_A, "2024-01-01", "2099-12-31", "Ktoś", &[&foreign])
        .await
        .unwrap();
    let consent = answer["consent"]["id"].as_str().unwrap().to_owned();
    let admin = admin_client(&node, TENANT, "ciekawska").await;
    let token = admin.token("/admin/account").await;
    let encoded = urlencoding::encode(&consent).into_owned();
    let missing = "00000000-0000-4000-8000-000000000000";
    let mut pages = Vec::new();
    for id in [encoded.as_str(), missing] {
        let page = admin.get(&format!("/admin/consents/{id}")).await;
        assert_eq!(page.status, 404, "{}", page.text());
        pages.push(main_of(&page.text()));
        let confirm = admin.get(&format!("/admin/consents/{id}/revoke")).await;
        assert_eq!(confirm.status, 404, "{}", confirm.text());
        pages.push(main_of(&confirm.text()));
        for action in ["send", "revoke"] {
            let answer = admin.post(&format!("/admin/consents/{id}/{action}"), &[("csrf", &token)]).await;
            assert_eq!(answer.status, 404, "{action}: {}", answer.text());
            pages.push(main_of(&answer.text()));
        }
    }
    assert!(pages.iter().all(|page| *page == pages[0]), "{pages:?}");
    // Their consent is still a draft, and its document is not offered or shareable here.
    let shown = theirs.get(&consent_path(&consent, "")).await;
    assert_eq!(shown["consent"]["status"], "draft", "{shown}");
    let share = admin
        .get(&format!("/admin/consents/new?document={}", urlencoding::encode(&foreign)))
        .await;
    assert_eq!(share.status, 404);
    let form = admin.get(&format!("/admin/consents/new?patient={PESEL_A}")).await.text();
    assert!(form.contains("Nasz") && !form.contains("Cudzy"), "{form}");
    // Posting their document id in our consent form is refused; nothing is created.
    let refused = admin
        .post(
            "/admin/consents/new",
            &[
                ("csrf", &token),
                ("patient", PESEL_A),
                ("count", "1"),
                ("doc.0", &foreign),
                ("recipient", "Ktoś"),
                ("purpose", "sprawa"),
                ("from", "2024-01-01"),
                ("to", "2024-12-31"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("nie ma w archiwum tego konta"));
    assert!(ours.get("/api/v1/consents").await["consents"].as_array().unwrap().is_empty());
}

//! The operator's desk without a browser: forged forms change nothing, an unknown account is
//! 404, an existing id is refused for a new account, and an administrator's session cannot
//! use the operator's pages.

use medgate_ids::TenantId;
use medgate_storage::{Tenant, TenantStatus};
use crate::support::web::{admin_client, operator_client};
use crate::support::{Node, Plan};

const ENROLLED: &str = "0000000000009070";

async fn show(node: &Node, id: &str) -> Tenant {
    node.metadata.get_tenant(&TenantId::parse(id).unwrap()).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_operator_pages_refuse_forged_forms_and_other_desks() {
    let node = Node::sqlite().await;
    node.enrol(ENROLLED, Plan::mb(10, 100)).await;
    let operator = operator_client(&node, "olek").await;
    // No token: refused, nothing changes.
    let forged = operator.post(&format!("/operator/tenants/{ENROLLED}/suspend"), &[]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(show(&node, ENROLLED).await.status, TenantStatus::Active);
    // Another site's origin, with the right token: refused too.
    let token = operator.token("/operator/tenants").await;
    let foreign = operator
        .post_with(
            &format!("/operator/tenants/{ENROLLED}/suspend"),
            &[("csrf", &token)],
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(show(&node, ENROLLED).await.status, TenantStatus::Active);
    let unknown = operator
        .post("/operator/tenants/0000000000009999/suspend", &[("csrf", &token)])
        .await;
    assert_eq!(unknown.status, 404);
    let created = operator
        .post(
            "/operator/tenants/new",
            &[
                ("csrf", &token),
                ("id", ENROLLED),
                ("valid_from", "2026-01-01"),
                ("valid_to", "2027-01-01"),
                ("quota_mb", "5"),
                ("max_files", "5"),
            ],
        )
        .await;
    assert_eq!(created.status, 409, "an existing id is refused");
    assert!(created.text().contains("Konto o tym ID już istnieje"));
    assert_eq!(show(&node, ENROLLED).await.plan.quota_bytes, 10 * 1024 * 1024, "and the existing account is untouched");
    // An administrator of the account cannot use the operator's pages.
    let admin = admin_client(&node, ENROLLED, "kierownik").await;
    let refused = admin
        .post(&format!("/operator/tenants/{ENROLLED}/suspend"), &[("csrf", &token)])
        .await;
    assert_eq!(refused.status, 303);
    assert!(refused.header("location").unwrap_or_default().starts_with("/operator"));
    assert_eq!(show(&node, ENROLLED).await.status, TenantStatus::Active);
    let suspended = operator
        .post(&format!("/operator/tenants/{ENROLLED}/suspend"), &[("csrf", &token)])
        .await;
    assert_eq!(suspended.status, 303);
    assert_eq!(show(&node, ENROLLED).await.status, TenantStatus::Suspended);
}

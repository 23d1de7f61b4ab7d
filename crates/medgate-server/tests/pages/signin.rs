//! Signing in to the staff desks without a browser: forged forms (no token, a wrong token,
//! another site's origin), a login of one tenant tried at another, the lock-out after five
//! failures whether or not the login exists (also for forty attempts sent at once), a
//! disabled login signed out at once, each desk's session refused by the other desk; and the
//! clinic's own system creating the first administrator login through the API.

use http::Method;
use serde_json::{json, Value};
use crate::support::web::{audited, code_of, create_admin, create_operator, disable_admin, Page, WebClient, STAFF_PASSWORD};
use crate::support::{refusal, Node, Plan};

const TENANT: &str = "0000000000009010";
const OTHER_TENANT: &str = "0000000000009011";

fn locked_text(body: &str) -> String {
    body.split("role=\"alert\">")
        .nth(1)
        .unwrap_or("")
        .split(" (")
        .next()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_staff_sign_in_locks_out_and_refuses_forged_forms() {
    let node = Node::sqlite().await;
    node.create_tenant(TENANT, Plan::mb(10, 100)).await;
    node.create_tenant(OTHER_TENANT, Plan::mb(10, 100)).await;
    let staff = WebClient::new(&node);
    let code = code_of(&create_admin(&node, TENANT, "boss").await);
    let activated = staff.activate_admin(TENANT, "boss", &code).await;
    assert_eq!(activated.status, 303, "{}", activated.text());

    // Forged forms: no token, a wrong token, another site's origin.
    let refused = staff
        .post("/admin", &[("tenant", TENANT), ("login", "boss"), ("password", STAFF_PASSWORD)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let zeros = "0".repeat(64);
    let refused = staff
        .post(
            "/admin",
            &[("csrf", &zeros), ("tenant", TENANT), ("login", "boss"), ("password", STAFF_PASSWORD)],
        )
        .await;
    assert_eq!(refused.status, 403);
    let token = staff.token("/admin").await;
    let refused = staff
        .post_with(
            "/admin",
            &[("csrf", &token), ("tenant", TENANT), ("login", "boss"), ("password", STAFF_PASSWORD)],
            &[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")],
        )
        .await;
    assert_eq!(refused.status, 403);

    // The right login at another tenant is not an account there.
    let wrong_tenant = staff.admin_sign_in(OTHER_TENANT, "boss", STAFF_PASSWORD).await;
    assert_eq!(wrong_tenant.status, 401, "{}", wrong_tenant.text());

    // Five failures lock the identity, even against the right password; a login that does
    // not exist is locked in the same words.
    for attempt in 1..=4 {
        let failed = staff.admin_sign_in(TENANT, "boss", "wrong password!").await;
        assert_eq!(failed.status, 401, "attempt {attempt}");
        assert!(failed.text().contains("Nie udało się zalogować"), "{}", failed.text());
    }
    let locked = staff.admin_sign_in(TENANT, "boss", "wrong password!").await;
    assert_eq!(locked.status, 429, "{}", locked.text());
    assert!(locked.text().contains("Zbyt wiele nieudanych prób"), "{}", locked.text());
    let still = staff.admin_sign_in(TENANT, "boss", STAFF_PASSWORD).await;
    assert_eq!(still.status, 429, "the right password does not lift the lock");
    for _ in 1..=5 {
        staff.admin_sign_in(TENANT, "ghost", "whatever password").await;
    }
    let ghost = staff.admin_sign_in(TENANT, "ghost", "whatever password").await;
    assert_eq!(ghost.status, 429);
    assert_eq!(locked_text(&ghost.text()), locked_text(&still.text()));

    // Another administrator, signed in, is signed out at once when disabled.
    let second = WebClient::new(&node);
    let code = code_of(&create_admin(&node, TENANT, "second").await);
    second.activate_admin(TENANT, "second", &code).await;
    second.sign_in_admin(TENANT, "second").await;
    assert_eq!(second.get("/admin/account").await.status, 200);
    // An administrator's session opens no operator page.
    let operator_page = second.get("/operator/tenants").await;
    assert_eq!(operator_page.status, 303);
    assert!(operator_page.location().unwrap_or_default().starts_with("/operator"));
    assert_eq!(second.get("/admin/account").await.status, 200, "the administrator's own session goes on");
    disable_admin(&node, TENANT, "second").await;
    let after = second.get("/admin/account").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.location().as_deref(), Some("/admin?notice=expired"));

    // Operators: a password set from a file; no code. The session opens the operator's desk
    // and no administrator page.
    create_operator(&node, "olek").await;
    let operator = WebClient::new(&node);
    let signed = operator.sign_in_operator("olek").await;
    assert_eq!(signed.location().as_deref(), Some("/operator/tenants"));
    assert_eq!(operator.get("/admin/account").await.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_clinic_system_creates_the_first_administrator_login() {
    let node = Node::sqlite().await;
    let clinic = node.enrol("0000000000009012", Plan::mb(10, 100)).await;
    let create = |login: &'static str| {
        let clinic = &clinic;
        async move {
            clinic
                .client
                .send_json::<Value>(Method::POST, "/api/v1/account/admin-users", &json!({ "login": login }))
                .await
        }
    };
    let answer = create("Informatyk").await.unwrap();
    assert_eq!(answer["login"], "informatyk", "{answer}");
    assert_eq!(answer["activate_path"], "/admin/activate");
    let code = answer["activation_code"].as_str().expect("a code").to_owned();
    let (status, code_name, _) = refusal(create("informatyk").await);
    assert_eq!((status, code_name.as_str()), (409, "login_exists"));
    let (status, code_name, _) = refusal(create("zły login").await);
    assert_eq!((status, code_name.as_str()), (400, "bad_login"));
    let admin = WebClient::new(&node);
    let activated = admin.activate_admin("0000000000009012", "informatyk", &code).await;
    assert_eq!(activated.status, 303, "{}", activated.text());
    admin.sign_in_admin("0000000000009012", "informatyk").await;
    assert!(admin.get("/admin/account").await.text().contains("0000000000009012"));
    let entries = audited(&node, "0000000000009012").await;
    assert!(
        entries
            .iter()
            .any(|(actor, action)| actor.contains("CN=0000000000009012 TLS") && action == "admin_user.create"),
        "{entries:?}"
    );
}

/// Forty sign-ins sent at once, the right password 16th: each attempt is counted before its
/// password is checked, so exactly five passwords are checked (five audited failures), every
/// other attempt gets the lock-out answer, and the right password does not sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_parallel_admin_sign_ins_get_at_most_five_checks() {
    let node = Node::sqlite().await;
    node.create_tenant(TENANT, Plan::mb(10, 100)).await;
    let staff = WebClient::new(&node);
    let code = code_of(&create_admin(&node, TENANT, "boss").await);
    let activated = staff.activate_admin(TENANT, "boss", &code).await;
    assert_eq!(activated.status, 303, "{}", activated.text());

    let token = staff.token("/admin").await;
    let forms: Vec<Vec<(&str, &str)>> = (1..=40)
        .map(|attempt| {
            let password = if attempt == 16 { STAFF_PASSWORD } else { "a wrong guess 2025" };
            vec![("csrf", token.as_str()), ("tenant", TENANT), ("login", "boss"), ("password", password)]
        })
        .collect();
    // Two waves, each all at once: 15 wrong guesses (of which at most 5 may be checked),
    // then the other 25 with the right password first among them. Sent as one wave, the
    // right password could be scheduled among the first five and rightly sign in.
    let mut replies = staff.post_parallel("/admin", &forms[..15]).await;
    replies.extend(staff.post_parallel("/admin", &forms[15..]).await);
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_ne!(statuses[15], 303, "the right password signed in: {statuses:?}");
    assert!(
        replies[15].set_cookies().iter().all(|c| !c.contains("medgate_session=")),
        "no session for the 16th attempt"
    );
    let lockout = |reply: &Page| reply.status == 429 && reply.text().contains("Zbyt wiele nieudanych prób");
    let past_lock = replies.iter().filter(|reply| !lockout(reply)).count();
    assert!(past_lock <= 5, "{past_lock} answers were not the lock-out: {statuses:?}");
    assert!(statuses.iter().all(|status| [401, 429].contains(status)), "{statuses:?}");
    let failures = audited(&node, TENANT)
        .await
        .into_iter()
        .filter(|(actor, action)| actor == "admin:boss" && action == "admin.signin.failed")
        .count();
    assert_eq!(failures, 5, "passwords checked: {statuses:?}");

    // Still locked afterwards, for the right password too.
    let after = staff
        .post("/admin", &[("csrf", &token), ("tenant", TENANT), ("login", "boss"), ("password", STAFF_PASSWORD)])
        .await;
    assert_eq!(after.status, 429, "{}", after.text());
}

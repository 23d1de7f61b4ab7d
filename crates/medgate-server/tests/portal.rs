//! The patient portal in process, driven as a browser would and as a forger would: wrong or
//! missing CSRF tokens and foreign origins are refused and change nothing; a code works
//! once; five failures lock an identity for 15 minutes, even for the right password, with the
//! same words whether or not the account exists (also for forty attempts sent at once);
//! cookies and headers are as strict as documented.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::consents::code;
use support::documents::{NAME_A, PESEL_A, PESEL_B};
use support::web::{alert, audited, Page, WebClient, PATIENT_PASSWORD};
use support::{day, Clinic, Node, Plan};

const T: &str = "0000000000008010";
const T2: &str = "0000000000008020";

/// A clinic with one document of patient A shared by a sent consent; the activation code.
async fn shared(node: &Node, extension: &str) -> (Clinic, String) {
    let clinic = node.enrol(T, Plan::mb(10, 100)).await;
    let document = clinic.put_document(extension, PESEL_A, NAME_A, "Karta informacyjna").await;
    let id = clinic.create_consent(PESEL_A, &day(-1), &day(30), "lek. Piotr Nowak", &[&document]).await;
    let sent = clinic.send_consent(&id).await;
    assert_eq!(sent["patient_account"]["status"], "created");
    (clinic, code(&sent))
}

fn assert_host_cookie(cookie: &str) {
    for attribute in ["; secure", "; httponly", "; samesite=strict", "; path=/;"] {
        assert!(format!("{cookie};").contains(attribute), "{cookie} lacks {attribute}");
    }
    assert!(!cookie.contains("domain="), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_refuses_forged_forms_spent_codes_and_guessing() {
    let node = Node::sqlite().await;
    let (_clinic, code) = shared(&node, "P-1").await;
    let portal = WebClient::new(&node);

    // The pages carry the strict headers.
    let page = portal.get("/portal").await;
    assert_eq!(page.status, 200);
    let csp = page.header("content-security-policy").expect("CSP");
    assert!(csp.contains("default-src 'none'") && !csp.contains("script"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(page.header("x-frame-options").map(|v| v.to_lowercase()).as_deref(), Some("deny"));
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(page.header("strict-transport-security").as_deref(), Some("max-age=31536000"));
    let body = page.text();
    assert!(body.contains("<html lang=\"pl\">") && body.contains("Zaloguj się"));
    assert!(!body.contains("<script"));
    // The pre-sign-in token's cookie follows the `__Host-` rules: Secure, Path=/, no Domain.
    let csrf_cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__host-medgate_csrf="))
        .unwrap_or_else(|| panic!("no __Host-medgate_csrf cookie: {:?}", page.set_cookies()));
    assert_host_cookie(&csrf_cookie);
    // The API and its errors carry the same Strict-Transport-Security.
    for path in ["/healthz", "/api/v1/no-such-route", "/portal/documents"] {
        let answer = portal.get(path).await;
        assert_eq!(
            answer.header("strict-transport-security").as_deref(),
            Some("max-age=31536000"),
            "{path}: {:?}",
            answer.headers
        );
    }

    // Activation: a wrong token, no token, or a foreign origin is refused and spends nothing.
    let fields = |token: &str| {
        vec![
            ("csrf", token.to_owned()),
            ("tenant", T.to_owned()),
            ("patient", PESEL_A.to_owned()),
            ("code", code.clone()),
            ("password", PATIENT_PASSWORD.to_owned()),
            ("password2", PATIENT_PASSWORD.to_owned()),
        ]
    };
    let post = |owned: Vec<(&'static str, String)>, headers: &'static [(&'static str, &'static str)]| {
        let portal = portal.clone();
        async move {
            let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
            portal.post_with("/portal/activate", &borrowed, headers).await
        }
    };
    let token = portal.token("/portal/activate").await;
    let forged = post(fields(&"0".repeat(64)), &[]).await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert!(forged.text().contains("Formularz wygasł"), "{}", forged.text());
    assert_eq!(post(fields(""), &[]).await.status, 403);
    let foreign = post(fields(&token), &[("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(foreign.status, 403);
    let cross_site = post(fields(&token), &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(cross_site.status, 403);
    // A client that is no browser (no Origin, no Sec-Fetch-Site) is judged by the token.
    let mut short = fields(&token);
    short[4].1 = "krótkie".into();
    short[5].1 = "krótkie".into();
    let refused = post(short, &[("Origin", ""), ("Sec-Fetch-Site", "")]).await;

    // Field rules are named beside the field, and count as no attempt.
    assert_eq!(refused.status, 400);
    assert!(refused.text().contains("Hasło musi mieć co najmniej 12 znaków."), "{}", refused.text());
    let mut mismatch = fields(&token);
    mismatch[5].1 = "inne hasło niż pierwsze".into();
    let mismatched = post(mismatch, &[]).await.text();
    assert!(mismatched.contains("Powtórzone hasło różni się"));
    // What was typed is shown again, except the passwords.
    assert!(mismatched.contains(&format!("value=\"{code}\"")), "{mismatched}");
    assert!(mismatched.contains(&format!("value=\"{PESEL_A}\"")), "{mismatched}");
    assert!(!mismatched.contains(PATIENT_PASSWORD), "{mismatched}");
    let mut bad_pesel = fields(&token);
    bad_pesel[2].1 = "44051401358".into();
    assert!(post(bad_pesel, &[]).await.text().contains("To nie jest prawidłowy PESEL"));

    // A wrong code fails; the right one works once (in any case).
    let wrong = portal.activate_patient(T, PESEL_A, "0000-0000-0000-0000", PATIENT_PASSWORD).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("Aktywacja nie powiodła się"), "{}", wrong.text());
    let activated = portal.activate_patient(T, PESEL_A, &code.to_lowercase(), PATIENT_PASSWORD).await;
    assert_eq!(activated.status, 303, "{}", activated.text());
    // Back to the sign-in form with the clinic's id filled in.
    assert_eq!(
        activated.location(),
        Some(format!("/portal?notice=activated&tenant={T}"))
    );
    let again = portal.activate_patient(T, PESEL_A, &code, "Inne hasło 123456").await;
    assert_eq!(again.status, 401, "a code works once");

    // Sign-in: a forged form is refused even with the right password.
    let token = portal.token("/portal").await;
    let forged = portal
        .post(
            "/portal",
            &[("csrf", "f".repeat(64).as_str()), ("tenant", T), ("patient", PESEL_A), ("password", PATIENT_PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert!(forged.set_cookies().iter().all(|c| !c.contains("medgate_session=")));
    let foreign = portal
        .post_with(
            "/portal",
            &[("csrf", &token), ("tenant", T), ("patient", PESEL_A), ("password", PATIENT_PASSWORD)],
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign.status, 403);
    assert_eq!(portal.get("/portal/documents").await.location().as_deref(), Some("/portal"));

    let signed = portal.patient_sign_in(T, PESEL_A, PATIENT_PASSWORD).await;
    assert_eq!(signed.status, 303, "{}", signed.text());
    let session_cookie = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__host-medgate_session="))
        .expect("session cookie named by the __Host- rules");
    assert_host_cookie(&session_cookie);
    assert_eq!(signed.header("strict-transport-security").as_deref(), Some("max-age=31536000"));
    let documents = portal.portal_documents().await;
    assert!(documents.contains("Karta informacyjna"), "{documents}");
    // The document's date as it writes it (`20240315103000+0100`), not the UTC instant.
    assert!(documents.contains("2024-03-15 10:30:00 +01:00"), "{documents}");

    // Sign-out needs the session's token too.
    let wrong_out = portal.post("/portal/logout", &[("csrf", "0")]).await;
    assert_eq!(wrong_out.status, 403);
    assert!(portal.portal_documents().await.contains("Karta informacyjna"), "still signed in");
    let session_token = portal.token("/portal/documents").await;
    let out = portal.post("/portal/logout", &[("csrf", &session_token)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location().as_deref(), Some("/portal?notice=signed-out"));
    assert_eq!(portal.get("/portal/documents").await.location().as_deref(), Some("/portal"));

    // Guessing: four failures, then the fifth locks, and the right password is refused.
    for _ in 0..4 {
        let failed = portal.patient_sign_in(T, PESEL_A, "not the password").await;
        assert_eq!(failed.status, 401);
        assert!(failed.text().contains("Nie udało się zalogować"), "{}", failed.text());
    }
    let locked = portal.patient_sign_in(T, PESEL_A, "not the password").await;
    assert_eq!(locked.status, 429);
    assert!(alert(&locked.text()).contains("zablokowane na 15 minut"), "{}", locked.text());
    let still = portal.patient_sign_in(T, PESEL_A, PATIENT_PASSWORD).await;
    assert_eq!(still.status, 429, "locked even for the right password");
    assert_eq!(portal.activate_patient(T, PESEL_A, &code, PATIENT_PASSWORD).await.status, 429);

    // An identity without an account locks the same way, in the same words.
    for _ in 0..4 {
        assert_eq!(portal.patient_sign_in(T2, PESEL_B, "guess").await.status, 401);
    }
    let nobody_locked = portal.patient_sign_in(T2, PESEL_B, "guess").await;
    assert_eq!(nobody_locked.status, 429);
    let words = |html: &str| alert(html).split(" (do ").next().unwrap_or("").to_owned();
    assert_eq!(words(&nobody_locked.text()), words(&locked.text()));

    // English on request, remembered by a cookie.
    let english = portal.get("/portal?lang=en").await;
    assert!(english.text().contains("<html lang=\"en\">") && english.text().contains("Sign in"));
    assert!(english.set_cookies().iter().any(|c| c.starts_with("medgate_lang=en")));
    assert!(portal.get("/portal/activate").await.text().contains("Activate your account"));
}

/// Forty sign-ins of one patient sent in two waves of parallel requests, the right password
/// 16th (first of the second wave): exactly five
/// passwords are checked (five audited failures), every other attempt gets the lock-out
/// answer, and the right password does not sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_parallel_sign_ins_get_at_most_five_checks() {
    let node = Node::sqlite().await;
    let (_clinic, code) = shared(&node, "P-9").await;
    let portal = WebClient::new(&node);
    let activated = portal.activate_patient(T, PESEL_A, &code, PATIENT_PASSWORD).await;
    assert_eq!(activated.status, 303, "{}", activated.text());

    let token = portal.token("/portal").await;
    let forms: Vec<Vec<(&str, &str)>> = (1..=40)
        .map(|attempt| {
            let password = if attempt == 16 { PATIENT_PASSWORD } else { "a wrong guess 2025" };
            vec![("csrf", token.as_str()), ("tenant", T), ("patient", PESEL_A), ("password", password)]
        })
        .collect();
    // Two waves, each all at once (see the staff pages' test): 15 wrong guesses, then the
    // rest with the right password first.
    let mut replies = portal.post_parallel("/portal", &forms[..15]).await;
    replies.extend(portal.post_parallel("/portal", &forms[15..]).await);
    assert_at_most_five_checks(&replies, |reply| alert(&reply.text()).contains("zablokowane na 15 minut"));
    let failures = audited(&node, T)
        .await
        .into_iter()
        .filter(|(_, action)| action == "portal.signin.failed")
        .count();
    assert_eq!(failures, 5, "passwords checked");
    assert_eq!(portal.patient_sign_in(T, PESEL_A, PATIENT_PASSWORD).await.status, 429, "still locked");
}

/// The answers of forty parallel attempts, the right password 16th: no session for it, at
/// most five answers that are not the lock-out, nothing but 401 and 429.
pub fn assert_at_most_five_checks(replies: &[Page], is_lockout: impl Fn(&Page) -> bool) {
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_ne!(statuses[15], 303, "the right password signed in: {statuses:?}");
    assert!(
        replies[15].set_cookies().iter().all(|c| !c.contains("medgate_session=")),
        "no session for the 16th attempt"
    );
    let past_lock = replies
        .iter()
        .filter(|reply| !(reply.status == 429 && is_lockout(reply)))
        .count();
    assert!(past_lock <= 5, "{past_lock} answers were not the lock-out: {statuses:?}");
    assert!(statuses.iter().all(|status| [401, 429].contains(status)), "{statuses:?}");
}

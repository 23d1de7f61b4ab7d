//! The clinic's side of the clinical record service in process: a clinical service node and
//! a repository node on loopback; two accounts of the repository set up, on the
//! administrator's page, each for its institution from the PKCS#12 file and one-time code the
//! service's CA issued (a wrong code, another institution's file and an expired certificate
//! refused, nothing stored); practitioners signing in at the desk with password and TOTP
//! code, then encounters, documents across institutions, break-glass, the profile and
//! referrals through the pages, the service's refusals shown, and the session ending.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use medgate_clinical::admin::{self, Operator};
use medgate_clinical::patient::{self, RestrictionScope};
use medgate_clinical::PatientCaller;
use medgate_ids::{InstitutionId, Taj};
use medgate_pki::ca::Validity;
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::{KeyAlgorithm, Password};
use medgate_storage::{AuditOrigin, DeskSession, InstitutionCertificate, Sha256Digest};
use time::OffsetDateTime;

mod support;
use support::web::{admin_client, alert, assert_audited, audited, form_token, Page, WebClient};
use support::{ending_in, Node, Options, Plan};

const PATIENT: &str = "123456788";
const PASSWORD: &str = "korrekt ló elem kapocs";
const CLINIC_A: &str = "0000000000013001";
const CLINIC_B: &str = "0000000000013002";

/// What the service's operator hands an institution: the PKCS#12 file and its one-time code,
/// and the practitioner's TOTP secret.
struct Handed {
    p12: Vec<u8>,
    code: String,
    totp: String,
}

async fn register(service: &Node, id: &str, unit: &str, user: &str, stamp: &str) -> Handed {
    let store = &service.metadata;
    let operator = Operator {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    let now = OffsetDateTime::now_utc();
    admin::register_institution(store, &operator, id, &format!("Intézmény {id}"), now)
        .await
        .unwrap();
    admin::add_unit(store, &operator, id, unit, "Rendelő").await.unwrap();
    let registered =
        admin::register_practitioner(store, &operator, user, user, stamp, PASSWORD, now)
            .await
            .unwrap();
    admin::grant(store, &operator, user, id, None, "doctor").await.unwrap();
    let (p12, code) = certificate(service, id, Validity::days_from_now(30).unwrap()).await;
    Handed {
        p12,
        code,
        totp: registered.totp_secret,
    }
}

/// An institution certificate from the service's CA as `medgate clinical certificate
/// issue` makes it: recorded, and packed with the CA under a one-time code.
async fn certificate(service: &Node, id: &str, validity: Validity) -> (Vec<u8>, String) {
    let (certificate, key) = service
        .ca
        .issue_client(&format!("{id} clinical institution"), KeyAlgorithm::EcdsaP256, validity)
        .unwrap();
    let summary = certificate.summary().unwrap();
    admin::record_certificate(
        &service.metadata,
        &Operator {
            name: "cli".to_owned(),
            origin: AuditOrigin::Cli,
        },
        &InstitutionCertificate {
            serial: summary.serial_hex.to_ascii_uppercase(),
            institution: InstitutionId::parse(id).unwrap(),
            not_after: summary.not_after,
        },
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let code = format!("code-{}", &summary.serial_hex[..8]);
    let p12 = write_pkcs12(
        &certificate,
        std::slice::from_ref(service.ca.certificate()),
        &key,
        &Password::new(code.clone()),
        &Pkcs12Options::default(),
    )
    .unwrap();
    (p12, code)
}

async fn set_up(
    admin: &WebClient,
    service: &Node,
    institution: &str,
    unit: &str,
    practitioners: &str,
    p12: &[u8],
    code: &str,
) -> Page {
    let token = admin.token("/admin/clinical-service").await;
    let ca = service.ca.certificate().to_pem();
    admin
        .post_multipart(
            "/admin/clinical-service",
            &[
                ("csrf", &token),
                ("service_url", service.url.as_str()),
                ("code", code),
                ("institution", institution),
                ("institution_name", &format!("Rendelő {institution}")),
                ("units", unit),
                ("practitioners", practitioners),
            ],
            &[("ca_file", "ca.pem", ca.as_bytes()), ("p12_file", "intezmeny.p12", p12)],
        )
        .await
}

async fn sign_in(practice: &WebClient, tenant: &str, user: &str, totp: &str) -> Page {
    let token = practice.token("/practice").await;
    let code = medgate_clinical::auth::totp_code(totp, OffsetDateTime::now_utc()).unwrap();
    practice
        .post(
            "/practice",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("user_name", user),
                ("password", PASSWORD),
                ("code", &code),
            ],
        )
        .await
}

/// The value of the hidden field `name` in `html`, after `after`.
fn hidden(html: &str, after: &str, name: &str) -> String {
    let start = html.find(after).unwrap_or_else(|| panic!("{after} not in {html}"));
    let needle = format!("name=\"{name}\" value=\"");
    let at = html[start..].find(&needle).unwrap_or_else(|| panic!("{name} not after {after}")) + start + needle.len();
    html[at..].chars().take_while(|c| *c != '"').collect()
}

fn patient_page(taj: &str) -> String {
    format!("/practice/patient?taj={taj}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clinics_set_up_the_service_and_practitioners_work_at_the_desk() {
    let service = Node::start_with(Options {
        role: Some("clinical".into()),
        ..Options::default()
    })
    .await;
    let node = Node::sqlite().await;
    let mut service = service;
    node.create_tenant(CLINIC_A, Plan::mb(10, 100)).await;
    node.create_tenant(CLINIC_B, Plan::mb(10, 100)).await;
    let kovacs = register(&service, "506097", "001044299", "dr.kovacs", "58012").await;
    let nagy = register(&service, "111111", "002000001", "dr.nagy", "41234").await;

    // Settings: not set up yet; each refusal names its cause and stores nothing.
    let admin_a = admin_client(&node, CLINIC_A, "it").await;
    let page = admin_a.get("/admin/clinical-service").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("id=\"clinical-current\""), "{}", page.text());
    let a_list = "Dr. Kovács Anna; 58012; dr.kovacs";
    let wrong_code = set_up(&admin_a, &service, "506097", "001044299", a_list, &kovacs.p12, "not the code").await;
    assert_eq!(wrong_code.status, 400, "{}", wrong_code.text());
    assert!(wrong_code.text().contains("f-code-error"), "{}", wrong_code.text());
    let foreign = set_up(&admin_a, &service, "506097", "001044299", a_list, &nagy.p12, &nagy.code).await;
    assert_eq!(foreign.status, 400, "{}", foreign.text());
    assert!(foreign.text().contains("111111"), "{}", foreign.text());
    let (expired_p12, expired_code) = certificate(&service, "506097", ending_in(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let expired = set_up(&admin_a, &service, "506097", "001044299", a_list, &expired_p12, &expired_code).await;
    assert_eq!(expired.status, 400, "{}", expired.text());
    assert!(expired.text().contains("expired"), "{}", expired.text());
    let bad_rows = set_up(&admin_a, &service, "5060", "12", "Dr. X; 1; x", &kovacs.p12, &kovacs.code).await;
    assert_eq!(bad_rows.status, 400);
    for field in ["f-institution-error", "f-units-error", "f-practitioners-error"] {
        assert!(bad_rows.text().contains(field), "{field}: {}", bad_rows.text());
    }
    let tenant_a = medgate_ids::TenantId::parse(CLINIC_A).unwrap();
    assert!(node.metadata.clinical_connection(&tenant_a).await.unwrap().is_none());

    let saved = set_up(&admin_a, &service, "506097", "001044299", a_list, &kovacs.p12, &kovacs.code).await;
    assert_eq!(saved.status, 303, "{}", saved.text());
    let shown = admin_a.get("/admin/clinical-service?done=saved").await.text();
    assert!(shown.contains("506097 · Rendelő 506097") && shown.contains("dr.kovacs"), "{shown}");
    let stored = node.metadata.clinical_connection(&tenant_a).await.unwrap().unwrap();
    assert!(stored.keystore_pem.starts_with("-----BEGIN PKCS12-----"));
    assert!(!stored.keystore_pem.contains(&kovacs.code));
    assert_audited(&audited(&node, CLINIC_A).await, "admin:it", "clinical.settings");
    let admin_b = admin_client(&node, CLINIC_B, "it").await;
    let saved = set_up(&admin_b, &service, "111111", "002000001", "Dr. Nagy Béla; 41234; dr.nagy", &nagy.p12, &nagy.code).await;
    assert_eq!(saved.status, 303, "{}", saved.text());

    // The desk: Hungarian by default, English on request.
    let a = WebClient::new(&node);
    let signin = a.get("/practice").await.text();
    assert!(signin.contains("<html lang=\"hu\">") && signin.contains("Bejelentkezés"), "{signin}");
    let english = a.get("/practice?lang=en").await.text();
    assert!(english.contains("<html lang=\"en\">") && english.contains("Sign in"), "{english}");
    // A wrong code, or a user the account does not list: the same refusal.
    let token = a.token("/practice").await;
    let wrong = a
        .post("/practice", &[("csrf", &token), ("tenant", CLINIC_A), ("user_name", "dr.kovacs"), ("password", PASSWORD), ("code", "000000")])
        .await;
    assert_eq!(wrong.status, 401, "{}", wrong.text());
    let stranger = sign_in(&a, CLINIC_A, "dr.nagy", &nagy.totp).await;
    assert_eq!(stranger.status, 401, "{}", stranger.text());
    assert_eq!(alert(&wrong.text()), alert(&stranger.text()));
    assert!(alert(&wrong.text()).contains("Sign-in failed"), "{}", wrong.text());
    let signed_in = sign_in(&a, CLINIC_A, "dr.kovacs", &kovacs.totp).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(signed_in.location().as_deref(), Some("/practice/patient"));
    assert_audited(&audited(&node, CLINIC_A).await, "practitioner:dr.kovacs@506097", "practice.signin");

    // A patient by TAJ: a wrong one is named; an encounter opened and closed with its PDF.
    let bad = a.get("/practice/patient?taj=123456789").await;
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("f-taj-error"), "{}", bad.text());
    let page = a.get(&patient_page(PATIENT)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let token = form_token(&page.text()).unwrap();
    let opened = a
        .post("/practice/patient/encounter", &[("csrf", &token), ("taj", PATIENT), ("unit", "001044299"), ("care_type", "járóbeteg-ellátás")])
        .await;
    assert_eq!(opened.status, 303, "{}", opened.text());
    let open_page = a.get(&opened.location().unwrap()).await.text();
    assert!(open_page.contains("id=\"close-form\""), "{open_page}");
    let encounter = hidden(&open_page, "id=\"close-form\"", "encounter");
    let submission = hidden(&open_page, "id=\"close-form\"", "submission");
    let close = [
        ("csrf", token.as_str()),
        ("taj", PATIENT),
        ("encounter", encounter.as_str()),
        ("submission", submission.as_str()),
        ("title", "Ambuláns lap"),
        ("summary", "Panasz: fogfájás (bal alsó 6-os).\nKezelés: gyökérkezelés megkezdve; kontroll egy hét múlva."),
    ];
    let closed = a.post("/practice/patient/encounter/close", &close).await;
    assert_eq!(closed.status, 303, "{}", closed.text());
    // The same form sent again: the document is not stored twice; closing again is refused.
    let again = a.post("/practice/patient/encounter/close", &close).await;
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.text().contains("encounter_not_open"), "{}", again.text());

    // The other institution's practitioner finds the document and opens it.
    let b = WebClient::new(&node);
    let b_signed_in = sign_in(&b, CLINIC_B, "dr.nagy", &nagy.totp).await;
    assert_eq!(b_signed_in.status, 303, "{}", b_signed_in.text());
    let b_page = b.get(&patient_page(PATIENT)).await.text();
    assert_eq!(b_page.matches("Ambuláns lap</td>").count(), 1, "{b_page}");
    assert!(b_page.contains("506097"), "{b_page}");
    let document = hidden(&b_page, "action=\"/practice/patient/document\"", "id");
    let b_token = form_token(&b_page).unwrap();
    let content = b
        .post("/practice/patient/document", &[("csrf", &b_token), ("taj", PATIENT), ("id", &document)])
        .await;
    assert_eq!(content.status, 200, "{}", content.text());
    assert_eq!(content.header("content-type").as_deref(), Some("application/pdf"));
    assert!(content.body.starts_with(b"%PDF-"));

    // The profile: added by one, modified (a new version), deleted by the other refused.
    let added = a
        .post("/practice/patient/profile", &[("csrf", &token), ("taj", PATIENT), ("kind", "Condition"), ("text", "Diabetes mellitus")])
        .await;
    assert_eq!(added.status, 303, "{}", added.text());
    let a_page = a.get(&patient_page(PATIENT)).await.text();
    let entry = hidden(&a_page, "action=\"/practice/patient/profile/update\"", "id");
    let updated = a
        .post(
            "/practice/patient/profile/update",
            &[("csrf", &token), ("taj", PATIENT), ("kind", "Condition"), ("id", &entry), ("version", "1"), ("text", "Diabetes mellitus, 2-es típus")],
        )
        .await;
    assert_eq!(updated.status, 303, "{}", updated.text());
    let history = a
        .get(&format!("/practice/patient/profile/history?taj={PATIENT}&kind=Condition&id={entry}"))
        .await
        .text();
    assert!(history.contains("Diabetes mellitus, 2-es típus") && history.contains(">Diabetes mellitus<"), "{history}");
    let b_page = b.get(&patient_page(PATIENT)).await.text();
    assert!(b_page.contains("Diabetes mellitus, 2-es típus"), "{b_page}");
    assert!(!b_page.contains("action=\"/practice/patient/profile/delete\""), "no delete for another's entry");
    let refused = b
        .post("/practice/patient/profile/delete", &[("csrf", &b_token), ("taj", PATIENT), ("kind", "Condition"), ("id", &entry)])
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(refused.text().contains("not_owner"), "{}", refused.text());

    // A referral issued by one, used by the other once.
    let issued = a
        .post("/practice/patient/referral", &[("csrf", &token), ("taj", PATIENT), ("specialty", "szájsebészet"), ("note", "")])
        .await;
    assert_eq!(issued.status, 303, "{}", issued.text());
    let b_page = b.get(&patient_page(PATIENT)).await.text();
    let referral = hidden(&b_page, "action=\"/practice/referrals/use\"", "id");
    let found = b.get(&format!("/practice/referrals?id={referral}")).await.text();
    assert!(found.contains("szájsebészet"), "{found}");
    let used = b.post("/practice/referrals/use", &[("csrf", &b_token), ("id", &referral)]).await;
    assert_eq!(used.status, 303, "{}", used.text());
    let twice = b.post("/practice/referrals/use", &[("csrf", &b_token), ("id", &referral)]).await;
    assert_eq!(twice.status, 409, "{}", twice.text());
    assert!(twice.text().contains("referral_consumed"), "{}", twice.text());

    // The patient restricts their documents: withheld, then read by breaking the glass.
    let caller = PatientCaller {
        patient: Taj::parse(PATIENT).unwrap(),
        origin: AuditOrigin::Cli,
    };
    patient::restrict(&service.metadata, &caller, &RestrictionScope::All, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let withheld = b.get(&patient_page(PATIENT)).await.text();
    assert!(withheld.contains("id=\"break-glass-form\"") && !withheld.contains("Ambuláns lap</td>"), "{withheld}");
    let glass = b
        .post("/practice/patient/documents", &[("csrf", &b_token), ("taj", PATIENT), ("reason", "eszméletlen beteg, sürgős ellátás")])
        .await;
    assert_eq!(glass.status, 200, "{}", glass.text());
    assert!(glass.text().contains("Ambuláns lap</td>"), "{}", glass.text());
    assert_audited(&audited(&node, CLINIC_B).await, "practitioner:dr.nagy@111111", "practice.patient.break-glass");

    // The service down: said on the page; nothing else changes.
    service.stop().await;
    let down = b.get(&patient_page(PATIENT)).await;
    assert_eq!(down.status, 502, "{}", down.text());
    assert!(down.text().contains("cannot be reached"), "{}", down.text());
    service.restart().await;

    // The service ends the session: back to sign-in.
    let desk = node.metadata.desk_session(&session_hash(&signed_in), OffsetDateTime::now_utc()).await.unwrap().unwrap();
    medgate_clinical::auth::sign_out(&service.metadata, &desk.service_token).await.unwrap();
    let ended = a.get(&patient_page(PATIENT)).await;
    assert_eq!(ended.status, 303, "{}", ended.text());
    assert_eq!(ended.location().as_deref(), Some("/practice?notice=expired"));
    let notice = a.get("/practice?notice=expired&lang=hu").await.text();
    assert!(notice.contains("A munkamenet lejárt"), "{notice}");

    // After its 7 hours the node does not use a kept session (the clock moved on here by
    // writing the session's end into the past).
    let b_hash = session_hash(&b_signed_in);
    let kept = node.metadata.desk_session(&b_hash, OffsetDateTime::now_utc()).await.unwrap().unwrap();
    node.metadata
        .save_desk_session(
            &b_hash,
            &DeskSession {
                expires_at: OffsetDateTime::now_utc() - time::Duration::seconds(1),
                ..kept
            },
        )
        .await
        .unwrap();
    let expired = b.get(&patient_page(PATIENT)).await;
    assert_eq!(expired.status, 303, "{}", expired.text());
    assert_eq!(expired.location().as_deref(), Some("/practice?notice=expired"));
}

/// The hash the node keeps of the session cookie a sign-in answer set.
fn session_hash(signed_in: &Page) -> Sha256Digest {
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-medgate_session="))
        .unwrap();
    let token = cookie["__Host-medgate_session=".len()..].split(';').next().unwrap().to_owned();
    Sha256Digest::of(token.as_bytes())
}

#[test]
fn the_settings_page_is_a_tab_of_the_administrators_desk() {
    use medgate_web::desk::admin::ADMIN;
    assert!(ADMIN.tabs.iter().any(|t| t.href == medgate_server::clinical::pages::settings::PAGE));
}

//! The patient portal end to end: the real `medgate serve`, consents sent with the real
//! `medgate client consent`, and the pages driven with headless Chromium (a patient
//! activating, signing in, listing, opening a document and reading the access log; a
//! screenshot of each page goes to `target/screenshots/`). Forged requests a browser would
//! never send (wrong CSRF tokens, foreign origins, guessing, forty sign-ins at once) are
//! tested in process in `crates/medgate-server/tests/portal.rs`.
//!
//! The helpers here (documents for a patient, consents, [`Portal`]) are shared with
//! `consents.rs`.

use std::path::{Path, PathBuf};

use medgate_test_peers::require_command;
use serde_json::Value;

use super::harness::{Backend, Clinic, Node};
use crate::browser::Browser;
use crate::support::run_peer;

pub const PESEL_A: &str = "44051401359";
pub const PESEL_B: &str = "02070803628";
pub const NAME_A: (&str, &str) = ("Zofia", "Testowa-Wiśniewska");
pub const NAME_B: (&str, &str) = ("Marek", "Próbny");
/// The root of the document ids the fixtures get.
pub const DOCUMENT_ROOT: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1";
pub const PASSWORD: &str = "Zażółć-gęślą-jaźń 2025";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml")
}

/// Writes a CDA document of the patient (the hand-made fixture with another id, PESEL, name
/// and title), uploads it and returns its id.
pub fn put_document(
    clinic: &Clinic,
    extension: &str,
    pesel: &str,
    (given, family): (&str, &str),
    title: &str,
) -> String {
    let text = std::fs::read_to_string(fixture())
        .expect("fixture")
        .replace(
            "extension=\"MG-0001\"",
            &format!("extension=\"{extension}\""),
        )
        .replace(
            "extension=\"MG-SET-0001\"",
            &format!("extension=\"{extension}-SET\""),
        )
        .replace(
            "extension=\"44051401359\"",
            &format!("extension=\"{pesel}\""),
        )
        .replace("<given>Zofia</given>", &format!("<given>{given}</given>"))
        .replace(
            "<family>Testowa-Wiśniewska</family>",
            &format!("<family>{family}</family>"),
        )
        .replace(
            "<title>Karta informacyjna z leczenia szpitalnego</title>",
            &format!("<title>{title}</title>"),
        );
    let file = clinic.dir.join(format!("{extension}.xml"));
    std::fs::write(&file, text).expect("document written");
    clinic.run_ok(&["put", &file.to_string_lossy()]);
    format!("{DOCUMENT_ROOT}^{extension}")
}

/// A date `days` from today (UTC), as `YYYY-MM-DD`.
pub fn day(days: i64) -> String {
    let date = (time::OffsetDateTime::now_utc() + time::Duration::days(days)).date();
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `client consent create`; returns the new consent's id.
pub fn create_consent(
    clinic: &Clinic,
    patient: &str,
    from: &str,
    to: &str,
    recipient: &str,
    documents: &[&str],
) -> String {
    let mut args = vec![
        "consent",
        "create",
        "--json",
        "--patient",
        patient,
        "--recipient",
        recipient,
        "--purpose",
        "konsultacja",
        "--from",
        from,
        "--to",
        to,
    ];
    args.extend_from_slice(documents);
    let answer = json(&clinic.run_ok(&args));
    assert_eq!(answer["consent"]["status"], "draft", "{answer}");
    answer["consent"]["id"].as_str().expect("id").to_owned()
}

/// `client consent send --json`; returns the answer.
pub fn send_consent(clinic: &Clinic, id: &str) -> Value {
    json(&clinic.run_ok(&["consent", "send", "--json", id]))
}

/// `client consent revoke`.
pub fn revoke_consent(clinic: &Clinic, id: &str) {
    let answer = json(&clinic.run_ok(&["consent", "revoke", "--json", id]));
    assert_eq!(answer["consent"]["status"], "revoked", "{answer}");
}

/// The activation code of a send answer (the account must be new or not activated).
pub fn code(answer: &Value) -> String {
    answer["patient_account"]["activation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no activation code in {answer}"))
        .to_owned()
}

/// What a request to the portal answered.
pub struct Reply {
    pub status: u16,
    /// Raw header block, names lower-cased.
    pub headers: String,
    pub body: String,
}

impl Reply {
    pub fn location(&self) -> Option<String> {
        self.header("location")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    }
}

/// A browser-like HTTP client for the portal: curl with its own cookie jar. It sends no
/// client certificate, like a patient's browser.
pub struct Portal {
    curl: PathBuf,
    base: String,
    ca: String,
    dir: PathBuf,
    jar: PathBuf,
}

impl Portal {
    /// A client with an empty cookie jar named `name`; `None` when curl is missing and
    /// missing peers are skipped.
    pub fn new(node: &Node, name: &str) -> Option<Portal> {
        let curl = require_command("curl", "apt-get install curl")?;
        let dir = node.dir.path().join(format!("portal-{name}"));
        std::fs::create_dir_all(&dir).expect("portal client folder");
        Some(Portal {
            curl,
            base: node.url(),
            ca: node.ca().to_string_lossy().into_owned(),
            jar: dir.join("cookies"),
            dir,
        })
    }

    fn request(&self, path: &str, extra: &[String]) -> Reply {
        let headers = self.dir.join("headers");
        let body = self.dir.join("body");
        let mut args: Vec<String> = [
            "-sS",
            "--cacert",
            &self.ca,
            "-b",
            &self.jar.to_string_lossy(),
            "-c",
            &self.jar.to_string_lossy(),
            "-D",
            &headers.to_string_lossy(),
            "-o",
            &body.to_string_lossy(),
            "-w",
            "%{http_code}",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().cloned());
        args.push(format!("{}{path}", self.base));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_peer(&self.curl, &refs);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "curl {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Reply {
            status: stdout.trim().parse().expect("status code"),
            headers: std::fs::read_to_string(&headers)
                .expect("headers")
                .to_lowercase(),
            body: std::fs::read_to_string(&body).expect("body"),
        }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request(path, &[])
    }

    /// POSTs a form; `headers` are extra request headers such as `Origin: …`.
    pub fn post(&self, path: &str, fields: &[(&str, &str)], headers: &[&str]) -> Reply {
        let mut extra = Vec::new();
        for header in headers {
            extra.push("-H".to_owned());
            extra.push((*header).to_owned());
        }
        for (name, value) in fields {
            extra.push("--data-urlencode".to_owned());
            extra.push(format!("{name}={value}"));
        }
        if fields.is_empty() {
            extra.push("--data".to_owned());
            extra.push(String::new());
        }
        self.request(path, &extra)
    }

    /// The CSRF token of the form on the page at `path`.
    pub fn token(&self, path: &str) -> String {
        let page = self.get(path);
        form_token(&page.body).unwrap_or_else(|| panic!("no form token on {path}: {}", page.body))
    }

    pub fn activate(&self, tenant: &str, patient: &str, code: &str, password: &str) -> Reply {
        let token = self.token("/portal/activate");
        self.post(
            "/portal/activate",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("patient", patient),
                ("code", code),
                ("password", password),
                ("password2", password),
            ],
            &[],
        )
    }

    pub fn sign_in(&self, tenant: &str, patient: &str, password: &str) -> Reply {
        let token = self.token("/portal");
        self.post(
            "/portal",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("patient", patient),
                ("password", password),
            ],
            &[],
        )
    }

    /// Activates and signs in; panics unless both succeed.
    pub fn activate_and_sign_in(&self, tenant: &str, patient: &str, code: &str) {
        let activated = self.activate(tenant, patient, code, PASSWORD);
        assert_eq!(
            activated.status, 303,
            "activation failed: {}",
            activated.body
        );
        let signed = self.sign_in(tenant, patient, PASSWORD);
        assert_eq!(signed.status, 303, "sign-in failed: {}", signed.body);
        assert_eq!(signed.location().as_deref(), Some("/portal/documents"));
    }

    /// The documents page (must be signed in).
    pub fn documents(&self) -> String {
        let page = self.get("/portal/documents");
        assert_eq!(page.status, 200, "documents page: {}", page.body);
        page.body
    }
}

/// The `csrf` hidden field's value in a page.
pub fn form_token(html: &str) -> Option<String> {
    let start = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].to_owned())
}

/// A patient in a real browser: activates the account with the code from `client consent
/// send`, signs in, sees their documents with their name, opens one rendered, sees a
/// revoked consent's document disappear at once, reads the access log, switches to English,
/// and signs out. Screenshots of every page go to target/screenshots/portal-*.png.
#[test]
fn portal_in_headless_chromium() {
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let clinic = node.enroll("0000000000008030", 10, 100);
    let discharge = put_document(
        &clinic,
        "B-1",
        PESEL_A,
        NAME_A,
        "Karta informacyjna z leczenia szpitalnego",
    );
    let control = put_document(&clinic, "B-2", PESEL_A, NAME_A, "Wynik badania kontrolnego");
    let someone_else = put_document(&clinic, "B-3", PESEL_B, NAME_B, "Dokument innego pacjenta");
    let first = create_consent(
        &clinic,
        PESEL_A,
        &day(-1),
        &day(60),
        "lek. Piotr Nowak, kardiolog",
        &[&discharge],
    );
    let second = create_consent(
        &clinic,
        PESEL_A,
        &day(0),
        &day(14),
        "Szpital Miejski",
        &[&control],
    );
    let other = create_consent(
        &clinic,
        PESEL_B,
        &day(0),
        &day(14),
        "Przychodnia",
        &[&someone_else],
    );
    let code = code(&send_consent(&clinic, &first));
    let renewed = send_consent(&clinic, &second);
    assert_eq!(renewed["patient_account"]["status"], "code_renewed");
    let code = renewed["patient_account"]["activation_code"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or(code);
    send_consent(&clinic, &other);

    let Some(browser) = Browser::start() else {
        return;
    };
    let base = node.url();

    // Activation.
    browser.goto(&format!("{base}/portal/activate"));
    assert_eq!(browser.text("h1"), "Aktywacja konta");
    browser.screenshot("portal-activate");
    browser.fill("#f-tenant", "0000000000008030");
    browser.fill("#f-patient", PESEL_A);
    browser.fill("#f-code", &code);
    browser.fill("#f-password", PASSWORD);
    browser.fill("#f-password2", PASSWORD);
    browser.click("button[type=submit]");
    assert!(
        browser.url().contains("/portal?notice=activated&tenant="),
        "{}",
        browser.url()
    );
    assert!(browser
        .text("[role=status]")
        .contains("Hasło zostało ustawione"));
    browser.screenshot("portal-sign-in");

    // Sign-in and the list: exactly the patient's consented documents, with their name.
    browser.fill("#f-tenant", "0000000000008030");
    browser.fill("#f-patient", PESEL_A);
    browser.fill("#f-password", PASSWORD);
    browser.click("button[type=submit]");
    assert!(
        browser.url().ends_with("/portal/documents"),
        "{}",
        browser.url()
    );
    assert_eq!(browser.text("h1"), "Dokumenty");
    let list = browser.text("main");
    assert!(list.contains("Zofia Testowa-Wiśniewska"), "{list}");
    assert!(list.contains("PESEL 44051401359"), "{list}");
    assert!(
        list.contains("Karta informacyjna z leczenia szpitalnego"),
        "{list}"
    );
    assert!(list.contains("Wynik badania kontrolnego"), "{list}");
    assert!(
        list.contains("lek. Piotr Nowak, kardiolog") && list.contains("Szpital Miejski"),
        "{list}"
    );
    assert!(
        list.contains(&format!("{} – {}", day(-1), day(60))),
        "{list}"
    );
    assert!(
        !list.contains("Dokument innego pacjenta") && !list.contains("Próbny"),
        "{list}"
    );
    browser.screenshot("portal-documents");

    // One document, rendered.
    browser.click_link("Karta informacyjna z leczenia szpitalnego");
    assert!(
        browser.url().contains("/portal/documents/"),
        "{}",
        browser.url()
    );
    let rendered = browser.text("body");
    assert!(
        rendered.contains("Karta informacyjna z leczenia szpitalnego"),
        "{rendered}"
    );
    assert!(
        rendered.contains("Zofia") && rendered.contains("Testowa-Wiśniewska"),
        "{rendered}"
    );
    assert!(rendered.contains("44051401359"), "{rendered}");
    browser.screenshot("portal-document");
    browser.click_link("← Wróć do dokumentów");
    assert!(browser.url().ends_with("/portal/documents"));

    // Revoked: gone from the list at once, and its address answers 404.
    revoke_consent(&clinic, &second);
    browser.goto(&format!("{base}/portal/documents"));
    let list = browser.text("main");
    assert!(!list.contains("Wynik badania kontrolnego"), "{list}");
    assert!(
        list.contains("Karta informacyjna z leczenia szpitalnego"),
        "{list}"
    );
    browser.goto(&format!(
        "{base}/portal/documents/{}",
        urlencoding::encode(&control)
    ));
    assert_eq!(browser.text("h1"), "Nie znaleziono");
    assert!(browser
        .text("[role=alert]")
        .contains("nie jest Ci teraz udostępniony"));
    browser.screenshot("portal-not-shared");
    // Another patient's document, by its address: the same page.
    browser.goto(&format!(
        "{base}/portal/documents/{}",
        urlencoding::encode(&someone_else)
    ));
    assert_eq!(browser.text("h1"), "Nie znaleziono");

    // The access log: the clinic's actions and the patient's own, with where from.
    browser.goto(&format!("{base}/portal/access-log"));
    assert_eq!(browser.text("h1"), "Dziennik dostępu");
    let log = browser.text("main");
    assert!(log.contains("otwarcie dokumentu w portalu"), "{log}");
    assert!(
        log.contains("odmowa dostępu do dokumentu w portalu"),
        "{log}"
    );
    assert!(
        log.contains("wycofanie zgody") && log.contains("wysłanie zgody"),
        "{log}"
    );
    assert!(
        log.contains("Ty (portal pacjenta)") && log.contains("127.0.0.1"),
        "{log}"
    );
    // The clinic's system by the organisation in its certificate, not the certificate's
    // subject; documents by their titles.
    assert!(
        log.contains("Przychodnia Test (system placówki)") && !log.contains("CN="),
        "the clinic is named as a patient reads it: {log}"
    );
    assert!(
        log.contains("otwarcie dokumentu w portalu: „Karta informacyjna"),
        "the document by its title: {log}"
    );
    browser.screenshot("portal-access-log");

    // English, and a phone's width.
    browser.click_link("English");
    assert_eq!(browser.text("h1"), "Access log");
    assert!(browser
        .text("main")
        .contains("document opened in the portal"));
    browser.screenshot("portal-access-log-en");
    browser.resize(390, 844);
    browser.click_link("Documents");
    assert!(browser
        .text("main")
        .contains("Karta informacyjna z leczenia szpitalnego"));
    browser.screenshot("portal-documents-phone");
    browser.resize(1280, 800);

    // Sign-out.
    browser.click("header form button");
    assert!(
        browser.url().ends_with("/portal?notice=signed-out"),
        "{}",
        browser.url()
    );
    assert!(browser.text("[role=status]").contains("You are signed out"));
    browser.goto(&format!("{base}/portal/documents"));
    assert!(
        browser.url().ends_with("/portal"),
        "signed out: {}",
        browser.url()
    );
}

//! The staff web pages end to end: the real `medgate serve`, staff logins made with the real
//! `medgate tenant admin-user` and `medgate operator user` commands, and the pages driven
//! with headless Chromium (every page walked as a person would, a screenshot of each in
//! `target/screenshots/admin-*.png` and `operator-*.png`), with curl where a browser test
//! needs a download. Requests a browser would never send (forged tokens, foreign origins,
//! other tenants' ids in every action address) are tested in process in
//! `crates/medgate-server/tests/pages/`.

mod account;
mod archive;
mod certificates;
mod claims;
mod claims_registers;
mod claims_operator;
mod clinical_operator;
mod clinical_portal;
mod consents;
mod credentials;
mod document_types;
mod operator;
mod organisation;
mod practice;
mod signin;

use std::path::PathBuf;

use medgate_test_peers::require_command;
use serde_json::Value;

use crate::browser::Browser;
use crate::repository::harness::Node;
use crate::support::{run_ok, run_peer};

/// The password every test login gets.
pub const STAFF_PASSWORD: &str = "Hasło-administratora 2025";

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `medgate tenant admin-user create TENANT --login LOGIN --json`: the answer with the code.
pub fn create_admin(node: &Node, tenant: &str, login: &str) -> Value {
    json(&node.tenant(&["admin-user", "create", tenant, "--login", login, "--json"]))
}

/// `medgate operator user <args>` on the node's store.
pub fn operator_command(node: &Node, args: &[&str]) -> String {
    let mut all: Vec<String> = vec!["operator".into(), "user".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(node.store_args());
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    run_ok(&refs)
}

/// An operator login with [`STAFF_PASSWORD`] set from a password file.
pub fn create_operator(node: &Node, login: &str) {
    let file = node.dir.path().join(format!("operator-{login}.password"));
    std::fs::write(&file, format!("{STAFF_PASSWORD}\n")).expect("password file");
    let answer = json(&operator_command(
        node,
        &[
            "create",
            "--login",
            login,
            "--password-file",
            &file.to_string_lossy(),
            "--json",
        ],
    ));
    assert_eq!(answer["state"], "active", "{answer}");
    assert!(answer["activation_code"].is_null(), "{answer}");
}

/// The activation code of a `create --json` answer.
pub fn code_of(answer: &Value) -> String {
    answer["activation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no activation code in {answer}"))
        .to_owned()
}

/// Waits (up to 15 s) until the browser's address ends with `suffix`: a click that submits a
/// form may return before the redirect that answers it has been followed.
pub fn wait_for(browser: &Browser, suffix: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let url = browser.url();
        if url.ends_with(suffix) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the browser is at {url}, expected an address ending with {suffix}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Waits (up to 15 s) until the element matching `css` holds `needle`; returns its text.
pub fn wait_text(browser: &Browser, css: &str, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if browser.exists(css) {
            let text = browser.text(css);
            if text.contains(needle) {
                return text;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {css} holding {needle:?} at {}: {}",
            browser.url(),
            browser.source()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Activates an administrator login in the browser and signs in; ends on the account panel.
pub fn activate_and_sign_in_admin(
    browser: &Browser,
    node: &Node,
    tenant: &str,
    login: &str,
    code: &str,
) {
    let base = node.url();
    browser.goto(&format!("{base}/admin/activate"));
    browser.fill("#f-tenant", tenant);
    browser.fill("#f-login", login);
    browser.fill("#f-code", code);
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.fill("#f-password2", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(browser, &format!("/admin?notice=activated&tenant={tenant}"));
    sign_in_admin(browser, node, tenant, login);
}

/// Signs an administrator in; ends on the account panel.
pub fn sign_in_admin(browser: &Browser, node: &Node, tenant: &str, login: &str) {
    browser.goto(&format!("{}/admin", node.url()));
    browser.fill("#f-tenant", tenant);
    browser.fill("#f-login", login);
    browser.fill("#f-password", STAFF_PASSWORD);
    browser.click("button[type=submit]");
    wait_for(browser, "/admin/account");
}

/// What a request answered: status, header block (names lower-cased) and the body's bytes.
pub struct Answer {
    pub status: u16,
    pub headers: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == name).then(|| value.trim().to_owned())
        })
    }
}

/// A staff member's browser as curl: its own cookie jar, no client certificate. For the
/// requests a browser would not send (forged tokens, foreign ids typed into addresses) and
/// for downloads.
pub struct StaffClient {
    curl: PathBuf,
    base: String,
    ca: String,
    dir: PathBuf,
}

impl StaffClient {
    /// `None` when curl is missing and missing peers are skipped.
    pub fn new(node: &Node, name: &str) -> Option<StaffClient> {
        let curl = require_command("curl", "apt-get install curl")?;
        let dir = node.dir.path().join(format!("staff-{name}"));
        std::fs::create_dir_all(&dir).expect("staff client folder");
        Some(StaffClient {
            curl,
            base: node.url(),
            ca: node.ca().to_string_lossy().into_owned(),
            dir,
        })
    }

    fn request(&self, path: &str, extra: &[String]) -> Answer {
        let jar = self.dir.join("cookies").to_string_lossy().into_owned();
        let headers = self.dir.join("headers");
        let body = self.dir.join("body");
        let mut args: Vec<String> = vec![
            "-sS".into(),
            "--cacert".into(),
            self.ca.clone(),
            "-b".into(),
            jar.clone(),
            "-c".into(),
            jar,
            "-D".into(),
            headers.to_string_lossy().into_owned(),
            "-o".into(),
            body.to_string_lossy().into_owned(),
            "-w".into(),
            "%{http_code}".into(),
        ];
        args.extend(extra.iter().cloned());
        args.push(format!("{}{path}", self.base));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_peer(&self.curl, &refs);
        assert!(
            output.status.success(),
            "curl {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Answer {
            status: String::from_utf8_lossy(&output.stdout)
                .trim()
                .parse()
                .expect("status code"),
            headers: std::fs::read_to_string(&headers)
                .expect("headers")
                .to_lowercase(),
            body: std::fs::read(&body).unwrap_or_default(),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request(path, &[])
    }

    /// POSTs a form with the token of the page at `token_from` (if given).
    pub fn post(&self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut extra = Vec::new();
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

    /// The `csrf` hidden field on the page at `path`.
    pub fn token(&self, path: &str) -> String {
        let page = self.get(path).text();
        crate::repository::portal::form_token(&page)
            .unwrap_or_else(|| panic!("no form token on {path}: {page}"))
    }

    /// Signs an administrator in (the login must have [`STAFF_PASSWORD`]).
    pub fn sign_in_admin(&self, tenant: &str, login: &str) {
        let token = self.token("/admin");
        let answer = self.post(
            "/admin",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("login", login),
                ("password", STAFF_PASSWORD),
            ],
        );
        assert_eq!(answer.status, 303, "sign-in: {}", answer.text());
        assert_eq!(answer.header("location").as_deref(), Some("/admin/account"));
    }

    /// Signs an operator in.
    pub fn sign_in_operator(&self, login: &str) {
        let token = self.token("/operator");
        let answer = self.post(
            "/operator",
            &[
                ("csrf", &token),
                ("login", login),
                ("password", STAFF_PASSWORD),
            ],
        );
        assert_eq!(answer.status, 303, "sign-in: {}", answer.text());
    }

    /// Activates an administrator login with its code.
    pub fn activate_admin(&self, tenant: &str, login: &str, code: &str) {
        let token = self.token("/admin/activate");
        let answer = self.post(
            "/admin/activate",
            &[
                ("csrf", &token),
                ("tenant", tenant),
                ("login", login),
                ("code", code),
                ("password", STAFF_PASSWORD),
                ("password2", STAFF_PASSWORD),
            ],
        );
        assert_eq!(answer.status, 303, "activation: {}", answer.text());
    }
}

/// An administrator login made with the CLI, activated and signed in with curl.
pub fn admin_client(node: &Node, tenant: &str, login: &str) -> Option<StaffClient> {
    let code = code_of(&create_admin(node, tenant, login));
    let client = StaffClient::new(node, &format!("{tenant}-{login}"))?;
    client.activate_admin(tenant, login, &code);
    client.sign_in_admin(tenant, login);
    Some(client)
}

/// The account's audit entries as (actor, action) pairs, newest first, after checking the
/// whole hash chain (`medgate audit verify`, `medgate audit list`).
pub fn audited(node: &Node, tenant: &str) -> Vec<(String, String)> {
    let mut verify: Vec<String> = vec!["audit".into(), "verify".into()];
    verify.extend(node.store_args());
    let refs: Vec<&str> = verify.iter().map(String::as_str).collect();
    run_ok(&refs);
    let mut list: Vec<String> = vec![
        "audit".into(),
        "list".into(),
        "--json".into(),
        "--limit".into(),
        "1000".into(),
        "--tenant".into(),
        tenant.into(),
    ];
    list.extend(node.store_args());
    let refs: Vec<&str> = list.iter().map(String::as_str).collect();
    let answer = json(&run_ok(&refs));
    answer["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap_or_default().to_owned(),
                entry["action"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Asserts that `actor` did `action` at least once at the account.
pub fn assert_audited(entries: &[(String, String)], actor: &str, action: &str) {
    assert!(
        entries.iter().any(|(a, b)| a == actor && b == action),
        "no audit entry of {actor} doing {action}: {entries:?}"
    );
}

//! `medgate demo` end to end: the real binary on an empty folder prints its block; every URL
//! in it answers; the operator, each clinic's administrator, the portals' patients, the
//! claims desk's three logins and the insurer's reviewer sign in with the printed logins and
//! passwords (curl as the browser, with its own cookie jar); the first printed command runs; Ctrl-C (SIGINT) stops it; run again on the same folder, it
//! prints the very same block and the sign-ins still work.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use medgate_test_peers::require_command;

use crate::repository::portal::form_token;
use crate::support::{medgate, run_peer};

/// The demo's process, interrupted when the test ends however it ends.
struct Demo {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Demo {
    fn start(dir: &Path, port: u16, registry_port: u16) -> Demo {
        let mut child = medgate()
            .args(["demo", "--data"])
            .arg(dir)
            .args([
                "--port",
                &port.to_string(),
                "--registry-port",
                &registry_port.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("medgate demo starts");
        let stdout: ChildStdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Demo { child, lines }
    }

    /// The printed block: every line up to the third command after `Try:`.
    fn block(&self) -> Vec<String> {
        let mut block = Vec::new();
        let mut commands = None;
        while commands != Some(3) {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| {
                    panic!("no complete block from medgate demo; so far: {block:#?}")
                });
            if line == "Try:" {
                commands = Some(0);
            } else if let Some(count) = commands.as_mut() {
                *count += 1;
            }
            block.push(line);
        }
        block
    }

    /// SIGINT, as Ctrl-C; the demo says it stopped and exits 0.
    fn interrupt(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(30)) {
            rest.push(line);
        }
        let exit = self.child.wait().expect("demo exits");
        assert!(exit.success(), "medgate demo after SIGINT: {exit}");
        assert!(
            rest.iter()
                .any(|line| line.starts_with("medgate demo stopped")),
            "{rest:#?}"
        );
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(2));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// A browser: curl with a cookie jar, trusting one CA.
struct Browser<'a> {
    curl: &'a Path,
    ca: PathBuf,
    jar: PathBuf,
}

impl Browser<'_> {
    /// Status, `Location` and body of a GET (`fields` empty) or a form POST.
    fn request(&self, url: &str, fields: &[(&str, &str)]) -> (u16, Option<String>, String) {
        let headers = self.jar.with_extension("headers");
        let body = self.jar.with_extension("body");
        let mut args: Vec<String> = vec![
            "-sS".into(),
            "--cacert".into(),
            self.ca.to_string_lossy().into_owned(),
            "-b".into(),
            self.jar.to_string_lossy().into_owned(),
            "-c".into(),
            self.jar.to_string_lossy().into_owned(),
            "-D".into(),
            headers.to_string_lossy().into_owned(),
            "-o".into(),
            body.to_string_lossy().into_owned(),
            "-w".into(),
            "%{http_code}".into(),
        ];
        for (name, value) in fields {
            args.push("--data-urlencode".into());
            args.push(format!("{name}={value}"));
        }
        args.push(url.to_owned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_peer(self.curl, &refs);
        assert!(
            output.status.success(),
            "curl {url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let status = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("status");
        let headers = std::fs::read_to_string(&headers).expect("headers");
        let location = headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("location")
                .then(|| value.trim().to_owned())
        });
        (
            status,
            location,
            std::fs::read_to_string(&body).expect("body"),
        )
    }

    /// Signs in at `desk` (its sign-in form) with `fields`, then opens the page it leads to.
    fn sign_in(&self, desk: &str, fields: &[(&str, &str)]) {
        let (status, _, page) = self.request(desk, &[]);
        assert_eq!(status, 200, "{desk}: {page}");
        let token = form_token(&page).unwrap_or_else(|| panic!("no form token on {desk}"));
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let (status, location, page) = self.request(desk, &all);
        assert_eq!(status, 303, "signing in at {desk} with {fields:?}: {page}");
        let location = location.expect("a sign-in leads somewhere");
        let origin: String = desk.split('/').take(3).collect::<Vec<_>>().join("/");
        let (mut status, mut next, mut page) = self.request(&format!("{origin}{location}"), &[]);
        // A desk's home may send a user elsewhere once (the insurer's reviewer to the
        // registers), as a browser follows.
        if status == 303 {
            let next = next.take().expect("a redirect names where");
            (status, _, page) = self.request(&format!("{origin}{next}"), &[]);
        }
        assert_eq!(status, 200, "{location} after signing in at {desk}: {page}");
        assert!(
            !page.contains("name=\"password\""),
            "{location} is a sign-in form again: {page}"
        );
    }
}

/// The words after `name` in a line of the block.
fn after<'a>(line: &'a str, name: &str) -> &'a str {
    let mut words = line.split_whitespace();
    words.find(|word| *word == name);
    words
        .next()
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

fn line<'a>(block: &'a [String], starts: &str) -> &'a str {
    block
        .iter()
        .find(|line| line.trim_start().starts_with(starts))
        .unwrap_or_else(|| panic!("no line starting {starts:?} in {block:#?}"))
}

/// Every URL of the block answers, and each desk signs its user in.
fn check_block(block: &[String], dir: &Path, curl: &Path, round: &str) {
    let text = block.join("\n");
    assert!(text.contains("DEMO ONLY"), "{text}");
    let repository_ca = dir.join("repository/ca/ca.pem");
    let registry_ca = dir.join("registry/ca/ca.pem");
    let clinical_ca = dir.join("clinical/ca/ca.pem");
    let claims_ca = dir.join("claims/ca/ca.pem");
    let browser = |name: &str, ca: &Path| Browser {
        curl,
        ca: ca.to_path_buf(),
        jar: dir.join(format!("test-{round}-{name}.jar")),
    };
    let urls: Vec<&str> = text
        .split_whitespace()
        .filter(|w| w.starts_with("https://"))
        .collect();
    assert!(urls.len() >= 6, "{text}");
    for url in &urls {
        let named = |what: &str| text.lines().any(|l| l.contains(what) && l.contains(url));
        let ca = if url.contains("/api/v1/openapi.json") && named("national registry") {
            &registry_ca
        } else if named("clinical service")
            || named("clinical operator")
            || named("clinical portal")
        {
            &clinical_ca
        } else if named("claims") {
            &claims_ca
        } else {
            &repository_ca
        };
        let (status, _, body) = browser("url", ca).request(url, &[]);
        assert_eq!(status, 200, "{url}: {body}");
    }

    let operator = line(block, "operator desk");
    browser("operator", &repository_ca).sign_in(
        after(operator, "desk"),
        &[
            ("login", after(operator, "login")),
            ("password", after(operator, "password")),
        ],
    );
    for clinic in ["clinic A admin", "clinic B admin"] {
        let admin = line(block, clinic);
        browser(&clinic.replace(' ', "-"), &repository_ca).sign_in(
            after(admin, "admin"),
            &[
                ("tenant", after(admin, "account")),
                ("login", after(admin, "login")),
                ("password", after(admin, "password")),
            ],
        );
    }
    let operator = line(block, "clinical operator");
    browser("clinical-operator", &clinical_ca).sign_in(
        after(operator, "operator"),
        &[
            ("login", after(operator, "login")),
            ("password", after(operator, "password")),
        ],
    );
    // The practitioner signs in at the desk of clinic A's account, which the demo connected
    // to the clinical record service: the service checks password and TOTP code (a code is
    // used once, so only in the first round).
    if round == "first" {
        let desk = line(block, "practitioners' desk");
        let uri = after(line(block, "practitioner's TOTP"), "TOTP");
        let secret = uri
            .split("secret=")
            .nth(1)
            .and_then(|rest| rest.split('&').next())
            .unwrap_or_else(|| panic!("no secret in {uri}"));
        let code = medgate_clinical::auth::totp_code(secret, time::OffsetDateTime::now_utc())
            .expect("a TOTP code");
        browser("practitioner", &repository_ca).sign_in(
            after(desk, "desk"),
            &[
                ("tenant", after(desk, "account")),
                ("user_name", after(desk, "user")),
                ("password", after(desk, "password")),
                ("code", &code),
            ],
        );
    }
    let patient = line(block, "clinical portal");
    browser("clinical-patient", &clinical_ca).sign_in(
        after(patient, "portal"),
        &[
            ("taj", after(patient, "TAJ")),
            ("password", after(patient, "password")),
        ],
    );
    // The claims desk's three MO logins and the insurer's reviewer: their links were opened
    // and their default passwords changed by the demo, so each signs in straight to the desk.
    for (label, word) in [
        ("claims desk 1", "1"),
        ("claims desk 2", "2"),
        ("claims desk 3", "3"),
        ("claims reviewer", "reviewer"),
    ] {
        let desk = line(block, label);
        browser(&format!("claims-{word}"), &claims_ca).sign_in(
            after(desk, word),
            &[
                ("login", after(desk, "login")),
                ("password", after(desk, "password")),
            ],
        );
    }
    let patient = line(block, "patient portal");
    browser("patient", &repository_ca).sign_in(
        after(patient, "portal"),
        &[
            ("tenant", after(patient, "clinic")),
            ("patient", after(patient, "PESEL")),
            ("password", after(patient, "password")),
        ],
    );

    // The first command to try, as printed (it has no quoted words).
    let position = block.iter().position(|l| l == "Try:").expect("Try:");
    let command: Vec<&str> = block[position + 1].split_whitespace().collect();
    let output = Command::new(command[0])
        .args(&command[1..])
        .output()
        .expect("command runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}: {stdout}{}",
        block[position + 1],
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("^MG-0001") && stdout.contains("documents 1-3 of 3"),
        "{stdout}"
    );
}

#[test]
fn demo_prints_its_desks_signs_everyone_in_and_comes_back_the_same() {
    let Some(curl) = require_command("curl", "apt-get install curl") else {
        return;
    };
    let work = crate::support::temp_dir();
    let dir = work.path().join("demo");
    let (port, registry_port) = (free_port(), free_port());

    let demo = Demo::start(&dir, port, registry_port);
    let first = demo.block();
    check_block(&first, &dir, &curl, "first");
    demo.interrupt();

    let again = Demo::start(&dir, port, registry_port);
    let second = again.block();
    assert_eq!(first, second, "the second run printed another block");
    check_block(&second, &dir, &curl, "second");
    again.interrupt();
}

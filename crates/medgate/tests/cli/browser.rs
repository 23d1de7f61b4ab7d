//! A real browser for the web page tests: headless Chromium driven over WebDriver by
//! chromedriver (Debian's `chromium` and `chromium-driver`, which `scripts/test` installs),
//! through fantoccini. Each [`Browser`] has its own chromedriver on a free loopback port and
//! its own Chromium profile, so tests run in parallel; both end when it is dropped.
//!
//! The server's certificate comes from the node's own CA, so the session accepts it
//! (`acceptInsecureCerts`); nothing else about TLS is relaxed. Without Chromium the tests
//! that need it fail with how to install it, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, are
//! skipped with a loud SKIPPED line (the one rule of `medgate_test_peers`).
//!
//! The methods are synchronous (the test suite is) and panic with the page's address on any
//! WebDriver failure, so a failing test says where it was.
#![allow(dead_code)]

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use medgate_test_peers::require_any_command;
use serde_json::{json, Value};

/// Where screenshots go: `target/screenshots/` of the workspace.
pub fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// How to get the browser: Debian's packages, which `scripts/test` installs.
const BROWSER_INSTALL: &str = "apt-get install -y chromium chromium-driver";

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A headless Chromium session.
pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session at 1280×800. Without Chromium or
    /// chromedriver, the one missing-peer rule: the test fails with how to install them, or,
    /// with `MEDGATE_SKIP_MISSING_PEERS=1`, gets `None` after a loud SKIPPED line.
    pub fn start() -> Option<Browser> {
        let driver_program = require_any_command(
            "chromedriver",
            &["/usr/bin/chromedriver", "chromedriver"],
            BROWSER_INSTALL,
        )?;
        let chromium = require_any_command(
            "Chromium",
            &[
                "/usr/bin/chromium",
                "chromium",
                "chromium-browser",
                "google-chrome",
            ],
            BROWSER_INSTALL,
        )?;
        let port = free_port();
        let driver = Command::new(&driver_program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("browser profile folder");
        let capabilities = json!({
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                // Pages choose their language from Accept-Language first; tests expect Polish.
                "prefs": { "intl.accept_languages": "pl-PL,pl" },
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--lang=pl-PL",
                    "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = runtime
            .block_on(
                ClientBuilder::new(connector)
                    .capabilities(capabilities)
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .unwrap_or_else(|e| panic!("a Chromium session through chromedriver: {e}"));
        Some(Browser {
            runtime,
            client: Some(client),
            driver,
            _profile: profile,
        })
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("browser session open")
    }

    /// Where the browser is, for failure messages.
    pub fn url(&self) -> String {
        self.runtime
            .block_on(self.client().current_url())
            .map(|url| url.to_string())
            .unwrap_or_else(|e| format!("<unknown: {e}>"))
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// Types `text` into the element matching `css` (after clearing it).
    pub fn fill(&self, css: &str, text: &str) {
        let at = self.url();
        self.runtime
            .block_on(async {
                let element = self.client().find(Locator::Css(css)).await?;
                element.clear().await?;
                element.send_keys(text).await
            })
            .unwrap_or_else(|e| panic!("filling {css} on {at}: {e}"));
    }

    /// Chooses `path` in the file input matching `css`.
    pub fn choose_file(&self, css: &str, path: &std::path::Path) {
        let at = self.url();
        let path = path.to_string_lossy().into_owned();
        self.runtime
            .block_on(async {
                let element = self.client().find(Locator::Css(css)).await?;
                element.send_keys(&path).await
            })
            .unwrap_or_else(|e| panic!("choosing {path} in {css} on {at}: {e}"));
    }

    /// Clicks the element matching `css`. A link or a submit button navigates (these pages
    /// have no scripts), so the click waits until the old page is gone; the commands after
    /// it then wait for the new page to load. Other elements (a checkbox, a label) are only
    /// clicked.
    pub fn click(&self, css: &str) {
        self.click_located(Locator::Css(css), css);
    }

    /// Clicks the link with exactly this text and waits for the page it opens.
    pub fn click_link(&self, text: &str) {
        self.click_located(Locator::LinkText(text), &format!("link {text:?}"));
    }

    fn click_located(&self, locator: Locator<'_>, what: &str) {
        let at = self.url();
        self.runtime
            .block_on(async {
                let element = self.client().find(locator).await?;
                let tag = element.tag_name().await?.to_ascii_lowercase();
                let kind = element
                    .attr("type")
                    .await?
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let navigates = tag == "a"
                    || (tag == "button" && kind != "button" && kind != "reset")
                    || (tag == "input" && (kind == "submit" || kind == "image"));
                let old_page = self.client().find(Locator::Css("html")).await?;
                element.click().await?;
                if navigates {
                    // The click returns before the navigation has begun: wait until the
                    // old document's root is stale.
                    let deadline = Instant::now() + Duration::from_secs(30);
                    while old_page.tag_name().await.is_ok() {
                        if Instant::now() > deadline {
                            panic!("clicking {what} on {at}: no new page after 30 s");
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                Ok::<(), fantoccini::error::CmdError>(())
            })
            .unwrap_or_else(|e| panic!("clicking {what} on {at}: {e}"));
    }

    /// The visible text of the element matching `css`. A page that replaces itself (the
    /// package page refreshes while its control runs) can swap the document between finding
    /// the element and reading it, or be between two documents when it is looked for: then
    /// it is looked for again (for up to 2 s).
    pub fn text(&self, css: &str) -> String {
        let at = self.url();
        self.runtime
            .block_on(async {
                let mut attempts = 0;
                loop {
                    let read = async {
                        let element = self.client().find(Locator::Css(css)).await?;
                        element.text().await
                    }
                    .await;
                    match read {
                        Err(error)
                            if attempts < 20
                                && (error
                                    .to_string()
                                    .contains("does not belong to the document")
                                    || error.to_string().contains("stale element")
                                    || error.to_string().contains("no such element")) =>
                        {
                            attempts += 1;
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        other => break other,
                    }
                }
            })
            .unwrap_or_else(|e| panic!("reading {css} on {at}: {e}"))
    }

    /// True when an element matches `css`.
    pub fn exists(&self, css: &str) -> bool {
        self.runtime
            .block_on(self.client().find(Locator::Css(css)))
            .is_ok()
    }

    /// The page's HTML as the browser holds it.
    pub fn source(&self) -> String {
        self.runtime
            .block_on(self.client().source())
            .unwrap_or_else(|e| panic!("reading the page source: {e}"))
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.runtime
            .block_on(self.client().title())
            .unwrap_or_else(|e| panic!("reading the page title: {e}"))
    }

    /// Saves a PNG of the window as `target/screenshots/<name>.png`; returns its path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        assert!(
            png.starts_with(b"\x89PNG"),
            "screenshot {name} is not a PNG"
        );
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("screenshot written");
        path
    }

    /// Resizes the window (e.g. 390×844 for a phone).
    pub fn resize(&self, width: u32, height: u32) {
        self.runtime
            .block_on(self.client().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("resizing the window: {e}"));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

//! The allowed arrows of ARCHITECTURE.md, checked on the source: a module folder of the
//! server never imports another module folder; no domain crate depends on axum (or any HTTP
//! server crate); the binary uses the server's host (config, startup) but no module's
//! internals.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// The server's module folders.
const MODULES: &[&str] = &["claims", "clinical", "portal", "registry", "repository", "staff"];

/// Crates that hold a domain (or a library below it) and must know nothing of HTTP serving.
const DOMAIN_CRATES: &[&str] = &[
    "medgate-ids",
    "medgate-pki",
    "medgate-cda",
    "medgate-storage",
    "medgate-httpsig",
    "medgate-repository",
    "medgate-clinical",
    "medgate-claims",
];

/// Crates that serve HTTP; a domain crate depending on one of them knows the web.
const HTTP_SERVER_CRATES: &[&str] = &["axum", "hyper-util", "tower", "tower-http", "medgate-web", "medgate-server"];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// Lines of `source` (comments removed) that name `crate::<module>`.
fn uses_of(source: &str, module: &str) -> Vec<String> {
    let needle = format!("crate::{module}");
    source
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .filter(|code| {
            code.match_indices(&needle).any(|(at, _)| {
                let after = code[at + needle.len()..].chars().next();
                let before = code[..at].chars().last();
                !matches!(after, Some(c) if c.is_alphanumeric() || c == '_')
                    && !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
            })
        })
        .map(|code| code.trim().to_owned())
        .collect()
}

/// What `from`'s files import of other module folders (also through `super::super`, which
/// would climb out of a folder).
fn crossings(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for from in MODULES {
        let mut files = Vec::new();
        rust_files(&src.join(from), &mut files);
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap();
            for to in MODULES.iter().filter(|to| *to != from) {
                for line in uses_of(&source, to) {
                    found.push(format!("{} imports {to}: {line}", file.display()));
                }
            }
            // `super::` as many times as the file is deep reaches the crate root: out of
            // the module folder.
            let relative = file.strip_prefix(src).unwrap();
            let depth = relative.components().count() - usize::from(file.ends_with("mod.rs"));
            let climb = "super::".repeat(depth);
            // (`use super::*;` is how an inline test module sees its file.)
            let code = |line: &&str| line.trim() != "use super::*;";
            if source.lines().filter(code).any(|line| line.split("//").next().unwrap_or("").contains(&climb)) {
                found.push(format!("{} climbs out of {from} with {climb}", file.display()));
            }
        }
    }
    found
}

#[test]
fn no_module_folder_imports_another() {
    let src = crates_dir().join("medgate-server/src");
    let found = crossings(&src);
    assert!(
        found.is_empty(),
        "module folders must not import each other (shared machinery goes to medgate-web, \
         shared domain to a domain crate):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_a_crossing() {
    // The check itself: a module file naming another module is found, a name that merely
    // starts the same way or sits in a comment is not.
    assert_eq!(uses_of("use crate::staff::Desk;", "staff").len(), 1);
    assert_eq!(uses_of("let x = crate::repository::api::x();", "repository").len(), 1);
    assert!(uses_of("use crate::staffing::x;", "staff").is_empty());
    assert!(uses_of("// see crate::staff", "staff").is_empty());
    let dir = tempfile::tempdir().unwrap();
    for module in MODULES {
        std::fs::create_dir_all(dir.path().join(module)).unwrap();
        std::fs::write(dir.path().join(module).join("mod.rs"), "").unwrap();
    }
    std::fs::write(dir.path().join("portal/pages.rs"), "use crate::repository::api::documents;\n").unwrap();
    std::fs::write(dir.path().join("staff/mod.rs"), "use super::portal::x;\n").unwrap();
    std::fs::write(dir.path().join("registry/a.rs"), "use super::handlers::x;\n").unwrap();
    let found = crossings(dir.path());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().any(|f| f.contains("imports repository")), "{found:?}");
    assert!(found.iter().any(|f| f.contains("staff") && f.contains("climbs out")), "{found:?}");
}

/// The `[dependencies]` of a crate's manifest (names only; dev-dependencies do not count).
fn dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[dependencies]";
            continue;
        }
        if inside && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().trim_end_matches(".workspace").to_owned());
            }
        }
    }
    names
}

#[test]
fn no_domain_crate_depends_on_an_http_server() {
    let mut found = Vec::new();
    for name in DOMAIN_CRATES {
        let manifest = crates_dir().join(name).join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)
            .unwrap_or_else(|e| panic!("{} is expected to exist: {e}", manifest.display()));
        for dependency in dependencies(&text) {
            if HTTP_SERVER_CRATES.contains(&dependency.as_str()) {
                found.push(format!("{name} depends on {dependency}"));
            }
        }
    }
    assert!(found.is_empty(), "domain crates must not know the web: {found:?}");
    assert_eq!(
        dependencies("[dependencies]\naxum = \"0.8\"\nserde.workspace = true\n[dev-dependencies]\ntower = \"1\"\n"),
        ["axum", "serde"]
    );
}

#[test]
fn the_binary_uses_no_module_internals_of_the_server() {
    let mut files = Vec::new();
    rust_files(&crates_dir().join("medgate/src"), &mut files);
    let mut found = Vec::new();
    for file in files {
        let source = std::fs::read_to_string(&file).unwrap();
        for module in MODULES {
            let needle = format!("medgate_server::{module}");
            for line in source.lines().filter(|line| line.contains(&needle)) {
                found.push(format!("{}: {}", file.display(), line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the binary may use the server's host (config, startup, audit checkpoints) only; \
         what it shares with a module belongs in a domain crate or medgate-web:\n{}",
        found.join("\n")
    );
}

//! Shared helpers: running the real binary, temporary folders, and running independent
//! peers. Finding a peer is `medgate_test_peers`' one rule: a missing peer fails the test with
//! how to install it (`scripts/test` installs them all), or, with
//! `MEDGATE_SKIP_MISSING_PEERS=1`, is a loud SKIPPED line.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

/// A `medgate` command ready for arguments.
pub fn medgate() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("medgate"))
}

/// Runs `medgate` with `args`, returning the output whatever the status.
pub fn run(args: &[&str]) -> Output {
    medgate().args(args).output().expect("medgate runs")
}

/// Runs `medgate` with `args` and fails the test, showing stderr, unless it exits 0.
pub fn run_ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "medgate {} failed ({}):\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `medgate` with `args`, expects exit status 1 and a one-line `error:` message without
/// a panic, and returns that stderr text.
pub fn run_fails(args: &[&str]) -> String {
    let output = run(args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "medgate {} should exit 1; stderr: {stderr}",
        args.join(" ")
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "backtrace hint: {stderr}");
    stderr
}

/// A fresh temporary folder, removed at the end of the test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// Path inside `dir` as a `String` (for argument lists).
pub fn path(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

/// Writes a password file and returns its path.
pub fn password_file(dir: &Path, name: &str, password: &str) -> String {
    let file = dir.join(name);
    std::fs::write(&file, format!("{password}\n")).expect("password file");
    file.to_string_lossy().into_owned()
}

/// Runs a peer program and returns its output (status not checked).
pub fn run_peer(program: &Path, args: &[&str]) -> Output {
    Command::new(program).args(args).output().expect("peer runs")
}

/// Runs a peer program and fails the test unless it exits 0; returns stdout + stderr.
pub fn run_peer_ok(program: &Path, args: &[&str]) -> String {
    let output = run_peer(program, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{} {} failed ({}): {text}",
        program.display(),
        args.join(" "),
        output.status
    );
    text
}

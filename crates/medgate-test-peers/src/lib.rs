//! The one rule for the external peers medgate's tests use: the independent tools the tests
//! compare medgate with (openssl, keytool, xsltproc, xmllint, curl, sqlite3, psql), Python
//! packages (cryptography, requests-http-signature, schemathesis, fhir.resources, moto) and
//! servers (PostgreSQL, a moto S3 server, Chromium with chromedriver).
//!
//! - The peer is there: the test runs (the functions here return `Some`).
//! - The peer is missing: the test fails, saying what to install, that `scripts/test`
//!   installs the test peers, and that `MEDGATE_SKIP_MISSING_PEERS=1` skips.
//! - The peer is missing and `MEDGATE_SKIP_MISSING_PEERS=1`: the test prints
//!   `*** SKIPPED <test>: <peer> is not available (MEDGATE_SKIP_MISSING_PEERS=1) … ***` on
//!   stderr and on stdout and gets `None`, so that it returns without asserting anything.
//!
//! Nothing else (in particular not `CI`) decides whether a scenario runs. How a peer is found
//! (a program on `PATH`, a Python import, a database connection) stays with the suite that
//! uses it, which hands the outcome to [`require`].
//!
//! The test's name in the messages is the current thread's name, which the Rust test harness
//! sets to the test's path (e.g. `postgres::documents::quota`), also under cargo-nextest.

pub mod openssl_ca;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that turns a missing peer from a failure into a loud skip; only
/// the value `1` does.
pub const SKIP_VARIABLE: &str = "MEDGATE_SKIP_MISSING_PEERS";

/// The file each SKIPPED line is also appended to, when set (by `scripts/test`).
pub const SKIPPED_FILE_VARIABLE: &str = "MEDGATE_SKIPPED_FILE";

/// How to get the PostgreSQL server the scale-out tests use (at 127.0.0.1:5432 unless
/// `MEDGATE_TEST_POSTGRES_URL` names another).
pub const POSTGRES_INSTALL: &str = "apt-get install postgresql postgresql-client and start it \
     (scripts/test installs only the client), with user postgres allowed to CREATE DATABASE \
     over TCP; or name another server in MEDGATE_TEST_POSTGRES_URL";

/// How to get the local S3 server (moto) the content-store tests use.
pub const MOTO_INSTALL: &str = "pip install 'moto[server]'";

/// The rule itself. `probe` is what the suite found out: `Ok(peer)` (a program's path, a
/// database URL, a running server) or `Err(why it is not available)`. `peer` names it for
/// people ("PostgreSQL at postgres://…", "Python module moto.server"); `install` says how to
/// get it ("apt-get install openssl"). Returns `Some(peer)` when it is there; otherwise
/// panics with the install hint, or, with `MEDGATE_SKIP_MISSING_PEERS=1`, prints the
/// SKIPPED line and returns `None`.
#[track_caller]
pub fn require<T>(peer: &str, install: &str, probe: Result<T, String>) -> Option<T> {
    let test = current_test();
    let skip = std::env::var_os(SKIP_VARIABLE);
    match decide(&test, peer, install, probe, skip.as_deref()) {
        Decision::Run(found) => Some(found),
        Decision::Skip(line) => {
            eprintln!("\n{line}\n");
            println!("\n{line}\n");
            record_skip(&line);
            None
        }
        Decision::Fail(message) => panic!("{message}"),
    }
}

/// A program on `PATH` (or at a path, when `program` has a `/`), under [`require`]'s rule.
#[track_caller]
pub fn require_command(program: &str, install: &str) -> Option<PathBuf> {
    require(program, install, find_command(program))
}

/// The first of `candidates` (absolute paths, or names looked up on `PATH`) that exists,
/// under [`require`]'s rule; `peer` names what they all are (e.g. "Chromium").
#[track_caller]
pub fn require_any_command(peer: &str, candidates: &[&str], install: &str) -> Option<PathBuf> {
    require(peer, install, find_any_command(candidates))
}

/// `python3` that can `import <imports>` (a comma-separated list, as Python's `import`
/// statement takes it), under [`require`]'s rule; a missing `python3` is reported as such.
#[track_caller]
pub fn require_python(imports: &str, install: &str) -> Option<PathBuf> {
    let python = require_command("python3", "apt-get install python3")?;
    let probe = python_runs(&python, &format!("import {imports}"), &[]).map(|()| python);
    require(&format!("Python module {imports}"), install, probe)
}

/// Where `program` is: itself when it names a path (has a `/`), otherwise the first
/// `PATH` folder holding a file of that name.
pub fn find_command(program: &str) -> Result<PathBuf, String> {
    find_command_in(program, std::env::var_os("PATH"))
}

/// The first of `candidates` that [`find_command`] finds.
pub fn find_any_command(candidates: &[&str]) -> Result<PathBuf, String> {
    candidates
        .iter()
        .find_map(|candidate| find_command(candidate).ok())
        .ok_or_else(|| format!("none of {} is installed", candidates.join(", ")))
}

/// Runs `python -c code` with the extra environment `env`; `Err` holds why it did not
/// succeed (the last line Python wrote to stderr, e.g. `ModuleNotFoundError: …`).
pub fn python_runs(python: &Path, code: &str, env: &[(&str, &OsStr)]) -> Result<(), String> {
    let mut command = Command::new(python);
    command.args(["-c", code]);
    for (name, value) in env {
        command.env(name, value);
    }
    match command.output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|line| !line.trim().is_empty());
            Err(last.map_or_else(
                || format!("{} -c … exited with {}", python.display(), output.status),
                |line| line.trim().to_owned(),
            ))
        }
        Err(error) => Err(format!("{} cannot run: {error}", python.display())),
    }
}

/// `url` with the password of its `user:password@` part replaced by `***`, for naming a
/// server (e.g. the `MEDGATE_TEST_POSTGRES_URL` one) in messages without its secret.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The running test's name: the name of the current thread, which the test harness sets to
/// the test's path; "this test" on a thread without one (e.g. a thread the test spawned).
pub fn current_test() -> String {
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_owned(),
        _ => "this test".to_owned(),
    }
}

/// What a test does about one peer.
#[derive(Debug, PartialEq, Eq)]
enum Decision<T> {
    /// The peer is there.
    Run(T),
    /// Missing, and skipping was asked for: the line to print.
    Skip(String),
    /// Missing: the message to fail with.
    Fail(String),
}

/// The rule, with the value of `MEDGATE_SKIP_MISSING_PEERS` passed in (so that it is tested
/// without changing the process's environment under other tests).
fn decide<T>(
    test: &str,
    peer: &str,
    install: &str,
    probe: Result<T, String>,
    skip: Option<&OsStr>,
) -> Decision<T> {
    let reason = match probe {
        Ok(found) => return Decision::Run(found),
        Err(reason) => one_line(&reason),
    };
    if skip == Some(OsStr::new("1")) {
        Decision::Skip(format!(
            "*** SKIPPED {test}: {peer} is not available ({SKIP_VARIABLE}=1): {reason}; \
             install: {install} ***"
        ))
    } else {
        Decision::Fail(format!(
            "{test} needs {peer}, which is not available: {reason}.\n\
             Install it: {install}.\n\
             `scripts/test` installs the test peers it can (tools with apt-get as root or with \
             sudo, Python packages with pip) before it runs the tests.\n\
             To skip the tests whose peers are missing instead, each with a loud SKIPPED line, \
             set {SKIP_VARIABLE}=1."
        ))
    }
}

/// Appends a SKIPPED line to the file `MEDGATE_SKIPPED_FILE` names, when it names one:
/// `scripts/test` sets it and lists every skipped scenario after the run, because a test
/// runner shows a passing test's output only on request.
fn record_skip(line: &str) {
    use std::io::Write;
    if let Some(path) = std::env::var_os(SKIPPED_FILE_VARIABLE) {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// `text` on one line: its non-empty lines joined with "; ", runs of spaces made one.
fn one_line(text: &str) -> String {
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn find_command_in(program: &str, path: Option<OsString>) -> Result<PathBuf, String> {
    if program.contains('/') {
        let file = Path::new(program);
        return if file.is_file() {
            Ok(file.to_path_buf())
        } else {
            Err(format!("{program} does not exist"))
        };
    }
    path.and_then(|folders| {
        std::env::split_paths(&folders)
            .map(|folder| folder.join(program))
            .find(|candidate| candidate.is_file())
    })
    .ok_or_else(|| format!("{program} is not on PATH"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MISSING: &str = "medgate-no-such-peer-3f9c1d";

    /// This test binary, as a program that certainly exists, and its folder as a `PATH`.
    fn this_program() -> (String, OsString) {
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_name().unwrap().to_string_lossy().into_owned();
        let folder = exe.parent().unwrap().as_os_str().to_owned();
        (name, folder)
    }

    #[test]
    fn a_present_peer_runs_whatever_the_skip_variable_says() {
        let (name, folder) = this_program();
        let found = find_command_in(&name, Some(folder.clone())).unwrap();
        assert_eq!(found, Path::new(&folder).join(&name));
        for skip in [None, Some(OsStr::new("1")), Some(OsStr::new("0"))] {
            assert_eq!(
                decide("t", &name, "apt-get install it", Ok(found.clone()), skip),
                Decision::Run(found.clone())
            );
        }
    }

    #[test]
    fn a_missing_peer_fails_with_the_install_hint() {
        let probe = find_command_in(MISSING, Some(this_program().1));
        assert_eq!(probe, Err(format!("{MISSING} is not on PATH")));
        for skip in [
            None,
            Some(OsStr::new("")),
            Some(OsStr::new("0")),
            Some(OsStr::new("true")),
        ] {
            let Decision::Fail(message) = decide(
                "suite::a_test",
                MISSING,
                "apt-get install it",
                probe.clone(),
                skip,
            ) else {
                panic!("a missing peer without {SKIP_VARIABLE}=1 must fail ({skip:?})");
            };
            assert!(
                message.starts_with(&format!(
                    "suite::a_test needs {MISSING}, which is not available: {MISSING} is not on PATH."
                )),
                "{message}"
            );
            assert!(
                message.contains("Install it: apt-get install it."),
                "{message}"
            );
            assert!(message.contains("`scripts/test` installs"), "{message}");
            assert!(
                message.contains("set MEDGATE_SKIP_MISSING_PEERS=1"),
                "{message}"
            );
        }
    }

    #[test]
    fn a_missing_peer_is_skipped_loudly_with_the_skip_variable() {
        let probe: Result<PathBuf, String> = find_command_in(MISSING, None);
        assert_eq!(
            decide(
                "suite::a_test",
                MISSING,
                "apt-get install it",
                probe,
                Some(OsStr::new("1"))
            ),
            Decision::Skip(format!(
                "*** SKIPPED suite::a_test: {MISSING} is not available \
                 (MEDGATE_SKIP_MISSING_PEERS=1): {MISSING} is not on PATH; \
                 install: apt-get install it ***"
            ))
        );
    }

    #[test]
    fn a_reason_over_several_lines_is_told_on_one() {
        let probe: Result<(), String> =
            Err("psql: error: connection  refused\n\n\tIs the server running?\n".to_owned());
        let Decision::Skip(line) = decide("t", "PostgreSQL", "x", probe, Some(OsStr::new("1")))
        else {
            panic!("not skipped");
        };
        assert!(
            line.contains(
                ": psql: error: connection refused; Is the server running?; install: x ***"
            ),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
    }

    #[test]
    fn a_path_is_taken_as_it_is() {
        let exe = std::env::current_exe().unwrap();
        let exe_text = exe.to_string_lossy().into_owned();
        assert_eq!(find_command_in(&exe_text, None), Ok(exe.clone()));
        let absent = format!("/nonexistent/{MISSING}");
        assert_eq!(
            find_command_in(&absent, Some(this_program().1)),
            Err(format!("{absent} does not exist"))
        );
        // The same through the public functions: a present program is returned whatever
        // the environment says about skipping.
        assert_eq!(require_command(&exe_text, "x"), Some(exe.clone()));
        assert_eq!(
            require_any_command("it", &[&absent, &exe_text], "x"),
            Some(exe)
        );
    }

    #[test]
    fn none_of_the_candidates_is_a_missing_peer() {
        let absent = format!("/nonexistent/{MISSING}");
        assert_eq!(
            find_any_command(&[&absent, MISSING]),
            Err(format!("none of {absent}, {MISSING} is installed"))
        );
    }

    #[test]
    fn a_failing_interpreter_says_why() {
        // `sh -c` stands in for `python3 -c`: the reason is the last line on stderr.
        let sh = find_command("sh").unwrap();
        assert_eq!(
            python_runs(
                &sh,
                "echo first >&2; echo \"  No module named x \" >&2; exit 1",
                &[]
            ),
            Err("No module named x".to_owned())
        );
        assert_eq!(
            python_runs(
                &sh,
                "test \"$PEER_PROBE\" = yes",
                &[("PEER_PROBE", OsStr::new("yes"))]
            ),
            Ok(())
        );
        let absent = PathBuf::from(format!("/nonexistent/{MISSING}"));
        let error = python_runs(&absent, "pass", &[]).unwrap_err();
        assert!(
            error.starts_with(&format!("{} cannot run:", absent.display())),
            "{error}"
        );
    }

    #[test]
    fn a_password_in_a_url_is_not_shown() {
        assert_eq!(
            without_password("postgres://user:s3cret@db:5432/postgres?sslmode=disable"),
            "postgres://user:***@db:5432/postgres?sslmode=disable"
        );
        assert_eq!(
            without_password("postgres://a:b:c@db/x"),
            "postgres://a:***@db/x"
        );
        for unchanged in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "postgres://127.0.0.1:5432/postgres",
            "http://127.0.0.1:1/a:b@c",
            "not a url",
        ] {
            assert_eq!(without_password(unchanged), unchanged);
        }
    }

    #[test]
    fn the_test_name_is_the_running_test() {
        assert_eq!(current_test(), "tests::the_test_name_is_the_running_test");
        let spawned = std::thread::spawn(current_test).join().unwrap();
        assert_eq!(spawned, "this test");
    }
}

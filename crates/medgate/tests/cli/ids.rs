//! `medgate id check`.

use crate::support::{run_fails, run_ok};

#[test]
fn valid_pesel_prints_birth_date_and_sex() {
    let out = run_ok(&["id", "check", "pesel", "44051401359"]);
    assert!(out.contains("valid PESEL 44051401359"), "{out}");
    assert!(out.contains("1944-05-14") && out.contains("male"), "{out}");
}

#[test]
fn invalid_identifiers_name_the_rule_and_exit_1() {
    let err = run_fails(&["id", "check", "pesel", "44051401358"]);
    assert!(err.contains("check digit is 8 but should be 9"), "{err}");
    let err = run_fails(&["id", "check", "taj", "123456789"]);
    assert!(err.contains("invalid TAJ"), "{err}");
    let err = run_fails(&["id", "check", "nip", "12345"]);
    assert!(err.contains("exactly 10 digits"), "{err}");
    let err = run_fails(&["id", "check", "oid", "1.2.03"]);
    assert!(err.contains("leading zero"), "{err}");
    let err = run_fails(&["id", "check", "passport", "X"]);
    assert!(err.contains("unknown identifier kind"), "{err}");
}

#[test]
fn json_output_for_every_kind() {
    for (kind, value) in [
        ("nip", "5260250274"),
        ("regon", "123456785"),
        ("regon", "12345678512347"),
        ("taj", "123456788"),
        ("oid", "2.16.840.1.113883.3.4424.2.7.26"),
        ("tenant", "0000000000005010"),
    ] {
        let out = run_ok(&["id", "check", kind, value, "--json"]);
        let json: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(json["valid"], true, "{kind} {value}: {out}");
    }
}

#[test]
fn a_reader_that_went_away_ends_the_output_quietly() {
    // `medgate … | head` closes the pipe early: no panic report, the SIGPIPE status.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let output = crate::support::medgate()
        .args(["id", "check", "pesel", "44051401359", "--json"])
        .stdout(writer)
        .output()
        .expect("medgate runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

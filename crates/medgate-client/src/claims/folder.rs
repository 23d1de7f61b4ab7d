//! [`ClaimsFolder`]: where `medgate client claims` keeps the MO system's setup.
//!
//! | file | holds | mode |
//! |---|---|---|
//! | `claims.toml` | the node's URL, the MO (and subdivision); written last | umask |
//! | `node-ca.pem` | the node's CA certificate (from the PKCS#12) | umask |
//! | `system.p12` | the certificate and key, re-encrypted under a random password (the one-time code is not kept) | 0600 |
//! | `keystore.password` | that password | 0600 |

use std::path::{Path, PathBuf};

use medgate_pki::files::{Visibility, WriteMode};
use medgate_pki::keystore::{key_belongs_to, read_pkcs12, write_pkcs12, Pkcs12Options};
use medgate_pki::{certificates_from_bytes, Certificate, Password, PkiError, PrivateKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ClaimsClientError;

const SETTINGS_FILE: &str = "claims.toml";
const CA_FILE: &str = "node-ca.pem";
const KEYSTORE_FILE: &str = "system.p12";
const KEYSTORE_PASSWORD_FILE: &str = "keystore.password";

/// What a system certificate's common name ends with (`medgate_claims::systems`):
/// `<MO>[/<subdivision>] claims MO system`.
const COMMON_NAME_SUFFIX: &str = "claims MO system";

fn setup_error(message: String) -> ClaimsClientError {
    ClaimsClientError::Setup(message)
}

/// The MO system's certificate and key with the node's CA, checked: the code opens it, the
/// key is the certificate's, the certificate was issued by the CA that came with it to an
/// MO's system, and it is valid now.
pub struct SystemCredentials {
    certificate: Certificate,
    key: PrivateKey,
    node_ca: Certificate,
    serial_hex: String,
    mo: String,
    not_after: OffsetDateTime,
}

impl std::fmt::Debug for SystemCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemCredentials")
            .field("mo", &self.mo)
            .field("serial_hex", &self.serial_hex)
            .finish_non_exhaustive()
    }
}

impl SystemCredentials {
    /// Opens PKCS#12 bytes (named `path` in messages) with `code`, checked at `now`. The
    /// node's CA is the file's chain, unless `node_ca` is given (a kept setup).
    pub fn open(
        p12: &[u8],
        path: &Path,
        code: &Password,
        node_ca: Option<Certificate>,
        now: OffsetDateTime,
    ) -> Result<Self, ClaimsClientError> {
        let shown = path.display();
        let contents = read_pkcs12(p12, path, code).map_err(|error| match error {
            PkiError::WrongPassword { .. } | PkiError::PasswordRequired { .. } => setup_error(
                format!("the one-time code does not open {shown}: the code is wrong (or the file is damaged)"),
            ),
            other => setup_error(format!("{shown} cannot be read: {other}")),
        })?;
        let (Some(key), Some(certificate)) = (contents.key, contents.certificate) else {
            return Err(setup_error(format!(
                "{shown} does not hold an MO system certificate with its private key"
            )));
        };
        if !key_belongs_to(&key, &certificate).unwrap_or(false) {
            return Err(setup_error(format!(
                "the private key in {shown} does not belong to its certificate"
            )));
        }
        let node_ca = match node_ca {
            Some(ca) => ca,
            None => contents.chain.into_iter().next().ok_or_else(|| {
                setup_error(format!(
                    "{shown} does not carry the claims node's CA certificate; ask the fund's operator for the file medgate claims mo certificate issue wrote"
                ))
            })?,
        };
        let summary = certificate
            .summary()
            .map_err(|e| setup_error(format!("{shown} cannot be read: {e}")))?;
        if !medgate_pki::check::issued_by(&certificate, &node_ca) {
            return Err(setup_error(format!(
                "the certificate in {shown} (issued by {}) was not issued by the claims node's CA",
                summary.issuer
            )));
        }
        let common_name = summary.common_name.clone().unwrap_or_default();
        let mo = common_name
            .strip_suffix(COMMON_NAME_SUFFIX)
            .map(str::trim)
            .filter(|mo| !mo.is_empty())
            .ok_or_else(|| {
                setup_error(format!(
                    "the certificate in {shown} is not an MO system certificate of a claims node (its name is '{common_name}')"
                ))
            })?
            .to_owned();
        if now > summary.not_after {
            return Err(setup_error(format!(
                "the MO system certificate {} expired on {}; ask the fund's operator for a new one",
                summary.serial_hex,
                summary.not_after.date()
            )));
        }
        if now < summary.not_before {
            return Err(setup_error(format!(
                "the MO system certificate {} is valid only from {}; check this computer's clock",
                summary.serial_hex, summary.not_before
            )));
        }
        Ok(SystemCredentials {
            certificate,
            key,
            node_ca,
            serial_hex: summary.serial_hex.to_ascii_uppercase(),
            mo,
            not_after: summary.not_after,
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    pub fn node_ca(&self) -> &Certificate {
        &self.node_ca
    }

    /// The certificate's serial (hex, upper case): the signatures' keyid.
    pub fn serial_hex(&self) -> &str {
        &self.serial_hex
    }

    /// The MO (`140001`, or `140001/2` with a subdivision) the certificate names.
    pub fn mo(&self) -> &str {
        &self.mo
    }

    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
}

/// The settings file's form.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    url: String,
    mo: String,
}

/// What a folder's setup holds.
#[derive(Debug)]
pub struct ClaimsSetup {
    pub url: url::Url,
    pub credentials: SystemCredentials,
}

/// A folder holding one MO system's setup.
#[derive(Clone, Debug)]
pub struct ClaimsFolder {
    dir: PathBuf,
}

fn file_error(path: &Path, problem: impl std::fmt::Display) -> ClaimsClientError {
    ClaimsClientError::File {
        path: path.display().to_string(),
        reason: problem.to_string(),
    }
}

impl ClaimsFolder {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ClaimsFolder { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps `credentials` for the node at `url`, replacing an earlier setup; the keystore
    /// is re-encrypted under a new random password, the settings file written last.
    pub fn save(
        &self,
        url: &url::Url,
        credentials: &SystemCredentials,
    ) -> Result<(), ClaimsClientError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| file_error(&self.dir, e))?;
        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random)
            .map_err(|_| file_error(&self.dir, "the system random source failed"))?;
        let password = Password::new(hex::encode(random));
        let keystore = write_pkcs12(
            &credentials.certificate,
            std::slice::from_ref(&credentials.node_ca),
            &credentials.key,
            &password,
            &Pkcs12Options::default(),
        )
        .map_err(|e| file_error(&self.dir.join(KEYSTORE_FILE), e))?;
        let write = |name: &str, bytes: &[u8], visibility: Visibility| {
            let path = self.dir.join(name);
            medgate_pki::files::write(&path, bytes, WriteMode::Replace, visibility)
                .map_err(|e| file_error(&path, e))
        };
        write(
            CA_FILE,
            credentials.node_ca.to_pem().as_bytes(),
            Visibility::Public,
        )?;
        write(
            KEYSTORE_PASSWORD_FILE,
            password.expose().as_bytes(),
            Visibility::Secret,
        )?;
        write(KEYSTORE_FILE, &keystore, Visibility::Secret)?;
        let settings = SettingsFile {
            url: url.to_string(),
            mo: credentials.mo.clone(),
        };
        let text = toml::to_string(&settings).map_err(|e| file_error(&self.dir, e))?;
        write(SETTINGS_FILE, text.as_bytes(), Visibility::Public)
    }

    /// The setup, its certificate checked again at `now`.
    pub fn load(&self, now: OffsetDateTime) -> Result<ClaimsSetup, ClaimsClientError> {
        let settings_path = self.dir.join(SETTINGS_FILE);
        if !settings_path.is_file() {
            return Err(setup_error(format!(
                "{} holds no claims setup; run `medgate client claims setup` first",
                self.dir.display()
            )));
        }
        let text =
            std::fs::read_to_string(&settings_path).map_err(|e| file_error(&settings_path, e))?;
        let settings: SettingsFile =
            toml::from_str(&text).map_err(|e| file_error(&settings_path, e.message()))?;
        let url = url::Url::parse(&settings.url)
            .map_err(|e| file_error(&settings_path, format!("url: {e}")))?;
        let ca_path = self.dir.join(CA_FILE);
        let ca = std::fs::read(&ca_path).map_err(|e| file_error(&ca_path, e))?;
        let node_ca = certificates_from_bytes(ca, &ca_path)
            .map_err(|e| file_error(&ca_path, e))?
            .into_iter()
            .next()
            .ok_or_else(|| file_error(&ca_path, "no certificate in it"))?;
        let password_path = self.dir.join(KEYSTORE_PASSWORD_FILE);
        let password =
            Password::from_file(&password_path).map_err(|e| file_error(&password_path, e))?;
        let keystore_path = self.dir.join(KEYSTORE_FILE);
        let keystore = std::fs::read(&keystore_path).map_err(|e| file_error(&keystore_path, e))?;
        let credentials =
            SystemCredentials::open(&keystore, &keystore_path, &password, Some(node_ca), now)?;
        Ok(ClaimsSetup { url, credentials })
    }
}

//! `medgate pki p12` and `medgate pki unpack`: building PKCS#12 (and JKS) keystores from
//! PEM/DER files and taking them apart again.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use medgate_pki::expiry::ValidityStatus;
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::keystore::{self, Pkcs12Options};
use medgate_pki::{jks, load_certificates, Certificate, Password, PkiError, PrivateKey};
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct P12Args {
    /// The certificate (PEM or DER).
    #[arg(long)]
    pub cert: PathBuf,
    /// Its private key.
    #[arg(long)]
    pub key: PathBuf,
    /// Password file of the private key, when it is encrypted.
    #[arg(long)]
    pub key_password_file: Option<PathBuf>,
    /// CA certificates to include as the chain.
    #[arg(long, num_args = 1..)]
    pub chain: Vec<PathBuf>,
    /// Password file for the keystore.
    #[arg(long)]
    pub password_file: PathBuf,
    /// Output PKCS#12 file.
    #[arg(long)]
    pub out: PathBuf,
    /// Use legacy algorithms (3DES + SHA-1 MAC) for old readers.
    #[arg(long)]
    pub legacy: bool,
    /// Also write a Java KeyStore (JKS) to this path.
    #[arg(long)]
    pub jks: Option<PathBuf>,
    /// Alias (friendly name) of the key entry.
    #[arg(long)]
    pub alias: Option<String>,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// The PKCS#12 file.
    pub input: PathBuf,
    /// Password file for the keystore.
    #[arg(long)]
    pub password_file: PathBuf,
    /// Folder for the unpacked files (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Encrypt the unpacked key with the password in this file (default: the keystore's).
    #[arg(long)]
    pub key_password_file: Option<PathBuf>,
    /// Write the key unencrypted.
    #[arg(long, conflicts_with = "key_password_file")]
    pub no_key_password: bool,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
}

pub fn run_p12(args: P12Args) -> anyhow::Result<ExitCode> {
    let mode = write_mode(args.force);
    if args.jks.as_deref() == Some(args.out.as_path()) {
        anyhow::bail!("--jks and --out name the same file {}", args.out.display());
    }
    if args
        .alias
        .as_deref()
        .is_some_and(|alias| alias.trim().is_empty())
    {
        anyhow::bail!("--alias must not be empty (leave it out to use the certificate's CN)");
    }
    // Existing outputs are refused before any work, so that nothing is half-written.
    if !args.force {
        for out in std::iter::once(&args.out).chain(args.jks.as_ref()) {
            refuse_existing(out)?;
        }
    }
    let password = Password::from_file(&args.password_file)?;

    // A certificate file may carry its chain after the leaf; --chain adds more.
    let mut certificates = load_certificates(&args.cert)?.into_iter();
    let Some(cert) = certificates.next() else {
        anyhow::bail!("{}: contains no certificate", args.cert.display());
    };
    let mut chain: Vec<Certificate> = certificates.collect();
    for path in &args.chain {
        chain.extend(load_certificates(path)?);
    }
    // The same CA given twice (in the bundle and with --chain) would appear twice.
    let mut seen = vec![cert.der().to_vec()];
    chain.retain(|c| {
        let fresh = !seen.iter().any(|der| der.as_slice() == c.der());
        seen.push(c.der().to_vec());
        fresh
    });

    warn_if_not_valid_now(&cert)?;

    let key = load_key(&args.key, args.key_password_file.as_deref(), &password)?;
    keystore::ensure_key_belongs_to(&key, &args.key, &cert)?;

    let options = Pkcs12Options {
        alias: args.alias.clone(),
        legacy: args.legacy,
    };
    let alias = options
        .alias
        .clone()
        .unwrap_or_else(|| keystore::default_alias(&cert));
    let p12 = keystore::write_pkcs12(&cert, &chain, &key, &password, &options)?;
    let jks_bytes = args
        .jks
        .as_ref()
        .map(|_| jks::write_jks(&cert, &chain, &key, &password, &alias))
        .transpose()?;

    files::write(&args.out, &p12, mode, Visibility::Secret)?;
    let contents = match chain.len() {
        0 => "key + certificate".to_owned(),
        1 => "key + certificate + 1 chain certificate".to_owned(),
        n => format!("key + certificate + {n} chain certificates"),
    };
    println!(
        "wrote {}: PKCS#12, {}, alias \"{alias}\", {contents} ({})",
        args.out.display(),
        options.describe_protection(),
        key.describe()
    );
    if let (Some(path), Some(bytes)) = (&args.jks, jks_bytes) {
        files::write(path, &bytes, mode, Visibility::Secret)?;
        println!(
            "wrote {}: JKS, alias \"{}\" (JKS protection is weak: use the .p12 wherever the reader accepts it)",
            path.display(),
            alias.to_lowercase()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_unpack(args: UnpackArgs) -> anyhow::Result<ExitCode> {
    let mode = write_mode(args.force);
    let password = Password::from_file(&args.password_file)?;
    let key_password = match (&args.key_password_file, args.no_key_password) {
        (_, true) => None,
        (Some(path), false) => Some(Password::from_file(path)?),
        (None, false) => Some(Password::new(password.expose())),
    };
    let bytes = files::read(&args.input)?;
    let contents = keystore::read_pkcs12(&bytes, &args.input, &password)?;
    let Some(cert) = &contents.certificate else {
        anyhow::bail!("{}: holds no certificate", args.input.display());
    };

    let cert_path = args.out.join("cert.pem");
    let chain_path = args.out.join("chain.pem");
    let key_path = args.out.join("key.pem");
    let mut outputs = vec![&cert_path];
    if !contents.chain.is_empty() {
        outputs.push(&chain_path);
    }
    if contents.key.is_some() {
        outputs.push(&key_path);
    }
    if !args.force {
        for path in &outputs {
            refuse_existing(path)?;
        }
    }
    files::ensure_dir(&args.out)?;

    files::write(
        &cert_path,
        cert.to_pem().as_bytes(),
        mode,
        Visibility::Public,
    )?;
    let summary = cert.summary()?;
    println!(
        "wrote {}: {} (serial {})",
        cert_path.display(),
        if summary.subject.is_empty() {
            "empty subject"
        } else {
            summary.subject.as_str()
        },
        summary.serial_hex
    );
    if contents.chain.is_empty() {
        // With --force, a chain.pem left from an earlier keystore would silently pair the
        // new certificate with someone else's chain.
        if args.force && chain_path.exists() {
            std::fs::remove_file(&chain_path).with_context(|| {
                format!("{}: removing the old chain file", chain_path.display())
            })?;
            println!(
                "removed {} (this keystore has no chain)",
                chain_path.display()
            );
        }
    } else {
        let pem: String = contents.chain.iter().map(Certificate::to_pem).collect();
        files::write(&chain_path, pem.as_bytes(), mode, Visibility::Public)?;
        println!(
            "wrote {}: {} chain certificate(s)",
            chain_path.display(),
            contents.chain.len()
        );
    }
    match &contents.key {
        Some(key) => {
            key.save(&key_path, key_password.as_ref(), mode)?;
            let protection = match (&args.key_password_file, args.no_key_password) {
                (_, true) => "NOT encrypted (--no-key-password)",
                (Some(_), false) => "encrypted with the password from --key-password-file",
                (None, false) => "encrypted with the keystore password",
            };
            println!(
                "wrote {}: {} private key, {protection}",
                key_path.display(),
                key.describe()
            );
            if contents.key_matches() == Some(false) {
                eprintln!(
                    "warning: {}: the key in this keystore does not belong to its certificate",
                    args.input.display()
                );
            }
        }
        None => println!(
            "{}: holds no private key (certificates only)",
            args.input.display()
        ),
    }
    if contents.extra_keys > 0 {
        eprintln!(
            "warning: {}: {} further private key(s) in this keystore were not unpacked",
            args.input.display(),
            contents.extra_keys
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Packing an expired certificate is allowed (e.g. to archive it) but rarely intended.
fn warn_if_not_valid_now(cert: &Certificate) -> anyhow::Result<()> {
    let summary = cert.summary()?;
    let status = ValidityStatus::at(
        summary.not_before,
        summary.not_after,
        OffsetDateTime::now_utc(),
    );
    if !matches!(status, ValidityStatus::Valid { .. }) {
        eprintln!(
            "warning: {}: certificate {} ({}); the keystore is written anyway",
            cert.source().display(),
            summary.serial_hex,
            status.describe()
        );
    }
    Ok(())
}

fn write_mode(force: bool) -> WriteMode {
    if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    }
}

fn refuse_existing(path: &Path) -> Result<(), PkiError> {
    if path.exists() {
        Err(PkiError::WouldOverwrite {
            path: path.to_path_buf(),
        })
    } else {
        Ok(())
    }
}

/// Loads the private key. Without --key-password-file an encrypted key is tried with the
/// keystore password, because people often protect both with the same one.
fn load_key(
    path: &Path,
    key_password_file: Option<&Path>,
    keystore_password: &Password,
) -> anyhow::Result<PrivateKey> {
    let key_password = key_password_file.map(Password::from_file).transpose()?;
    match PrivateKey::load(path, key_password.as_ref()) {
        Err(PkiError::PasswordRequired { .. }) => match PrivateKey::load(path, Some(keystore_password)) {
            Err(PkiError::WrongPassword { .. }) => anyhow::bail!(
                "{}: the key is encrypted with another password than the keystore's; give it with --key-password-file",
                path.display()
            ),
            other => Ok(other?),
        },
        other => Ok(other?),
    }
}

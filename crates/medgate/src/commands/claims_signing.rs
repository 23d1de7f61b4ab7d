//! `medgate claims sign` and `medgate claims verify`: one signer's detached signature over a
//! register package, made on the signer's machine (RSA or ECDSA key in process, a GOST key
//! through the system OpenSSL's GOST engine), and the check of the three signatures in their
//! fixed order against the signers' registered certificates (`medgate_claims::signing`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use medgate_claims::signing::{
    self, read_signed_package, write_signed_package, SignedPackage, SignerCertificate, Signers,
    SigningKey,
};
use medgate_claims::workflow::SIGNING_ORDER;
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::{cms, gost, load_certificate, Password, PrivateKey};
use time::OffsetDateTime;

use crate::output::print_table;

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The register package to sign (`HM…`/`CM…`/`TM…`/`D?M….zip`): its bytes are signed as
    /// they are.
    #[arg(long, value_name = "FILE.zip")]
    register: PathBuf,
    /// The signer's private key (PEM; a GOST R 34.10-2012 key when the certificate is GOST).
    /// It is read here and never copied anywhere.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Password file of the key, when it is encrypted.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// The signer's certificate (`.cer`, DER or PEM), the one registered for them.
    #[arg(long, value_name = "CERT")]
    cert: PathBuf,
    /// Where to write the signature (DER).
    #[arg(long, value_name = "SIG")]
    out: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The register package that was signed.
    #[arg(
        long,
        value_name = "FILE.zip",
        required_unless_present = "package",
        conflicts_with = "package"
    )]
    register: Option<PathBuf>,
    /// The signatures in order: the executor's, the chief accountant's, the head's.
    #[arg(long = "sig", value_name = "SIG", conflicts_with = "package")]
    signatures: Vec<PathBuf>,
    /// A signed package instead: a ZIP with the register and its `.1.sig`, `.2.sig`, `.3.sig`.
    #[arg(long, value_name = "SIGNED.zip")]
    package: Option<PathBuf>,
    /// The registered certificates in order: the executor's, the chief accountant's, the
    /// head's (`.cer`, DER or PEM).
    #[arg(long = "signer", value_name = "CERT", required = true, num_args = 1)]
    signers: Vec<PathBuf>,
    /// The medical organisation's code: the signers' logins are `<MO>_1`, `<MO>_2`, `<MO>_3`.
    #[arg(long, value_name = "CODE")]
    mo: Option<String>,
    /// After a successful check, write the signed package (the register and its three
    /// signatures) here.
    #[arg(long, value_name = "OUT.zip")]
    write_package: Option<PathBuf>,
}

pub fn run_sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let register = files::read(&args.register)?;
    let register_name = file_name(&args.register);
    signing::check_register(&register_name, &register)?;
    let cert = load_certificate(&args.cert)?;
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    files::check_writable(&args.out, write_mode(args.force))?;
    let now = OffsetDateTime::now_utc();
    let signature = if gost::is_gost_certificate(&cert) {
        let openssl = gost::SystemOpenssl::locate()?;
        signing::sign(
            &register,
            &cert,
            SigningKey::Gost {
                openssl: &openssl,
                key: &args.key,
                password: password.as_ref(),
            },
            now,
        )?
    } else {
        let key = PrivateKey::load(&args.key, password.as_ref())?;
        if !cms::key_matches_certificate(&cert, &key)? {
            bail!(
                "key {} does not match certificate {}: the certificate was issued for another key",
                args.key.display(),
                args.cert.display()
            );
        }
        signing::sign(&register, &cert, SigningKey::InProcess(&key), now)?
    };
    // What was written is read back as a verifier will read it.
    let reports = cms::verify_detached(&signature, &register, &[])?;
    if !reports.iter().all(|report| report.signature_ok) {
        bail!("the signature just made does not verify; nothing written");
    }
    files::write(
        &args.out,
        &signature,
        write_mode(args.force),
        Visibility::Public,
    )?;
    let summary = cert.summary()?;
    println!(
        "signed {} ({} bytes) as {} ({}, serial {}); signature written to {}",
        register_name,
        register.len(),
        summary.subject,
        key_description(&cert, &summary.key_description),
        summary.serial_hex,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run_verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    if let Some(out) = &args.write_package {
        files::check_writable(out, WriteMode::CreateNew)?;
    }
    let package = match (&args.package, &args.register) {
        (Some(path), _) => {
            let bytes = files::read(path)?;
            read_signed_package(&file_name(path), &bytes)?
        }
        (None, Some(register_path)) => {
            let register = files::read(register_path)?;
            let register_name = file_name(register_path);
            signing::check_register(&register_name, &register)?;
            if args.signatures.len() != SIGNING_ORDER.len() {
                bail!(
                    "{} --sig given; a register carries three signatures, given in order: the \
                     executor's, the chief accountant's, the head's",
                    args.signatures.len()
                );
            }
            let signatures = args
                .signatures
                .iter()
                .map(|path| cms::load_signature(path).map_err(anyhow::Error::from))
                .collect::<anyhow::Result<Vec<_>>>()?;
            SignedPackage {
                register_name,
                register,
                signatures,
            }
        }
        (None, None) => bail!("give --register FILE.zip with three --sig, or --package SIGNED.zip"),
    };
    let signers = registered_signers(&args.signers, args.mo.as_deref())?;
    let verified = match signing::verify_in_order(&signers, &package.register, &package.signatures)
    {
        Ok(verified) => verified,
        Err(refusal) => {
            eprintln!("error: {}: {refusal}", package.register_name);
            return Ok(ExitCode::from(1));
        }
    };
    println!(
        "{}: {} signatures in order, each over the register's {} bytes with the certificate \
         registered for its signer",
        package.register_name,
        verified.len(),
        package.register.len()
    );
    let rows: Vec<[String; 6]> = verified
        .iter()
        .map(|signature| {
            [
                signature.position.to_string(),
                signature.role.code().to_owned(),
                signature.login.clone(),
                signature.subject.clone(),
                signature.algorithm.clone(),
                signature
                    .signing_time
                    .map(medgate_pki::cert::human_time)
                    .unwrap_or_else(|| "(no signing time)".to_owned()),
            ]
        })
        .collect();
    print_table(["#", "ROLE", "LOGIN", "SIGNER", "KEY", "SIGNED AT"], &rows);
    if let Some(out) = &args.write_package {
        let bytes = write_signed_package(&package)?;
        files::write(out, &bytes, WriteMode::CreateNew, Visibility::Public)
            .with_context(|| format!("writing the signed package to {}", out.display()))?;
        println!("signed package written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The three `--signer` certificates registered to the executor, the chief accountant and
/// the head, checked as the fund's system checks an upload.
fn registered_signers(paths: &[PathBuf], mo: Option<&str>) -> anyhow::Result<Signers> {
    if paths.len() != SIGNING_ORDER.len() {
        bail!(
            "{} --signer given; give the three signers' certificates in order: the executor's, \
             the chief accountant's, the head's",
            paths.len()
        );
    }
    let now = OffsetDateTime::now_utc();
    let mut registered = Vec::new();
    for (path, role) in paths.iter().zip(SIGNING_ORDER) {
        let login = match (mo, role.signing_position()) {
            (Some(mo), Some(position)) => format!("{mo}_{position}"),
            _ => role.code().to_owned(),
        };
        let bytes = files::read(path)?;
        registered.push(SignerCertificate::register(&login, role, bytes, path, now)?);
    }
    let [executor, chief_accountant, head] = <[SignerCertificate; 3]>::try_from(registered)
        .map_err(|_| anyhow::anyhow!("three signers expected"))?;
    Ok(Signers::new(executor, chief_accountant, head)?)
}

fn key_description(cert: &medgate_pki::Certificate, described: &str) -> String {
    match gost::key_size(cert) {
        Some(gost::GostKeySize::Bits256) => "GOST R 34.10-2012 256".to_owned(),
        Some(gost::GostKeySize::Bits512) => "GOST R 34.10-2012 512".to_owned(),
        None => described.to_owned(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn write_mode(force: bool) -> WriteMode {
    if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    }
}

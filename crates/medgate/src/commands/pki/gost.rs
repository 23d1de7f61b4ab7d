//! `medgate pki gost …`: GOST R 34.10-2012 keys and CSRs through the system OpenSSL's GOST
//! engine (found at run time; when it is missing, every command says what to install).
//! Signing and verifying with GOST certificates is `pki sign` / `pki verify`, which notice a
//! GOST certificate by itself.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::gost::{GostKeySize, SystemOpenssl};
use medgate_pki::Password;

#[derive(Debug, Subcommand)]
pub enum GostCommand {
    /// Say whether GOST keys can be used here (the system OpenSSL and its GOST engine).
    Check,
    /// Generate a GOST R 34.10-2012 key (PKCS#8 PEM, encrypted with the password file).
    Key(KeyArgs),
    /// Make a CSR for a GOST key, to send to the certification authority.
    Csr(CsrArgs),
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Key size: 256 or 512 bits.
    #[arg(long, default_value = "256")]
    pub size: String,
    /// The key file to write (owner-only; must not exist).
    #[arg(long)]
    pub out: PathBuf,
    /// The password the key is encrypted with (the file's first line).
    #[arg(long)]
    pub password_file: PathBuf,
}

#[derive(Debug, Args)]
pub struct CsrArgs {
    /// The GOST key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// Password file of the key, when it is encrypted.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// The subject, e.g. '/CN=Иванов Иван Иванович/O=ГБУЗ Городская поликлиника № 1/C=RU'.
    #[arg(long)]
    pub subject: String,
    /// The CSR file to write (PEM; must not exist).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(command: GostCommand) -> anyhow::Result<ExitCode> {
    match command {
        GostCommand::Check => {
            SystemOpenssl::locate()?;
            println!("GOST R 34.10-2012: available (the system OpenSSL's GOST engine)");
        }
        GostCommand::Key(args) => {
            let size = GostKeySize::parse(&args.size)?;
            let password = Password::from_file(&args.password_file)?;
            let openssl = SystemOpenssl::locate()?;
            let pem = openssl.generate_key(size, &password)?;
            files::write(&args.out, &pem, WriteMode::CreateNew, Visibility::Secret)?;
            println!(
                "GOST R 34.10-2012 {} key written to {} (encrypted with the password of {})",
                match size {
                    GostKeySize::Bits256 => "256-bit",
                    GostKeySize::Bits512 => "512-bit",
                },
                args.out.display(),
                args.password_file.display()
            );
        }
        GostCommand::Csr(args) => {
            if !args.subject.starts_with('/') || !args.subject.contains('=') {
                anyhow::bail!(
                    "subject {:?}: write it as /KEY=value/KEY=value, e.g. '/CN=Иванов Иван/O=ГБУЗ Поликлиника № 1/C=RU'",
                    args.subject
                );
            }
            let password = args.password_file.as_deref().map(Password::from_file).transpose()?;
            let openssl = SystemOpenssl::locate()?;
            let csr = openssl.csr(&args.key, password.as_ref(), &args.subject)?;
            files::write(&args.out, &csr, WriteMode::CreateNew, Visibility::Public)?;
            println!("CSR for {} written to {}", args.subject, args.out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

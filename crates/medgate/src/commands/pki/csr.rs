//! `medgate pki csr`: key pairs and CSRs with the subject a tenant needs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use medgate_ids::TenantId;
use medgate_pki::csr::{self, Country, CsrRequest, SubjectFields};
use medgate_pki::{KeyAlgorithm, Password, PkiError};

#[derive(Debug, Args)]
pub struct CsrArgs {
    /// Tenant id (16 digits); the CN becomes "<tenant> TLS" / "<tenant> WSS".
    #[arg(long)]
    pub tenant: String,
    /// Organisation (O).
    #[arg(long)]
    pub org: String,
    /// Organisational unit (OU).
    #[arg(long)]
    pub unit: String,
    /// Country (C): a two-letter code, or a country name such as "Polska".
    #[arg(long, default_value = "PL")]
    pub country: String,
    /// Folder for tls.key, tls.csr, wss.key, wss.csr (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Which key pair(s) to make: tls, wss or both.
    #[arg(long, default_value = "both")]
    pub kind: String,
    /// Key algorithm: rsa2048, rsa3072 or p256.
    #[arg(long, default_value = "rsa2048")]
    pub algorithm: String,
    /// Encrypt the keys (PKCS#8 PBES2, AES-256) with the password in this file.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Replace existing key and CSR files.
    #[arg(long)]
    pub force: bool,
    /// Print JSON instead of text (each key pair's files and subject).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CsrArgs) -> anyhow::Result<ExitCode> {
    // Every argument is checked before the (slow) key generation starts.
    let tenant = TenantId::parse(args.tenant.trim())?;
    let country = Country::parse(&args.country)?;
    let subject = SubjectFields::new(&args.org, &args.unit, country)?;
    let kinds = csr::parse_kinds(&args.kind)?;
    let algorithm = KeyAlgorithm::parse(&args.algorithm)?;
    let password = args
        .password_file
        .as_deref()
        .map(Password::from_file)
        .transpose()?;
    let request = CsrRequest {
        tenant,
        kinds,
        subject,
        algorithm,
    };
    let written = match csr::write_tenant_csrs(&args.out, &request, password.as_ref(), args.force) {
        Ok(written) => written,
        // Every target is checked before anything is written: say so, the user will ask.
        Err(refusal @ PkiError::WouldOverwrite { .. }) => {
            return Err(anyhow::Error::new(refusal)
                .context(format!("nothing was written to {}", args.out.display())))
        }
        Err(error) => return Err(error.into()),
    };
    if args.json {
        let pairs: Vec<serde_json::Value> = written
            .iter()
            .map(|pair| {
                serde_json::json!({
                    "kind": pair.kind.to_string(),
                    "key": pair.key_path.display().to_string(),
                    "key_description": pair.key_description,
                    "key_encrypted": pair.encrypted,
                    "csr": pair.csr_path.display().to_string(),
                    "subject": pair.subject,
                })
            })
            .collect();
        crate::output::print_json(&serde_json::json!({ "key_pairs": pairs }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for pair in &written {
        let protection = if pair.encrypted {
            "encrypted with PBES2/AES-256, mode 0600"
        } else {
            "NOT encrypted, mode 0600"
        };
        println!("{} key pair ({}):", pair.kind, pair.key_description);
        println!("  private key: {} ({protection})", pair.key_path.display());
        println!("  request:     {}", pair.csr_path.display());
        println!("  subject:     {}", pair.subject);
    }
    if password.is_none() {
        eprintln!("note: the private keys are not encrypted; pass --password-file to protect them");
    }
    println!("Send the .csr file(s) to the CA; keep the .key file(s) secret.");
    Ok(ExitCode::SUCCESS)
}

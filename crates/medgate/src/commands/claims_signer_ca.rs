//! `medgate claims signer-ca add FILE | list | remove NAME`: the CAs (and their CRLs) the fund
//! trusts for its signers' certificates, kept in `<data>/claims/signer-ca/`
//! (`medgate_claims::signing::trust`). With at least one installed, the node accepts a
//! signer's certificate, at its upload and at each signature, only when an installed CA issued
//! it and no installed CRL lists it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use medgate_claims::signing::trust::{self, Installed};

use super::claims_nsi::DataFolder as Folder;
use crate::output::print_table;

#[derive(Debug, Args)]
pub struct SignerCaArgs {
    #[command(subcommand)]
    command: SignerCaCommand,
}

#[derive(Debug, Subcommand)]
enum SignerCaCommand {
    /// Install a trusted CA's certificate (DER or PEM; RSA, ECDSA or GOST R 34.10-2012), or a
    /// CRL (DER or PEM) signed by an installed CA.
    Add(AddArgs),
    /// List the installed CAs and CRLs.
    List(Folder),
    /// Remove an installed CA or CRL: the file name `list` shows, or the file installed.
    Remove(RemoveArgs),
}

#[derive(Debug, Args)]
struct AddArgs {
    /// The CA certificate or CRL file.
    file: PathBuf,
    #[command(flatten)]
    folder: Folder,
}

#[derive(Debug, Args)]
struct RemoveArgs {
    /// The installed file's name (`ca-….pem` or `crl-….crl`), or the path of the file that
    /// was installed.
    name: String,
    #[command(flatten)]
    folder: Folder,
}

pub fn run(args: SignerCaArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SignerCaCommand::Add(args) => {
            for installed in trust::install(&args.folder.data, &args.file)? {
                println!("installed {}", describe(&installed));
            }
        }
        SignerCaCommand::List(folder) => {
            let installed = trust::installed(&folder.data)?;
            if installed.is_empty() {
                println!(
                    "no CA installed: signers' certificates are not checked against a CA on this node"
                );
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<[String; 4]> = installed
                .iter()
                .map(|entry| match entry {
                    Installed::Ca {
                        file,
                        subject,
                        serial_hex,
                        not_after,
                        gost,
                    } => [
                        file.clone(),
                        if *gost { "CA (GOST)" } else { "CA" }.to_owned(),
                        subject.clone(),
                        format!("serial {serial_hex}, valid until {}", not_after.date()),
                    ],
                    Installed::Crl { file, issuer } => [
                        file.clone(),
                        "CRL".to_owned(),
                        issuer.clone(),
                        String::new(),
                    ],
                })
                .collect();
            print_table(["FILE", "KIND", "SUBJECT / ISSUER", "DETAILS"], &rows);
        }
        SignerCaCommand::Remove(args) => {
            let removed = trust::remove(&args.folder.data, &args.name)?;
            println!("removed {}", describe(&removed));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(installed: &Installed) -> String {
    match installed {
        Installed::Ca {
            file,
            subject,
            not_after,
            ..
        } => format!("CA {subject} (valid until {}) as {file}", not_after.date()),
        Installed::Crl { file, issuer } => format!("CRL of {issuer} as {file}"),
    }
}

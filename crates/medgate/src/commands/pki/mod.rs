//! `medgate pki …`: the certificate toolkit's commands. Each lives in its own module.

use std::process::ExitCode;

use clap::Subcommand;

mod check;
mod csr;
mod expiring;
mod gost;
mod inspect;
mod keystore;
mod signature;
mod verify_report;

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Generate key pairs and CSRs for a tenant (TLS, WSS or both).
    Csr(csr::CsrArgs),
    /// Show what a certificate, CSR, key or PKCS#12 file holds (never the key itself).
    Inspect(inspect::InspectArgs),
    /// Diagnose a certificate and key pair: every problem, worst first, with what to do.
    Check(check::CheckArgs),
    /// Build a PKCS#12 keystore (and optionally a JKS) from a certificate and key.
    P12(keystore::P12Args),
    /// Unpack a PKCS#12 keystore into PEM certificate(s) and key.
    Unpack(keystore::UnpackArgs),
    /// List certificates that are expired or expire within N days (for cron).
    Expiring(expiring::ExpiringArgs),
    /// Sign a file: detached CMS SignedData (DER); --cosign adds a signer.
    Sign(signature::SignArgs),
    /// Verify a detached CMS signature and list its signers in order.
    Verify(signature::VerifyArgs),
    /// Verify a signed connection-check report.
    VerifyReport(verify_report::VerifyReportArgs),
    /// GOST R 34.10-2012 keys and CSRs (through the system OpenSSL's GOST engine).
    #[command(subcommand)]
    Gost(gost::GostCommand),
}

pub fn run(command: PkiCommand) -> anyhow::Result<ExitCode> {
    match command {
        PkiCommand::Csr(args) => csr::run(args),
        PkiCommand::Inspect(args) => inspect::run(args),
        PkiCommand::Check(args) => check::run(args),
        PkiCommand::P12(args) => keystore::run_p12(args),
        PkiCommand::Unpack(args) => keystore::run_unpack(args),
        PkiCommand::Expiring(args) => expiring::run(args),
        PkiCommand::Sign(args) => signature::run_sign(args),
        PkiCommand::Verify(args) => signature::run_verify(args),
        PkiCommand::VerifyReport(args) => verify_report::run(args),
        PkiCommand::Gost(command) => gost::run(command),
    }
}

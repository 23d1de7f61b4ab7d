//! The one block `medgate demo` prints: every desk with its login and password, the APIs and
//! the CAs their clients trust, each clinic's `client.toml`, and three commands to try.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

use super::claims::{self, Claims};
use super::clinical::{Clinical, CLINICAL_PATIENT, PRACTITIONER};
use super::{
    DemoState, CLINICS, DOCUMENT_ROOT, OPERATOR_LOGIN, OTHER_PATIENT, PATIENT, STATE_FILE,
};

/// The addresses of the demo's nodes, as the block names them.
pub(super) struct Nodes<'a> {
    pub repository: &'a str,
    pub registry: &'a str,
    pub registry_ca: &'a Path,
    pub clinical: Clinical<'a>,
    pub claims: Claims<'a>,
    /// The insurer's reviewer's login on the claims desk.
    pub reviewer: &'a str,
}

/// The one block the demo prints.
pub(super) fn print_block(
    dir: &Path,
    state: &DemoState,
    nodes: &Nodes<'_>,
    took: Duration,
) -> anyhow::Result<()> {
    let Nodes {
        repository,
        registry,
        registry_ca,
        clinical,
        claims,
        reviewer,
    } = nodes;
    let exe = std::env::current_exe().context("finding the medgate executable")?;
    let exe = exe.display();
    let config = |index: usize| dir.join(CLINICS[index].folder).join("client.toml");
    let mut out = String::new();
    // The time goes to stderr, so that a second run prints the very same block.
    eprintln!("medgate demo: ready in {:.1} s", took.as_secs_f64());
    out.push_str(
        "medgate demo: a repository, a national registry, a clinical record service and a claims registers' node are running (Ctrl-C stops them).\n\n",
    );
    out.push_str("DEMO ONLY: these passwords are kept in clear in ");
    out.push_str(&format!(
        "{}; never use them, or this folder, for real data.\n\n",
        dir.join(STATE_FILE).display()
    ));
    out.push_str(&format!(
        "  operator desk       {repository}/operator   login {OPERATOR_LOGIN}  password {}\n",
        state.operator_password
    ));
    for (index, clinic) in CLINICS.iter().enumerate() {
        out.push_str(&format!(
            "  {} admin      {repository}/admin      account {}  login {}  password {}\n",
            clinic.label, clinic.tenant, clinic.admin_login, state.admin_passwords[index]
        ));
    }
    out.push_str(&format!(
        "  patient portal      {repository}/portal     clinic {}  PESEL {PATIENT}  password {}\n",
        CLINICS[0].tenant, state.patient_password
    ));
    out.push_str(&format!(
        "  repository API      {repository}/api/v1/openapi.json  (clients trust {})\n",
        dir.join("repository").join("ca").join("ca.pem").display()
    ));
    out.push_str(&format!(
        "  national registry   {registry}/api/v1/openapi.json  (clients trust {})\n",
        registry_ca.display()
    ));
    out.push_str(&format!(
        "  clinical service    {}/api/v1/openapi.json  (clients trust {})\n",
        clinical.url,
        clinical.ca.display()
    ));
    out.push_str(&format!(
        "  clinical operator   {}/operator   login {OPERATOR_LOGIN}  password {}\n",
        clinical.url, state.operator_password
    ));
    out.push_str(&format!(
        "  practitioners' desk {repository}/practice   account {}  user {PRACTITIONER}  password {}\n",
        CLINICS[0].tenant, state.practitioner_password
    ));
    out.push_str(&format!(
        "  practitioner's TOTP {}\n",
        state.practitioner_totp
    ));
    out.push_str(&format!(
        "  clinical portal     {}/portal   TAJ {CLINICAL_PATIENT}  password {}\n",
        clinical.url, state.clinical_patient_password
    ));
    out.push_str(&format!(
        "  claims service      {}/api/v1/openapi.json  (clients trust {})\n",
        claims.url,
        claims.ca.display()
    ));
    for ((role, _), password) in claims::ROLES.iter().zip(&state.claims_passwords) {
        out.push_str(&format!(
            "  {:<20}{}/claims   login {}  password {password}\n",
            format!("claims desk {}", role.number()),
            claims.url,
            claims::login(*role)
        ));
    }
    out.push_str(&format!(
        "  {:<20}{}/claims   login {reviewer}  password {}\n",
        "claims reviewer", claims.url, state.claims_reviewer_password
    ));
    out.push('\n');
    for (index, clinic) in CLINICS.iter().enumerate() {
        out.push_str(&format!(
            "  {} client.toml  {}\n",
            clinic.label,
            config(index).display()
        ));
    }
    out.push_str("\nTry:\n");
    out.push_str(&format!(
        "  {exe} client --config {} search --patient {PATIENT}\n",
        config(0).display()
    ));
    out.push_str(&format!(
        "  {exe} client --config {} national find --patient {OTHER_PATIENT}\n",
        config(0).display()
    ));
    out.push_str(&format!(
        "  {exe} client --config {} render '{DOCUMENT_ROOT}^{}' --out skierowanie.html\n",
        config(1).display(),
        CLINICS[1].indexed
    ));
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

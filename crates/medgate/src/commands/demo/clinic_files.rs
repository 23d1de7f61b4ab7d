//! The files the demo writes for each clinic, as a user would with the command line: keys,
//! CSRs and their certificates (`pki csr`, `ca sign`), the key password file and the
//! `client.toml` the README shows.

use super::*;

/// Keys and CSRs for both kinds in `dir` (as `medgate pki csr` writes them) and their
/// certificates signed by `ca` (as `medgate ca sign`), unless they are there already.
pub(super) fn issue(
    dir: &Path,
    tenant: &TenantId,
    subject: &SubjectFields,
    password: &Password,
    ca: &CertificateAuthority,
) -> anyhow::Result<()> {
    let done = [CertKind::Tls, CertKind::Wss].iter().all(|kind| {
        let stem = kind.file_stem();
        dir.join(format!("{stem}.pem")).exists() && dir.join(format!("{stem}.key")).exists()
    });
    if done {
        return Ok(());
    }
    let request = CsrRequest {
        tenant: tenant.clone(),
        kinds: vec![CertKind::Tls, CertKind::Wss],
        subject: subject.clone(),
        algorithm: KeyAlgorithm::EcdsaP256,
    };
    for written in write_tenant_csrs(dir, &request, Some(password), true)? {
        let csr = files::read(&written.csr_path)?;
        let certificate = ca.sign_csr(&csr, &written.csr_path, Validity::days_from_now(730)?)?;
        files::write(
            &dir.join(format!("{}.pem", written.kind.file_stem())),
            certificate.to_pem().as_bytes(),
            WriteMode::Replace,
            Visibility::Public,
        )?;
    }
    Ok(())
}

pub(super) fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    files::write(
        path,
        format!("{secret}\n").as_bytes(),
        WriteMode::Replace,
        Visibility::Secret,
    )?;
    Ok(())
}

/// A client.toml as the README shows it, with absolute paths.
pub(super) fn write_client_toml(path: &Path, settings: &ClientSettingsFile) -> anyhow::Result<()> {
    let text = |value: &Option<PathBuf>| {
        value
            .as_ref()
            .map(|p| toml::Value::String(p.display().to_string()).to_string())
            .unwrap_or_default()
    };
    let quoted =
        |value: &Option<String>| toml::Value::String(value.clone().unwrap_or_default()).to_string();
    let contents = format!(
        "# Written by `medgate demo` (demo only): the clinic's connection to the demo repository.\n\
         server = {}\ntenant = {}\ntls_cert = {}\ntls_key = {}\nwss_cert = {}\nwss_key = {}\n\
         password_file = {}\nca = {}\n",
        quoted(&settings.server),
        quoted(&settings.tenant),
        text(&settings.tls_cert),
        text(&settings.tls_key),
        text(&settings.wss_cert),
        text(&settings.wss_key),
        text(&settings.password_file),
        text(&settings.ca),
    );
    files::write(
        path,
        contents.as_bytes(),
        WriteMode::Replace,
        Visibility::Public,
    )?;
    Ok(())
}

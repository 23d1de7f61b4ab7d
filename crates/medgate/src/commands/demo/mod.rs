//! `medgate demo`: the whole product in one process, on the embedded default (SQLite and a
//! data folder). It starts a national registry and a repository node wired to it, then does
//! what the README's first steps do by hand, through the same code paths: two clinics'
//! accounts, their keys and CSRs (`medgate_pki::csr::write_tenant_csrs`, as `pki csr`) signed
//! by the node's CA (as `ca sign`), activation, the sample documents uploaded through the API
//! (`medgate-client`: mutual TLS, every write signed), national certificates signed by the
//! registry's CA and registered, documents indexed, a consent created and sent, the patient's
//! portal account activated on the portal's own form, and staff logins for the operator's
//! desk and each clinic's administrator. Then it prints one block (desks, logins, client.toml
//! files, commands to try) and serves until Ctrl-C.
//!
//! Beside them it starts the Hungarian clinical record service (`--role clinical`, the next
//! port after the registry's) with one institution, its unit and practitioner set up as the
//! operator's commands set them up (`medgate_clinical::admin`), the operator's login for its
//! pages, and clinic A's account connected to it as that institution on the administrator's
//! own settings page (the PKCS#12 and its one-time code posted as a browser posts them), so
//! the practitioners' desk works at once; and a patient of the service with a document and a
//! profile entry (written as the FHIR API writes them), their portal account activated on the
//! portal's own form ([`clinical`]). And the Russian claims registers' node (`--role claims`,
//! the port after the clinical service's) with a medical organisation, its three logins
//! (each one-time link opened and the default password changed on the desk's pages), an
//! insurer, last month's period and two generated packages uploaded on the desk ([`claims`]).
//! [`web`] is the browser the setup posts forms with.
//!
//! Run again on the same folder, it finds every step done and does only what is missing: the
//! passwords it made are kept in `DIR/DEMO-ONLY-passwords.toml` (and the ports it chose), so
//! it prints the same block.
//!
//! A composition at the binary's level, like `serve`: it uses the host (`config`, `startup`),
//! `medgate-web`'s staff accounts and passwords, the storage, pki and client crates, and the
//! client commands' upload, the claims domain crate's fund operations and generator; never a
//! server module's folder.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use base64::Engine;
use clap::Args;
use http::Method;
use medgate_client::{ClientSettings, ClientSettingsFile, RepositoryClient};
use medgate_ids::TenantId;
use medgate_pki::ca::{CertificateAuthority, Validity};
use medgate_pki::csr::{write_tenant_csrs, Country, CsrRequest, SubjectFields};
use medgate_pki::files::{self, Visibility, WriteMode};
use medgate_pki::keystore::{write_pkcs12, Pkcs12Options};
use medgate_pki::{load_certificate, CertKind, KeyAlgorithm, Password, PrivateKey};
use medgate_server::config::{Overrides, ServerConfig};
use medgate_storage::{Metadata, NewTenant, StaffScope, TenantPlan, TenantStatus};
use medgate_web::staff::{self as staff_accounts, FirstCredential};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::documents::{upload_cda, Upload};

mod block;
mod claims;
mod clinic_files;
mod clinical;
mod web;

use block::{print_block, Nodes};
use claims::Claims;
use clinic_files::{issue, write_client_toml, write_secret};
use clinical::{clinical_patient, clinical_service, Clinical};
use web::activate_on_portal;

/// The samples that ship with the project (the README's set), uploaded by the demo.
const SAMPLES: [(&str, &str); 5] = [
    (
        "01-karta-informacyjna.xml",
        include_str!("../../../../../examples/cda/01-karta-informacyjna.xml"),
    ),
    (
        "02-informacja-dla-lekarza-kierujacego.xml",
        include_str!("../../../../../examples/cda/02-informacja-dla-lekarza-kierujacego.xml"),
    ),
    (
        "03-recepta.xml",
        include_str!("../../../../../examples/cda/03-recepta.xml"),
    ),
    (
        "04-skierowanie-do-szpitala.xml",
        include_str!("../../../../../examples/cda/04-skierowanie-do-szpitala.xml"),
    ),
    (
        "05-wynik-badania-laboratoryjnego.xml",
        include_str!("../../../../../examples/cda/05-wynik-badania-laboratoryjnego.xml"),
    ),
];

/// The root of the samples' document ids.
const DOCUMENT_ROOT: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1";
/// The patient whose documents clinic A shares and who signs in to the portal.
const PATIENT: &str = "44051401359";
/// The patient of clinic B's documents, found from clinic A in the national registry.
const OTHER_PATIENT: &str = "85031212336";
const OPERATOR_LOGIN: &str = "olek";
const STATE_FILE: &str = "DEMO-ONLY-passwords.toml";

/// One demo clinic: its account, names, the samples it uploads, the one it indexes.
struct Clinic {
    folder: &'static str,
    label: &'static str,
    tenant: &'static str,
    organisation: &'static str,
    unit: &'static str,
    provider_oid: &'static str,
    admin_login: &'static str,
    samples: &'static [usize],
    indexed: &'static str,
}

const CLINICS: [Clinic; 2] = [
    Clinic {
        folder: "clinic-a",
        label: "clinic A",
        tenant: "0000000000005010",
        organisation: "Przychodnia Zdrowie",
        unit: "Rejestracja",
        provider_oid: "2.16.840.1.113883.3.4424.2.7.26",
        admin_login: "anna",
        samples: &[0, 1, 2],
        indexed: "MG-0001",
    },
    Clinic {
        folder: "clinic-b",
        label: "clinic B",
        tenant: "0000000000005028",
        organisation: "Szpital Powiatowy",
        unit: "Izba Przyjęć",
        provider_oid: "2.16.840.1.113883.3.4424.2.7.27",
        admin_login: "bogdan",
        samples: &[3, 4],
        indexed: "MG-0004",
    },
];

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo's folder (both nodes' data, the clinics' keys and client.toml files); run
    /// again on the same folder, the demo reuses it.
    #[arg(long, default_value = "medgate-demo")]
    pub data: PathBuf,
    /// Port of the repository node (its API, /admin, /operator, /portal); another free one
    /// is taken, and said, when it is in use.
    #[arg(long)]
    pub port: Option<u16>,
    /// Port of the national registry.
    #[arg(long)]
    pub registry_port: Option<u16>,
    /// Port of the clinical record service (default: the registry's port + 1).
    #[arg(long)]
    pub clinical_port: Option<u16>,
    /// Port of the claims registers' node (default: the clinical record service's port + 1).
    #[arg(long)]
    pub claims_port: Option<u16>,
}

/// What the demo keeps between runs: the ports and the passwords it made. Demo only.
#[derive(Debug, Serialize, Deserialize)]
struct DemoState {
    repository_port: u16,
    registry_port: u16,
    operator_password: String,
    admin_passwords: Vec<String>,
    patient_password: String,
    clinic_key_passwords: Vec<String>,
    national_p12_password: String,
    /// The clinical record service's port (0 in a file of an older demo: chosen now).
    #[serde(default)]
    clinical_port: u16,
    #[serde(default)]
    practitioner_password: String,
    /// The practitioner's TOTP enrolment URI (the service shows it once; the demo keeps it).
    #[serde(default)]
    practitioner_totp: String,
    /// The password of the clinical record service's patient on its portal.
    #[serde(default)]
    clinical_patient_password: String,
    /// The claims node's port (0 in a file of an older demo: chosen now).
    #[serde(default)]
    claims_port: u16,
    /// The passwords of the claims desk's logins `_1`, `_2`, `_3`.
    #[serde(default)]
    claims_passwords: Vec<String>,
    /// The password of the insurer's reviewer on the claims desk.
    #[serde(default)]
    claims_reviewer_password: String,
}

fn random_secret() -> anyhow::Result<String> {
    medgate_web::password::activation_code()
        .map_err(|e| anyhow::anyhow!("making a demo password: {}", e.message()))
}

impl DemoState {
    fn load_or_create(path: &Path, args: &DemoArgs) -> anyhow::Result<(DemoState, bool)> {
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot be read", path.display()))?;
            let mut state: DemoState = toml::from_str(&text)
                .with_context(|| format!("{}: not the demo's file", path.display()))?;
            if state.admin_passwords.len() != CLINICS.len()
                || state.clinic_key_passwords.len() != CLINICS.len()
            {
                bail!(
                    "{}: not the demo's file (wrong number of clinics)",
                    path.display()
                );
            }
            if let Some(port) = args.port {
                state.repository_port = port;
            }
            if let Some(port) = args.registry_port {
                state.registry_port = port;
            }
            if let Some(port) = args.clinical_port {
                state.clinical_port = port;
            }
            if state.clinical_port == 0 {
                state.clinical_port = state.registry_port.saturating_add(1);
            }
            if state.practitioner_password.is_empty() {
                state.practitioner_password = random_secret()?;
            }
            if state.clinical_patient_password.is_empty() {
                state.clinical_patient_password = random_secret()?;
            }
            if let Some(port) = args.claims_port {
                state.claims_port = port;
            }
            if state.claims_port == 0 {
                state.claims_port = state.clinical_port.saturating_add(1);
            }
            while state.claims_passwords.len() < claims::ROLES.len() {
                state.claims_passwords.push(random_secret()?);
            }
            if state.claims_reviewer_password.is_empty() {
                state.claims_reviewer_password = random_secret()?;
            }
            return Ok((state, false));
        }
        let secrets = || random_secret();
        Ok((
            DemoState {
                repository_port: args.port.unwrap_or(8443),
                registry_port: args.registry_port.unwrap_or(9443),
                operator_password: secrets()?,
                admin_passwords: vec![secrets()?, secrets()?],
                patient_password: secrets()?,
                clinic_key_passwords: vec![secrets()?, secrets()?],
                national_p12_password: secrets()?,
                clinical_port: args
                    .clinical_port
                    .unwrap_or(args.registry_port.unwrap_or(9443).saturating_add(1)),
                practitioner_password: secrets()?,
                practitioner_totp: String::new(),
                clinical_patient_password: secrets()?,
                claims_port: args.claims_port.unwrap_or(
                    args.clinical_port
                        .unwrap_or(args.registry_port.unwrap_or(9443).saturating_add(1))
                        .saturating_add(1),
                ),
                claims_passwords: (0..claims::ROLES.len())
                    .map(|_| secrets())
                    .collect::<anyhow::Result<_>>()?,
                claims_reviewer_password: secrets()?,
            },
            true,
        ))
    }

    fn save(&self, path: &Path) -> anyhow::Result<()> {
        let text = format!(
            "# medgate demo: DEMO ONLY. The passwords of the demo's desks and keys, in clear, so\n\
             # that `medgate demo` prints them again. Never use this folder for real data.\n{}",
            toml::to_string(self).context("writing the demo's file")?
        );
        files::write(
            path,
            text.as_bytes(),
            WriteMode::Replace,
            Visibility::Secret,
        )?;
        Ok(())
    }
}

/// `port` when it is free on 127.0.0.1, else a free one (and a note saying so).
fn free_port(port: u16, what: &str) -> anyhow::Result<u16> {
    if port != 0 && TcpListener::bind(("127.0.0.1", port)).is_ok() {
        return Ok(port);
    }
    let other = TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .context("finding a free port")?
        .port();
    if port != 0 {
        eprintln!("note: port {port} is in use; the {what} listens on port {other} instead");
    }
    Ok(other)
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    files::ensure_dir(path)?;
    path.canonicalize()
        .with_context(|| format!("{}: cannot be resolved", path.display()))
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let dir = absolute(&args.data)?;
    let state_path = dir.join(STATE_FILE);
    let (mut state, new) = DemoState::load_or_create(&state_path, &args)?;
    state.repository_port = free_port(state.repository_port, "repository")?;
    state.registry_port = free_port(state.registry_port, "national registry")?;
    state.clinical_port = free_port(state.clinical_port, "clinical record service")?;
    state.claims_port = free_port(state.claims_port, "claims registers' node")?;
    // Written before anything is created, so an interrupted first run is finished by the
    // next with the same passwords.
    state.save(&state_path)?;
    if new {
        eprintln!(
            "medgate demo: setting up {} (the next run reuses it)…",
            dir.display()
        );
    }

    let registry_config = ServerConfig::load(
        None,
        &Overrides {
            data_dir: Some(dir.join("registry")),
            listen: Some(format!("127.0.0.1:{}", state.registry_port)),
            role: Some("registry".to_owned()),
            ..Overrides::default()
        },
    )?;
    let registry_ca = dir.join("registry").join("ca").join("ca.pem");
    let clinical_config = ServerConfig::load(
        None,
        &Overrides {
            data_dir: Some(dir.join("clinical")),
            listen: Some(format!("127.0.0.1:{}", state.clinical_port)),
            role: Some("clinical".to_owned()),
            ..Overrides::default()
        },
    )?;
    let clinical_ca = dir.join("clinical").join("ca").join("ca.pem");
    let claims_config = ServerConfig::load(
        None,
        &Overrides {
            data_dir: Some(dir.join("claims")),
            listen: Some(format!("127.0.0.1:{}", state.claims_port)),
            role: Some("claims".to_owned()),
            ..Overrides::default()
        },
    )?;
    let claims_ca = dir.join("claims").join("ca").join("ca.pem");
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut stopped: tokio::sync::watch::Receiver<bool>| async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        };

        let registry = medgate_server::startup::prepare(registry_config).await?;
        let registry_url = format!("https://{}", registry.local_addr()?);
        let registry_ca_authority = registry.state.ca.clone();
        let registry_task = tokio::spawn(registry.serve(until_stopped(stopped.clone())));

        let clinical = medgate_server::startup::prepare(clinical_config).await?;
        let clinical_url = format!("https://{}", clinical.local_addr()?);
        let clinical_metadata = clinical.state.metadata.clone();
        let clinical_authority = clinical.state.ca.clone();
        let clinical_task = tokio::spawn(clinical.serve(until_stopped(stopped.clone())));
        clinical_service(&clinical_metadata, &mut state).await?;
        clinical_patient(&clinical_metadata, &clinical_url, &clinical_ca, &state).await?;
        state.save(&state_path)?;

        let claims_node = medgate_server::startup::prepare(claims_config).await?;
        let claims_url = format!("https://{}", claims_node.local_addr()?);
        let claims_metadata = claims_node.state.metadata.clone();
        let claims_task = tokio::spawn(claims_node.serve(until_stopped(stopped.clone())));
        let claims = Claims {
            url: &claims_url,
            ca: &claims_ca,
        };
        let reviewer = claims::claims_node(&claims_metadata, &claims, &state).await?;

        let repository_config = ServerConfig::load(
            None,
            &Overrides {
                data_dir: Some(dir.join("repository")),
                listen: Some(format!("127.0.0.1:{}", state.repository_port)),
                registry_url: Some(registry_url.clone()),
                registry_ca_file: Some(registry_ca.clone()),
                ..Overrides::default()
            },
        )?;
        let repository = medgate_server::startup::prepare(repository_config).await?;
        let repository_url = format!("https://{}", repository.local_addr()?);
        let metadata = repository.state.metadata.clone();
        let repository_ca = repository.state.ca.clone();
        let repository_task = tokio::spawn(repository.serve(until_stopped(stopped.clone())));

        let setup = Setup {
            dir: &dir,
            state: &state,
            metadata: &metadata,
            repository_url: &repository_url,
            repository_ca: &repository_ca,
            registry_ca: &registry_ca_authority,
        };
        let mut settings = Vec::new();
        for (index, clinic) in CLINICS.iter().enumerate() {
            settings.push(setup.clinic(index, clinic).await?);
        }
        setup.consent_and_portal(&settings[0]).await?;
        setup.staff().await?;
        setup
            .connect_clinic(
                &clinical_metadata,
                &clinical_authority,
                &clinical_url,
                &clinical_ca,
            )
            .await?;

        let clinical = Clinical {
            url: &clinical_url,
            ca: &clinical_ca,
        };
        let nodes = Nodes {
            repository: &repository_url,
            registry: &registry_url,
            registry_ca: &registry_ca,
            clinical,
            claims,
            reviewer: &reviewer,
        };
        print_block(&dir, &state, &nodes, started.elapsed())?;

        super::serve::shutdown_signal().await;
        let _ = stop.send(true);
        let _ = registry_task.await;
        let _ = repository_task.await;
        let _ = clinical_task.await;
        let _ = claims_task.await;
        println!(
            "medgate demo stopped; run it again on {} to go on",
            dir.display()
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// What the setup steps share.
struct Setup<'a> {
    dir: &'a Path,
    state: &'a DemoState,
    metadata: &'a Metadata,
    repository_url: &'a str,
    repository_ca: &'a CertificateAuthority,
    registry_ca: &'a CertificateAuthority,
}

impl Setup<'_> {
    /// One clinic from account to indexed documents; returns its client settings.
    async fn clinic(&self, index: usize, clinic: &Clinic) -> anyhow::Result<ClientSettings> {
        let tenant = TenantId::parse(clinic.tenant)?;
        let folder = self.dir.join(clinic.folder);
        files::ensure_dir(&folder)?;
        let password_file = folder.join("password.txt");
        write_secret(&password_file, &self.state.clinic_key_passwords[index])?;
        let password = Password::from_file(&password_file)?;

        // The operator creates the account (`medgate tenant create`).
        let mut account = self.metadata.get_tenant(&tenant).await?;
        if account.is_none() {
            let today = medgate_web::now().replace_time(time::Time::MIDNIGHT);
            account = Some(
                self.metadata
                    .create_tenant(&NewTenant {
                        id: tenant.clone(),
                        plan: TenantPlan {
                            valid_from: today,
                            valid_to: today + time::Duration::days(730),
                            quota_bytes: 200 * 1024 * 1024,
                            max_files: 10_000,
                        },
                    })
                    .await?,
            );
        }
        let account = account.context("the account just created")?;

        // The clinic's keys and CSRs (`medgate pki csr`), signed by the node's CA (`medgate
        // ca sign`).
        let certs = folder.join("certs");
        let subject = SubjectFields::new(clinic.organisation, clinic.unit, Country::parse("PL")?)?;
        issue(&certs, &tenant, &subject, &password, self.repository_ca)?;

        let settings_file = ClientSettingsFile {
            server: Some(self.repository_url.to_owned()),
            tenant: Some(clinic.tenant.to_owned()),
            tls_cert: Some(certs.join("tls.pem")),
            tls_key: Some(certs.join("tls.key")),
            wss_cert: Some(certs.join("wss.pem")),
            wss_key: Some(certs.join("wss.key")),
            password_file: Some(password_file.clone()),
            ca: Some(self.dir.join("repository").join("ca").join("ca.pem")),
            timeout_ms: None,
        };
        write_client_toml(&folder.join("client.toml"), &settings_file)?;
        let settings = ClientSettings::try_from(settings_file)?;
        let client = RepositoryClient::new(&settings)?;

        // `medgate client activate`.
        if account.status == TenantStatus::Created {
            let body = json!({
                "provider_oid": clinic.provider_oid,
                "tls_certificate": client.tls_certificate().to_pem(),
                "wss_certificate": client.wss_certificate().to_pem(),
            });
            client
                .send_json::<Value>(Method::POST, "/api/v1/account/activate", &body)
                .await
                .with_context(|| format!("activating {}", clinic.label))?;
        }

        // `medgate client put examples/cda` (this clinic's part of it).
        for &sample in clinic.samples {
            let (name, text) = SAMPLES[sample];
            match upload_cda(&client, text.as_bytes().to_vec())
                .await
                .with_context(|| format!("{}: uploading {name}", clinic.label))?
            {
                Upload::Stored(_) | Upload::AlreadyStored(_) => {}
            }
        }

        // National certificates from the registry's CA (`pki csr`, `ca sign`, `pki p12`),
        // registered (`client national register`).
        if account.national_repository_id.is_none() {
            self.register_nationally(&folder, &tenant, &subject, &password, &client, clinic)
                .await?;
        }

        // `medgate client index ID`.
        let id = format!("{DOCUMENT_ROOT}^{}", clinic.indexed);
        let encoded = urlencoding::encode(&id).into_owned();
        let stored: Value = client
            .get_json(&format!("/api/v1/documents/{encoded}/metadata"))
            .await?;
        if stored["document"]["indexed"] != Value::Bool(true) {
            client
                .send(
                    Method::POST,
                    &format!("/api/v1/documents/{encoded}/index"),
                    None,
                )
                .await
                .with_context(|| format!("{}: indexing {id}", clinic.label))?;
        }
        Ok(settings)
    }

    async fn register_nationally(
        &self,
        folder: &Path,
        tenant: &TenantId,
        subject: &SubjectFields,
        password: &Password,
        client: &RepositoryClient,
        clinic: &Clinic,
    ) -> anyhow::Result<()> {
        let national = folder.join("national");
        issue(&national, tenant, subject, password, self.registry_ca)?;
        let p12_password = Password::new(self.state.national_p12_password.clone());
        let mut keystores = Vec::new();
        for kind in [CertKind::Tls, CertKind::Wss] {
            let stem = kind.file_stem();
            let certificate = load_certificate(&national.join(format!("{stem}.pem")))?;
            let key = PrivateKey::load(&national.join(format!("{stem}.key")), Some(password))?;
            let bytes = write_pkcs12(
                &certificate,
                std::slice::from_ref(self.registry_ca.certificate()),
                &key,
                &p12_password,
                &Pkcs12Options::default(),
            )?;
            files::write(
                &national.join(format!("{stem}.p12")),
                &bytes,
                WriteMode::Replace,
                Visibility::Secret,
            )?;
            keystores.push(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        let body = json!({
            "tls_p12_base64": keystores[0],
            "wss_p12_base64": keystores[1],
            "password": p12_password.expose(),
            "name": clinic.organisation,
        });
        client
            .send_json::<Value>(Method::POST, "/api/v1/national/register", &body)
            .await
            .with_context(|| format!("{}: registering in the national registry", clinic.label))?;
        Ok(())
    }

    /// Clinic A shares two of the patient's documents (`client consent create`, `send`) and
    /// the patient activates the portal account on the portal's form.
    async fn consent_and_portal(&self, settings: &ClientSettings) -> anyhow::Result<()> {
        let tenant = &settings.tenant;
        let patient = medgate_repository::patient::parse_patient(PATIENT)?;
        let account = self.metadata.get_patient_account(tenant, &patient).await?;
        if account.is_some_and(|account| account.password_hash.is_some()) {
            return Ok(());
        }
        let client = RepositoryClient::new(settings)?;
        let today = medgate_web::now().date();
        let body = json!({
            "patient": { "extension": PATIENT },
            "recipient": "lek. Piotr Nowak, kardiolog",
            "purpose": "konsultacja kardiologiczna",
            "from": today.to_string(),
            "to": (today + time::Duration::days(365)).to_string(),
            "documents": [format!("{DOCUMENT_ROOT}^MG-0001"), format!("{DOCUMENT_ROOT}^MG-0002")],
        });
        let created: Value = client
            .send_json(Method::POST, "/api/v1/consents", &body)
            .await
            .context("creating the consent")?;
        let id = created["consent"]["id"]
            .as_str()
            .context("the consent's id in the answer")?;
        let sent: Value = client
            .send(Method::POST, &format!("/api/v1/consents/{id}/send"), None)
            .await
            .context("sending the consent")?
            .json()?;
        let code = sent["patient_account"]["activation_code"]
            .as_str()
            .context("no activation code in the answer to sending the consent")?;
        let password = self.state.patient_password.as_str();
        activate_on_portal(
            self.repository_url,
            &self.dir.join("repository").join("ca").join("ca.pem"),
            &[
                ("tenant", tenant.as_str()),
                ("patient", PATIENT),
                ("code", code),
                ("password", password),
                ("password2", password),
            ],
        )
        .await
    }

    /// The operator's login and each clinic's administrator (`medgate operator user create`,
    /// `medgate tenant admin-user create --password-file`); a login whose password is no
    /// longer the demo's gets it again.
    async fn staff(&self) -> anyhow::Result<()> {
        let mut logins = vec![(
            StaffScope::Operator,
            OPERATOR_LOGIN,
            &self.state.operator_password,
        )];
        for (index, clinic) in CLINICS.iter().enumerate() {
            logins.push((
                StaffScope::Admin(TenantId::parse(clinic.tenant)?),
                clinic.admin_login,
                &self.state.admin_passwords[index],
            ));
        }
        for (scope, login, password) in logins {
            let existing = self
                .metadata
                .list_staff_users(&scope)
                .await?
                .into_iter()
                .find(|user| user.login.as_str() == login);
            let first = FirstCredential::Password(password.clone());
            match existing {
                None => {
                    staff_accounts::create(self.metadata, scope, login, first, "cli").await?;
                }
                Some(user) => {
                    let current = medgate_web::password::verify_async(
                        password.clone(),
                        user.password_hash.clone(),
                    )
                    .await
                    .map_err(|e| anyhow::anyhow!("checking {login}'s password: {}", e.message()))?;
                    if user.disabled_at.is_some() {
                        self.metadata
                            .set_staff_disabled(&scope, &user.login, false, medgate_web::now())
                            .await?;
                    }
                    if !current {
                        staff_accounts::reset(self.metadata, &scope, login, first).await?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sample_is_a_cda_document_of_the_clinic_that_uploads_it() -> anyhow::Result<()> {
        for clinic in &CLINICS {
            for &sample in clinic.samples {
                let header = medgate_cda::parse(SAMPLES[sample].1.as_bytes())?;
                assert!(header.id.to_string().starts_with(DOCUMENT_ROOT));
            }
            let indexed = format!("{DOCUMENT_ROOT}^{}", clinic.indexed);
            assert!(clinic.samples.iter().any(|&sample| {
                medgate_cda::parse(SAMPLES[sample].1.as_bytes())
                    .is_ok_and(|header| header.id.to_string() == indexed)
            }));
        }
        Ok(())
    }
}

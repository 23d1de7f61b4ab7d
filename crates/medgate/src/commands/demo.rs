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
//! portal's own form.
//!
//! Run again on the same folder, it finds every step done and does only what is missing: the
//! passwords it made are kept in `DIR/DEMO-ONLY-passwords.toml` (and the ports it chose), so
//! it prints the same block.
//!
//! A composition at the binary's level, like `serve`: it uses the host (`config`, `startup`),
//! `medgate-web`'s staff accounts and passwords, the storage, pki and client crates, and the
//! client commands' upload; never a server module's folder.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

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

/// The samples that ship with the project (the README's set), uploaded by the demo.
const SAMPLES: [(&str, &str); 5] = [
    ("01-karta-informacyjna.xml", include_str!("../../../../examples/cda/01-karta-informacyjna.xml")),
    (
        "02-informacja-dla-lekarza-kierujacego.xml",
        include_str!("../../../../examples/cda/02-informacja-dla-lekarza-kierujacego.xml"),
    ),
    ("03-recepta.xml", include_str!("../../../../examples/cda/03-recepta.xml")),
    (
        "04-skierowanie-do-szpitala.xml",
        include_str!("../../../../examples/cda/04-skierowanie-do-szpitala.xml"),
    ),
    (
        "05-wynik-badania-laboratoryjnego.xml",
        include_str!("../../../../examples/cda/05-wynik-badania-laboratoryjnego.xml"),
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
}

/// The clinical record service's institution, unit and practitioner in the demo; clinic A's
/// account acts for the institution.
const INSTITUTION: &str = "506097";
const INSTITUTION_NAME: &str = "Mosoly Fogászat Kft.";
const UNIT: &str = "001044299";
const PRACTITIONER: &str = "dr.kovacs";
/// The clinical record service's patient (a valid TAJ) and their first document.
const CLINICAL_PATIENT: &str = "123456788";
const CLINICAL_PATIENT_NAME: &str = "Kiss Anna";
const CLINICAL_DOCUMENT: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ClinicalDocument xmlns=\"urn:hl7-org:v3\"><title>Ambuláns lap – fogászati kontroll</title><component><structuredBody><component><section><title>Lelet</title><text>Fogkő eltávolítva; kontroll fél év múlva.</text></section></component></structuredBody></component></ClinicalDocument>\n";
const PRACTITIONER_NAME: &str = "Dr. Kovács Anna";
const STAMP_NUMBER: &str = "58012";

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
                bail!("{}: not the demo's file (wrong number of clinics)", path.display());
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
        files::write(path, text.as_bytes(), WriteMode::Replace, Visibility::Secret)?;
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
    // Written before anything is created, so an interrupted first run is finished by the
    // next with the same passwords.
    state.save(&state_path)?;
    if new {
        eprintln!("medgate demo: setting up {} (the next run reuses it)…", dir.display());
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
            .connect_clinic(&clinical_metadata, &clinical_authority, &clinical_url, &clinical_ca)
            .await?;

        let clinical = Clinical {
            url: &clinical_url,
            ca: &clinical_ca,
        };
        print_block(&dir, &state, &repository_url, &registry_url, &registry_ca, &clinical, started.elapsed())?;

        super::serve::shutdown_signal().await;
        let _ = stop.send(true);
        let _ = registry_task.await;
        let _ = repository_task.await;
        let _ = clinical_task.await;
        println!("medgate demo stopped; run it again on {} to go on", dir.display());
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
                .send(Method::POST, &format!("/api/v1/documents/{encoded}/index"), None)
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
    /// Clinic A's account connected to the clinical record service as the institution, on
    /// the administrator's settings page (`/admin/clinical-service`): a certificate issued
    /// to the institution by the service's CA (as `medgate clinical certificate issue`), its
    /// PKCS#12 and one-time code posted with the service's address and CA, as a browser
    /// posts the form. Done once: a connected account is left as it is.
    async fn connect_clinic(
        &self,
        service: &Metadata,
        service_ca: &CertificateAuthority,
        service_url: &str,
        service_ca_file: &Path,
    ) -> anyhow::Result<()> {
        let clinic = &CLINICS[0];
        let tenant = TenantId::parse(clinic.tenant)?;
        if self.metadata.clinical_connection(&tenant).await?.is_some() {
            return Ok(());
        }
        let code = random_secret()?;
        let issued = medgate_clinical::admin::issue_certificate(
            service,
            &demo_operator(),
            service_ca,
            INSTITUTION,
            365,
            &code,
            medgate_web::now(),
        )
        .await?;
        let ca_pem = std::fs::read(service_ca_file)
            .with_context(|| format!("{}: cannot be read", service_ca_file.display()))?;
        let web = Web::new(self.repository_url, &self.dir.join("repository").join("ca").join("ca.pem"))?;
        web.sign_in(
            "/admin",
            &[
                ("tenant", clinic.tenant),
                ("login", clinic.admin_login),
                ("password", &self.state.admin_passwords[0]),
            ],
        )
        .await?;
        let page = web.get("/admin/clinical-service").await?;
        let token = form_token(&page).context("no form token on the clinical service settings page")?;
        let practitioners = format!("{PRACTITIONER_NAME}; {STAMP_NUMBER}; {PRACTITIONER}");
        web.post_multipart(
            "/admin/clinical-service",
            &[
                ("csrf", &token),
                ("service_url", service_url),
                ("code", &code),
                ("institution", INSTITUTION),
                ("institution_name", INSTITUTION_NAME),
                ("units", UNIT),
                ("practitioners", &practitioners),
            ],
            &[
                ("ca_file", "clinical-ca.pem", &ca_pem),
                ("p12_file", "institution.p12", &issued.pkcs12),
            ],
        )
        .await
        .context("connecting clinic A to the clinical record service")?;
        Ok(())
    }

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

/// Keys and CSRs for both kinds in `dir` (as `medgate pki csr` writes them) and their
/// certificates signed by `ca` (as `medgate ca sign`), unless they are there already.
fn issue(
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

fn write_secret(path: &Path, secret: &str) -> anyhow::Result<()> {
    files::write(path, format!("{secret}\n").as_bytes(), WriteMode::Replace, Visibility::Secret)?;
    Ok(())
}

/// A client.toml as the README shows it, with absolute paths.
fn write_client_toml(path: &Path, settings: &ClientSettingsFile) -> anyhow::Result<()> {
    let text = |value: &Option<PathBuf>| {
        value
            .as_ref()
            .map(|p| toml::Value::String(p.display().to_string()).to_string())
            .unwrap_or_default()
    };
    let quoted = |value: &Option<String>| {
        toml::Value::String(value.clone().unwrap_or_default()).to_string()
    };
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
    files::write(path, contents.as_bytes(), WriteMode::Replace, Visibility::Public)?;
    Ok(())
}

/// The patient sets a password with the activation code on `/portal/activate`, as a browser
/// does: the form's page (its token and cookie), then the form posted.
async fn activate_on_portal(base: &str, ca: &Path, fields: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in medgate_pki::load_certificates(ca)? {
        roots
            .add(rustls::pki_types::CertificateDer::from(certificate.der().to_vec()))
            .with_context(|| format!("{}: not usable as a trust anchor", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?;
    let url = format!("{base}/portal/activate");
    let page = http.get(&url).send().await.context("opening the portal's activation page")?;
    let cookies: Vec<String> = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|value| value.split(';').next())
        .map(str::to_owned)
        .collect();
    let body = page.text().await?;
    let token = form_token(&body).context("no form token on the portal's activation page")?;
    let answer = http
        .post(&url)
        .header(reqwest::header::COOKIE, cookies.join("; "))
        .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(
            [("csrf", token.as_str())]
            .iter()
            .chain(fields)
            .map(|(name, value)| format!("{name}={}", urlencoding::encode(value)))
            .collect::<Vec<_>>()
            .join("&"),
        )
        .send()
        .await
        .context("posting the portal's activation form")?;
    if answer.status() != reqwest::StatusCode::SEE_OTHER {
        bail!(
            "the portal refused the patient's activation ({})",
            answer.status()
        );
    }
    Ok(())
}

/// The demo's operator acting on the clinical record service (as the command line does).
fn demo_operator() -> medgate_clinical::admin::Operator {
    medgate_clinical::admin::Operator {
        name: "cli".to_owned(),
        origin: medgate_storage::AuditOrigin::Cli,
    }
}

/// The clinical record service's institution, unit, practitioner (their TOTP URI kept in
/// `state`), matrix line and operator login, each unless it is there already.
async fn clinical_service(service: &Metadata, state: &mut DemoState) -> anyhow::Result<()> {
    use medgate_clinical::admin;
    let operator = demo_operator();
    let now = medgate_web::now();
    let institution = medgate_ids::InstitutionId::parse(INSTITUTION)?;
    if service.clinical_institution(&institution).await?.is_none() {
        admin::register_institution(service, &operator, INSTITUTION, INSTITUTION_NAME, now).await?;
        admin::add_unit(service, &operator, INSTITUTION, UNIT, "Fogászati rendelő").await?;
    }
    if service.clinical_practitioner(PRACTITIONER).await?.is_none() || state.practitioner_totp.is_empty() {
        if service.clinical_practitioner(PRACTITIONER).await?.is_some() {
            bail!("the clinical service's practitioner {PRACTITIONER} exists but the demo's file lost their TOTP secret; start the demo on a new folder");
        }
        let registered = admin::register_practitioner(
            service,
            &operator,
            PRACTITIONER,
            PRACTITIONER_NAME,
            STAMP_NUMBER,
            &state.practitioner_password,
            now,
        )
        .await?;
        state.practitioner_totp = registered.otpauth_uri();
    }
    if service.clinical_authorisations(PRACTITIONER, &institution).await?.is_empty() {
        admin::grant(service, &operator, PRACTITIONER, INSTITUTION, None, "doctor").await?;
    }
    let operators = service.list_staff_users(&StaffScope::Operator).await?;
    if !operators.iter().any(|user| user.login.as_str() == OPERATOR_LOGIN) {
        staff_accounts::create(
            service,
            StaffScope::Operator,
            OPERATOR_LOGIN,
            FirstCredential::Password(state.operator_password.clone()),
            "cli",
        )
        .await?;
    }
    Ok(())
}

/// The clinical record service's patient: a document and a profile entry written by the
/// institution's practitioner (as the FHIR API writes them), and the patient's portal
/// account, activated on `/portal/activate` with the operator's one-time code. Done once.
async fn clinical_patient(service: &Metadata, url: &str, ca: &Path, state: &DemoState) -> anyhow::Result<()> {
    let taj = medgate_ids::Taj::parse(CLINICAL_PATIENT)?;
    if service.clinical_patient_account(&taj).await?.is_some() {
        return Ok(());
    }
    let now = medgate_web::now();
    let practitioner = medgate_clinical::Caller {
        user_name: PRACTITIONER.to_owned(),
        institution: medgate_ids::InstitutionId::parse(INSTITUTION)?,
        origin: medgate_storage::AuditOrigin::Cli,
    };
    let document = medgate_clinical::documents::NewDocument {
        patient: taj.clone(),
        encounter: None,
        content_type: "application/hl7-v3+xml".to_owned(),
        title: "Ambuláns lap – fogászati kontroll".to_owned(),
        data: CLINICAL_DOCUMENT.as_bytes().to_vec(),
        fhir_base_url: format!("{url}/fhir"),
        identifier: None,
    };
    medgate_clinical::documents::submit(service, &practitioner, &document, now).await?;
    let condition = serde_json::json!({
        "resourceType": "Condition",
        "clinicalStatus": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"
        }]},
        "code": { "text": "Fogágybetegség (parodontitis)" },
        "subject": { "reference": format!("Patient/{CLINICAL_PATIENT}") }
    });
    medgate_clinical::resources::create(
        service,
        &practitioner,
        medgate_clinical::ResourceType::Condition,
        condition,
        now,
    )
    .await?;
    let account = medgate_clinical::accounts::create_patient_account(
        service,
        &demo_operator(),
        CLINICAL_PATIENT,
        CLINICAL_PATIENT_NAME,
        now,
    )
    .await?;
    let password = state.clinical_patient_password.as_str();
    activate_on_portal(
        url,
        ca,
        &[
            ("taj", CLINICAL_PATIENT),
            ("code", &account.activation_code),
            ("password", password),
            ("password2", password),
        ],
    )
    .await
    .context("activating the clinical portal's patient")
}

/// A browser's side of a node's pages for the demo's setup: one cookie jar, the node's CA.
struct Web {
    http: reqwest::Client,
    base: String,
    cookies: std::sync::Mutex<Vec<(String, String)>>,
}

impl Web {
    fn new(base: &str, ca: &Path) -> anyhow::Result<Web> {
        Ok(Web {
            http: web_client(ca)?,
            base: base.to_owned(),
            cookies: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn cookie_header(&self) -> String {
        let jar = self.cookies.lock().map(|jar| jar.clone()).unwrap_or_default();
        jar.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<(reqwest::StatusCode, String)> {
        let answer = request
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header("origin", &self.base)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await?;
        for value in answer.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) = value.to_str().ok().and_then(|v| v.split(';').next()).and_then(|p| p.split_once('=')) else {
                continue;
            };
            if let Ok(mut jar) = self.cookies.lock() {
                jar.retain(|(known, _)| known != name);
                jar.push((name.to_owned(), value.to_owned()));
            }
        }
        let status = answer.status();
        Ok((status, answer.text().await?))
    }

    async fn get(&self, path: &str) -> anyhow::Result<String> {
        let (status, body) = self.send(self.http.get(format!("{}{path}", self.base))).await?;
        if !status.is_success() {
            bail!("{path} answered {status}");
        }
        Ok(body)
    }

    /// Signs in at a desk's form with `fields`.
    async fn sign_in(&self, desk: &str, fields: &[(&str, &str)]) -> anyhow::Result<()> {
        let page = self.get(desk).await?;
        let token = form_token(&page).with_context(|| format!("no form token on {desk}"))?;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        let body = all
            .iter()
            .map(|(name, value)| format!("{name}={}", urlencoding::encode(value)))
            .collect::<Vec<_>>()
            .join("&");
        let request = self
            .http
            .post(format!("{}{desk}", self.base))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let (status, _) = self.send(request).await?;
        if status != reqwest::StatusCode::SEE_OTHER {
            bail!("signing in at {desk} was refused ({status})");
        }
        Ok(())
    }

    /// A `multipart/form-data` form (text fields, then files) that must answer with a
    /// redirect.
    async fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> anyhow::Result<()> {
        let boundary = format!("medgate-demo-{}", random_secret()?.replace('-', ""));
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            );
        }
        for (name, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body);
        let (status, page) = self.send(request).await?;
        if status != reqwest::StatusCode::SEE_OTHER {
            let alert = page
                .split("role=\"alert\">")
                .nth(1)
                .and_then(|rest| rest.split('<').next())
                .unwrap_or("");
            bail!("{path} refused the form ({status}): {alert}");
        }
        Ok(())
    }
}

/// An HTTPS client that trusts `ca` and follows no redirect.
fn web_client(ca: &Path) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in medgate_pki::load_certificates(ca)? {
        roots
            .add(rustls::pki_types::CertificateDer::from(certificate.der().to_vec()))
            .with_context(|| format!("{}: not usable as a trust anchor", ca.display()))?;
    }
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?)
}

/// The clinical record service as the block names it.
struct Clinical<'a> {
    url: &'a str,
    ca: &'a Path,
}

/// The `csrf` hidden field's value in a page.
fn form_token(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = page[start..].find('"')?;
    Some(page[start..start + end].to_owned())
}

/// The one block the demo prints.
fn print_block(
    dir: &Path,
    state: &DemoState,
    repository: &str,
    registry: &str,
    registry_ca: &Path,
    clinical: &Clinical<'_>,
    took: Duration,
) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("finding the medgate executable")?;
    let exe = exe.display();
    let config = |index: usize| dir.join(CLINICS[index].folder).join("client.toml");
    let mut out = String::new();
    // The time goes to stderr, so that a second run prints the very same block.
    eprintln!("medgate demo: ready in {:.1} s", took.as_secs_f64());
    out.push_str(
        "medgate demo: a repository, a national registry and a clinical record service are running (Ctrl-C stops them).\n\n",
    );
    out.push_str("DEMO ONLY: these passwords are kept in clear in ");
    out.push_str(&format!("{}; never use them, or this folder, for real data.\n\n", dir.join(STATE_FILE).display()));
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
        "  clinical portal     {}/portal   TAJ {CLINICAL_PATIENT}  password {}\n\n",
        clinical.url, state.clinical_patient_password
    ));
    for (index, clinic) in CLINICS.iter().enumerate() {
        out.push_str(&format!("  {} client.toml  {}\n", clinic.label, config(index).display()));
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

    #[test]
    fn the_form_token_is_read_from_its_hidden_field() {
        let page = "<form><input type=\"hidden\" name=\"csrf\" value=\"abc123\"></form>";
        assert_eq!(form_token(page).as_deref(), Some("abc123"));
        assert_eq!(form_token("<form></form>"), None);
    }
}

//! `medgate client clinical …`: a clinic's calls to the clinical record service (a node of
//! `--role clinical`) from the command line, over `medgate_client::clinical`. `setup` checks
//! the institution's PKCS#12 and one-time code and keeps them in a folder (`--config-dir`);
//! `login` keeps the practitioner's 7-hour session there; every other command uses both.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use medgate_client::clinical::{
    ClinicalClient, ClinicalClientError, ClinicalFolder, ClinicalOptions, DocumentSubmission,
    FhirResource, InstitutionCredentials, NewEncounter, NewReferral, ProfileKind, Session,
    SubmissionId, DOCUMENT_CONTENT_TYPES,
};
use medgate_ids::{InstitutionId, Taj, UnitId};
use medgate_pki::files::{Visibility, WriteMode};
use medgate_pki::Password;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::ClientArgs;
use crate::output::{parse_time, print_json, print_table, rfc3339};

#[derive(Debug, Args)]
pub struct ClinicalArgs {
    /// The folder holding the institution's setup and the practitioner's session (default
    /// $XDG_CONFIG_HOME/medgate/clinical, else ~/.config/medgate/clinical).
    #[arg(long, global = true, help_heading = "Clinical record service")]
    pub config_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: ClinicalCommand,
}

#[derive(Debug, Subcommand)]
pub enum ClinicalCommand {
    /// Set the institution up: the service's URL and CA, the institution certificate as
    /// PKCS#12 with its one-time code. Checked first; nothing is kept when refused.
    Setup(SetupArgs),
    /// Sign a practitioner in (service password + the TOTP code); the session (7 hours) is
    /// kept in the folder, owner-only.
    Login(LoginArgs),
    /// End the practitioner's session.
    Logout,
    /// Encounters (the event catalogue): open, close.
    #[command(subcommand)]
    Encounter(EncounterCommand),
    /// Clinical documents: submit, list a patient's (all institutions), get one.
    #[command(subcommand)]
    Document(DocumentCommand),
    /// The patient profile: list, add, update, delete, history.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// e-Referrals: issue, find, consume, cancel.
    #[command(subcommand)]
    Referral(ReferralCommand),
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// The service's URL, e.g. https://clinical.example:8443.
    #[arg(long)]
    pub service_url: String,
    /// The service's CA certificate (PEM), from the service's operator.
    #[arg(long)]
    pub service_ca: PathBuf,
    /// The institution certificate as PKCS#12, from the service's operator.
    #[arg(long)]
    pub p12: PathBuf,
    /// A file whose first line is the PKCS#12's one-time code (delivered separately).
    #[arg(long)]
    pub code_file: PathBuf,
    /// The institution id (6 digits) the certificate must be for.
    #[arg(long)]
    pub institution: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The practitioner's user name at the service.
    #[arg(long)]
    pub user_name: String,
    /// A file whose first line is the practitioner's service password.
    #[arg(long)]
    pub password_file: PathBuf,
    /// The code the practitioner's TOTP token shows now.
    #[arg(long)]
    pub code: String,
}

#[derive(Debug, Subcommand)]
pub enum EncounterCommand {
    /// Open an encounter for a patient at a unit of the institution.
    Open {
        /// The patient's TAJ (9 digits).
        #[arg(long)]
        patient: String,
        /// The unit (9 digits).
        #[arg(long)]
        unit: String,
        /// The care type, e.g. járóbeteg-ellátás.
        #[arg(long, default_value = "")]
        care_type: String,
    },
    /// Close an open encounter now.
    Close {
        /// The encounter's id.
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DocumentCommand {
    /// Submit a document (PDF or CDA) for a patient. Retried on a lost answer and stored
    /// once: the submission carries an identifier (--identifier, or a fresh one, printed).
    Submit {
        #[arg(long)]
        patient: String,
        /// The document file.
        #[arg(long)]
        file: PathBuf,
        /// The encounter it belongs to.
        #[arg(long)]
        encounter: Option<String>,
        /// Its title (default: the file name).
        #[arg(long)]
        title: Option<String>,
        /// application/pdf or application/hl7-v3+xml (default: from the file's first bytes).
        #[arg(long)]
        content_type: Option<String>,
        /// The submission's identifier: give the one printed by an earlier attempt to send
        /// the same document again without storing it twice.
        #[arg(long)]
        identifier: Option<String>,
    },
    /// A patient's documents across all institutions.
    List {
        #[arg(long)]
        patient: String,
        /// Break the glass of the patient's restriction, stating the reason (logged and shown
        /// to the patient).
        #[arg(long)]
        break_glass: Option<String>,
    },
    /// Save a document's content to a file.
    Get {
        /// The document's id.
        #[arg(long)]
        id: String,
        /// The file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        break_glass: Option<String>,
    },
}

/// An entry's content: words, or a whole FHIR resource.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct EntryContent {
    /// The entry in words (the allergy, device, condition, care programme or medication).
    #[arg(long)]
    pub text: Option<String>,
    /// The entry as a FHIR R4 JSON file.
    #[arg(long)]
    pub resource: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// A patient's entries of one type.
    List {
        /// AllergyIntolerance, Device, DeviceUseStatement, Condition, CarePlan or
        /// MedicationStatement.
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        patient: String,
    },
    /// Add an entry.
    Add {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        patient: String,
        #[command(flatten)]
        content: EntryContent,
    },
    /// Change an entry: a new version (the history keeps the old one).
    Update {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        id: String,
        #[command(flatten)]
        content: EntryContent,
        /// The version the change is based on (default: the current one, read first); when
        /// the entry changed since, the service refuses with a version conflict.
        #[arg(long)]
        based_on: Option<u64>,
    },
    /// Delete an entry (the institution that created it only).
    Delete {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        id: String,
    },
    /// Every version of an entry, newest first.
    History {
        #[arg(long = "type")]
        kind: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReferralCommand {
    /// Issue a referral for a patient to a specialty.
    Issue {
        #[arg(long)]
        patient: String,
        #[arg(long)]
        specialty: String,
        #[arg(long)]
        note: Option<String>,
        /// It expires after this (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// Find referrals by patient or by id.
    Find {
        #[arg(long, conflicts_with = "id", required_unless_present = "id")]
        patient: Option<String>,
        #[arg(long)]
        id: Option<String>,
    },
    /// Use a referral (once).
    Consume {
        #[arg(long)]
        id: String,
    },
    /// Cancel a referral (its issuer).
    Cancel {
        #[arg(long)]
        id: String,
    },
}

/// The folder: `--config-dir`, else the user's configuration folder.
fn folder(args: &ClinicalArgs) -> anyhow::Result<ClinicalFolder> {
    if let Some(dir) = &args.config_dir {
        return Ok(ClinicalFolder::new(dir));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))
        .ok_or_else(|| {
            anyhow!("no --config-dir given and neither XDG_CONFIG_HOME nor HOME is set")
        })?;
    Ok(ClinicalFolder::new(base.join("medgate").join("clinical")))
}

fn options(client: &ClientArgs) -> anyhow::Result<ClinicalOptions> {
    let mut options = ClinicalOptions::default();
    if let Some(ms) = client.timeout_ms {
        if ms == 0 {
            return Err(anyhow!("--timeout-ms must be above 0"));
        }
        options.timeout = Duration::from_millis(ms);
    }
    Ok(options)
}

fn taj(text: &str) -> anyhow::Result<Taj> {
    Ok(Taj::parse(text.trim())?)
}

fn kind(text: &str) -> anyhow::Result<ProfileKind> {
    Ok(ProfileKind::parse(text)?)
}

/// The connected client and the kept session.
struct SignedIn {
    client: ClinicalClient,
    session: Session,
    folder: ClinicalFolder,
}

fn connect(
    client: &ClientArgs,
    args: &ClinicalArgs,
) -> anyhow::Result<(ClinicalClient, ClinicalFolder)> {
    let folder = folder(args)?;
    let setup = folder.load(OffsetDateTime::now_utc())?;
    let connected = ClinicalClient::new(&setup.service_url, setup.credentials, options(client)?)?;
    Ok((connected, folder))
}

async fn signed_in(client: &ClientArgs, args: &ClinicalArgs) -> anyhow::Result<SignedIn> {
    let (connected, folder) = connect(client, args)?;
    let session = folder.session()?;
    if session.institution != *connected.institution() {
        return Err(anyhow!(
            "the kept session is for institution {}, the folder's setup for {}; run `medgate client clinical login` again",
            session.institution,
            connected.institution()
        ));
    }
    Ok(SignedIn {
        client: connected,
        session,
        folder,
    })
}

impl SignedIn {
    /// A call's outcome; an ended session is forgotten, so the next command says "sign in".
    fn check<T>(&self, outcome: Result<T, ClinicalClientError>) -> anyhow::Result<T> {
        match outcome {
            Err(error @ ClinicalClientError::SessionEnded { .. }) => {
                self.folder.forget_session()?;
                Err(error.into())
            }
            other => Ok(other?),
        }
    }
}

pub async fn run(client: &ClientArgs, args: &ClinicalArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        ClinicalCommand::Setup(setup_args) => setup(args, setup_args),
        ClinicalCommand::Login(login_args) => login(client, args, login_args).await,
        ClinicalCommand::Logout => {
            let context = signed_in(client, args).await?;
            let outcome = context.client.logout(&context.session).await;
            context.folder.forget_session()?;
            match outcome {
                Ok(()) | Err(ClinicalClientError::SessionEnded { .. }) => {}
                Err(error) => return Err(error.into()),
            }
            if args.json {
                print_json(&json!({ "signed_out": context.session.user_name }))?;
            } else {
                println!("{} signed out", context.session.user_name);
            }
            Ok(ExitCode::SUCCESS)
        }
        ClinicalCommand::Encounter(command) => {
            let context = signed_in(client, args).await?;
            let (c, s) = (&context.client, &context.session);
            let encounter = match command {
                EncounterCommand::Open {
                    patient,
                    unit,
                    care_type,
                } => {
                    let encounter = NewEncounter {
                        patient: taj(patient)?,
                        unit: UnitId::parse(unit.trim())?,
                        care_type: care_type.clone(),
                        start: None,
                    };
                    context.check(c.open_encounter(s, &encounter).await)?
                }
                EncounterCommand::Close { id } => context.check(c.close_encounter(s, id).await)?,
            };
            print_resource(args, &encounter, "encounter")
        }
        ClinicalCommand::Document(command) => document(client, args, command).await,
        ClinicalCommand::Profile(command) => profile(client, args, command).await,
        ClinicalCommand::Referral(command) => referral(client, args, command).await,
    }
}

fn setup(args: &ClinicalArgs, setup: &SetupArgs) -> anyhow::Result<ExitCode> {
    let service_url = url::Url::parse(setup.service_url.trim())
        .with_context(|| format!("--service-url '{}' is not a URL", setup.service_url))?;
    if service_url.scheme() != "https" {
        return Err(anyhow!(
            "--service-url {service_url} must start with https://"
        ));
    }
    let institution = InstitutionId::parse(setup.institution.trim())?;
    let code = Password::from_file(&setup.code_file)?;
    let credentials = InstitutionCredentials::open_files(
        &setup.p12,
        &code,
        &setup.service_ca,
        &institution,
        OffsetDateTime::now_utc(),
    )?;
    let folder = folder(args)?;
    folder.save(&service_url, &credentials)?;
    if args.json {
        print_json(&json!({
            "institution": institution.as_str(),
            "service_url": service_url.as_str(),
            "certificate_serial": credentials.serial_hex(),
            "certificate_not_after": rfc3339(credentials.not_after()),
            "config_dir": folder.dir(),
        }))?;
    } else {
        println!(
            "institution {institution} set up for {service_url}: certificate {} valid until {}; kept in {}",
            credentials.serial_hex(),
            rfc3339(credentials.not_after()),
            folder.dir().display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn login(
    client: &ClientArgs,
    args: &ClinicalArgs,
    login: &LoginArgs,
) -> anyhow::Result<ExitCode> {
    let (connected, folder) = connect(client, args)?;
    let password = Password::from_file(&login.password_file)?;
    let session = connected
        .login(login.user_name.trim(), &password, &login.code)
        .await?;
    folder.save_session(&session)?;
    if args.json {
        print_json(&json!({
            "user_name": session.user_name,
            "institution": session.institution.as_str(),
            "expires_at": rfc3339(session.expires_at),
            "session_file": folder.session_path(),
        }))?;
    } else {
        println!(
            "{} signed in for institution {} until {}",
            session.user_name,
            session.institution,
            rfc3339(session.expires_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn document(
    client: &ClientArgs,
    args: &ClinicalArgs,
    command: &DocumentCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        DocumentCommand::Submit {
            patient,
            file,
            encounter,
            title,
            content_type,
            identifier,
        } => {
            let patient = taj(patient)?;
            let data = std::fs::read(file)
                .with_context(|| format!("{} cannot be read", file.display()))?;
            let content_type = match content_type {
                Some(given) => given.clone(),
                None => DocumentSubmission::sniff_content_type(&data)
                    .ok_or_else(|| {
                        anyhow!(
                            "{} is neither a PDF nor XML; give --content-type ({})",
                            file.display(),
                            DOCUMENT_CONTENT_TYPES.join(", ")
                        )
                    })?
                    .to_owned(),
            };
            let identifier = match identifier {
                Some(text) => SubmissionId::parse(text.trim())?,
                None => SubmissionId::generate()?,
            };
            let title = title.clone().unwrap_or_else(|| {
                file.file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "document".to_owned())
            });
            let submission = DocumentSubmission {
                identifier: identifier.clone(),
                patient,
                encounter: encounter.clone(),
                content_type,
                title,
                data,
            };
            let context = signed_in(client, args).await?;
            let submitted = match context
                .client
                .submit_document(&context.session, &submission)
                .await
            {
                Err(error) if error.is_transient() => {
                    return Err(anyhow!(
                        "{error}; the document may or may not be stored: send it again with --identifier {identifier} and it is stored once"
                    ))
                }
                other => context.check(other)?,
            };
            let document = &submitted.document;
            if args.json {
                print_json(&json!({
                    "id": document.id(),
                    "identifier": identifier.as_str(),
                    "created": submitted.created,
                    "resource": document.json(),
                }))?;
            } else if submitted.created {
                println!(
                    "document {} submitted (identifier {identifier})",
                    document.id()
                );
            } else {
                println!(
                    "document {} was submitted before with identifier {identifier}; not stored again",
                    document.id()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        DocumentCommand::List {
            patient,
            break_glass,
        } => {
            let patient = taj(patient)?;
            let context = signed_in(client, args).await?;
            let list = context.check(
                context
                    .client
                    .patient_documents(&context.session, &patient, break_glass.as_deref())
                    .await,
            )?;
            if args.json {
                print_json(&json!({
                    "documents": list.documents.iter().map(FhirResource::json).collect::<Vec<_>>(),
                    "withheld": list.withheld,
                }))?;
            } else {
                let rows: Vec<[String; 5]> = list
                    .documents
                    .iter()
                    .map(|d| {
                        [
                            d.id().to_owned(),
                            d.json()["date"].as_str().unwrap_or_default().to_owned(),
                            d.institution().unwrap_or_default().to_owned(),
                            d.json()["content"][0]["attachment"]["contentType"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            d.summary().unwrap_or_default().to_owned(),
                        ]
                    })
                    .collect();
                print_table(["ID", "DATE", "INSTITUTION", "TYPE", "TITLE"], &rows);
                if let Some(note) = &list.withheld {
                    println!("{note}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        DocumentCommand::Get {
            id,
            out,
            break_glass,
        } => {
            medgate_pki::files::check_writable(out, WriteMode::CreateNew)?;
            let context = signed_in(client, args).await?;
            let content = context.check(
                context
                    .client
                    .document_content(&context.session, id, break_glass.as_deref())
                    .await,
            )?;
            medgate_pki::files::write(
                out,
                &content.data,
                WriteMode::CreateNew,
                Visibility::Secret,
            )?;
            if args.json {
                print_json(&json!({
                    "id": id,
                    "content_type": content.content_type,
                    "bytes": content.data.len(),
                    "file": out,
                }))?;
            } else {
                println!(
                    "document {id}: {} bytes of {} written to {}",
                    content.data.len(),
                    content.content_type,
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The entry a command gives: from words, or a FHIR JSON file.
fn entry_resource(
    kind: ProfileKind,
    content: &EntryContent,
    base: impl FnOnce(&str) -> anyhow::Result<Value>,
) -> anyhow::Result<Value> {
    match (&content.text, &content.resource) {
        (Some(text), _) => base(text),
        (None, Some(path)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("{} cannot be read", path.display()))?;
            let value: Value = serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            if value["resourceType"] != kind.as_str() {
                return Err(anyhow!(
                    "{} holds a {} where a {} is expected",
                    path.display(),
                    value["resourceType"]
                        .as_str()
                        .unwrap_or("resource without resourceType"),
                    kind.as_str()
                ));
            }
            Ok(value)
        }
        (None, None) => Err(anyhow!("give --text or --resource")),
    }
}

async fn profile(
    client: &ClientArgs,
    args: &ClinicalArgs,
    command: &ProfileCommand,
) -> anyhow::Result<ExitCode> {
    let context = signed_in(client, args).await?;
    let (c, s) = (&context.client, &context.session);
    match command {
        ProfileCommand::List { kind: k, patient } => {
            let entries = context.check(c.profile_entries(s, kind(k)?, &taj(patient)?).await)?;
            print_resources(args, &entries)
        }
        ProfileCommand::Add {
            kind: k,
            patient,
            content,
        } => {
            let kind = kind(k)?;
            let patient = taj(patient)?;
            let resource = entry_resource(kind, content, |text| Ok(kind.entry(&patient, text)?))?;
            let created = context.check(c.create_profile_entry(s, kind, &resource).await)?;
            print_resource(args, &created, "profile entry")
        }
        ProfileCommand::Update {
            kind: k,
            id,
            content,
            based_on,
        } => {
            let kind = kind(k)?;
            let current = context.check(c.profile_entry(s, kind, id).await)?;
            let based_on = match based_on {
                Some(version) => *version,
                None => current
                    .version()
                    .ok_or_else(|| anyhow!("{}/{id} has no version", kind.as_str()))?,
            };
            let resource = entry_resource(kind, content, |text| {
                Ok(kind.with_text(current.json().clone(), text)?)
            })?;
            let updated = context.check(
                c.update_profile_entry(s, kind, id, &resource, based_on)
                    .await,
            )?;
            print_resource(args, &updated, "profile entry")
        }
        ProfileCommand::Delete { kind: k, id } => {
            let kind = kind(k)?;
            context.check(c.delete_profile_entry(s, kind, id).await)?;
            if args.json {
                print_json(&json!({ "deleted": format!("{}/{id}", kind.as_str()) }))?;
            } else {
                println!("{}/{id} deleted", kind.as_str());
            }
            Ok(ExitCode::SUCCESS)
        }
        ProfileCommand::History { kind: k, id } => {
            let history = context.check(c.profile_history(s, kind(k)?, id).await)?;
            if args.json {
                let versions: Vec<Value> = history
                    .iter()
                    .map(|h| {
                        json!({
                            "version": h.version,
                            "deleted": h.deleted,
                            "last_modified": h.last_modified,
                            "resource": h.resource.as_ref().map(FhirResource::json),
                        })
                    })
                    .collect();
                print_json(&json!({ "versions": versions }))?;
            } else {
                let rows: Vec<[String; 3]> = history
                    .iter()
                    .map(|h| {
                        [
                            h.version
                                .map(|v| v.to_string())
                                .unwrap_or_else(|| "deleted".into()),
                            h.last_modified.clone().unwrap_or_default(),
                            h.resource
                                .as_ref()
                                .and_then(FhirResource::summary)
                                .unwrap_or_default()
                                .to_owned(),
                        ]
                    })
                    .collect();
                print_table(["VERSION", "CHANGED", "TEXT"], &rows);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn referral(
    client: &ClientArgs,
    args: &ClinicalArgs,
    command: &ReferralCommand,
) -> anyhow::Result<ExitCode> {
    let context = signed_in(client, args).await?;
    let (c, s) = (&context.client, &context.session);
    let answer = match command {
        ReferralCommand::Issue {
            patient,
            specialty,
            note,
            valid_until,
        } => {
            let referral = NewReferral {
                patient: taj(patient)?,
                specialty: specialty.clone(),
                note: note.clone(),
                valid_until: valid_until.as_deref().map(parse_time).transpose()?,
            };
            context.check(c.issue_referral(s, &referral).await)?
        }
        ReferralCommand::Find { patient, id } => {
            let found = match (patient, id) {
                (Some(patient), _) => {
                    context.check(c.patient_referrals(s, &taj(patient)?).await)?
                }
                (None, Some(id)) => context
                    .check(c.referral(s, id).await)?
                    .into_iter()
                    .collect(),
                (None, None) => return Err(anyhow!("give --patient or --id")),
            };
            return print_resources(args, &found);
        }
        ReferralCommand::Consume { id } => context.check(c.consume_referral(s, id).await)?,
        ReferralCommand::Cancel { id } => context.check(c.cancel_referral(s, id).await)?,
    };
    print_resource(args, &answer, "referral")
}

/// The status to show: a referral's own, else FHIR's.
fn status_of(resource: &FhirResource) -> &str {
    resource
        .referral_status()
        .or_else(|| resource.status())
        .unwrap_or("-")
}

fn print_resource(
    args: &ClinicalArgs,
    resource: &FhirResource,
    what: &str,
) -> anyhow::Result<ExitCode> {
    if args.json {
        print_json(resource.json())?;
    } else {
        println!(
            "{what} {}/{} version {}: {}{}",
            resource.resource_type(),
            resource.id(),
            resource
                .version()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            status_of(resource),
            resource
                .summary()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_resources(args: &ClinicalArgs, resources: &[FhirResource]) -> anyhow::Result<ExitCode> {
    if args.json {
        print_json(&Value::Array(
            resources.iter().map(|r| r.json().clone()).collect(),
        ))?;
    } else {
        let rows: Vec<[String; 5]> = resources
            .iter()
            .map(|r| {
                [
                    r.id().to_owned(),
                    r.version().map(|v| v.to_string()).unwrap_or_default(),
                    status_of(r).to_owned(),
                    r.institution().unwrap_or_default().to_owned(),
                    r.summary().unwrap_or_default().to_owned(),
                ]
            })
            .collect();
        print_table(["ID", "VERSION", "STATUS", "INSTITUTION", "TEXT"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}

//! `medgate client clinical document|profile|referral …`: a patient's documents, profile
//! entries and referrals, and how the service's resources are printed (a line, a table, or
//! the FHIR JSON with `--json`).

use std::process::ExitCode;

use anyhow::{anyhow, Context};
use medgate_client::clinical::{
    DocumentSubmission, FhirResource, NewReferral, ProfileKind, SubmissionId,
    DOCUMENT_CONTENT_TYPES,
};
use medgate_pki::files::{Visibility, WriteMode};
use serde_json::{json, Value};

use super::{
    kind, signed_in, taj, ClientArgs, ClinicalArgs, DocumentCommand, EntryContent, ProfileCommand,
    ReferralCommand,
};
use crate::output::{parse_time, print_json, print_table};

pub(super) async fn document(
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

pub(super) async fn profile(
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

pub(super) async fn referral(
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

pub(super) fn print_resource(
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

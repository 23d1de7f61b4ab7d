//! The registers at the node, after the packages' control (seed 004, items 10–15): forming
//! them from accepted cases ([`forming`], [`form`]), their workflow with every transition
//! stored ([`act`], the rules are [`crate::workflow`]'s), the signers' certificates
//! ([`register_certificate`]), the three signatures uploaded in order and checked on upload
//! ([`sign`], the checks are [`crate::signing`]'s), the signed package and the documents.
//!
//! Files live in the node's data folder: `DATA/claims/registers/<name>.zip` (the register's
//! bytes, which are what is signed), `<name>.<n>.sig` beside it (the detached CMS of signer
//! `n`), `<name>-documents/` (the PDFs, written once on first request). The database keeps a
//! row per register, its history, its packages and its signatures.
//!
//! Who sees what: an MO's logins see their MO's registers; an insurer's reviewer those sent to
//! their insurer (never a draft); any other register is the same `NotRegistered` as a missing
//! one.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use medgate_storage::{
    AuditOrigin, ClaimsCertificate, ClaimsPackage, ClaimsRegister, ClaimsRegisterEvent,
    ClaimsRegisterSignature, ClaimsUser, Metadata, NewClaimsRegister,
};
use time::OffsetDateTime;

use crate::error::FundError;
use crate::fund::{parse_period, Actor};
use crate::intake;
use crate::names::{Party, RegisterFileName};
use crate::signing::{
    signature_name, write_signed_package, SignatureProgress, SignedPackage, SignerCertificate,
    SignerTrust, Signers, VerifiedSignature,
};
use crate::workflow::{self, Action, ActionKind, Role, State, SIGNING_ORDER};

pub mod forming;
mod refusal;
pub mod summary;

pub use refusal::RegisterError;

/// Who looks at or acts on registers: an MO's login or an insurer's reviewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub login: String,
    pub role: Role,
    /// The MO of an MO's login.
    pub mo_code: Option<String>,
    /// The insurer of a reviewer.
    pub smo_code: Option<String>,
    pub origin: AuditOrigin,
}

impl Viewer {
    /// The viewer a stored login is; `None` for a role that has no business with registers.
    pub fn of(user: &ClaimsUser, origin: AuditOrigin) -> Option<Viewer> {
        let role = Role::from_code(&user.role)?;
        Some(Viewer {
            login: user.login.clone(),
            role,
            mo_code: user.mo_code.clone(),
            smo_code: user.smo_code.clone(),
            origin,
        })
    }

    fn actor(&self) -> Actor {
        Actor {
            name: format!("claims:{}", self.login),
            origin: self.origin,
        }
    }

    fn may_see(&self, register: &ClaimsRegister) -> bool {
        match (&self.mo_code, &self.smo_code) {
            (Some(mo), _) => register.mo_code == *mo,
            (None, Some(smo)) => register.smo_code == *smo && register.state != "draft",
            _ => false,
        }
    }
}

/// Where the registers' files are, under the node's data folder.
pub fn folder(data: &Path) -> PathBuf {
    data.join("claims").join("registers")
}

/// The register's ZIP.
pub fn register_path(data: &Path, register: &ClaimsRegister) -> PathBuf {
    folder(data).join(&register.file_name)
}

/// Signature `position`'s file (`<name>.zip` → `<name>.<position>.sig`).
pub fn signature_path(data: &Path, register: &ClaimsRegister, position: usize) -> PathBuf {
    folder(data).join(signature_name(&register.file_name, position))
}

fn not_found(id: i64) -> RegisterError {
    RegisterError::Fund(FundError::NotRegistered {
        what: "register",
        id: id.to_string(),
    })
}

fn internal(what: &'static str) -> RegisterError {
    RegisterError::Fund(FundError::Internal { what })
}

/// The state a stored register is in.
pub fn state_of(register: &ClaimsRegister) -> Result<State, RegisterError> {
    State::from_code(&register.state).ok_or_else(|| internal("a register's state is unknown"))
}

/// Forms the registers of `period` from the accepted cases of the executor's MO: one per
/// register kind, care conditions (`USL_OK`) and insurer, each `draft`. `package_path` says
/// where a package's file is kept. Packages whose cases a register took already are left
/// out; nothing at all to form is [`RegisterError::NothingToForm`].
pub async fn form(
    store: &Metadata,
    data: &Path,
    viewer: &Viewer,
    period: &str,
    package_path: &(dyn Fn(&ClaimsPackage) -> PathBuf + Sync),
    now: OffsetDateTime,
) -> Result<Vec<ClaimsRegister>, RegisterError> {
    let (Role::Executor, Some(mo_code)) = (viewer.role, viewer.mo_code.clone()) else {
        return Err(RegisterError::NotAllowed {
            what: "form registers",
        });
    };
    let period = parse_period(period)?;
    let period_text = period.to_string();
    let taken: HashSet<i64> = store
        .claims_packages_in_registers(&mo_code, &period_text)
        .await
        .map_err(FundError::storage("list the packages in registers"))?
        .into_iter()
        .collect();
    let mut sources = Vec::new();
    for package in intake::packages_of(store, &mo_code).await? {
        if package.period != period_text || taken.contains(&package.id) {
            continue;
        }
        if let Some(refused) = intake::refused_cases(store, package.id).await? {
            sources.push(forming::Source {
                package_id: package.id,
                path: package_path(&package),
                refused,
            });
        }
    }
    sources.sort_by_key(|source| source.package_id);
    let planned = {
        let sources = sources.clone();
        tokio::task::spawn_blocking(move || forming::plan(&sources))
            .await
            .map_err(|_| internal("the forming task failed"))?
    };
    let groups = planned.map_err(|error| {
        tracing::error!(%error, "a package could not be read for forming");
        internal("an accepted package could not be read from the node's disk")
    })?;
    let groups: Vec<_> = groups.into_iter().filter(|group| group.cases > 0).collect();
    if groups.is_empty() {
        return Err(RegisterError::NothingToForm {
            period: period_text,
        });
    }
    let dir = folder(data);
    std::fs::create_dir_all(&dir).map_err(|_| internal("the registers' folder"))?;
    let first = store
        .next_claims_register_number(&mo_code, &period_text)
        .await
        .map_err(FundError::storage("number a register"))?;
    let date = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let mut new = Vec::new();
    let mut written_files = Vec::new();
    for (offset, group) in groups.iter().enumerate() {
        let number = first + offset as u32;
        let name = RegisterFileName::new(
            group.key.kind,
            Party::MedicalOrganisation(mo_code.clone()),
            Party::Insurer(group.key.smo.clone()),
            period,
            number,
        );
        let file_name = format!("{}.zip", name.main_stem());
        // Written under a name of this forming's own and renamed into place once stored, so a
        // forming that loses a race for the number never touches the winner's file.
        let out = dir.join(format!(
            ".{file_name}.{}.{}.part",
            std::process::id(),
            PART.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let job = {
            let (sources, group, out, mo, date) = (
                sources.clone(),
                group.clone(),
                out.clone(),
                mo_code.clone(),
                date.clone(),
            );
            tokio::task::spawn_blocking(move || {
                forming::write_register(&sources, &group, &name, number, &mo, &date, &out)
            })
        };
        let written = job.await.map_err(|_| internal("the forming task failed"))?;
        let written = match written {
            Ok(written) => written,
            Err(error) => {
                tracing::error!(%error, "a register could not be written");
                remove_all(&written_files);
                return Err(internal("a register could not be written"));
            }
        };
        written_files.push((out.clone(), dir.join(&file_name)));
        let bytes = std::fs::read(&out).map_err(|_| internal("a register just written"))?;
        let sha256 = hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &bytes,
        ));
        new.push(NewClaimsRegister {
            mo_code: mo_code.clone(),
            smo_code: group.key.smo.clone(),
            period: period_text.clone(),
            usl_ok: group.key.usl_ok.clone(),
            number,
            file_name,
            sha256,
            size_bytes: bytes.len() as u64,
            cases: written.cases,
            summav: written.summav,
            formed_by: viewer.login.clone(),
            formed_at: now,
            package_ids: group.packages.clone(),
        });
    }
    let stored = match store.create_claims_registers(new).await {
        Ok(stored) => stored,
        Err(error) => {
            remove_all(&written_files);
            return Err(FundError::refused("store the registers formed")(error).into());
        }
    };
    for (part, path) in &written_files {
        std::fs::rename(part, path).map_err(|_| internal("a register formed cannot be kept"))?;
    }
    for register in &stored {
        viewer
            .actor()
            .record(
                store,
                "claims.register.form",
                &format!("register:{}", register.id),
                format!(
                    "{}: {} cases, USL_OK {}, SUMMAV {}",
                    register.file_name, register.cases, register.usl_ok, register.summav
                ),
            )
            .await?;
    }
    Ok(stored)
}

/// Numbers the part files of formings running at once.
static PART: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn remove_all(files: &[(PathBuf, PathBuf)]) {
    for (part, _) in files {
        let _ = std::fs::remove_file(part);
    }
}

/// The registers the viewer sees, newest first.
pub async fn registers_of(
    store: &Metadata,
    viewer: &Viewer,
) -> Result<Vec<ClaimsRegister>, RegisterError> {
    let listed = match (&viewer.mo_code, &viewer.smo_code) {
        (Some(mo), _) => store.claims_registers_of_mo(mo).await,
        (None, Some(smo)) => store.claims_registers_for_smo(smo).await,
        _ => Ok(Vec::new()),
    };
    Ok(listed.map_err(FundError::storage("list the registers"))?)
}

/// The register `id` if the viewer may see it.
pub async fn register_of(
    store: &Metadata,
    viewer: &Viewer,
    id: i64,
) -> Result<ClaimsRegister, RegisterError> {
    store
        .claims_register(id)
        .await
        .map_err(FundError::storage("read a register"))?
        .filter(|register| viewer.may_see(register))
        .ok_or_else(|| not_found(id))
}

/// A register with what its page shows.
#[derive(Clone, Debug)]
pub struct RegisterView {
    pub register: ClaimsRegister,
    pub state: State,
    pub history: Vec<ClaimsRegisterEvent>,
    pub signatures: Vec<ClaimsRegisterSignature>,
    /// What the viewer may do now.
    pub allowed: Vec<ActionKind>,
}

/// The register `id` with its history, signatures and the viewer's allowed actions.
pub async fn view(
    store: &Metadata,
    viewer: &Viewer,
    id: i64,
) -> Result<RegisterView, RegisterError> {
    let register = register_of(store, viewer, id).await?;
    let state = state_of(&register)?;
    let history = store
        .claims_register_history(id)
        .await
        .map_err(FundError::storage("read a register's history"))?;
    let signatures = store
        .claims_register_signatures(id)
        .await
        .map_err(FundError::storage("read a register's signatures"))?;
    Ok(RegisterView {
        register,
        state,
        history,
        signatures,
        allowed: workflow::allowed_actions(state, viewer.role),
    })
}

fn event(transition: workflow::Transition, login: &str, at: OffsetDateTime) -> ClaimsRegisterEvent {
    ClaimsRegisterEvent {
        from_state: Some(transition.from.code().to_owned()),
        to_state: transition.to.code().to_owned(),
        action: action_code(transition.action).to_owned(),
        role: transition.role.code().to_owned(),
        login: login.to_owned(),
        comment: transition.comment,
        at,
    }
}

/// The stored code of an action kind.
pub fn action_code(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::Send => "send",
        ActionKind::AcceptForSignature => "accept_for_signature",
        ActionKind::ReturnForRework => "return_for_rework",
        ActionKind::Sign => "sign",
    }
}

/// Sends, accepts for signature or returns for rework (signing is [`sign`]): refused with
/// the workflow's sentence when the viewer's role or the register's state does not allow it.
pub async fn act(
    store: &Metadata,
    viewer: &Viewer,
    id: i64,
    action: Action,
    now: OffsetDateTime,
) -> Result<ClaimsRegister, RegisterError> {
    let register = register_of(store, viewer, id).await?;
    let state = state_of(&register)?;
    if action == Action::Sign {
        return Err(RegisterError::Workflow(
            workflow::apply(state, viewer.role, &action)
                .err()
                .unwrap_or(workflow::Refusal::CommentRequired),
        ));
    }
    let transition =
        workflow::apply(state, viewer.role, &action).map_err(RegisterError::Workflow)?;
    let details = format!(
        "{}: {} → {}{}",
        register.file_name,
        transition.from.code(),
        transition.to.code(),
        transition
            .comment
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    let moved = store
        .move_claims_register(id, event(transition, &viewer.login, now))
        .await
        .map_err(FundError::refused("move a register"))?;
    if !moved {
        return Err(RegisterError::Conflict);
    }
    viewer
        .actor()
        .record(
            store,
            &format!("claims.register.{}", action.code()),
            &format!("register:{id}"),
            details,
        )
        .await?;
    register_of(store, viewer, id).await
}

/// Registers the viewer's certificate (`.cer`, DER or PEM) as their signing certificate,
/// checked by [`SignerCertificate::register`] for their role and against the CAs the fund
/// installed for signers (`trust`, when it has any).
pub async fn register_certificate(
    store: &Metadata,
    trust: &SignerTrust,
    viewer: &Viewer,
    bytes: Vec<u8>,
    file_name: &str,
    now: OffsetDateTime,
) -> Result<ClaimsCertificate, RegisterError> {
    if viewer.role.signing_position().is_none() || viewer.mo_code.is_none() {
        return Err(RegisterError::NotAllowed {
            what: "register a signing certificate",
        });
    }
    let source = Path::new(if file_name.is_empty() {
        "certificate.cer"
    } else {
        file_name
    });
    let signer = SignerCertificate::register(&viewer.login, viewer.role, bytes, source, now)
        .map_err(certificate_refused)?;
    trust
        .check(signer.certificate(), &source.display().to_string(), now)
        .map_err(RegisterError::Certificate)?;
    let certificate = ClaimsCertificate {
        login: viewer.login.clone(),
        pem: signer.certificate().to_pem(),
        subject: signer.subject().to_owned(),
        serial_hex: signer.serial_hex().to_owned(),
        not_after: signer.not_after(),
        uploaded_at: now,
    };
    store
        .set_claims_certificate(certificate.clone())
        .await
        .map_err(FundError::refused("register a certificate"))?;
    viewer
        .actor()
        .record(
            store,
            "claims.certificate.register",
            &format!("login:{}", viewer.login),
            format!("{}, serial {}", certificate.subject, certificate.serial_hex),
        )
        .await?;
    Ok(certificate)
}

/// A signer's certificate refused by `signing`, as the registers' refusal.
fn certificate_refused(error: crate::signing::SigningError) -> RegisterError {
    match error {
        crate::signing::SigningError::Certificate(problem) => RegisterError::Certificate(problem),
        _ => internal("a certificate check answered an unexpected error"),
    }
}

/// The certificate registered to `login`, if any.
pub async fn certificate_of(
    store: &Metadata,
    login: &str,
) -> Result<Option<ClaimsCertificate>, RegisterError> {
    Ok(store
        .claims_certificate(login)
        .await
        .map_err(FundError::storage("read a certificate"))?)
}

/// The logins that sign `register`, in order: its executor (who formed it), the MO's chief
/// accountant and head.
async fn signer_logins(
    store: &Metadata,
    register: &ClaimsRegister,
) -> Result<[Option<String>; 3], RegisterError> {
    let users = store
        .claims_users(Some(&register.mo_code))
        .await
        .map_err(FundError::storage("list the logins"))?;
    let of_role = |role: Role| {
        users
            .iter()
            .find(|user| user.role == role.code())
            .map(|user| user.login.clone())
    };
    Ok([
        Some(register.formed_by.clone()),
        of_role(Role::ChiefAccountant),
        of_role(Role::Head),
    ])
}

/// The three signers' registered certificates of `register`, checked at `at`: each valid
/// then, and issued by a CA of `trust` and not on its CRL when the fund installed any.
pub async fn signers_of(
    store: &Metadata,
    trust: &SignerTrust,
    register: &ClaimsRegister,
    at: OffsetDateTime,
) -> Result<Signers, RegisterError> {
    let logins = signer_logins(store, register).await?;
    let mut missing = Vec::new();
    let mut found = Vec::new();
    for (login, role) in logins.iter().zip(SIGNING_ORDER) {
        let stored = match login {
            Some(login) => certificate_of(store, login).await?,
            None => None,
        };
        match (login, stored) {
            (Some(login), Some(stored)) => {
                let signer = SignerCertificate::register(
                    login,
                    role,
                    stored.pem.into_bytes(),
                    Path::new(&format!("{login}.cer")),
                    at,
                )
                .map_err(certificate_refused)?;
                trust
                    .check(signer.certificate(), &format!("{login}.cer"), at)
                    .map_err(RegisterError::Certificate)?;
                found.push(signer);
            }
            _ => missing.push(role),
        }
    }
    if !missing.is_empty() {
        return Err(RegisterError::MissingCertificates(missing));
    }
    let [executor, chief, head]: [SignerCertificate; 3] = found
        .try_into()
        .map_err(|_| internal("three signers expected"))?;
    Signers::new(executor, chief, head).map_err(certificate_refused)
}

/// The register's bytes as they lie in the data folder, checked against the stored SHA-256.
pub fn register_bytes(data: &Path, register: &ClaimsRegister) -> Result<Vec<u8>, RegisterError> {
    let bytes = std::fs::read(register_path(data, register))
        .map_err(|_| internal("a register's file cannot be read"))?;
    let sha256 = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &bytes,
    ));
    if sha256 != register.sha256 {
        return Err(internal("a register's file differs from what was formed"));
    }
    Ok(bytes)
}

/// Takes the viewer's detached CMS signature over register `id`: the signatures before it are
/// checked again from their files, then this one by [`SignatureProgress::accept`] as the
/// viewer's role's — refused out of order, by the wrong user, with another certificate or
/// over other bytes with the domain's sentence. Accepted, it is kept beside the register and
/// the register moves on (`signed` after the third).
pub async fn sign(
    store: &Metadata,
    data: &Path,
    viewer: &Viewer,
    id: i64,
    signature: Vec<u8>,
    now: OffsetDateTime,
) -> Result<VerifiedSignature, RegisterError> {
    let register = register_of(store, viewer, id).await?;
    let state = state_of(&register)?;
    if workflow::next_signer(state).is_none() || viewer.role.signing_position().is_none() {
        // Not waiting for signatures, or not a signer: the workflow's own sentence.
        return Err(RegisterError::Workflow(
            workflow::apply(state, viewer.role, &Action::Sign)
                .err()
                .unwrap_or(workflow::Refusal::CommentRequired),
        ));
    }
    let trust = SignerTrust::load(data)
        .map_err(|_| internal("the CAs installed for signers cannot be read"))?;
    let signers = signers_of(store, &trust, &register, now).await?;
    let bytes = register_bytes(data, &register)?;
    let earlier = store
        .claims_register_signatures(id)
        .await
        .map_err(FundError::storage("read a register's signatures"))?;
    let mut previous = Vec::new();
    for stored in &earlier {
        let position = usize::from(stored.position);
        let file = std::fs::read(signature_path(data, &register, position))
            .map_err(|_| internal("a stored signature cannot be read"))?;
        previous.push(file);
    }
    let verified = {
        let mut progress = SignatureProgress::new(&signers, &bytes);
        for (file, role) in previous.iter().zip(SIGNING_ORDER) {
            progress
                .accept(role, file)
                .map_err(|_| internal("a stored signature no longer verifies"))?;
        }
        progress
            .accept(viewer.role, &signature)
            .map_err(RegisterError::Signature)?
            .clone()
    };
    let transition =
        workflow::apply(state, viewer.role, &Action::Sign).map_err(RegisterError::Workflow)?;
    let completes = transition.to == State::Signed;
    let path = signature_path(data, &register, verified.position);
    let part = path.with_extension("sig.part");
    std::fs::write(&part, &signature).map_err(|_| internal("a signature cannot be kept"))?;
    std::fs::rename(&part, &path).map_err(|_| internal("a signature cannot be kept"))?;
    let sha256 = hex::encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        &signature,
    ));
    let recorded = store
        .sign_claims_register(
            id,
            event(transition, &viewer.login, now),
            ClaimsRegisterSignature {
                position: verified.position as u8,
                login: viewer.login.clone(),
                subject: verified.subject.clone(),
                serial_hex: verified.serial_hex.clone(),
                sha256,
                signed_at: verified.signing_time.unwrap_or(now),
            },
        )
        .await;
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            let _ = std::fs::remove_file(&path);
            return Err(RegisterError::Conflict);
        }
        Err(error) => {
            let _ = std::fs::remove_file(&path);
            return Err(FundError::refused("record a signature")(error).into());
        }
    }
    viewer
        .actor()
        .record(
            store,
            "claims.register.sign",
            &format!("register:{id}"),
            format!(
                "{} signature {} ({}, {}, serial {})",
                register.file_name,
                verified.position,
                verified.algorithm,
                verified.subject,
                verified.serial_hex
            ),
        )
        .await?;
    if completes {
        record_paid(store, data, &register, now).await?;
    }
    Ok(verified)
}

/// The cases of a register signed by all three as paid (`mek::paid` keys): the MEK of every
/// later package refuses them (F014 221, 1.10.1). Recorded after the signature, so a refused
/// signature never marks a case paid; a failure here is said (the keys can still be given with
/// `medgate claims keys` and `claims paid import`).
async fn record_paid(
    store: &Metadata,
    data: &Path,
    register: &ClaimsRegister,
    now: OffsetDateTime,
) -> Result<(), RegisterError> {
    let mut text = String::new();
    crate::package::case_keys(&register_path(data, register), &mut |key| {
        text.push_str(&key);
        text.push('\n');
    })
    .map_err(|_| internal("a signed register's cases cannot be read"))?;
    let source = format!("register {}", register.file_name);
    let keys = crate::mek::paid::normalised_keys(&text, &source)
        .map_err(|_| internal("a signed register's case keys are not well formed"))?;
    for chunk in keys.chunks(medgate_storage::MAX_PAID_KEYS_AT_ONCE) {
        store
            .add_claims_paid_cases(chunk, &source, now)
            .await
            .map_err(FundError::refused(
                "record a signed register's cases as paid",
            ))?;
    }
    Ok(())
}

/// The signed package of a signed register: a ZIP of the register and its three signatures
/// (`<name>-signed.zip`, its bytes).
pub async fn signed_package(
    store: &Metadata,
    data: &Path,
    viewer: &Viewer,
    id: i64,
) -> Result<(String, Vec<u8>), RegisterError> {
    let register = register_of(store, viewer, id).await?;
    if state_of(&register)? != State::Signed {
        return Err(RegisterError::NotSigned);
    }
    let bytes = register_bytes(data, &register)?;
    let mut signatures = Vec::new();
    for position in 1..=3 {
        signatures.push(
            std::fs::read(signature_path(data, &register, position))
                .map_err(|_| internal("a stored signature cannot be read"))?,
        );
    }
    let package = SignedPackage {
        register_name: register.file_name.clone(),
        register: bytes,
        signatures,
    };
    let zip = write_signed_package(&package).map_err(|_| internal("the signed package"))?;
    let stem = register.file_name.trim_end_matches(".zip");
    Ok((format!("{stem}-signed.zip"), zip))
}

/// The documents a register has as PDFs.
pub const DOCUMENTS: [&str; 4] = ["invoice", "summary", "register", "mek-act"];

/// The PDF `document` (one of [`DOCUMENTS`]) of register `id`, written on first request into
/// `<name>-documents/` beside the register. The register holds only cases that passed the
/// control, so its MEK act shows the cases checked and nothing withheld.
pub async fn document_pdf(
    store: &Metadata,
    data: &Path,
    viewer: &Viewer,
    id: i64,
    document: &str,
) -> Result<(String, Vec<u8>), RegisterError> {
    let register = register_of(store, viewer, id).await?;
    if !DOCUMENTS.contains(&document) {
        return Err(RegisterError::Fund(FundError::NotRegistered {
            what: "document",
            id: document.to_owned(),
        }));
    }
    let stem = register.file_name.trim_end_matches(".zip").to_owned();
    let dir = folder(data).join(format!("{stem}-documents"));
    let wanted = dir.join(format!("{document}.pdf"));
    if !wanted.is_file() {
        register_bytes(data, &register)?;
        let mo_name = store
            .claims_medical_organisation(&register.mo_code)
            .await
            .map_err(FundError::storage("read a medical organisation"))?
            .map(|mo| mo.name);
        let (path, out, cases) = (register_path(data, &register), dir.clone(), register.cases);
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&out)?;
            let mek = crate::mek::MekReport {
                cases_checked: cases,
                ..Default::default()
            };
            let options = crate::documents::Options {
                mo_name: mo_name.as_deref(),
                mek: Some(&mek),
            };
            crate::documents::write_documents(&path, &out, &options)
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .await
        .map_err(|_| internal("the documents task failed"))?
        .map_err(|error| {
            tracing::error!(%error, "a register's documents could not be written");
            internal("a register's documents could not be written")
        })?;
    }
    let bytes = std::fs::read(&wanted).map_err(|_| internal("a document cannot be read"))?;
    Ok((format!("{stem}-{document}.pdf"), bytes))
}

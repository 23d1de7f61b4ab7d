//! What the territorial fund's operator does (from the command line, later its pages), and
//! what a new login does with its one-time link: register medical organisations (6 digits),
//! their subdivisions that submit separately, insurers (5 digits), open and close reporting
//! periods, create the MO staff's logins and renew their links. Identifiers arrive as text
//! and are parsed here, so a bad one is refused naming its rule; every change is audited.
//!
//! Logins follow the fund's letter: `M<MO>_1` the executor (with subdivisions that submit
//! separately, one per subdivision: `M<MO>_1_<subdivision>`), `M<MO>_2` the chief
//! accountant, `M<MO>_3` the head. A new login gets a one-time link: 256 random bits, of
//! which the store keeps only the SHA-256. The default password is derived from the link
//! (SHA-256 of a label and the link, 80 bits in Crockford's base32), so the node can show it
//! when the link is opened — once — without ever keeping it; its Argon2id hash is what signs
//! in, and the first sign-in must replace it.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use medgate_storage::{
    AuditOrigin, ClaimsInsurer, ClaimsMedicalOrganisation, ClaimsPeriod, ClaimsSubdivision,
    ClaimsUser, LinkOpening, Metadata, NewAuditEntry, NewClaimsUser,
};
use time::{Duration, OffsetDateTime};

use crate::error::FundError;
use crate::names::Period;

/// How long a one-time link may wait to be opened.
pub const LINK_VALIDITY: Duration = Duration::days(14);

/// Password lengths, the web foundation's (`medgate_web::password`).
pub const PASSWORD_MIN_LENGTH: usize = 12;
pub const PASSWORD_MAX_LENGTH: usize = 128;

/// Who acts (the audit log's actor): `cli`, `operator:<login>`, `claims:<login>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub origin: AuditOrigin,
}

impl Actor {
    pub(crate) fn audit(&self, action: &str, target: &str, details: String) -> NewAuditEntry {
        NewAuditEntry {
            tenant: None,
            actor: self.name.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            origin: self.origin,
            details,
            patient: None,
        }
    }

    pub(crate) async fn record(
        &self,
        store: &Metadata,
        action: &str,
        target: &str,
        details: String,
    ) -> Result<(), FundError> {
        store
            .append_audit(&self.audit(action, target, details))
            .await
            .map_err(FundError::storage("audit the change"))?;
        Ok(())
    }
}

/// A login's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `_1`: uploads the registers and works with the FLK.
    Executor,
    /// `_2`: signs the registers.
    ChiefAccountant,
    /// `_3`: signs the registers last.
    Head,
}

impl Role {
    pub fn parse(text: &str) -> Result<Role, FundError> {
        match text.trim() {
            "executor" | "1" => Ok(Role::Executor),
            "chief-accountant" | "chief_accountant" | "2" => Ok(Role::ChiefAccountant),
            "head" | "3" => Ok(Role::Head),
            other => Err(FundError::invalid_ru(
                "role",
                other,
                "use executor (1), chief-accountant (2) or head (3)",
                "укажите executor (1), chief-accountant (2) или head (3)",
            )),
        }
    }

    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Executor => "executor",
            Role::ChiefAccountant => "chief_accountant",
            Role::Head => "head",
        }
    }

    /// The login's number after the MO code.
    pub fn number(self) -> u8 {
        match self {
            Role::Executor => 1,
            Role::ChiefAccountant => 2,
            Role::Head => 3,
        }
    }
}

fn digits(field: &'static str, value: &str, count: usize) -> Result<String, FundError> {
    let value = value.trim();
    let bare = value.strip_prefix('M').unwrap_or(value);
    if bare.len() == count && bare.bytes().all(|b| b.is_ascii_digit()) {
        Ok(bare.to_owned())
    } else {
        Err(FundError::invalid_ru(
            field,
            value,
            format!("must be {count} digits (the federal code)"),
            format!("нужно {count} цифр (федеральный код)"),
        ))
    }
}

/// An MO code: 6 digits (an `M` before them is allowed, as in file names and logins).
pub fn parse_mo_code(value: &str) -> Result<String, FundError> {
    digits("MO code", value, 6)
}

/// An insurer's code: 5 digits.
pub fn parse_insurer_code(value: &str) -> Result<String, FundError> {
    let value = value.trim();
    if value.len() == 5 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(FundError::invalid_ru(
            "SMO code",
            value,
            "must be 5 digits (the federal F002 code)",
            "нужно 5 цифр (федеральный код F002)",
        ))
    }
}

/// A subdivision's code: 1 to 8 digits.
pub fn parse_subdivision_code(value: &str) -> Result<String, FundError> {
    let value = value.trim();
    if (1..=8).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_owned())
    } else {
        Err(FundError::invalid_ru(
            "subdivision code",
            value,
            "must be 1 to 8 digits",
            "нужно от 1 до 8 цифр",
        ))
    }
}

/// A reporting period, `YYYY-MM`.
pub fn parse_period(value: &str) -> Result<Period, FundError> {
    let value = value.trim();
    let rule = "must be YYYY-MM, a month of 2000–2099";
    let rule_ru = "нужен формат ГГГГ-ММ, месяц 2000–2099 годов";
    let (year, month) = value
        .split_once('-')
        .filter(|(y, m)| y.len() == 4 && m.len() == 2)
        .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u8>().ok()?)))
        .ok_or_else(|| FundError::invalid_ru("period", value, rule, rule_ru))?;
    Period::new(year, month).map_err(|_| FundError::invalid_ru("period", value, rule, rule_ru))
}

fn name_of(field: &'static str, value: &str) -> Result<String, FundError> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > 300 || value.chars().any(char::is_control) {
        return Err(FundError::invalid_ru(
            field,
            value,
            "must be 1 to 300 characters without control characters",
            "нужно от 1 до 300 символов без управляющих",
        ));
    }
    Ok(value.to_owned())
}

/// Registers a medical organisation.
pub async fn add_medical_organisation(
    store: &Metadata,
    actor: &Actor,
    code: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<ClaimsMedicalOrganisation, FundError> {
    let code = parse_mo_code(code)?;
    let name = name_of("name", name)?;
    let organisation = store
        .create_claims_medical_organisation(&code, &name, now)
        .await
        .map_err(FundError::refused("register a medical organisation"))?;
    actor
        .record(store, "claims.mo.add", &format!("mo:{code}"), name)
        .await?;
    Ok(organisation)
}

/// Adds a subdivision that submits its registers separately.
pub async fn add_subdivision(
    store: &Metadata,
    actor: &Actor,
    mo_code: &str,
    code: &str,
    name: &str,
) -> Result<ClaimsSubdivision, FundError> {
    let subdivision = ClaimsSubdivision {
        mo_code: parse_mo_code(mo_code)?,
        code: parse_subdivision_code(code)?,
        name: name_of("name", name)?,
    };
    store
        .add_claims_subdivision(&subdivision)
        .await
        .map_err(FundError::refused("add a subdivision"))?;
    actor
        .record(
            store,
            "claims.subdivision.add",
            &format!("mo:{}/{}", subdivision.mo_code, subdivision.code),
            subdivision.name.clone(),
        )
        .await?;
    Ok(subdivision)
}

/// Registers an insurer.
pub async fn add_insurer(
    store: &Metadata,
    actor: &Actor,
    code: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<ClaimsInsurer, FundError> {
    let code = parse_insurer_code(code)?;
    let name = name_of("name", name)?;
    let insurer = store
        .create_claims_insurer(&code, &name, now)
        .await
        .map_err(FundError::refused("register an insurer"))?;
    actor
        .record(store, "claims.smo.add", &format!("smo:{code}"), name)
        .await?;
    Ok(insurer)
}

/// Opens a reporting period for packages.
pub async fn open_period(
    store: &Metadata,
    actor: &Actor,
    period: &str,
    now: OffsetDateTime,
) -> Result<ClaimsPeriod, FundError> {
    let period = parse_period(period)?.to_string();
    let opened = store
        .open_claims_period(&period, now)
        .await
        .map_err(FundError::storage("open a reporting period"))?;
    actor
        .record(
            store,
            "claims.period.open",
            &format!("period:{period}"),
            String::new(),
        )
        .await?;
    Ok(opened)
}

/// Closes a reporting period: no package is taken for it any more.
pub async fn close_period(
    store: &Metadata,
    actor: &Actor,
    period: &str,
    now: OffsetDateTime,
) -> Result<ClaimsPeriod, FundError> {
    let period = parse_period(period)?.to_string();
    let closed = store
        .close_claims_period(&period, now)
        .await
        .map_err(FundError::refused("close a reporting period"))?;
    actor
        .record(
            store,
            "claims.period.close",
            &format!("period:{period}"),
            String::new(),
        )
        .await?;
    Ok(closed)
}

/// A login with its one-time link's secret part (the path's last segment), shown once.
pub struct IssuedLink {
    pub login: String,
    pub token: String,
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for IssuedLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedLink")
            .field("login", &self.login)
            .finish_non_exhaustive()
    }
}

impl IssuedLink {
    /// The link on the node at `public_url` (`https://host:port`).
    pub fn url(&self, public_url: &str) -> String {
        format!(
            "{}/claims/link?token={}",
            public_url.trim_end_matches('/'),
            self.token
        )
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], FundError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| FundError::Internal {
        what: "the system random source failed",
    })?;
    Ok(bytes)
}

fn sha256(parts: &[&[u8]]) -> aws_lc_rs::digest::Digest {
    let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for part in parts {
        context.update(part);
    }
    context.finish()
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    hex::encode(sha256(parts).as_ref())
}

/// What the store keeps of a link: its SHA-256, hex.
pub fn link_hash(token: &str) -> String {
    sha256_hex(&[token.as_bytes()])
}

/// Crockford's base32 without I, L, O, U.
const SYMBOLS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The default password of a link: 80 bits of SHA-256("medgate claims default password",
/// link) as 16 base32 symbols in groups of four (19 characters).
pub fn default_password(token: &str) -> String {
    let digest = sha256(&[b"medgate claims default password\0", token.as_bytes()]);
    let mut bits: u128 = 0;
    for byte in digest.as_ref().iter().take(10) {
        bits = (bits << 8) | u128::from(*byte);
    }
    let mut out = String::new();
    for index in 0..16 {
        if index > 0 && index % 4 == 0 {
            out.push('-');
        }
        let symbol = ((bits >> (75 - 5 * index)) & 31) as usize;
        out.push(char::from(SYMBOLS[symbol]));
    }
    out
}

/// The Argon2id PHC string of `password` (blocking: tens of milliseconds; run it on the
/// blocking pool from async code).
pub fn hash_password(password: &str) -> Result<String, FundError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?).map_err(|_| FundError::Internal {
        what: "password salt",
    })?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| FundError::Internal {
            what: "password hashing",
        })
}

async fn hash_on_pool(password: String) -> Result<String, FundError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|_| FundError::Internal {
            what: "the password hashing task failed",
        })?
}

async fn fresh_link() -> Result<(String, String), FundError> {
    let token = hex::encode(random_bytes::<32>()?);
    let hash = hash_on_pool(default_password(&token)).await?;
    Ok((token, hash))
}

/// The login of `role` in organisation `mo_code` (with the executor's subdivision).
pub fn login_for(mo_code: &str, role: Role, subdivision: Option<&str>) -> String {
    match subdivision {
        Some(subdivision) => format!("M{mo_code}_{}_{subdivision}", role.number()),
        None => format!("M{mo_code}_{}", role.number()),
    }
}

/// Creates the login of `role` for a registered MO and its one-time link. The executor of an
/// MO whose subdivisions submit separately names its subdivision; the others never do.
pub async fn add_user(
    store: &Metadata,
    actor: &Actor,
    mo_code: &str,
    role: Role,
    subdivision: Option<&str>,
    name: &str,
    now: OffsetDateTime,
) -> Result<IssuedLink, FundError> {
    let mo_code = parse_mo_code(mo_code)?;
    let name = name_of("name", name)?;
    if store
        .claims_medical_organisation(&mo_code)
        .await
        .map_err(FundError::storage("read a medical organisation"))?
        .is_none()
    {
        return Err(FundError::NotRegistered {
            what: "medical organisation",
            id: mo_code,
        });
    }
    let subdivisions = store
        .claims_subdivisions(&mo_code)
        .await
        .map_err(FundError::storage("list the subdivisions"))?;
    let subdivision = match (role, subdivision) {
        (Role::Executor, Some(code)) => {
            let code = parse_subdivision_code(code)?;
            if !subdivisions.iter().any(|known| known.code == code) {
                return Err(FundError::NotRegistered {
                    what: "subdivision",
                    id: format!("{code} of {mo_code}"),
                });
            }
            Some(code)
        }
        (Role::Executor, None) if !subdivisions.is_empty() => {
            let codes = subdivisions
                .iter()
                .map(|s| s.code.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            return Err(FundError::invalid_ru(
                "subdivision",
                "(none given)",
                format!("MO {mo_code} submits by subdivision, so its executor names one: {codes}"),
                format!(
                    "МО {mo_code} сдаёт реестры по подразделениям, поэтому у исполнителя \
                     указывается подразделение: {codes}"
                ),
            ));
        }
        (Role::Executor, None) => None,
        (_, Some(code)) => {
            return Err(FundError::invalid_ru(
                "subdivision",
                code,
                "only an executor (_1) belongs to a subdivision; the chief accountant and the \
                 head sign for the whole MO",
                "к подразделению относится только исполнитель (_1); главный бухгалтер и \
                 руководитель подписывают за всю МО",
            ))
        }
        (_, None) => None,
    };
    let login = login_for(&mo_code, role, subdivision.as_deref());
    let (token, password_hash) = fresh_link().await?;
    let expires_at = now + LINK_VALIDITY;
    store
        .create_claims_user(&NewClaimsUser {
            login: login.clone(),
            role: role.as_str().to_owned(),
            mo_code: Some(mo_code.clone()),
            smo_code: None,
            subdivision_code: subdivision,
            name: name.clone(),
            password_hash,
            link_hash: link_hash(&token),
            link_expires_at: expires_at,
            created_at: now,
        })
        .await
        .map_err(FundError::refused("create a login"))?;
    actor
        .record(
            store,
            "claims.user.add",
            &format!("login:{login}"),
            format!("{} of MO {mo_code}", role.as_str()),
        )
        .await?;
    Ok(IssuedLink {
        login,
        token,
        expires_at,
    })
}

/// Creates a login of an insurer's reviewer for a registered SMO (`S<SMO>_R1`, `_R2`, … in
/// the order they are created) and its one-time link: the reviewer sees the registers sent
/// to that insurer and returns them for rework or passes them for the MO's signature.
pub async fn add_reviewer(
    store: &Metadata,
    actor: &Actor,
    smo_code: &str,
    name: &str,
    now: OffsetDateTime,
) -> Result<IssuedLink, FundError> {
    let smo_code = parse_insurer_code(smo_code)?;
    let name = name_of("name", name)?;
    let insurers = store
        .claims_insurers()
        .await
        .map_err(FundError::storage("list the insurers"))?;
    if !insurers.iter().any(|insurer| insurer.code == smo_code) {
        return Err(FundError::NotRegistered {
            what: "insurer",
            id: smo_code,
        });
    }
    let taken = store
        .claims_users(None)
        .await
        .map_err(FundError::storage("list the logins"))?
        .iter()
        .filter(|user| user.smo_code.as_deref() == Some(smo_code.as_str()))
        .count();
    let login = format!("S{smo_code}_R{}", taken + 1);
    let (token, password_hash) = fresh_link().await?;
    let expires_at = now + LINK_VALIDITY;
    store
        .create_claims_user(&NewClaimsUser {
            login: login.clone(),
            role: REVIEWER_ROLE.to_owned(),
            mo_code: None,
            smo_code: Some(smo_code.clone()),
            subdivision_code: None,
            name,
            password_hash,
            link_hash: link_hash(&token),
            link_expires_at: expires_at,
            created_at: now,
        })
        .await
        .map_err(FundError::refused("create a login"))?;
    actor
        .record(
            store,
            "claims.user.add",
            &format!("login:{login}"),
            format!("{REVIEWER_ROLE} of SMO {smo_code}"),
        )
        .await?;
    Ok(IssuedLink {
        login,
        token,
        expires_at,
    })
}

/// The stored role of an insurer's reviewer.
pub const REVIEWER_ROLE: &str = "insurer_reviewer";

/// Gives a login a new default password and one-time link (lost, expired, password
/// forgotten); the old password stops working.
pub async fn renew_link(
    store: &Metadata,
    actor: &Actor,
    login: &str,
    now: OffsetDateTime,
) -> Result<IssuedLink, FundError> {
    let login = login.trim();
    let (token, password_hash) = fresh_link().await?;
    let expires_at = now + LINK_VALIDITY;
    let renewed = store
        .renew_claims_user_link(login, &password_hash, &link_hash(&token), expires_at)
        .await
        .map_err(FundError::storage("renew a login's link"))?;
    if !renewed {
        return Err(FundError::NotRegistered {
            what: "login",
            id: login.to_owned(),
        });
    }
    actor
        .record(
            store,
            "claims.user.link",
            &format!("login:{login}"),
            String::new(),
        )
        .await?;
    Ok(IssuedLink {
        login: login.to_owned(),
        token,
        expires_at,
    })
}

/// What an opened link shows: the login and its default password.
pub struct DefaultPassword {
    pub login: String,
    pub password: String,
}

/// Opens a one-time link (`token` as in its path): the first time the login and its default
/// password, afterwards [`FundError::LinkSpent`].
pub async fn open_link(
    store: &Metadata,
    origin: AuditOrigin,
    token: &str,
    now: OffsetDateTime,
) -> Result<DefaultPassword, FundError> {
    let token = token.trim();
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FundError::LinkUnknown);
    }
    let opening = store
        .open_claims_link(&link_hash(token), now)
        .await
        .map_err(FundError::storage("open a one-time link"))?;
    match opening {
        LinkOpening::Opened { login } => {
            let actor = Actor {
                name: format!("claims:{login}"),
                origin,
            };
            actor
                .record(
                    store,
                    "claims.link.open",
                    &format!("login:{login}"),
                    String::new(),
                )
                .await?;
            Ok(DefaultPassword {
                login,
                password: default_password(token),
            })
        }
        LinkOpening::Spent { at } => Err(FundError::LinkSpent {
            at: at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }),
        LinkOpening::Expired => Err(FundError::LinkExpired),
        LinkOpening::Unknown => Err(FundError::LinkUnknown),
    }
}

/// Checks a new password's rules: length, no control characters, not the login.
pub fn check_new_password(login: &str, password: &str) -> Result<(), FundError> {
    let length = password.chars().count();
    let refuse = |rule: String, rule_ru: String| {
        Err(FundError::Invalid {
            field: "new password",
            value: String::new(),
            rule,
            rule_ru: Some(rule_ru),
        })
    };
    if length < PASSWORD_MIN_LENGTH {
        return refuse(
            format!("must be at least {PASSWORD_MIN_LENGTH} characters"),
            format!("нужно не меньше {PASSWORD_MIN_LENGTH} символов"),
        );
    }
    if length > PASSWORD_MAX_LENGTH {
        return refuse(
            format!("must be at most {PASSWORD_MAX_LENGTH} characters"),
            format!("нужно не больше {PASSWORD_MAX_LENGTH} символов"),
        );
    }
    if password.chars().any(char::is_control) {
        return refuse(
            "must not hold control characters".to_owned(),
            "не должен содержать управляющих символов".to_owned(),
        );
    }
    if password.eq_ignore_ascii_case(login) {
        return refuse(
            "must not be the login".to_owned(),
            "не должен совпадать с логином".to_owned(),
        );
    }
    Ok(())
}

/// Replaces the password of `login` (the default one at the first sign-in): the current one
/// must match and the new one differ from it and follow [`check_new_password`].
pub async fn change_password(
    store: &Metadata,
    origin: AuditOrigin,
    login: &str,
    current: &str,
    new: &str,
) -> Result<(), FundError> {
    check_new_password(login, new)?;
    if current == new {
        return Err(FundError::Invalid {
            field: "new password",
            value: String::new(),
            rule: "must differ from the current one".to_owned(),
            rule_ru: Some("должен отличаться от текущего".to_owned()),
        });
    }
    let user: ClaimsUser = store
        .claims_user(login)
        .await
        .map_err(FundError::storage("read a login"))?
        .ok_or(FundError::NotRegistered {
            what: "login",
            id: login.to_owned(),
        })?;
    let (stored, current_owned) = (user.password_hash.clone(), current.to_owned());
    let matches = tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(current_owned.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .map_err(|_| FundError::Internal {
        what: "the password check failed",
    })?;
    if !matches {
        return Err(FundError::WrongPassword);
    }
    let hash = hash_on_pool(new.to_owned()).await?;
    store
        .set_claims_password(login, &hash)
        .await
        .map_err(FundError::storage("change a password"))?;
    Actor {
        name: format!("claims:{login}"),
        origin,
    }
    .record(
        store,
        "claims.password.change",
        &format!("login:{login}"),
        String::new(),
    )
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_name_their_rule() {
        assert_eq!(parse_mo_code("M140001").unwrap(), "140001");
        let error = parse_mo_code("14001").unwrap_err().to_string();
        assert!(
            error.contains("MO code \"14001\"") && error.contains("6 digits"),
            "{error}"
        );
        assert!(parse_insurer_code("1400A").is_err());
        assert_eq!(parse_period("2026-11").unwrap().to_string(), "2026-11");
        assert!(parse_period("2026-13").is_err());
        assert!(parse_period("11.2026").is_err());
        assert_eq!(
            login_for("140001", Role::Executor, Some("02")),
            "M140001_1_02"
        );
        assert_eq!(login_for("140001", Role::Head, None), "M140001_3");
    }

    #[test]
    fn the_default_password_is_the_links_and_long_enough() {
        let token = "ab".repeat(32);
        let password = default_password(&token);
        assert_eq!(password, default_password(&token));
        assert_ne!(password, default_password(&"cd".repeat(32)));
        assert_eq!(password.len(), 19);
        assert!(check_new_password("M140001_1", &password).is_ok());
        assert_ne!(link_hash(&token), token);
    }
}

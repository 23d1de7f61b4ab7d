//! The demo's Russian claims registers (`--role claims`): a medical organisation with its
//! three logins, an insurer and the previous month's period, set up as the fund's operator
//! commands set them up (`medgate_claims::fund`); each login's one-time link opened and its
//! default password replaced on the desk's own pages, as its user would; and two packages made
//! by the project's generator uploaded by the executor on "Загрузка файла" — a clean one and
//! one with a wrong invoice sum, so the FLK tab has something to show; and the insurer's
//! reviewer, who sees the registers the executor forms and sends.

use std::path::Path;

use anyhow::{bail, Context};
use medgate_claims::fund::{self, Actor, Role};
use medgate_claims::generate::{self, Fault, Options};
use medgate_claims::names::Period;
use medgate_storage::{AuditOrigin, Metadata};

use super::web::{form_token, Web};
use super::DemoState;

/// The demo's medical organisation and insurer (an insurer of the starter F002 book).
pub(super) const MO: &str = "140001";
const MO_NAME: &str = "ГБУЗ «Городская поликлиника № 1»";
const INSURER_NAME: &str = "АО «СОГАЗ-Мед»";
/// The MO's logins, in the order of `DemoState::claims_passwords`.
pub(super) const ROLES: [(Role, &str); 3] = [
    (Role::Executor, "Иванова Ирина Петровна"),
    (Role::ChiefAccountant, "Петрова Анна Сергеевна"),
    (Role::Head, "Смирнов Олег Викторович"),
];

/// The insurer's reviewer (`S<SMO>_R<n>`), who returns registers for rework or passes them
/// for the MO's signatures.
const REVIEWER_NAME: &str = "Кузнецова Мария Андреевна";

/// The claims node as the block names it.
pub(super) struct Claims<'a> {
    pub url: &'a str,
    pub ca: &'a Path,
}

/// The login of the MO's `role`.
pub(super) fn login(role: Role) -> String {
    fund::login_for(MO, role, None)
}

/// The month before today's: the period the demo's packages are for.
fn last_month() -> anyhow::Result<Period> {
    let today = medgate_web::now().date();
    let (year, month) = match today.month() as u8 {
        1 => (today.year() - 1, 12),
        month => (today.year(), month - 1),
    };
    Ok(Period::new(year, month)?)
}

/// The fund's registry, the logins (each through its link and the password change) and the
/// executor's two packages, each step unless it is done already; answers the insurer's
/// reviewer's login.
pub(super) async fn claims_node(
    store: &Metadata,
    claims: &Claims<'_>,
    state: &DemoState,
) -> anyhow::Result<String> {
    let actor = Actor {
        name: "cli".to_owned(),
        origin: AuditOrigin::Cli,
    };
    let now = medgate_web::now();
    let period = last_month()?;
    if store.claims_medical_organisation(MO).await?.is_none() {
        fund::add_medical_organisation(store, &actor, MO, MO_NAME, now).await?;
    }
    if !store
        .claims_insurers()
        .await?
        .iter()
        .any(|insurer| insurer.code == generate::INSURER)
    {
        fund::add_insurer(store, &actor, generate::INSURER, INSURER_NAME, now).await?;
    }
    let period_code = format!("{:04}-{:02}", period.year(), period.month());
    if store.claims_period(&period_code).await?.is_none() {
        fund::open_period(store, &actor, &period_code, now).await?;
    }
    for ((role, name), password) in ROLES.iter().zip(&state.claims_passwords) {
        if store.claims_user(&login(*role)).await?.is_some() {
            continue;
        }
        let issued = fund::add_user(store, &actor, MO, *role, None, name, now).await?;
        first_sign_in(claims, &issued.token, &issued.login, password)
            .await
            .with_context(|| format!("the first sign-in of {}", issued.login))?;
    }
    if reviewer_login(store).await?.is_none() {
        let issued =
            fund::add_reviewer(store, &actor, generate::INSURER, REVIEWER_NAME, now).await?;
        first_sign_in(
            claims,
            &issued.token,
            &issued.login,
            &state.claims_reviewer_password,
        )
        .await
        .with_context(|| format!("the first sign-in of {}", issued.login))?;
    }
    if store.claims_packages(MO).await?.is_empty() {
        let web = Web::new(claims.url, claims.ca)?;
        web.submit(
            "/claims",
            &[
                ("login", &login(Role::Executor)),
                ("password", &state.claims_passwords[0]),
            ],
        )
        .await?;
        for (number, fault) in [(1, None), (2, Some(Fault::InvoiceSum))] {
            let mut options = Options::new(40, period);
            options.medical_organisation = MO.to_owned();
            options.number = number;
            options.fault = fault;
            let mut package = std::io::Cursor::new(Vec::new());
            let name = generate::write_package(&mut package, &options)?;
            let page = web.get("/claims/upload").await?;
            let token = form_token(&page).context("no form token on the upload page")?;
            web.post_multipart(
                "/claims/upload",
                &[("csrf", &token), ("period", &period_code)],
                &[(
                    "package",
                    &format!("{}.zip", name.main_stem()),
                    package.get_ref(),
                )],
            )
            .await
            .context("uploading the demo's package")?;
        }
    }
    reviewer_login(store)
        .await?
        .context("the demo's insurer has no reviewer")
}

/// The insurer's reviewer's login, once made.
pub(super) async fn reviewer_login(store: &Metadata) -> anyhow::Result<Option<String>> {
    Ok(store
        .claims_users(None)
        .await?
        .into_iter()
        .find(|user| user.smo_code.as_deref() == Some(generate::INSURER))
        .map(|user| user.login))
}

/// A new login's first visit, as its user makes it: the one-time link's button, the sign-in
/// with the default password it shows, and the forced change to `password`.
async fn first_sign_in(
    claims: &Claims<'_>,
    token: &str,
    login: &str,
    password: &str,
) -> anyhow::Result<()> {
    let web = Web::new(claims.url, claims.ca)?;
    let (status, page) = web.post("/claims/link", &[("token", token)]).await?;
    let marker = "<code id=\"default-password\">";
    let Some(default) = page
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .filter(|_| status.is_success())
    else {
        bail!("the one-time link showed no password ({status})");
    };
    let default = default.to_owned();
    web.submit("/claims", &[("login", login), ("password", &default)])
        .await?;
    web.submit(
        "/claims/password",
        &[
            ("current", &default),
            ("new", password),
            ("repeat", password),
        ],
    )
    .await
}

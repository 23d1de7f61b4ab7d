//! The register's workflow: who may move a register from which state to which, as the
//! territorial fund's system does it (`Черновик` → `Отправлен` → `На доработку` or
//! `На подпись МО` → three signatures → `Подписан`). Pure rules, no storage: [`apply`]
//! says whether an action is allowed and what it leads to, [`Transition::record`] adds who and
//! when in a shape ready to be stored, and every refusal is a sentence in English
//! ([`std::fmt::Display`]) and in Russian ([`Refusal::russian`]).
//!
//! The medical organisation (MO) has three logins: `<MO>_1` the executor (the specialist who
//! forms and sends registers, and signs first), `<MO>_2` the chief accountant (signs second),
//! `<MO>_3` the head (signs last). The insurer's reviewer accepts a sent register for
//! signature or returns it for rework with a comment; the fund's operator watches and acts on
//! nothing here. A register returned for rework is corrected and sent again by the executor.

use std::fmt;

use time::OffsetDateTime;

mod refusal;
#[cfg(test)]
mod tests;

pub use refusal::Refusal;

/// Where a register is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Formed by the MO, not yet sent (`Черновик`).
    Draft,
    /// Sent by the MO to the insurer (`Отправлен`).
    Sent,
    /// Returned by the insurer with a comment (`На доработку`).
    ForRework,
    /// Accepted by the insurer, waiting for the MO's three signatures (`На подпись МО`).
    ForSignature,
    /// The executor has signed; the chief accountant signs next.
    SignedByExecutor,
    /// The executor and the chief accountant have signed; the head signs last.
    SignedByChiefAccountant,
    /// All three have signed (`Подписан`).
    Signed,
}

impl State {
    /// Every state, in the order a register goes through them.
    pub const ALL: [State; 7] = [
        State::Draft,
        State::Sent,
        State::ForRework,
        State::ForSignature,
        State::SignedByExecutor,
        State::SignedByChiefAccountant,
        State::Signed,
    ];

    /// The stable code stored for this state.
    pub fn code(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sent => "sent",
            State::ForRework => "for_rework",
            State::ForSignature => "for_signature",
            State::SignedByExecutor => "signed_by_executor",
            State::SignedByChiefAccountant => "signed_by_chief_accountant",
            State::Signed => "signed",
        }
    }

    /// Reads a stored code back; `None` for anything else.
    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|state| state.code() == code)
    }

    /// The state's name in English.
    pub fn english(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Sent => "sent",
            State::ForRework => "for rework",
            State::ForSignature => "for the MO's signature",
            State::SignedByExecutor => "signed by the executor",
            State::SignedByChiefAccountant => "signed by the chief accountant",
            State::Signed => "signed",
        }
    }

    /// The state's name in Russian, as the fund's system shows it.
    pub fn russian(self) -> &'static str {
        match self {
            State::Draft => "Черновик",
            State::Sent => "Отправлен",
            State::ForRework => "На доработку",
            State::ForSignature => "На подпись МО",
            State::SignedByExecutor => "Подписан исполнителем",
            State::SignedByChiefAccountant => "Подписан главным бухгалтером",
            State::Signed => "Подписан",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.english())
    }
}

/// Who acts on registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The MO's specialist, login `<MO>_1`: forms, sends, signs first.
    Executor,
    /// The MO's chief accountant, login `<MO>_2`: signs second.
    ChiefAccountant,
    /// The MO's head, login `<MO>_3`: signs last.
    Head,
    /// The insurer's (SMO's) reviewer: accepts for signature or returns for rework.
    InsurerReviewer,
    /// The territorial fund's operator: sees registers, moves none.
    FundOperator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Executor,
        Role::ChiefAccountant,
        Role::Head,
        Role::InsurerReviewer,
        Role::FundOperator,
    ];

    /// The stable code stored for this role.
    pub fn code(self) -> &'static str {
        match self {
            Role::Executor => "executor",
            Role::ChiefAccountant => "chief_accountant",
            Role::Head => "head",
            Role::InsurerReviewer => "insurer_reviewer",
            Role::FundOperator => "fund_operator",
        }
    }

    /// Reads a stored code back; `None` for anything else.
    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.code() == code)
    }

    /// The role of an MO login by its suffix (`M140001_1` → the executor, `_2` the chief
    /// accountant, `_3` the head); `None` for any other login.
    pub fn of_mo_login(login: &str) -> Option<Role> {
        let (mo, suffix) = login.rsplit_once('_')?;
        if mo.is_empty() {
            return None;
        }
        match suffix {
            "1" => Some(Role::Executor),
            "2" => Some(Role::ChiefAccountant),
            "3" => Some(Role::Head),
            _ => None,
        }
    }

    /// The role's name in English.
    pub fn english(self) -> &'static str {
        match self {
            Role::Executor => "the executor",
            Role::ChiefAccountant => "the chief accountant",
            Role::Head => "the head",
            Role::InsurerReviewer => "the insurer's reviewer",
            Role::FundOperator => "the fund's operator",
        }
    }

    /// The role's name in Russian (nominative).
    pub fn russian(self) -> &'static str {
        match self {
            Role::Executor => "исполнитель",
            Role::ChiefAccountant => "главный бухгалтер",
            Role::Head => "руководитель",
            Role::InsurerReviewer => "специалист страховой компании",
            Role::FundOperator => "оператор ТФОМС",
        }
    }

    /// The role's place among the MO's signers (1, 2, 3), or `None` for the others.
    pub fn signing_position(self) -> Option<usize> {
        match self {
            Role::Executor => Some(1),
            Role::ChiefAccountant => Some(2),
            Role::Head => Some(3),
            Role::InsurerReviewer | Role::FundOperator => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.english())
    }
}

/// The MO's signers in their fixed order.
pub const SIGNING_ORDER: [Role; 3] = [Role::Executor, Role::ChiefAccountant, Role::Head];

/// What someone does to a register.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// The executor sends the register to the insurer (again, after rework).
    Send,
    /// The insurer accepts the register for payment: it waits for the MO's signatures.
    AcceptForSignature,
    /// The insurer returns the register to the MO; the comment says what to correct.
    ReturnForRework { comment: String },
    /// The MO's signer whose turn it is signs (the signature itself is checked by
    /// [`crate::signing`]).
    Sign,
}

impl Action {
    /// The stable code stored for this action.
    pub fn code(&self) -> &'static str {
        match self {
            Action::Send => "send",
            Action::AcceptForSignature => "accept_for_signature",
            Action::ReturnForRework { .. } => "return_for_rework",
            Action::Sign => "sign",
        }
    }

    fn english(&self) -> &'static str {
        match self {
            Action::Send => "send the register",
            Action::AcceptForSignature => "accept the register for the MO's signature",
            Action::ReturnForRework { .. } => "return the register for rework",
            Action::Sign => "sign the register",
        }
    }

    fn russian(&self) -> &'static str {
        match self {
            Action::Send => "отправить реестр",
            Action::AcceptForSignature => "перевести реестр в статус «На подпись МО»",
            Action::ReturnForRework { .. } => "вернуть реестр на доработку",
            Action::Sign => "подписать реестр",
        }
    }

    /// The same action without its comment, to compare kinds.
    fn kind(&self) -> ActionKind {
        match self {
            Action::Send => ActionKind::Send,
            Action::AcceptForSignature => ActionKind::AcceptForSignature,
            Action::ReturnForRework { .. } => ActionKind::ReturnForRework,
            Action::Sign => ActionKind::Sign,
        }
    }
}

/// An action without its data: what [`allowed_actions`] lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Send,
    AcceptForSignature,
    ReturnForRework,
    Sign,
}

/// An allowed move, before it is recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub role: Role,
    pub action: ActionKind,
    /// The insurer's comment when the register is returned for rework (trimmed, never empty).
    pub comment: Option<String>,
}

impl Transition {
    /// The transition with who made it and when, ready to be stored.
    pub fn record(self, login: impl Into<String>, at: OffsetDateTime) -> RecordedTransition {
        RecordedTransition {
            from: self.from,
            to: self.to,
            role: self.role,
            action: self.action,
            comment: self.comment,
            login: login.into(),
            at,
        }
    }
}

/// A transition as the register's history keeps it: from, to, what, by whom, when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTransition {
    pub from: State,
    pub to: State,
    pub role: Role,
    pub action: ActionKind,
    pub comment: Option<String>,
    /// The login of who acted (`M140001_2`, the insurer's or the fund's user).
    pub login: String,
    pub at: OffsetDateTime,
}

/// The signer whose turn it is in `state`, if the register waits for a signature.
pub fn next_signer(state: State) -> Option<Role> {
    match state {
        State::ForSignature => Some(Role::Executor),
        State::SignedByExecutor => Some(Role::ChiefAccountant),
        State::SignedByChiefAccountant => Some(Role::Head),
        _ => None,
    }
}

/// Whether `role` may take `action` on a register in `state`, and where it leads.
pub fn apply(state: State, role: Role, action: &Action) -> Result<Transition, Refusal> {
    let kind = action.kind();
    let allowed_roles: &[Role] = match kind {
        ActionKind::Send => &[Role::Executor],
        ActionKind::AcceptForSignature | ActionKind::ReturnForRework => &[Role::InsurerReviewer],
        ActionKind::Sign => &SIGNING_ORDER,
    };
    if !allowed_roles.contains(&role) {
        return Err(Refusal::WrongRole { role, action: kind });
    }
    if state == State::Signed {
        return Err(Refusal::AlreadySigned { role, action: kind });
    }
    let wrong_state = || Refusal::WrongState {
        state,
        role,
        action: kind,
    };
    let mut comment = None;
    let to = match (kind, state) {
        (ActionKind::Send, State::Draft | State::ForRework) => State::Sent,
        (ActionKind::AcceptForSignature, State::Sent) => State::ForSignature,
        (ActionKind::ReturnForRework, State::Sent) => {
            let Action::ReturnForRework { comment: text } = action else {
                return Err(wrong_state());
            };
            let text = text.trim();
            if text.is_empty() {
                return Err(Refusal::CommentRequired);
            }
            comment = Some(text.to_owned());
            State::ForRework
        }
        (ActionKind::Sign, _) => {
            let Some(waiting_for) = next_signer(state) else {
                return Err(wrong_state());
            };
            if waiting_for != role {
                let (mine, due) = (role.signing_position(), waiting_for.signing_position());
                return Err(if mine < due {
                    Refusal::HasSigned {
                        role,
                        next: waiting_for,
                    }
                } else {
                    Refusal::NotYourTurn { role, waiting_for }
                });
            }
            match role {
                Role::Executor => State::SignedByExecutor,
                Role::ChiefAccountant => State::SignedByChiefAccountant,
                _ => State::Signed,
            }
        }
        _ => return Err(wrong_state()),
    };
    Ok(Transition {
        from: state,
        to,
        role,
        action: kind,
        comment,
    })
}

/// The actions `role` may take in `state` (for the buttons a page shows).
pub fn allowed_actions(state: State, role: Role) -> Vec<ActionKind> {
    let probes = [
        Action::Send,
        Action::AcceptForSignature,
        Action::ReturnForRework {
            comment: "probe".to_owned(),
        },
        Action::Sign,
    ];
    probes
        .iter()
        .filter(|action| apply(state, role, action).is_ok())
        .map(Action::kind)
        .collect()
}

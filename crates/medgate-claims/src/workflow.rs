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

/// Why an action is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// This role never takes this action.
    WrongRole { role: Role, action: ActionKind },
    /// The action is this role's, but not in this state.
    WrongState {
        state: State,
        role: Role,
        action: ActionKind,
    },
    /// A signer acts before the one who signs before them.
    NotYourTurn { role: Role, waiting_for: Role },
    /// A signer who has already signed signs again.
    HasSigned { role: Role, next: Role },
    /// The register was returned for rework without saying why.
    CommentRequired,
    /// Nothing moves a signed register.
    AlreadySigned { role: Role, action: ActionKind },
}

impl Refusal {
    /// The refusal in Russian, for the pages of the fund's system.
    pub fn russian(&self) -> String {
        match self {
            Refusal::WrongRole { role, action } => format!(
                "Роль «{}» не может {}.",
                role.russian(),
                action_of(*action).russian()
            ),
            Refusal::WrongState {
                state,
                role,
                action,
            } => format!(
                "Нельзя {} в статусе «{}» (роль «{}»); {}.",
                action_of(*action).russian(),
                state.russian(),
                role.russian(),
                russian_hint(*state, *action)
            ),
            Refusal::NotYourTurn { role, waiting_for } => format!(
                "Подписи ставятся по порядку: исполнитель, главный бухгалтер, руководитель; \
                 {} подписывает после того, как подпишет {}.",
                role.russian(),
                waiting_for.russian()
            ),
            Refusal::HasSigned { role, next } => format!(
                "Реестр уже подписан ролью «{}»; следующим подписывает {}.",
                role.russian(),
                next.russian()
            ),
            Refusal::CommentRequired => {
                "Чтобы вернуть реестр на доработку, укажите комментарий: что нужно исправить."
                    .to_owned()
            }
            Refusal::AlreadySigned { .. } => {
                "Реестр уже подписан всеми тремя подписями; его статус больше не меняется."
                    .to_owned()
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::WrongRole { role, action } => write!(
                f,
                "{} cannot {}.",
                capitalised(role.english()),
                action_of(*action).english()
            ),
            Refusal::WrongState {
                state,
                role,
                action,
            } => write!(
                f,
                "A register {state} cannot be changed by {role} to {}; {}.",
                action_of(*action).english(),
                english_hint(*state, *action)
            ),
            Refusal::NotYourTurn { role, waiting_for } => write!(
                f,
                "Signatures follow the order executor, chief accountant, head: {role} signs \
                 after {waiting_for}, who has not signed yet."
            ),
            Refusal::HasSigned { role, next } => write!(
                f,
                "{} has already signed this register; {next} signs next.",
                capitalised(role.english())
            ),
            Refusal::CommentRequired => f.write_str(
                "A register is returned for rework with a comment saying what to correct; \
                 the comment is empty.",
            ),
            Refusal::AlreadySigned { .. } => f.write_str(
                "The register is signed by all three signers; its state no longer changes.",
            ),
        }
    }
}

impl std::error::Error for Refusal {}

/// `the executor` → `The executor`.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn action_of(kind: ActionKind) -> Action {
    match kind {
        ActionKind::Send => Action::Send,
        ActionKind::AcceptForSignature => Action::AcceptForSignature,
        ActionKind::ReturnForRework => Action::ReturnForRework {
            comment: String::new(),
        },
        ActionKind::Sign => Action::Sign,
    }
}

/// What the register waits for in `state`, to end a wrong-state refusal.
fn english_hint(state: State, action: ActionKind) -> &'static str {
    match (state, action) {
        (_, ActionKind::Send) => "only a draft or a register returned for rework is sent",
        (
            State::Draft | State::ForRework,
            ActionKind::AcceptForSignature | ActionKind::ReturnForRework,
        ) => "the MO has not sent it yet",
        (_, ActionKind::AcceptForSignature | ActionKind::ReturnForRework) => {
            "the insurer decides only on a sent register"
        }
        (_, ActionKind::Sign) => {
            "registers are signed once the insurer has put them for the MO's signature"
        }
    }
}

fn russian_hint(state: State, action: ActionKind) -> &'static str {
    match (state, action) {
        (_, ActionKind::Send) => {
            "отправляется только черновик или реестр, возвращённый на доработку"
        }
        (State::Draft | State::ForRework, ActionKind::AcceptForSignature | ActionKind::ReturnForRework) => {
            "МО ещё не отправила реестр"
        }
        (_, ActionKind::AcceptForSignature | ActionKind::ReturnForRework) => {
            "страховая компания принимает решение только по отправленному реестру"
        }
        (_, ActionKind::Sign) => {
            "реестр подписывается после того, как страховая компания переведёт его в статус «На подпись МО»"
        }
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rework(comment: &str) -> Action {
        Action::ReturnForRework {
            comment: comment.to_owned(),
        }
    }

    /// Every allowed move, and nothing else: (state, role, action) → state.
    const ALLOWED: [(State, Role, ActionKind, State); 7] = [
        (State::Draft, Role::Executor, ActionKind::Send, State::Sent),
        (
            State::ForRework,
            Role::Executor,
            ActionKind::Send,
            State::Sent,
        ),
        (
            State::Sent,
            Role::InsurerReviewer,
            ActionKind::AcceptForSignature,
            State::ForSignature,
        ),
        (
            State::Sent,
            Role::InsurerReviewer,
            ActionKind::ReturnForRework,
            State::ForRework,
        ),
        (
            State::ForSignature,
            Role::Executor,
            ActionKind::Sign,
            State::SignedByExecutor,
        ),
        (
            State::SignedByExecutor,
            Role::ChiefAccountant,
            ActionKind::Sign,
            State::SignedByChiefAccountant,
        ),
        (
            State::SignedByChiefAccountant,
            Role::Head,
            ActionKind::Sign,
            State::Signed,
        ),
    ];

    #[test]
    fn every_combination_is_either_allowed_with_its_target_or_refused_in_both_languages() {
        let mut allowed_seen = 0;
        for state in State::ALL {
            for role in Role::ALL {
                for kind in [
                    ActionKind::Send,
                    ActionKind::AcceptForSignature,
                    ActionKind::ReturnForRework,
                    ActionKind::Sign,
                ] {
                    let action = match kind {
                        ActionKind::ReturnForRework => rework("сумма счёта не совпадает"),
                        other => action_of(other),
                    };
                    let expected = ALLOWED
                        .iter()
                        .find(|(s, r, a, _)| *s == state && *r == role && *a == kind)
                        .map(|(_, _, _, to)| *to);
                    match (apply(state, role, &action), expected) {
                        (Ok(transition), Some(to)) => {
                            allowed_seen += 1;
                            assert_eq!(transition.from, state);
                            assert_eq!(transition.to, to, "{state:?} {role:?} {kind:?}");
                            assert_eq!(transition.role, role);
                            assert_eq!(transition.action, kind);
                            assert!(allowed_actions(state, role).contains(&kind));
                        }
                        (Err(refusal), None) => {
                            let english = refusal.to_string();
                            let russian = refusal.russian();
                            assert!(english.ends_with('.') && english.len() > 30, "{english}");
                            assert!(
                                russian.ends_with('.')
                                    && russian.chars().any(|c| ('а'..='я').contains(&c)),
                                "{russian}"
                            );
                            assert!(!allowed_actions(state, role).contains(&kind));
                        }
                        (got, expected) => {
                            panic!(
                                "{state:?} {role:?} {kind:?}: got {got:?}, expected {expected:?}"
                            )
                        }
                    }
                }
            }
        }
        assert_eq!(allowed_seen, 7);
    }

    #[test]
    fn the_whole_path_from_draft_to_signed_through_a_rework() {
        let mut state = State::Draft;
        let steps = [
            (Role::Executor, Action::Send),
            (
                Role::InsurerReviewer,
                rework("  Неверный код СМО в случае 12  "),
            ),
            (Role::Executor, Action::Send),
            (Role::InsurerReviewer, Action::AcceptForSignature),
            (Role::Executor, Action::Sign),
            (Role::ChiefAccountant, Action::Sign),
            (Role::Head, Action::Sign),
        ];
        let at = time::macros::datetime!(2026-12-04 10:00 UTC);
        let mut history = Vec::new();
        for (role, action) in steps {
            let transition = apply(state, role, &action).expect("allowed");
            state = transition.to;
            history.push(transition.record(
                format!("M140001_{}", role.signing_position().unwrap_or(0)),
                at,
            ));
        }
        assert_eq!(state, State::Signed);
        assert_eq!(history[1].to, State::ForRework);
        assert_eq!(
            history[1].comment.as_deref(),
            Some("Неверный код СМО в случае 12")
        );
        assert_eq!(history[6].login, "M140001_3");
        assert_eq!(history[6].at, at);
        assert!(allowed_actions(State::Signed, Role::Head).is_empty());
    }

    #[test]
    fn the_insurer_returns_a_register_only_with_a_comment() {
        let refusal = apply(State::Sent, Role::InsurerReviewer, &rework(" \n ")).unwrap_err();
        assert_eq!(refusal, Refusal::CommentRequired);
        assert_eq!(
            refusal.to_string(),
            "A register is returned for rework with a comment saying what to correct; the comment is empty."
        );
        assert_eq!(
            refusal.russian(),
            "Чтобы вернуть реестр на доработку, укажите комментарий: что нужно исправить."
        );
    }

    #[test]
    fn signers_out_of_turn_are_told_whom_they_wait_for() {
        let refusal = apply(State::ForSignature, Role::Head, &Action::Sign).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::NotYourTurn {
                role: Role::Head,
                waiting_for: Role::Executor
            }
        );
        assert_eq!(
            refusal.to_string(),
            "Signatures follow the order executor, chief accountant, head: the head signs after \
             the executor, who has not signed yet."
        );
        assert_eq!(
            refusal.russian(),
            "Подписи ставятся по порядку: исполнитель, главный бухгалтер, руководитель; \
             руководитель подписывает после того, как подпишет исполнитель."
        );
        let twice = apply(State::SignedByExecutor, Role::Executor, &Action::Sign).unwrap_err();
        assert_eq!(
            twice.to_string(),
            "The executor has already signed this register; the chief accountant signs next."
        );
        assert_eq!(
            twice.russian(),
            "Реестр уже подписан ролью «исполнитель»; следующим подписывает главный бухгалтер."
        );
    }

    #[test]
    fn wrong_roles_and_wrong_states_are_named() {
        let refusal = apply(State::Sent, Role::Executor, &Action::AcceptForSignature).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "The executor cannot accept the register for the MO's signature."
        );
        assert_eq!(
            refusal.russian(),
            "Роль «исполнитель» не может перевести реестр в статус «На подпись МО»."
        );
        let refusal = apply(
            State::Draft,
            Role::InsurerReviewer,
            &Action::AcceptForSignature,
        )
        .unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "A register draft cannot be changed by the insurer's reviewer to accept the register \
             for the MO's signature; the MO has not sent it yet."
        );
        assert_eq!(
            refusal.russian(),
            "Нельзя перевести реестр в статус «На подпись МО» в статусе «Черновик» (роль \
             «специалист страховой компании»); МО ещё не отправила реестр."
        );
        let refusal = apply(State::Sent, Role::Executor, &Action::Sign).unwrap_err();
        assert!(
            refusal
                .to_string()
                .contains("once the insurer has put them for the MO's signature"),
            "{refusal}"
        );
        let refusal = apply(State::Signed, Role::Executor, &Action::Send).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "The register is signed by all three signers; its state no longer changes."
        );
        let refusal = apply(State::Sent, Role::FundOperator, &Action::Send).unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "The fund's operator cannot send the register."
        );
        assert_eq!(
            refusal.russian(),
            "Роль «оператор ТФОМС» не может отправить реестр."
        );
        for state in State::ALL {
            assert!(allowed_actions(state, Role::FundOperator).is_empty());
        }
    }

    #[test]
    fn codes_round_trip_and_logins_name_their_role() {
        for state in State::ALL {
            assert_eq!(State::from_code(state.code()), Some(state));
        }
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(State::from_code("paid"), None);
        assert_eq!(Role::of_mo_login("M140001_1"), Some(Role::Executor));
        assert_eq!(Role::of_mo_login("M140001_2"), Some(Role::ChiefAccountant));
        assert_eq!(Role::of_mo_login("M140001_3"), Some(Role::Head));
        assert_eq!(Role::of_mo_login("M140001_4"), None);
        assert_eq!(Role::of_mo_login("_1"), None);
        assert_eq!(Role::of_mo_login("M140001"), None);
        assert_eq!(State::ForSignature.russian(), "На подпись МО");
        assert_eq!(
            Action::ReturnForRework {
                comment: "x".into()
            }
            .code(),
            "return_for_rework"
        );
    }
}

//! Why a transition is refused, in English and Russian, with a hint at what is allowed.

use std::fmt;

use super::*;

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

pub(super) fn action_of(kind: ActionKind) -> Action {
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

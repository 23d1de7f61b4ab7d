//! Every allowed and every refused transition.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::refusal::action_of;
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
                        panic!("{state:?} {role:?} {kind:?}: got {got:?}, expected {expected:?}")
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

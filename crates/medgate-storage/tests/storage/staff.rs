//! Staff accounts (tenant administrators and operators): logins unique per scope, one-time
//! activation codes that expire, disabling and credential resets that end the account's
//! sessions, and tenant scoping (an administrator of one tenant is not one of another).

use medgate_storage::{
    NewStaffUser, NewWebSession, PendingActivation, Sha256Digest, StaffCredential, StaffLogin,
    StaffScope, StaffUserError, WebSessionKind,
};
use time::{Duration, OffsetDateTime};

use crate::support::{create_tenant, tenant_id, TestDb};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn login(text: &str) -> StaffLogin {
    StaffLogin::parse(text).unwrap()
}

fn with_code(
    scope: StaffScope,
    name: &str,
    code_hash: &str,
    expires: OffsetDateTime,
) -> NewStaffUser {
    NewStaffUser {
        scope,
        login: login(name),
        credential: StaffCredential::Activation(PendingActivation {
            code_hash: code_hash.to_owned(),
            expires_at: expires,
        }),
        created_by: "cli".to_owned(),
    }
}

fn session(
    token: &str,
    kind: WebSessionKind,
    tenant: Option<medgate_ids::TenantId>,
    principal: &str,
) -> NewWebSession {
    let start = now();
    NewWebSession {
        token_hash: Sha256Digest::of(token.as_bytes()),
        kind,
        tenant,
        principal: principal.to_owned(),
        csrf_secret: "cd".repeat(32),
        created_at: start,
        expires_at: start + Duration::hours(8),
    }
}

pub async fn logins_are_unique_per_tenant_and_among_operators(db: TestDb) {
    let metadata = &db.metadata;
    let first = create_tenant(metadata, 7101, 1_000, 10).await;
    let second = create_tenant(metadata, 7102, 1_000, 10).await;
    let at = now();
    let expires = at + Duration::days(7);
    let admin = metadata
        .create_staff_user(
            &with_code(StaffScope::Admin(first.clone()), "Anna", "$code1", expires),
            at,
        )
        .await
        .unwrap();
    assert_eq!(admin.login.as_str(), "anna");
    assert_eq!(admin.scope, StaffScope::Admin(first.clone()));
    assert!(!admin.can_sign_in(), "not activated yet");
    assert_eq!(admin.activation_expires_at, Some(expires));

    // The same login at another tenant and as an operator are other accounts.
    metadata
        .create_staff_user(
            &with_code(StaffScope::Admin(second.clone()), "anna", "$code2", expires),
            at,
        )
        .await
        .unwrap();
    let operator = metadata
        .create_staff_user(
            &NewStaffUser {
                scope: StaffScope::Operator,
                login: login("anna"),
                credential: StaffCredential::PasswordHash("$argon2id$operator".to_owned()),
                created_by: "cli".to_owned(),
            },
            at,
        )
        .await
        .unwrap();
    assert!(operator.can_sign_in());
    assert_eq!(operator.activated_at, Some(at));

    // The same login twice in one scope is refused, and nothing changes.
    for scope in [StaffScope::Admin(first.clone()), StaffScope::Operator] {
        let refused = metadata
            .create_staff_user(&with_code(scope.clone(), "ANNA", "$other", expires), at)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, StaffUserError::Exists { .. }),
            "{refused:?}"
        );
    }
    let unchanged = metadata
        .get_staff_user(&StaffScope::Admin(first.clone()), &login("anna"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.activation_code_hash.as_deref(), Some("$code1"));

    // A tenant that does not exist is named.
    let missing = tenant_id(7199);
    let refused = metadata
        .create_staff_user(
            &with_code(StaffScope::Admin(missing.clone()), "x", "$c", expires),
            at,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, StaffUserError::TenantNotFound(t) if *t == missing),
        "{refused:?}"
    );

    // Lists are per scope.
    let admins = metadata
        .list_staff_users(&StaffScope::Admin(first.clone()))
        .await
        .unwrap();
    assert_eq!(admins.len(), 1);
    let operators = metadata
        .list_staff_users(&StaffScope::Operator)
        .await
        .unwrap();
    assert_eq!(operators.len(), 1);
    assert_eq!(operators[0].scope, StaffScope::Operator);
    assert!(metadata
        .get_staff_user(&StaffScope::Admin(second.clone()), &login("nobody"))
        .await
        .unwrap()
        .is_none());
}

pub async fn activation_codes_work_once_and_expire(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7110, 1_000, 10).await;
    let scope = StaffScope::Admin(tenant.clone());
    let at = now();
    metadata
        .create_staff_user(
            &with_code(scope.clone(), "it", "$code", at + Duration::days(7)),
            at,
        )
        .await
        .unwrap();
    // A wrong code hash, another tenant, or a later time than the code's end do nothing.
    assert!(!metadata
        .activate_staff_user(&scope, &login("it"), "$wrong", "$pw", at)
        .await
        .unwrap());
    assert!(!metadata
        .activate_staff_user(&StaffScope::Operator, &login("it"), "$code", "$pw", at)
        .await
        .unwrap());
    assert!(!metadata
        .activate_staff_user(&scope, &login("it"), "$code", "$pw", at + Duration::days(8))
        .await
        .unwrap());
    assert!(metadata
        .activate_staff_user(&scope, &login("it"), "$code", "$pw", at)
        .await
        .unwrap());
    let user = metadata
        .get_staff_user(&scope, &login("it"))
        .await
        .unwrap()
        .unwrap();
    assert!(user.can_sign_in());
    assert_eq!(user.password_hash.as_deref(), Some("$pw"));
    assert_eq!(user.activation_code_hash, None);
    // The code is spent: a second activation cannot replace the password.
    assert!(!metadata
        .activate_staff_user(&scope, &login("it"), "$code", "$other", at)
        .await
        .unwrap());

    metadata
        .record_staff_signin(&scope, &login("it"), at)
        .await
        .unwrap();
    let user = metadata
        .get_staff_user(&scope, &login("it"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.last_signin_at, Some(at));
}

pub async fn disabling_and_resets_end_the_accounts_sessions(db: TestDb) {
    let metadata = &db.metadata;
    let tenant = create_tenant(metadata, 7120, 1_000, 10).await;
    let other = create_tenant(metadata, 7121, 1_000, 10).await;
    let scope = StaffScope::Admin(tenant.clone());
    let at = now();
    let idle = Duration::minutes(30);
    for (scope, name) in [
        (scope.clone(), "boss"),
        (StaffScope::Admin(other.clone()), "boss"),
    ] {
        metadata
            .create_staff_user(
                &NewStaffUser {
                    scope,
                    login: login(name),
                    credential: StaffCredential::PasswordHash("$pw".to_owned()),
                    created_by: "cli".to_owned(),
                },
                at,
            )
            .await
            .unwrap();
    }
    metadata
        .create_web_session(&session(
            "mine",
            WebSessionKind::new("admin"),
            Some(tenant.clone()),
            "boss",
        ))
        .await
        .unwrap();
    metadata
        .create_web_session(&session(
            "theirs",
            WebSessionKind::new("admin"),
            Some(other.clone()),
            "boss",
        ))
        .await
        .unwrap();
    let alive = |token: &'static str| async move {
        metadata
            .touch_web_session(&Sha256Digest::of(token.as_bytes()), idle, now())
            .await
            .unwrap()
            .is_some()
    };
    let disabled = metadata
        .set_staff_disabled(&scope, &login("boss"), true, at)
        .await
        .unwrap();
    assert!(!disabled.can_sign_in());
    assert!(
        !alive("mine").await,
        "the disabled administrator is signed out"
    );
    assert!(
        alive("theirs").await,
        "the same login at another tenant is untouched"
    );
    let enabled = metadata
        .set_staff_disabled(&scope, &login("boss"), false, at)
        .await
        .unwrap();
    assert!(enabled.can_sign_in());

    // A new activation code replaces the password and ends the sessions.
    metadata
        .create_web_session(&session(
            "again",
            WebSessionKind::new("admin"),
            Some(tenant.clone()),
            "boss",
        ))
        .await
        .unwrap();
    let reset = metadata
        .reset_staff_credential(
            &scope,
            &login("boss"),
            &StaffCredential::Activation(PendingActivation {
                code_hash: "$new".to_owned(),
                expires_at: at + Duration::days(7),
            }),
            at,
        )
        .await
        .unwrap();
    assert!(!reset.can_sign_in());
    assert_eq!(reset.password_hash, None);
    assert!(!alive("again").await);
    assert!(alive("theirs").await);

    let missing = metadata
        .set_staff_disabled(&StaffScope::Operator, &login("boss"), true, at)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StaffUserError::NotFound { .. }),
        "{missing:?}"
    );
}

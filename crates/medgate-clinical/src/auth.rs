//! Practitioner authentication: password (Argon2id) and the one-time code of the
//! practitioner's token (TOTP, RFC 6238: HMAC-SHA-1, 30-second steps, 6 digits, one step of
//! clock drift either way), for a user in the authorisation matrix of the calling
//! institution; a session of [`SESSION_LENGTH`] follows. A code is accepted once: the time
//! step it belongs to is recorded, and a code of that step or an earlier one is refused.
//!
//! Time is passed in (`now`), so tests control it.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use medgate_ids::InstitutionId;
use medgate_storage::{
    AuditOrigin, LockoutPolicy, Metadata, NewAuditEntry, PractitionerSession, Sha256Digest,
    SigninAttempt, SigninIdentity, WebSessionKind,
};
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::error::ClinicalError;
use crate::Caller;

/// How long a practitioner session lasts (the platform's figure).
pub const SESSION_LENGTH: Duration = Duration::hours(7);

/// Sign-in attempts of one user name: five in a row without success lock it for 15 minutes
/// (the count forgotten after an hour without attempts), so a password cannot be guessed at
/// speed. The store's lock-out (`web_signin_failures`), under its own kind.
pub const LOCKOUT: LockoutPolicy = LockoutPolicy {
    max_failures: 5,
    lock_for: Duration::minutes(15),
    forget_after: Duration::hours(1),
};

/// The lock-out's kind of identity.
const SIGNIN_KIND: WebSessionKind = WebSessionKind::new("clinical-practitioner");

/// Seconds in one TOTP time step.
pub const TOTP_STEP_SECONDS: u64 = 30;

/// Digits of a one-time code.
pub const TOTP_DIGITS: usize = 6;

/// A sign-in request at the service.
pub struct SignIn<'a> {
    pub user_name: &'a str,
    pub password: &'a str,
    /// The code the token shows now.
    pub one_time_code: &'a str,
    /// The institution the call comes from (its certificate).
    pub institution: &'a InstitutionId,
    pub origin: AuditOrigin,
}

impl fmt::Debug for SignIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignIn")
            .field("user_name", &self.user_name)
            .field("institution", &self.institution)
            .finish_non_exhaustive()
    }
}

/// A session just opened: the bearer token (given to the caller once, stored only as its
/// SHA-256) and the session.
pub struct OpenedSession {
    pub token: String,
    pub session: PractitionerSession,
}

impl fmt::Debug for OpenedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedSession")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ClinicalError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| ClinicalError::Internal {
        what: "the system random source failed",
    })?;
    Ok(bytes)
}

/// The Argon2id PHC string of `password` with a fresh random salt, with the settings of the
/// portal and staff passwords (the `argon2` crate's defaults). Blocking: tens of milliseconds.
pub fn hash_password(password: &str) -> Result<String, ClinicalError> {
    let salt =
        SaltString::encode_b64(&random_bytes::<16>()?).map_err(|_| ClinicalError::Internal {
            what: "password salt",
        })?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| ClinicalError::Internal {
            what: "password hashing",
        })
}

/// True when `password` matches the PHC string `stored` (blocking).
fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored practitioner password hash does not parse");
            false
        }
    }
}

/// A new TOTP secret: 160 random bits (RFC 4226's recommended length), base32 without
/// padding, as authenticator apps take it.
pub fn generate_totp_secret() -> Result<String, ClinicalError> {
    Ok(Secret::Raw(random_bytes::<20>()?.to_vec())
        .to_encoded()
        .to_string())
}

fn totp(secret_base32: &str) -> Result<TOTP, ClinicalError> {
    let bytes = Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| ClinicalError::Internal {
            what: "a stored TOTP secret is not base32",
        })?;
    TOTP::new(Algorithm::SHA1, TOTP_DIGITS, 1, TOTP_STEP_SECONDS, bytes).map_err(|_| {
        ClinicalError::Internal {
            what: "a stored TOTP secret is too short",
        }
    })
}

/// The one-time code of `secret_base32` at `at` (what the practitioner's token shows).
pub fn totp_code(secret_base32: &str, at: OffsetDateTime) -> Result<String, ClinicalError> {
    let seconds = u64::try_from(at.unix_timestamp()).map_err(|_| ClinicalError::Internal {
        what: "a time before 1970",
    })?;
    Ok(totp(secret_base32)?.generate(seconds))
}

/// The time step whose code `code` is, among the step of `now` and one either side.
fn matching_step(
    secret_base32: &str,
    code: &str,
    now: OffsetDateTime,
) -> Result<Option<u64>, ClinicalError> {
    let totp = totp(secret_base32)?;
    let seconds = u64::try_from(now.unix_timestamp()).map_err(|_| ClinicalError::Internal {
        what: "a time before 1970",
    })?;
    let step = seconds / TOTP_STEP_SECONDS;
    let code = code.trim();
    for candidate in [step.saturating_sub(1), step, step + 1] {
        let expected = totp.generate(candidate * TOTP_STEP_SECONDS);
        // Compared in constant time: the codes are secrets until used.
        if expected.len() == code.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                expected.as_bytes(),
                code.as_bytes(),
            )
            .is_ok()
        {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

fn token_hash(token: &str) -> Sha256Digest {
    Sha256Digest::of(token.as_bytes())
}

fn signin_audit(
    user_name: &str,
    institution: &InstitutionId,
    origin: AuditOrigin,
    action: &str,
    details: String,
) -> NewAuditEntry {
    NewAuditEntry {
        tenant: None,
        actor: format!("practitioner:{user_name}@{institution}"),
        action: action.to_owned(),
        target: format!("institution:{institution}"),
        origin,
        details,
        patient: None,
    }
}

/// Signs a practitioner in for the calling institution: the institution active, the
/// password right, the practitioner active and in the matrix for the institution, the code
/// the token's current one and not used before. Refusals and the sign-in are audited; a user
/// name with [`LOCKOUT`]'s number of attempts in a row without success is locked.
pub async fn sign_in(
    store: &Metadata,
    request: &SignIn<'_>,
    now: OffsetDateTime,
) -> Result<OpenedSession, ClinicalError> {
    let identity = SigninIdentity {
        kind: SIGNIN_KIND,
        tenant: "",
        principal: request.user_name,
    };
    let attempt = store
        .reserve_signin_attempt(identity, LOCKOUT, now)
        .await
        .map_err(ClinicalError::storage("count the sign-in attempt"))?;
    let outcome = match attempt {
        SigninAttempt::Locked { until } => Err(ClinicalError::SigninLocked {
            until: crate::fhir::instant(until),
        }),
        SigninAttempt::Allowed { .. } => check_sign_in(store, request, now).await,
    };
    if outcome.is_ok() {
        store
            .clear_signin_failures(identity)
            .await
            .map_err(ClinicalError::storage("clear the sign-in failures"))?;
    }
    let (action, details) = match &outcome {
        Ok(_) => ("clinical.signin", String::new()),
        Err(error) => ("clinical.signin.refused", error.code().to_owned()),
    };
    store
        .append_audit(&signin_audit(
            request.user_name,
            request.institution,
            request.origin,
            action,
            details,
        ))
        .await
        .map_err(ClinicalError::storage("record the sign-in"))?;
    outcome
}

async fn check_sign_in(
    store: &Metadata,
    request: &SignIn<'_>,
    now: OffsetDateTime,
) -> Result<OpenedSession, ClinicalError> {
    let institution = store
        .clinical_institution(request.institution)
        .await
        .map_err(ClinicalError::storage("read the institution"))?;
    if !institution.is_some_and(|institution| institution.active) {
        return Err(ClinicalError::InstitutionNotActive(
            request.institution.clone(),
        ));
    }
    let practitioner = store
        .clinical_practitioner(request.user_name)
        .await
        .map_err(ClinicalError::storage("read the practitioner"))?;
    let password = request.password.to_owned();
    let stored = practitioner.as_ref().map(|p| p.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password(&password, &stored),
        None => {
            // The same work as for a real account, so the answer's time tells nothing.
            if let Ok(dummy) = hash_password("medgate dummy practitioner password") {
                let _ = verify_password(&password, &dummy);
            }
            false
        }
    })
    .await
    .map_err(|_| ClinicalError::Internal {
        what: "the password check did not finish",
    })?;
    let Some(practitioner) = practitioner.filter(|_| matches) else {
        return Err(ClinicalError::WrongCredentials);
    };
    if !practitioner.active {
        return Err(ClinicalError::PractitionerSuspended {
            user_name: practitioner.user_name,
        });
    }
    let Some(step) = matching_step(&practitioner.totp_secret, request.one_time_code, now)? else {
        return Err(ClinicalError::WrongOneTimeCode);
    };
    let matrix = store
        .clinical_authorisations(&practitioner.user_name, request.institution)
        .await
        .map_err(ClinicalError::storage("read the authorisation matrix"))?;
    if matrix.is_empty() {
        return Err(ClinicalError::NotInMatrix {
            user_name: practitioner.user_name,
            institution: request.institution.clone(),
        });
    }
    let fresh = store
        .use_clinical_totp_step(&practitioner.user_name, step)
        .await
        .map_err(ClinicalError::storage("record the one-time code"))?;
    if !fresh {
        return Err(ClinicalError::OneTimeCodeReused);
    }
    let token = hex::encode(random_bytes::<32>()?);
    let session = PractitionerSession {
        token_hash: token_hash(&token),
        user_name: practitioner.user_name,
        institution: request.institution.clone(),
        created_at: now,
        expires_at: now + SESSION_LENGTH,
    };
    store
        .create_practitioner_session(&session)
        .await
        .map_err(|error| match error {
            medgate_storage::ClinicalStoreError::Metadata(source) => ClinicalError::Storage {
                operation: "open the session",
                source,
            },
            _ => ClinicalError::Internal {
                what: "the session could not be stored",
            },
        })?;
    Ok(OpenedSession { token, session })
}

/// The caller a session token stands for, when the call comes from `institution` (its
/// certificate) at `now`: refused when unknown, ended, opened for another institution, or
/// when the institution is suspended.
pub async fn authenticate(
    store: &Metadata,
    token: &str,
    institution: &InstitutionId,
    origin: AuditOrigin,
    now: OffsetDateTime,
) -> Result<Caller, ClinicalError> {
    let session = store
        .practitioner_session(&token_hash(token))
        .await
        .map_err(ClinicalError::storage("read the session"))?
        .ok_or(ClinicalError::SessionUnknown)?;
    if now >= session.expires_at {
        return Err(ClinicalError::SessionExpired {
            ended: crate::fhir::instant(session.expires_at),
        });
    }
    if &session.institution != institution {
        return Err(ClinicalError::SessionOfAnotherInstitution {
            session: session.institution,
            caller: institution.clone(),
        });
    }
    // A suspended institution's sessions open nothing (a suspended practitioner's sessions
    // were removed with the suspension).
    let active = store
        .clinical_institution(institution)
        .await
        .map_err(ClinicalError::storage("read the institution"))?
        .is_some_and(|institution| institution.active);
    if !active {
        return Err(ClinicalError::InstitutionNotActive(institution.clone()));
    }
    Ok(Caller {
        user_name: session.user_name,
        institution: session.institution,
        origin,
    })
}

/// Ends a session (sign-out).
pub async fn sign_out(store: &Metadata, token: &str) -> Result<(), ClinicalError> {
    store
        .delete_practitioner_session(&token_hash(token))
        .await
        .map_err(ClinicalError::storage("end the session"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (the 8-digit codes' last 6 digits are the 6-digit
    /// codes: the truncation is the same number modulo 10^6).
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() -> Result<(), ClinicalError> {
        let secret = Secret::Raw(b"12345678901234567890".to_vec())
            .to_encoded()
            .to_string();
        for (seconds, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let at = OffsetDateTime::from_unix_timestamp(seconds)
                .map_err(|_| ClinicalError::Internal { what: "t" })?;
            assert_eq!(totp_code(&secret, at)?, code, "at {seconds}");
        }
        Ok(())
    }

    #[test]
    fn a_code_matches_its_step_and_one_either_side() -> Result<(), ClinicalError> {
        let secret = generate_totp_secret()?;
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_015)
            .map_err(|_| ClinicalError::Internal { what: "t" })?;
        let step = 1_800_000_015 / 30;
        let code = totp_code(&secret, now)?;
        assert_eq!(matching_step(&secret, &code, now)?, Some(step));
        assert_eq!(
            matching_step(&secret, &code, now + Duration::seconds(30))?,
            Some(step)
        );
        assert_eq!(
            matching_step(&secret, &code, now - Duration::seconds(30))?,
            Some(step)
        );
        assert_eq!(
            matching_step(&secret, &code, now + Duration::seconds(90))?,
            None
        );
        Ok(())
    }

    #[test]
    fn passwords_hash_and_verify() -> Result<(), ClinicalError> {
        let hash = hash_password("correct horse battery")?;
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("wrong horse battery", &hash));
        Ok(())
    }
}

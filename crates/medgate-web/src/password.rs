//! Passwords and one-time codes: Argon2id hashes (the `argon2` crate's defaults: version 19,
//! 19 MiB, 2 passes, 1 lane — OWASP's recommendation) in PHC strings with a random 16-byte
//! salt, the password rules, and the activation codes the clinic hands to a patient.
//!
//! Hashing costs tens of milliseconds of CPU, so the async helpers run it on the blocking
//! pool. A sign-in for an account that does not exist still verifies against a dummy hash,
//! so the answer takes as long as for one that does.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::error::ApiError;

/// Fewest characters a password may have.
pub const MIN_LENGTH: usize = 12;
/// Most characters a password may have (bounds the hashing work a request can ask for).
pub const MAX_LENGTH: usize = 128;

/// Characters of activation codes: Crockford's base32 (digits and capitals without I, L, O
/// and U), 5 bits each; typed look-alikes are forgiven by [`normalize_code`].
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in an activation code: 16 × 5 = 80 random bits.
const CODE_SYMBOLS: usize = 16;

/// Why a new password is not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Mismatch,
    SameAsIdentifier,
    ControlCharacters,
}

/// Checks a new password and its repetition; `forbidden` are values it must not equal
/// (the patient identifier, the activation code), compared without case and separators.
pub fn check_rules(
    password: &str,
    repeated: &str,
    forbidden: &[&str],
) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordProblem::TooShort);
    }
    if length > MAX_LENGTH {
        return Err(PasswordProblem::TooLong);
    }
    if password.chars().any(char::is_control) {
        return Err(PasswordProblem::ControlCharacters);
    }
    let simplified = |text: &str| -> String {
        text.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let candidate = simplified(password);
    if forbidden
        .iter()
        .any(|value| !value.is_empty() && simplified(value) == candidate)
    {
        return Err(PasswordProblem::SameAsIdentifier);
    }
    if password != repeated {
        return Err(PasswordProblem::Mismatch);
    }
    Ok(())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::fill(&mut bytes)
        .map_err(|_| ApiError::internal("random source", &"the system random source failed"))?;
    Ok(bytes)
}

/// The Argon2id PHC string of `secret` with a fresh random salt (blocking).
pub fn hash(secret: &str) -> Result<String, ApiError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| ApiError::internal("password salt", &e))?;
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::internal("password hashing", &e))
}

/// True when `secret` matches the PHC string `stored` (blocking). A stored value that does
/// not parse matches nothing.
pub fn verify(secret: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "a stored password hash does not parse");
            false
        }
    }
}

/// Spends the time of one verification without anything to verify against (blocking).
pub fn verify_dummy(secret: &str) {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash("medgate dummy password for timing").ok());
    if let Some(dummy) = dummy {
        let _ = verify(secret, dummy);
    }
}

/// [`hash`] on the blocking pool.
pub async fn hash_async(secret: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash(&secret))
        .await
        .map_err(|e| ApiError::internal("password hashing", &e))?
}

/// [`verify`] (or [`verify_dummy`] when there is nothing stored) on the blocking pool.
pub async fn verify_async(secret: String, stored: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify(&secret, &stored),
        None => {
            verify_dummy(&secret);
            false
        }
    })
    .await
    .map_err(|e| ApiError::internal("password check", &e))
}

/// A new one-time activation code: 16 symbols (80 random bits) in groups of four,
/// e.g. `K7QM-2XWD-9RTB-HC4N`.
pub fn activation_code() -> Result<String, ApiError> {
    let bytes = random_bytes::<CODE_SYMBOLS>()?;
    let mut code = String::with_capacity(CODE_SYMBOLS + 3);
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 4 == 0 {
            code.push('-');
        }
        let value = usize::from(byte & 0x1f);
        code.push(char::from(CODE_ALPHABET[value]));
    }
    Ok(code)
}

/// An activation code as typed, made comparable: upper case, without spaces and dashes,
/// and Crockford's look-alikes read as the digits they resemble (O → 0, I and L → 1).
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .map(|c| match c {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let first = hash("correct horse battery").unwrap();
        let second = hash("correct horse battery").unwrap();
        assert!(first.starts_with("$argon2id$v=19$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(verify("correct horse battery", &first));
        assert!(!verify("correct horse batterY", &first));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn password_rules_name_the_problem() {
        assert_eq!(
            check_rules("short", "short", &[]),
            Err(PasswordProblem::TooShort)
        );
        let long = "x".repeat(MAX_LENGTH + 1);
        assert_eq!(
            check_rules(&long, &long, &[]),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_rules("long enough one", "long enough two", &[]),
            Err(PasswordProblem::Mismatch)
        );
        assert_eq!(
            check_rules("4405-1401-359", "4405-1401-359", &["44051401359"]),
            Err(PasswordProblem::SameAsIdentifier)
        );
        assert_eq!(
            check_rules("tab\there password", "tab\there password", &[]),
            Err(PasswordProblem::ControlCharacters)
        );
        assert_eq!(
            check_rules("zażółć gęślą jaźń", "zażółć gęślą jaźń", &["44051401359"]),
            Ok(())
        );
    }

    #[test]
    fn activation_codes_are_random_grouped_and_unambiguous() {
        let code = activation_code().unwrap();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.matches('-').count(), 3);
        assert!(code
            .chars()
            .filter(|c| *c != '-')
            .all(|c| CODE_ALPHABET.contains(&(c as u8))));
        assert_ne!(code, activation_code().unwrap());
        assert_eq!(normalize_code(" k7qm-2xwd 9rtb-hc4n "), "K7QM2XWD9RTBHC4N");
        assert_eq!(normalize_code("oIl0"), "0110");
    }
}

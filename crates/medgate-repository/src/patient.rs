//! Patient identifiers as users type them: a PESEL (checked) or `root^extension` with an OID
//! root — for storing an attachment or a consent ([`parse_patient`]) and, looser, for finding
//! documents or consents ([`patient_query`]).

use medgate_ids::{Oid, Pesel};
use medgate_storage::{PatientIdentifier, PatientQuery};

use crate::error::{Reason, RepositoryError};

/// A patient as the repository takes it: a PESEL (checked), or `root^extension` with an OID
/// root (a PESEL under the PESEL root is checked too).
pub fn parse_patient(text: &str) -> Result<PatientIdentifier, RepositoryError> {
    let bad = |message: String| RepositoryError::invalid(Reason::Patient, "patient", message);
    let text = text.trim();
    if let Some((root, extension)) = text.split_once('^') {
        let root = Oid::parse(root)
            .map_err(|e| bad(format!("patient: the root of '{text}' is not an OID: {e}.")))?;
        if extension.is_empty() || extension.chars().any(char::is_control) {
            return Err(bad(format!(
                "patient: '{text}' has no extension after '^'."
            )));
        }
        if root.as_str() == Pesel::OID {
            Pesel::parse(extension).map_err(|e| bad(format!("patient: {e}.")))?;
        }
        return Ok(PatientIdentifier {
            root,
            extension: extension.to_owned(),
        });
    }
    let pesel = Pesel::parse(text).map_err(|e| {
        bad(format!(
            "patient: {e}; give a PESEL or <root OID>^<identifier>."
        ))
    })?;
    Ok(PatientIdentifier {
        root: pesel_oid()?,
        extension: pesel.as_str().to_owned(),
    })
}

/// The PESEL's assigning authority.
pub fn pesel_oid() -> Result<Oid, RepositoryError> {
    Oid::parse(Pesel::OID).map_err(|e| RepositoryError::internal("PESEL OID", e))
}

/// A patient to look for: `root^extension` (the root must be an OID), or an identifier under
/// any root. `text` is trimmed and not empty.
pub fn patient_query(text: &str) -> Result<PatientQuery, RepositoryError> {
    Ok(match text.split_once('^') {
        Some((root, extension)) => PatientQuery {
            root: Some(Oid::parse(root).map_err(|e| {
                RepositoryError::invalid(
                    Reason::Parameter,
                    "patient",
                    format!("patient: the root of '{text}' is not an OID: {e}."),
                )
            })?),
            extension: extension.to_owned(),
        },
        None => PatientQuery {
            root: None,
            extension: text.to_owned(),
        },
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn patients_are_pesels_or_root_and_extension() {
        let pesel = parse_patient("44051401359").unwrap();
        assert_eq!(pesel.root.as_str(), Pesel::OID);
        assert_eq!(pesel.extension, "44051401359");
        assert_eq!(
            parse_patient("44051401358").unwrap_err().code(),
            "bad_patient"
        );
        let other = parse_patient("2.16.840.1.113883.19.5^998991").unwrap();
        assert_eq!(other.extension, "998991");
        assert_eq!(parse_patient("x.y^1").unwrap_err().code(), "bad_patient");
        let under_pesel_root = format!("{}^44051401358", Pesel::OID);
        assert_eq!(
            parse_patient(&under_pesel_root).unwrap_err().code(),
            "bad_patient"
        );
        assert!(parse_patient("1.2.3^")
            .unwrap_err()
            .to_string()
            .contains("has no extension"));
    }

    #[test]
    fn queries_take_any_identifier_and_check_only_the_root() {
        let any = patient_query("998991").unwrap();
        assert_eq!((any.root, any.extension.as_str()), (None, "998991"));
        let rooted = patient_query("1.2.3^A").unwrap();
        assert_eq!(rooted.root.unwrap().as_str(), "1.2.3");
        let error = patient_query("x^1").unwrap_err();
        assert_eq!(error.code(), "bad_parameter");
        assert!(error.to_string().starts_with("patient: the root of 'x^1'"));
    }
}

//! The cases already paid in earlier accepted registers, as the control is given them: one
//! case key a line, `LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1` — the medical
//! organisation of the case (`Z_SL/LPU`), the patient's policy (`PACIENT/ENP`, else
//! `NPOLIS`), the case's first and last day (`YYYY-MM-DD`), the care conditions, and the
//! profile and main diagnosis of its first stay (`SL`). Blank lines and lines starting with
//! `#` are skipped. `case_key` writes the key of a case, so the keys of an accepted register
//! are its cases' keys (`medgate claims keys PACKAGE`). Kept as 128-bit digests, so a year of
//! paid cases takes a few tens of megabytes.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::path::Path;

use crate::error::ClaimsError;
use crate::flk::mask::parse_date;
use crate::xml::Element;

/// The number of fields of a key.
pub const FIELDS: usize = 7;

/// The set of paid case keys.
#[derive(Clone, Debug, Default)]
pub struct PaidCases {
    digests: HashSet<u128>,
}

impl PaidCases {
    /// Reads keys from text; a malformed line is an error naming its number and what is wrong.
    pub fn parse(text: &str, file: &str) -> Result<PaidCases, ClaimsError> {
        let mut digests = HashSet::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            check_key(line).map_err(|bad| ClaimsError::PaidKeys {
                file: file.to_owned(),
                reason: format!("line {}: {} (in {line:?})", number + 1, bad.english),
            })?;
            digests.insert(digest(line));
        }
        Ok(PaidCases { digests })
    }

    /// The set of keys already checked (as [`normalised_keys`] answers them, e.g. from the
    /// node's store).
    pub fn from_keys<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> PaidCases {
        PaidCases {
            digests: keys.into_iter().map(|key| digest(key.as_ref())).collect(),
        }
    }

    pub fn load(path: &Path) -> Result<PaidCases, ClaimsError> {
        let text = std::fs::read_to_string(path).map_err(|e| ClaimsError::io(path, e))?;
        PaidCases::parse(&text, &path.display().to_string())
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.digests.contains(&digest(key))
    }
}

/// A malformed line of a keys file, in English and Russian.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadKey {
    pub english: String,
    pub russian: String,
}

/// The keys of a keys file, each checked and written with its fields trimmed, in file order
/// and without repeats; a malformed line is an error naming its number and what is wrong.
pub fn normalised_keys(text: &str, file: &str) -> Result<Vec<String>, ClaimsError> {
    checked_keys(text).map_err(|bad| ClaimsError::PaidKeys {
        file: file.to_owned(),
        reason: bad.english,
    })
}

/// [`normalised_keys`] with the malformed line's sentence in both languages (the fund's
/// pages show the Russian).
pub fn checked_keys(text: &str) -> Result<Vec<String>, BadKey> {
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        check_key(line).map_err(|bad| BadKey {
            english: format!("line {}: {} (in {line:?})", number + 1, bad.english),
            russian: format!("строка {}: {} (в «{line}»)", number + 1, bad.russian),
        })?;
        let key = line.split(';').map(str::trim).collect::<Vec<_>>().join(";");
        if seen.insert(key.clone()) {
            keys.push(key);
        }
    }
    Ok(keys)
}

fn check_key(line: &str) -> Result<(), BadKey> {
    let fields: Vec<&str> = line.split(';').map(str::trim).collect();
    if fields.len() != FIELDS {
        return Err(BadKey {
            english: format!(
                "a key has {FIELDS} fields separated by ';' (LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1), this one {}",
                fields.len()
            ),
            russian: format!(
                "в ключе {FIELDS} полей через «;» (LPU;POLICY;DATE_Z_1;DATE_Z_2;USL_OK;PROFIL;DS1), в этом {}",
                fields.len()
            ),
        });
    }
    for (index, name) in [(0, "LPU"), (1, "POLICY"), (4, "USL_OK")] {
        if fields[index].is_empty() {
            return Err(BadKey {
                english: format!("{name} is empty"),
                russian: format!("поле {name} пусто"),
            });
        }
    }
    for (index, name) in [(2, "DATE_Z_1"), (3, "DATE_Z_2")] {
        if parse_date(fields[index]).is_none() {
            return Err(BadKey {
                english: format!("{name} {:?} is not a date YYYY-MM-DD", fields[index]),
                russian: format!("{name} «{}» — не дата ГГГГ-ММ-ДД", fields[index]),
            });
        }
    }
    Ok(())
}

fn digest(key: &str) -> u128 {
    let normal: Vec<&str> = key.split(';').map(str::trim).collect();
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        normal.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// The key of a case (`ZAP` and one of its `Z_SL`), or `None` when a field is missing.
pub fn case_key(zap: &Element, z_sl: &Element) -> Option<String> {
    let pacient = zap.child("PACIENT")?;
    let policy = pacient
        .child_text("ENP")
        .filter(|v| !v.is_empty())
        .or_else(|| pacient.child_text("NPOLIS"))?;
    let sl = z_sl.child("SL");
    let first_sl = |name: &str| sl.and_then(|sl| sl.child_text(name)).unwrap_or("");
    let fields = [
        z_sl.child_text("LPU")?,
        policy,
        z_sl.child_text("DATE_Z_1")?,
        z_sl.child_text("DATE_Z_2")?,
        z_sl.child_text("USL_OK")?,
        first_sl("PROFIL"),
        first_sl("DS1"),
    ];
    Some(fields.join(";"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_and_bad_lines_named() {
        let paid = PaidCases::parse(
            "# paid in December\n010001;7700000000000001;2025-01-02;2025-01-02;3;97;I10\n\n",
            "paid.txt",
        )
        .unwrap();
        assert_eq!(paid.len(), 1);
        assert!(paid.contains("010001;7700000000000001;2025-01-02;2025-01-02;3;97;I10"));
        assert!(paid.contains("010001; 7700000000000001;2025-01-02;2025-01-02;3;97;I10"));
        assert!(!paid.contains("010001;7700000000000002;2025-01-02;2025-01-02;3;97;I10"));
        let keys = normalised_keys(
            "010001; 7700000000000001;2025-01-02;2025-01-02;3;97;I10\n\
             010001;7700000000000001;2025-01-02;2025-01-02;3;97;I10\n",
            "paid.txt",
        )
        .unwrap();
        assert_eq!(
            keys,
            vec!["010001;7700000000000001;2025-01-02;2025-01-02;3;97;I10".to_owned()]
        );
        assert!(PaidCases::from_keys(&keys).contains(&keys[0]));
        assert!(normalised_keys("1;2;3", "paid.txt").is_err());
        let error = PaidCases::parse("a;b;c\n", "paid.txt")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 1") && error.contains("7 fields"),
            "{error}"
        );
        let error = PaidCases::parse("1;2;02.01.2025;2025-01-02;3;97;I10", "paid.txt")
            .unwrap_err()
            .to_string();
        assert!(error.contains("DATE_Z_1"), "{error}");
    }
}

//! The signed package: the register and its three signatures in one ZIP.

use std::fmt;
use std::io::{Cursor, Read, Write};

use crate::workflow::SIGNING_ORDER;

use super::*;

/// A register with its three signatures, as the signed package carries them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPackage {
    /// The register's file name, `HM…_25011.zip`.
    pub register_name: String,
    pub register: Vec<u8>,
    /// Signatures 1, 2 and 3 (DER).
    pub signatures: Vec<Vec<u8>>,
}

/// `HM…_25011.zip` → `HM…_25011.2.sig`.
pub fn signature_name(register_name: &str, position: usize) -> String {
    let stem = register_name.strip_suffix(".zip").unwrap_or(register_name);
    format!("{stem}.{position}.sig")
}

/// The signed package (a ZIP): the register and its three signatures, stored uncompressed
/// (the register is a ZIP already, signatures do not compress).
pub fn write_signed_package(package: &SignedPackage) -> Result<Vec<u8>, SigningError> {
    check_register(&package.register_name, &package.register)?;
    if package.signatures.len() != SIGNING_ORDER.len() {
        return Err(SigningError::Package(format!(
            "a signed package holds three signatures, {} given",
            package.signatures.len()
        )));
    }
    let failed =
        |e: &dyn fmt::Display| SigningError::Package(format!("writing the signed package: {e}"));
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut entries = vec![(package.register_name.clone(), &package.register)];
    for (index, signature) in package.signatures.iter().enumerate() {
        entries.push((signature_name(&package.register_name, index + 1), signature));
    }
    for (name, bytes) in entries {
        writer.start_file(name, options).map_err(|e| failed(&e))?;
        writer.write_all(bytes).map_err(|e| failed(&e))?;
    }
    let cursor = writer.finish().map_err(|e| failed(&e))?;
    Ok(cursor.into_inner())
}

/// Reads a signed package: exactly one register (`.zip`) and its `.1.sig`, `.2.sig`,
/// `.3.sig`; anything missing or extra is named. `name` names the package in errors.
pub fn read_signed_package(name: &str, bytes: &[u8]) -> Result<SignedPackage, SigningError> {
    let bad = |problem: String| SigningError::Package(format!("{name}: {problem}"));
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a ZIP archive ({e})")))?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("entry {} cannot be read ({e})", index + 1)))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_owned();
        if entry_name.contains('/') || entry_name.contains('\\') {
            return Err(bad(format!(
                "{entry_name:?} is in a folder; a signed package is flat: the register and its \
                 three .sig files"
            )));
        }
        let mut content = Vec::new();
        entry
            .read_to_end(&mut content)
            .map_err(|e| bad(format!("{entry_name} cannot be read ({e})")))?;
        files.push((entry_name, content));
    }
    let registers: Vec<&(String, Vec<u8>)> = files
        .iter()
        .filter(|(entry, _)| entry.ends_with(".zip"))
        .collect();
    let (register_name, register) = match registers.as_slice() {
        [(entry, content)] => (entry.clone(), content.clone()),
        [] => return Err(bad("holds no register (.zip)".to_owned())),
        several => {
            return Err(bad(format!(
                "holds {} registers; a signed package holds one",
                several.len()
            )))
        }
    };
    check_register(&register_name, &register).map_err(|e| bad(e.to_string()))?;
    let mut signatures = Vec::new();
    for position in 1..=SIGNING_ORDER.len() {
        let wanted = signature_name(&register_name, position);
        let Some((_, content)) = files.iter().find(|(entry, _)| *entry == wanted) else {
            return Err(bad(format!(
                "{wanted} ({}'s signature) is missing",
                SIGNING_ORDER[position - 1]
            )));
        };
        signatures.push(content.clone());
    }
    if let Some((extra, _)) = files.iter().find(|(entry, _)| {
        *entry != register_name
            && !(1..=SIGNING_ORDER.len()).any(|p| *entry == signature_name(&register_name, p))
    }) {
        return Err(bad(format!(
            "{extra} is not part of a signed package (the register and its three .sig files)"
        )));
    }
    Ok(SignedPackage {
        register_name,
        register,
        signatures,
    })
}

//! Java KeyStore (JKS) files: writing one private-key entry with its chain for old Java
//! systems, and reading JKS files back (for `inspect`, expiry scans and tests).
//!
//! Written by hand rather than with the `jks` crate: the format is small and fixed (Sun's
//! `JavaKeyStore` has not changed since Java 1.2), the crate is obscure and pulls its own
//! crypto stack, and only a byte-exact reimplementation of Sun's code is guaranteed to be
//! accepted by `keytool`. Layout (all integers big-endian):
//!
//! ```text
//! u32 0xFEEDFEED, u32 version (2), u32 entry count
//! entry: u32 tag (1 = private key, 2 = trusted certificate), UTF alias, u64 created (ms)
//!   tag 1: u32 len + EncryptedPrivateKeyInfo (OID 1.3.6.1.4.1.42.2.17.1.1),
//!          u32 chain length, then per certificate: UTF "X.509", u32 len + DER
//!   tag 2: UTF "X.509", u32 len + DER
//! trailer: SHA-1(UTF-16BE(password) || "Mighty Aphrodite" || everything before)
//! ```
//!
//! JKS protection is weak (SHA-1 keystream); PKCS#12 is what medgate recommends. JKS exists
//! here only because some hospital systems still run Java versions that need it.

use std::path::Path;

use aws_lc_rs::digest::{Context, SHA1_FOR_LEGACY_USE_ONLY};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use der::asn1::{Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::cert::Certificate;
use crate::error::{PkiError, Result};
use crate::files::Password;
use crate::key::PrivateKey;

const MAGIC: u32 = 0xFEED_FEED;
const TAG_PRIVATE_KEY: u32 = 1;
const TAG_TRUSTED_CERTIFICATE: u32 = 2;
const SHA1_LEN: usize = 20;
/// Sun's proprietary "JKS key protector" algorithm.
const KEY_PROTECTOR_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.42.2.17.1.1");
/// Sun mixes this constant into the integrity hash (sic, from the original source).
const WHITENER: &[u8] = b"Mighty Aphrodite";

/// An EncryptedPrivateKeyInfo with Sun's algorithm, which the `pkcs8` crate cannot represent
/// (it only knows PBES1/PBES2).
#[derive(der::Sequence)]
struct ProtectedKey {
    algorithm: AlgorithmIdentifierOwned,
    encrypted: OctetString,
}

/// True when the bytes start with the JKS magic number.
pub fn looks_like_jks(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4] == MAGIC.to_be_bytes()
}

/// Builds a JKS holding one private-key entry: `key` with `cert` and then `chain`.
/// The key is protected with the store password, as `keytool` does by default. The alias
/// is lower-cased because Java's JKS looks aliases up in lower case: a mixed-case alias in
/// the file could be listed but never used.
pub fn write_jks(
    cert: &Certificate,
    chain: &[Certificate],
    key: &PrivateKey,
    password: &Password,
    alias: &str,
) -> Result<Vec<u8>> {
    let alias = alias.to_lowercase();
    let protected = protect(key.pkcs8_der(), password)?;
    let mut out = Vec::new();
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&TAG_PRIVATE_KEY.to_be_bytes());
    write_utf(&mut out, &alias)?;
    let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    out.extend_from_slice(&(millis as u64).to_be_bytes());
    write_block(&mut out, &protected)?;
    let certificates: Vec<&Certificate> = std::iter::once(cert).chain(chain).collect();
    write_len(&mut out, certificates.len())?;
    for certificate in certificates {
        write_utf(&mut out, "X.509")?;
        write_block(&mut out, certificate.der())?;
    }
    let digest = integrity_hash(password, &out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// What a JKS entry holds.
#[derive(Debug)]
pub enum JksEntryKind {
    /// A private key and its chain (leaf first).
    PrivateKey {
        key: PrivateKey,
        chain: Vec<Certificate>,
    },
    /// A trusted certificate (typically a CA).
    TrustedCertificate(Certificate),
}

/// One entry of a JKS file.
#[derive(Debug)]
pub struct JksEntry {
    pub alias: String,
    pub created: Option<OffsetDateTime>,
    pub kind: JksEntryKind,
}

/// Reads a JKS file: checks the integrity hash with `password` (a mismatch is reported as a
/// wrong password) and decrypts private keys with the same password.
pub fn read_jks(bytes: &[u8], path: &Path, password: &Password) -> Result<Vec<JksEntry>> {
    if !looks_like_jks(bytes) {
        return Err(PkiError::bad_file(path, "is not a Java KeyStore (JKS)"));
    }
    if bytes.len() < 12 + SHA1_LEN {
        return Err(PkiError::bad_file(path, "truncated Java KeyStore"));
    }
    let (body, stored_hash) = bytes.split_at(bytes.len() - SHA1_LEN);
    if integrity_hash(password, body).as_slice() != stored_hash {
        return Err(PkiError::WrongPassword {
            path: path.to_path_buf(),
        });
    }
    let damaged = || PkiError::bad_file(path, "damaged Java KeyStore (truncated entry)");
    let mut reader = Reader { bytes: body, at: 4 };
    let version = reader.u32().ok_or_else(damaged)?;
    if version != 1 && version != 2 {
        return Err(PkiError::bad_file(
            path,
            format!("unsupported Java KeyStore version {version}"),
        ));
    }
    let count = reader.u32().ok_or_else(damaged)?;
    let mut entries = Vec::new();
    for _ in 0..count {
        let tag = reader.u32().ok_or_else(damaged)?;
        let alias = reader.utf().ok_or_else(damaged)?;
        let millis = reader.u64().ok_or_else(damaged)?;
        let created =
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).ok();
        let kind = match tag {
            TAG_PRIVATE_KEY => {
                let protected = reader.block().ok_or_else(damaged)?;
                let pkcs8 = recover(protected, path, &alias, password)?;
                let key = PrivateKey::from_pkcs8_der(pkcs8).map_err(|problem| {
                    PkiError::bad_file(path, format!("entry '{alias}': {problem}"))
                })?;
                let length = reader.u32().ok_or_else(damaged)?;
                let mut chain = Vec::new();
                for _ in 0..length {
                    chain.push(reader.certificate(version, path).ok_or_else(damaged)??);
                }
                JksEntryKind::PrivateKey { key, chain }
            }
            TAG_TRUSTED_CERTIFICATE => JksEntryKind::TrustedCertificate(
                reader.certificate(version, path).ok_or_else(damaged)??,
            ),
            other => {
                return Err(PkiError::bad_file(
                    path,
                    format!("entry '{alias}' has type {other}, which JKS does not define (a JCEKS secret key?)"),
                ))
            }
        };
        entries.push(JksEntry {
            alias,
            created,
            kind,
        });
    }
    Ok(entries)
}

/// UTF-16BE of the password: what Sun's code feeds to SHA-1 (`(byte)(c >> 8), (byte)c`).
fn password_bytes(password: &Password) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        password
            .expose()
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect(),
    )
}

fn integrity_hash(password: &Password, data: &[u8]) -> Vec<u8> {
    let mut context = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    context.update(&password_bytes(password));
    context.update(WHITENER);
    context.update(data);
    context.finish().as_ref().to_vec()
}

/// The SHA-1 keystream of Sun's KeyProtector: d0 = salt, d(i+1) = SHA-1(password || d(i)).
fn keystream(password: &[u8], salt: &[u8], length: usize) -> Zeroizing<Vec<u8>> {
    let mut stream = Zeroizing::new(Vec::with_capacity(length + SHA1_LEN));
    let mut previous = salt.to_vec();
    while stream.len() < length {
        let mut context = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
        context.update(password);
        context.update(&previous);
        previous = context.finish().as_ref().to_vec();
        stream.extend_from_slice(&previous);
    }
    stream.truncate(length);
    stream
}

fn check_hash(password: &[u8], plain: &[u8]) -> Vec<u8> {
    let mut context = Context::new(&SHA1_FOR_LEGACY_USE_ONLY);
    context.update(password);
    context.update(plain);
    context.finish().as_ref().to_vec()
}

/// Sun's KeyProtector.protect: salt || (PKCS#8 XOR keystream) || SHA-1(password || PKCS#8),
/// wrapped in an EncryptedPrivateKeyInfo.
fn protect(pkcs8: &[u8], password: &Password) -> Result<Vec<u8>> {
    let password = password_bytes(password);
    let mut salt = [0u8; SHA1_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PkiError::Crypto("random salt failed".into()))?;
    let stream = keystream(&password, &salt, pkcs8.len());
    let mut encrypted = Vec::with_capacity(SHA1_LEN * 2 + pkcs8.len());
    encrypted.extend_from_slice(&salt);
    encrypted.extend(pkcs8.iter().zip(stream.iter()).map(|(p, k)| p ^ k));
    encrypted.extend_from_slice(&check_hash(&password, pkcs8));
    let structure = ProtectedKey {
        algorithm: AlgorithmIdentifierOwned {
            oid: KEY_PROTECTOR_OID,
            // Java 8 writes an explicit NULL; every Java version reads it.
            parameters: Some(der::Any::from(der::AnyRef::from(Null))),
        },
        encrypted: OctetString::new(encrypted)
            .map_err(|e| PkiError::Crypto(format!("JKS key encoding: {e}")))?,
    };
    structure
        .to_der()
        .map_err(|e| PkiError::Crypto(format!("JKS key encoding: {e}")))
}

/// Sun's KeyProtector.recover; a check-hash mismatch means the key password differs.
fn recover(
    protected: &[u8],
    path: &Path,
    alias: &str,
    password: &Password,
) -> Result<Zeroizing<Vec<u8>>> {
    let structure = ProtectedKey::from_der(protected).map_err(|e| {
        PkiError::bad_file(
            path,
            format!("entry '{alias}': damaged protected key ({e})"),
        )
    })?;
    if structure.algorithm.oid != KEY_PROTECTOR_OID {
        return Err(PkiError::bad_file(
            path,
            format!(
                "entry '{alias}': key protected with {} (only the JKS key protector is supported)",
                structure.algorithm.oid
            ),
        ));
    }
    let data = structure.encrypted.as_bytes();
    if data.len() < SHA1_LEN * 2 {
        return Err(PkiError::bad_file(
            path,
            format!("entry '{alias}': protected key too short"),
        ));
    }
    let (salt, rest) = data.split_at(SHA1_LEN);
    let (cipher, check) = rest.split_at(rest.len() - SHA1_LEN);
    let password = password_bytes(password);
    let stream = keystream(&password, salt, cipher.len());
    let plain: Zeroizing<Vec<u8>> = Zeroizing::new(
        cipher
            .iter()
            .zip(stream.iter())
            .map(|(c, k)| c ^ k)
            .collect(),
    );
    if check_hash(&password, &plain) != check {
        return Err(PkiError::bad_file(
            path,
            format!("entry '{alias}': the key password differs from the keystore password"),
        ));
    }
    Ok(plain)
}

fn write_len(out: &mut Vec<u8>, length: usize) -> Result<()> {
    let length =
        u32::try_from(length).map_err(|_| PkiError::Invalid("JKS entry too large".into()))?;
    out.extend_from_slice(&length.to_be_bytes());
    Ok(())
}

fn write_block(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    write_len(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// Java's `DataOutput.writeUTF`: u16 length, then "modified UTF-8" (NUL as two bytes and
/// characters outside the BMP as two 3-byte surrogates).
fn write_utf(out: &mut Vec<u8>, text: &str) -> Result<()> {
    let mut encoded = Vec::new();
    for unit in text.encode_utf16() {
        match unit {
            0x0001..=0x007F => encoded.push(unit as u8),
            0x0000 | 0x0080..=0x07FF => {
                encoded.push(0xC0 | (unit >> 6) as u8);
                encoded.push(0x80 | (unit & 0x3F) as u8);
            }
            _ => {
                encoded.push(0xE0 | (unit >> 12) as u8);
                encoded.push(0x80 | ((unit >> 6) & 0x3F) as u8);
                encoded.push(0x80 | (unit & 0x3F) as u8);
            }
        }
    }
    let length =
        u16::try_from(encoded.len()).map_err(|_| PkiError::Invalid("JKS alias too long".into()))?;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&encoded);
    Ok(())
}

/// Decodes Java's modified UTF-8 back into a string.
fn read_modified_utf8(bytes: &[u8]) -> Option<String> {
    let mut units = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let first = u16::from(bytes[index]);
        if first & 0x80 == 0 {
            units.push(first);
            index += 1;
        } else if first & 0xE0 == 0xC0 {
            let second = u16::from(*bytes.get(index + 1)?);
            units.push(((first & 0x1F) << 6) | (second & 0x3F));
            index += 2;
        } else if first & 0xF0 == 0xE0 {
            let second = u16::from(*bytes.get(index + 1)?);
            let third = u16::from(*bytes.get(index + 2)?);
            units.push(((first & 0x0F) << 12) | ((second & 0x3F) << 6) | (third & 0x3F));
            index += 3;
        } else {
            return None;
        }
    }
    String::from_utf16(&units).ok()
}

/// A cursor over the JKS body; `None` means the data ended early.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(length)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        let bytes: [u8; 4] = self.take(4)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }

    fn u64(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.take(8)?.try_into().ok()?;
        Some(u64::from_be_bytes(bytes))
    }

    fn utf(&mut self) -> Option<String> {
        let length: [u8; 2] = self.take(2)?.try_into().ok()?;
        read_modified_utf8(self.take(usize::from(u16::from_be_bytes(length)))?)
    }

    fn block(&mut self) -> Option<&'a [u8]> {
        let length = self.u32()?;
        self.take(usize::try_from(length).ok()?)
    }

    /// A certificate; version 1 files have no type string before it.
    fn certificate(&mut self, version: u32, path: &Path) -> Option<Result<Certificate>> {
        if version == 2 {
            let kind = self.utf()?;
            if kind != "X.509" {
                return Some(Err(PkiError::bad_file(
                    path,
                    format!("holds a certificate of type '{kind}' (only X.509 is supported)"),
                )));
            }
        }
        let der = self.block()?;
        Some(Certificate::from_der(der.to_vec(), path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;

    fn certificate_for(key: &PrivateKey, name: &str) -> Result<Certificate> {
        let pair = key.rcgen_key_pair()?;
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        let cert = params
            .self_signed(&pair)
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        Certificate::from_der(cert.der().to_vec(), Path::new("test.crt"))
    }

    #[test]
    fn written_keystore_reads_back_with_key_and_chain() -> Result<()> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let cert = certificate_for(&key, "0000000000005010 TLS")?;
        let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let ca = certificate_for(&ca_key, "Test CA")?;
        let password = Password::new("changeit");
        let bytes = write_jks(
            &cert,
            std::slice::from_ref(&ca),
            &key,
            &password,
            "Clinic TLS",
        )?;
        assert!(looks_like_jks(&bytes));
        let entries = read_jks(&bytes, Path::new("out.jks"), &password)?;
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].alias, "clinic tls");
        let JksEntryKind::PrivateKey {
            key: read_key,
            chain,
        } = &entries[0].kind
        else {
            return Err(PkiError::Invalid("expected a private key entry".into()));
        };
        assert_eq!(read_key.pkcs8_der(), key.pkcs8_der());
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].der(), cert.der());
        assert_eq!(chain[1].der(), ca.der());
        Ok(())
    }

    #[test]
    fn wrong_password_is_named() -> Result<()> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let cert = certificate_for(&key, "x")?;
        let bytes = write_jks(&cert, &[], &key, &Password::new("right"), "x")?;
        let error = read_jks(&bytes, Path::new("out.jks"), &Password::new("wrong"));
        assert!(matches!(error, Err(PkiError::WrongPassword { .. })));
        Ok(())
    }

    #[test]
    fn modified_utf8_round_trips() -> Result<()> {
        for text in ["plain", "zażółć", "nul\0here", "emoji \u{1F600}"] {
            let mut out = Vec::new();
            write_utf(&mut out, text)?;
            assert_eq!(read_modified_utf8(&out[2..]).as_deref(), Some(text));
        }
        Ok(())
    }
}

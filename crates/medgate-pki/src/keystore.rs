//! PKCS#12 keystores: building one from a certificate, its chain and its key (modern
//! AES-256/PBKDF2/SHA-256 by default, 3DES/SHA-1 for old readers), reading one back (ours,
//! OpenSSL's default and `-legacy` output, Java's), and telling whether a key belongs to a
//! certificate. The server reuses `read_pkcs12` when a tenant uploads a keystore.

use std::path::Path;

use p12_keystore::{
    EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm, Pkcs12Archive, PrivateKeyChain,
};
use zeroize::Zeroizing;

use crate::cert::{common_name_of, Certificate};
use crate::error::{PkiError, Result};
use crate::files::Password;
use crate::key::PrivateKey;

/// PBKDF2 iterations for the modern profile; the same as our encrypted key files, because a
/// keystore leaves the machine just as often.
const MODERN_ITERATIONS: u32 = 100_000;
/// Iterations of the PKCS#12 KDF for the MAC and for the legacy profile: Java's and the
/// `p12-keystore` defaults, which every reader accepts quickly.
const MAC_ITERATIONS: u32 = 10_000;

/// How a PKCS#12 file is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pkcs12Options {
    /// Friendly name (Java alias) of the key entry; default: the certificate's CN, or
    /// `medgate` when it has none.
    pub alias: Option<String>,
    /// 3DES (PKCS#12 PBE with SHA-1) and an SHA-1 MAC instead of AES-256-CBC + PBKDF2-SHA256
    /// and an SHA-256 MAC, for readers older than OpenSSL 1.1.1 / Java 8u301.
    pub legacy: bool,
}

impl Pkcs12Options {
    /// Human description of the protection, for the command's report.
    pub fn describe_protection(&self) -> &'static str {
        if self.legacy {
            "legacy: 3DES (pbeWithSHA1And3-KeyTripleDES-CBC), SHA-1 MAC"
        } else {
            "AES-256-CBC with PBKDF2-HMAC-SHA256, SHA-256 MAC"
        }
    }
}

/// The alias used when none is given: the certificate's CN, or `medgate`.
pub fn default_alias(cert: &Certificate) -> String {
    cert.parsed()
        .ok()
        .and_then(|parsed| common_name_of(parsed.subject()))
        .filter(|cn| !cn.trim().is_empty())
        .unwrap_or_else(|| "medgate".to_owned())
}

/// True when `key` is the private half of the public key in `cert`.
pub fn key_belongs_to(key: &PrivateKey, cert: &Certificate) -> Result<bool> {
    let parsed = cert.parsed()?;
    Ok(parsed.public_key().subject_public_key.data.as_ref() == key.public_key_bits().as_slice())
}

/// Refuses a key that is not the certificate's, naming both files. `key_path` is only used
/// in the message.
pub fn ensure_key_belongs_to(key: &PrivateKey, key_path: &Path, cert: &Certificate) -> Result<()> {
    if key_belongs_to(key, cert)? {
        Ok(())
    } else {
        Err(PkiError::Invalid(format!(
            "key {} does not belong to certificate {}",
            key_path.display(),
            cert.source().display()
        )))
    }
}

/// Builds a PKCS#12 file holding `key` with `cert` followed by `chain` (leaf first, root
/// last). Refuses a key that does not belong to the certificate.
pub fn write_pkcs12(
    cert: &Certificate,
    chain: &[Certificate],
    key: &PrivateKey,
    password: &Password,
    options: &Pkcs12Options,
) -> Result<Vec<u8>> {
    if !key_belongs_to(key, cert)? {
        return Err(PkiError::Invalid(format!(
            "the private key does not belong to certificate {}",
            cert.source().display()
        )));
    }
    let alias = options.alias.clone().unwrap_or_else(|| default_alias(cert));
    let p12_error =
        |e: p12_keystore::error::Error| PkiError::Crypto(format!("PKCS#12 encoding: {e}"));
    let certificates = std::iter::once(cert)
        .chain(chain)
        .map(|c| p12_keystore::Certificate::from_der(c.der()).map_err(p12_error))
        .collect::<Result<Vec<_>>>()?;
    let p12_key = p12_keystore::PrivateKey::from_der(key.pkcs8_der()).map_err(p12_error)?;
    // The localKeyId ties the key bag to the leaf's certificate bag; OpenSSL uses the SHA-1
    // of the certificate, which is stable and unique, so we do the same.
    let local_key_id =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, cert.der());
    let mut store = KeyStore::new();
    store.add_entry(
        &alias,
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(
            local_key_id.as_ref(),
            p12_key,
            certificates,
        )),
    );
    let writer = store.writer(password.expose());
    let writer = if options.legacy {
        writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
            .encryption_iterations(MAC_ITERATIONS)
            .mac_algorithm(MacAlgorithm::HmacSha1)
    } else {
        writer
            .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
            .encryption_iterations(MODERN_ITERATIONS)
            .mac_algorithm(MacAlgorithm::HmacSha256)
    };
    writer
        .mac_iterations(MAC_ITERATIONS)
        .write()
        .map_err(p12_error)
}

/// What a PKCS#12 file holds, sorted out: the key, the certificate that goes with it, and
/// the other certificates ordered from the leaf's issuer towards the root.
#[derive(Debug, Default)]
pub struct Pkcs12Contents {
    pub key: Option<PrivateKey>,
    pub certificate: Option<Certificate>,
    pub chain: Vec<Certificate>,
    /// Friendly name of the key (or of the certificate when there is no key).
    pub alias: Option<String>,
    /// Further private keys in the file, which are not returned (rare; reported by inspect).
    pub extra_keys: usize,
}

impl Pkcs12Contents {
    /// Whether the key belongs to the certificate; `None` when one of them is missing.
    pub fn key_matches(&self) -> Option<bool> {
        match (&self.key, &self.certificate) {
            (Some(key), Some(cert)) => key_belongs_to(key, cert).ok(),
            _ => None,
        }
    }
}

/// True when the bytes have the outer shape of a PKCS#12 PFX: a SEQUENCE starting with
/// INTEGER 3 and then a SEQUENCE. Deliberately loose (no full DER parse) so that a file
/// in a slightly odd encoding is still recognised as a keystore and gets a precise error.
pub fn looks_like_pkcs12(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&0x30) {
        return false;
    }
    let header = match bytes.get(1) {
        Some(0x80) => 2, // BER indefinite length
        Some(&n) if n < 0x80 => 2,
        Some(&n) => 2 + usize::from(n & 0x7F),
        None => return false,
    };
    bytes.get(header..header + 4) == Some(&[0x02, 0x01, 0x03, 0x30])
}

/// Opens a PKCS#12 file with `password`. `path` names the file in errors: a wrong password
/// is a [`PkiError::WrongPassword`], an unsupported encryption says so.
pub fn read_pkcs12(bytes: &[u8], path: &Path, password: &Password) -> Result<Pkcs12Contents> {
    if !looks_like_pkcs12(bytes) {
        return Err(PkiError::bad_file(
            path,
            "is not a PKCS#12 (.p12/.pfx) file",
        ));
    }
    let archive = Pkcs12Archive::from_pkcs12(bytes, password.expose())
        .map_err(|error| pkcs12_error(path, error))?;
    let mut keys = archive.keys.into_iter();
    let first_key = keys.next();
    let extra_keys = keys.count();
    let mut certificates: Vec<CertificateBag> = Vec::new();
    for bag in &archive.certs {
        certificates.push((
            Certificate::from_der(bag.cert.as_der().to_vec(), path)?,
            bag.local_key_id.clone(),
            bag.friendly_name.clone(),
        ));
    }
    let mut contents = Pkcs12Contents {
        extra_keys,
        ..Pkcs12Contents::default()
    };
    let leaf_index = match first_key {
        Some(bag) => {
            let key = PrivateKey::from_pkcs8_der(Zeroizing::new(bag.key.as_der().to_vec()))
                .map_err(|problem| {
                    PkiError::bad_file(
                        path,
                        format!("holds a private key medgate cannot use: {problem}"),
                    )
                })?;
            // The localKeyId links key and certificate; fall back to comparing public keys
            // for files whose writer left it out.
            let linked = bag
                .local_key_id
                .as_ref()
                .and_then(|id| {
                    certificates
                        .iter()
                        .position(|(_, cert_id, _)| cert_id.as_deref() == Some(id.as_ref()))
                })
                .or_else(|| {
                    certificates
                        .iter()
                        .position(|(cert, _, _)| key_belongs_to(&key, cert).unwrap_or(false))
                });
            contents.alias = bag.friendly_name;
            contents.key = Some(key);
            linked
        }
        None => end_entity_index(&certificates),
    };
    let mut rest: Vec<Certificate> = Vec::new();
    for (index, (cert, _, name)) in certificates.into_iter().enumerate() {
        if Some(index) == leaf_index {
            if contents.alias.is_none() {
                contents.alias = name;
            }
            contents.certificate = Some(cert);
        } else {
            rest.push(cert);
        }
    }
    contents.chain = order_chain(contents.certificate.as_ref(), rest);
    Ok(contents)
}

/// A certificate read from a PKCS#12 with its localKeyId and friendly name.
type CertificateBag = (Certificate, Option<Vec<u8>>, Option<String>);

/// The first certificate that issued none of the others: the end entity of a key-less file.
fn end_entity_index(certificates: &[CertificateBag]) -> Option<usize> {
    let names: Vec<(Vec<u8>, Vec<u8>)> = certificates
        .iter()
        .filter_map(|(cert, _, _)| {
            let parsed = cert.parsed().ok()?;
            Some((
                parsed.subject().as_raw().to_vec(),
                parsed.issuer().as_raw().to_vec(),
            ))
        })
        .collect();
    if names.len() != certificates.len() {
        return if certificates.is_empty() {
            None
        } else {
            Some(0)
        };
    }
    let issued_another = |index: usize| {
        names.iter().enumerate().any(|(other, (subject, issuer))| {
            other != index && issuer == &names[index].0 && subject != issuer
        })
    };
    (0..names.len())
        .find(|&index| !issued_another(index))
        .or(if names.is_empty() { None } else { Some(0) })
}

/// Orders the non-leaf certificates from the leaf's issuer upwards; anything unrelated
/// keeps its place at the end.
fn order_chain(leaf: Option<&Certificate>, mut rest: Vec<Certificate>) -> Vec<Certificate> {
    let issuer_of = |cert: &Certificate| -> Option<(Vec<u8>, Vec<u8>)> {
        let parsed = cert.parsed().ok()?;
        Some((
            parsed.subject().as_raw().to_vec(),
            parsed.issuer().as_raw().to_vec(),
        ))
    };
    let mut ordered = Vec::new();
    let mut current = leaf.and_then(issuer_of);
    while let Some((subject, issuer)) = current {
        if subject == issuer {
            break;
        }
        let Some(position) = rest
            .iter()
            .position(|c| issuer_of(c).is_some_and(|(s, _)| s == issuer))
        else {
            break;
        };
        let next = rest.remove(position);
        current = issuer_of(&next);
        ordered.push(next);
    }
    ordered.extend(rest);
    ordered
}

fn pkcs12_error(path: &Path, error: p12_keystore::error::Error) -> PkiError {
    use p12_keystore::error::Error;
    match error {
        // A MAC mismatch is what a wrong password looks like; without a MAC, a failed
        // decryption (bad padding) is.
        Error::MacError(_) | Error::UnpadError | Error::Pkcs5Error(_) => PkiError::WrongPassword {
            path: path.to_path_buf(),
        },
        Error::UnsupportedEncryptionScheme | Error::UnsupportedMacAlgorithm => PkiError::bad_file(
            path,
            "uses an encryption or MAC algorithm medgate cannot read; re-export it with \
             `openssl pkcs12 -export` (AES-256 default)",
        ),
        Error::InvalidParameters => PkiError::bad_file(
            path,
            "uses unsupported protection parameters (more than 1,000,000 iterations?)",
        ),
        Error::InvalidVersion => PkiError::bad_file(path, "is not a version 3 PKCS#12 file"),
        Error::UnsupportedContentType => PkiError::bad_file(
            path,
            "uses public-key integrity or encryption mode, which medgate does not support",
        ),
        other => PkiError::bad_file(path, format!("damaged PKCS#12 file ({other})")),
    }
}

/// Certificate factories for the unit tests of this crate's keystore, inspection and
/// expiry modules.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use time::OffsetDateTime;

    use crate::cert::Certificate;
    use crate::error::{PkiError, Result};
    use crate::key::{KeyAlgorithm, PrivateKey};

    fn rcgen_error(error: rcgen::Error) -> PkiError {
        PkiError::Crypto(error.to_string())
    }

    /// A self-signed CA that can issue leaves.
    pub struct TestCa {
        pub issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
        pub cert: Certificate,
    }

    pub fn test_ca(name: &str) -> Result<TestCa> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let pair = key.rcgen_key_pair()?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&pair).map_err(rcgen_error)?;
        let cert = Certificate::from_der(cert.der().to_vec(), Path::new("ca.crt"))?;
        Ok(TestCa {
            issuer: rcgen::Issuer::new(params, pair),
            cert,
        })
    }

    /// A leaf for `key` named `cn`, valid from `not_before` to `not_after`.
    pub fn leaf(
        ca: &TestCa,
        key: &PrivateKey,
        cn: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<Certificate> {
        let pair = key.rcgen_key_pair()?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.not_before = not_before;
        params.not_after = not_after;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&pair, &ca.issuer).map_err(rcgen_error)?;
        Certificate::from_der(cert.der().to_vec(), Path::new("leaf.crt"))
    }

    /// A leaf valid from yesterday for `days` days.
    pub fn leaf_for_days(
        ca: &TestCa,
        key: &PrivateKey,
        cn: &str,
        days: i64,
    ) -> Result<Certificate> {
        let now = OffsetDateTime::now_utc();
        leaf(
            ca,
            key,
            cn,
            now - time::Duration::days(1),
            now + time::Duration::days(days),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{leaf_for_days, test_ca};
    use super::*;
    use crate::key::KeyAlgorithm;

    struct Fixture {
        key: PrivateKey,
        leaf: Certificate,
        ca: Certificate,
    }

    fn fixture() -> Result<Fixture> {
        let ca = test_ca("Test CA")?;
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let leaf = leaf_for_days(&ca, &key, "0000000000005010 TLS", 365)?;
        Ok(Fixture {
            key,
            leaf,
            ca: ca.cert,
        })
    }

    #[test]
    fn modern_and_legacy_keystores_read_back() -> Result<()> {
        let f = fixture()?;
        let password = Password::new("sekret");
        for legacy in [false, true] {
            let options = Pkcs12Options {
                alias: None,
                legacy,
            };
            let bytes = write_pkcs12(
                &f.leaf,
                std::slice::from_ref(&f.ca),
                &f.key,
                &password,
                &options,
            )?;
            assert!(looks_like_pkcs12(&bytes));
            let contents = read_pkcs12(&bytes, Path::new("out.p12"), &password)?;
            assert_eq!(contents.alias.as_deref(), Some("0000000000005010 TLS"));
            assert_eq!(
                contents.certificate.as_ref().map(Certificate::der),
                Some(f.leaf.der())
            );
            assert_eq!(contents.chain.len(), 1);
            assert_eq!(contents.chain[0].der(), f.ca.der());
            assert_eq!(contents.key_matches(), Some(true));
            assert_eq!(
                contents.key.as_ref().map(PrivateKey::pkcs8_der),
                Some(f.key.pkcs8_der())
            );
        }
        Ok(())
    }

    #[test]
    fn wrong_password_and_foreign_key_are_refused() -> Result<()> {
        let f = fixture()?;
        let options = Pkcs12Options::default();
        let bytes = write_pkcs12(&f.leaf, &[], &f.key, &Password::new("a"), &options)?;
        let wrong = read_pkcs12(&bytes, Path::new("out.p12"), &Password::new("b"));
        let message = wrong.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message, "out.p12: wrong password (or the file is damaged)");
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let refused = write_pkcs12(&f.leaf, &[], &other, &Password::new("a"), &options);
        let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("does not belong to certificate"),
            "{message}"
        );
        let named = ensure_key_belongs_to(&other, Path::new("wss.key"), &f.leaf);
        let message = named.err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            message,
            "key wss.key does not belong to certificate leaf.crt"
        );
        Ok(())
    }

    #[test]
    fn non_keystores_are_named() {
        let message = read_pkcs12(b"hello", Path::new("x.p12"), &Password::new("a"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            message.contains("x.p12") && message.contains("not a PKCS#12"),
            "{message}"
        );
    }

    #[test]
    fn chain_is_ordered_from_the_leaf_upwards_and_the_end_entity_is_found() -> Result<()> {
        let f = fixture()?;
        let unrelated = test_ca("Other")?.cert;
        let ordered = order_chain(Some(&f.leaf), vec![unrelated.clone(), f.ca.clone()]);
        assert_eq!(ordered, vec![f.ca.clone(), unrelated]);
        let bags = vec![(f.ca.clone(), None, None), (f.leaf.clone(), None, None)];
        assert_eq!(end_entity_index(&bags), Some(1));
        Ok(())
    }
}

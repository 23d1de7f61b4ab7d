//! Detached CMS (RFC 5652) signatures over files: signing, co-signing (one SignerInfo per
//! signer, kept in the order they signed) and verifying every signer, with RSA and ECDSA in
//! process and GOST R 34.10-2012 through the system OpenSSL's GOST engine at run time
//! ([`crate::gost`]): a GOST signer's SignerInfo is made by the engine and placed in the
//! SignedData here, and checked by the engine as a SignedData of that signer alone (its
//! Streebog message digest compared here first, so a changed file is said as such).
//!
//! A signature is a `ContentInfo` of type id-signedData (DER) whose `encapContentInfo` is
//! id-data without `eContent`: the signed file travels next to it. Each signer has a
//! SignerInfo with `issuerAndSerialNumber`, SHA-256, and the signed attributes contentType,
//! signingTime and messageDigest; the signature covers the DER of those attributes as a
//! `SET OF` (tag 0x31), as RFC 5652 §5.4 requires.
//!
//! The `SET OF SignerInfo` is written and read in signing order (executor → chief accountant
//! → head for the claims register), not re-sorted as strict DER would: the order is part of
//! what the signature means to its readers, and every CMS reader (OpenSSL included) accepts
//! it. The signed attributes themselves are proper DER, so their signatures stay valid.

use std::path::{Path, PathBuf};

use ::cms::cert::IssuerAndSerialNumber;
use ::cms::content_info::{CmsVersion, ContentInfo};
use ::cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{
    Decode, DecodeValue, Encode, EncodeValue, FixedTag, Header, Length, Reader, Sequence,
    SliceReader, Tag, TagNumber, Tagged, Writer,
};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::time::Time;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

use crate::cert::{serial_hex, Certificate};
use crate::error::{PkiError, Result};
use crate::files::{self, Password};
use crate::gost::{self, SystemOpenssl};
use crate::key::{verify_signature, PrivateKey, SignatureAlgorithm};

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");

const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
const OID_SHA384_WITH_RSA: &str = "1.2.840.113549.1.1.12";
const OID_SHA512_WITH_RSA: &str = "1.2.840.113549.1.1.13";
const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";

/// GOST OIDs that signatures from Russian registers carry: public keys / signatures
/// (GOST R 34.10-2012, 256 and 512 bit) and digests (GOST R 34.11-2012 "Streebog").
const GOST_OIDS: [&str; 6] = [
    "1.2.643.7.1.1.1.1",
    "1.2.643.7.1.1.1.2",
    "1.2.643.7.1.1.3.2",
    "1.2.643.7.1.1.3.3",
    "1.2.643.7.1.1.2.2",
    "1.2.643.7.1.1.2.3",
];

/// True when a SignerInfo's signatureAlgorithm is GOST R 34.10 (a GOST key's OID, or
/// GOST R 34.10-2012 with Streebog).
pub fn is_gost_signature(oid: &str) -> bool {
    ["1.2.643.7.1.1.1.1", "1.2.643.7.1.1.1.2", "1.2.643.7.1.1.3.2", "1.2.643.7.1.1.3.3", "1.2.643.2.2.19"]
        .contains(&oid)
}

/// The digest of `content` named by a SignerInfo's digestAlgorithm: SHA-2, or GOST R
/// 34.11-2012 (Streebog, RustCrypto's `streebog`) for GOST signers.
fn content_digest(digest_oid: &str, content: &[u8]) -> Result<Vec<u8>> {
    use streebog::Digest;
    match digest_oid {
        "1.2.643.7.1.1.2.2" => Ok(streebog::Streebog256::digest(content).to_vec()),
        "1.2.643.7.1.1.2.3" => Ok(streebog::Streebog512::digest(content).to_vec()),
        other => Ok(DigestAlgorithm::from_oid(other)?.digest(content)),
    }
}

/// Deepest BER nesting accepted when converting indefinite lengths (real signatures nest a
/// dozen levels; this only stops hostile input from exhausting the stack).
const MAX_BER_DEPTH: usize = 64;

/// The error for an algorithm medgate cannot compute, naming its OID (and the GOST engine
/// for the Russian algorithms).
pub fn unsupported_algorithm(oid: &str) -> PkiError {
    if GOST_OIDS.contains(&oid) || oid.starts_with("1.2.643.") {
        PkiError::Invalid(format!(
            "unsupported algorithm OID {oid} (GOST R 34.10-2012 needs the GOST engine)"
        ))
    } else {
        let hint = match oid {
            "1.3.14.3.2.26" | "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1" => {
                " (SHA-1 is no longer accepted)"
            }
            "1.2.840.113549.2.5" | "1.2.840.113549.1.1.4" => " (MD5 is not accepted)",
            "1.2.840.113549.1.1.10" => " (RSA-PSS is not supported yet)",
            _ => "",
        };
        PkiError::Invalid(format!("unsupported algorithm OID {oid}{hint}"))
    }
}

/// The message digest a signer used over the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl DigestAlgorithm {
    /// Reads a digest OID; GOST Streebog and SHA-1/MD5 are refused with a named error.
    pub fn from_oid(oid: &str) -> Result<Self> {
        match oid {
            OID_SHA256 => Ok(DigestAlgorithm::Sha256),
            OID_SHA384 => Ok(DigestAlgorithm::Sha384),
            OID_SHA512 => Ok(DigestAlgorithm::Sha512),
            other => Err(unsupported_algorithm(other)),
        }
    }

    /// The digest's OID.
    pub fn oid(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => OID_SHA256,
            DigestAlgorithm::Sha384 => OID_SHA384,
            DigestAlgorithm::Sha512 => OID_SHA512,
        }
    }

    /// Human name, e.g. `SHA-256`.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha384 => "SHA-384",
            DigestAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let algorithm = match self {
            DigestAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            DigestAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
            DigestAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        aws_lc_rs::digest::digest(algorithm, data).as_ref().to_vec()
    }
}

/// How a SignerInfo's signature was made, in process. GOST R 34.10-2012 signatures are
/// checked by the system OpenSSL instead ([`is_gost_signature`]); here their OIDs give
/// [`unsupported_algorithm`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmsSignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with the given hash.
    Rsa(DigestAlgorithm),
    /// ECDSA (DER-encoded r, s) with the given hash.
    Ecdsa(DigestAlgorithm),
}

impl CmsSignatureAlgorithm {
    /// Reads a SignerInfo's signatureAlgorithm. `rsaEncryption` (what OpenSSL writes) takes
    /// its hash from the SignerInfo's digestAlgorithm.
    pub fn from_oids(signature_oid: &str, digest: DigestAlgorithm) -> Result<Self> {
        match signature_oid {
            OID_RSA_ENCRYPTION => Ok(CmsSignatureAlgorithm::Rsa(digest)),
            OID_SHA256_WITH_RSA => Ok(CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha256)),
            OID_SHA384_WITH_RSA => Ok(CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha384)),
            OID_SHA512_WITH_RSA => Ok(CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha512)),
            OID_ECDSA_WITH_SHA256 => Ok(CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)),
            OID_ECDSA_WITH_SHA384 => Ok(CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384)),
            OID_ECDSA_WITH_SHA512 => Ok(CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512)),
            other => Err(unsupported_algorithm(other)),
        }
    }

    /// The algorithm a key of ours signs with (always SHA-256).
    pub fn for_key(key: &PrivateKey) -> Self {
        match key.signature_algorithm() {
            SignatureAlgorithm::RsaPkcs1Sha256 => {
                CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha256)
            }
            SignatureAlgorithm::EcdsaP256Sha256 => {
                CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256)
            }
        }
    }

    /// The OID naming hash and signature together (sha256WithRSAEncryption,
    /// ecdsa-with-SHA256, ...).
    pub fn oid(self) -> &'static str {
        match self {
            CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha256) => OID_SHA256_WITH_RSA,
            CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha384) => OID_SHA384_WITH_RSA,
            CmsSignatureAlgorithm::Rsa(DigestAlgorithm::Sha512) => OID_SHA512_WITH_RSA,
            CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha256) => OID_ECDSA_WITH_SHA256,
            CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384) => OID_ECDSA_WITH_SHA384,
            CmsSignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha512) => OID_ECDSA_WITH_SHA512,
        }
    }

    /// The AlgorithmIdentifier written into a SignerInfo: NULL parameters for RSA (RFC 4055),
    /// none for ECDSA (RFC 5758).
    fn identifier(self) -> Result<AlgorithmIdentifierOwned> {
        let parameters = match self {
            CmsSignatureAlgorithm::Rsa(_) => Some(Any::null()),
            CmsSignatureAlgorithm::Ecdsa(_) => None,
        };
        Ok(AlgorithmIdentifierOwned {
            oid: oid(self.oid())?,
            parameters,
        })
    }
}

/// What verification found for one signer, in signing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerReport {
    /// 1-based position of the SignerInfo (1 = first signer).
    pub index: usize,
    /// Subject of the signer's certificate, or a description of the missing certificate.
    pub subject: String,
    /// Serial number of the signer's certificate, upper-case hex.
    pub serial_hex: String,
    /// The signingTime attribute, when present and readable.
    pub signing_time: Option<OffsetDateTime>,
    /// The signer's certificate as embedded in the signature, when found.
    pub certificate: Option<Certificate>,
    /// True when the file's digest matches and the signature verifies with the certificate.
    pub signature_ok: bool,
    /// With trust anchors: whether the certificate chains to one of them. `None` when no
    /// trust anchors were given.
    pub chain_ok: Option<bool>,
    /// Why the signature or the chain failed, in words; `None` when all is well.
    pub problem: Option<String>,
}

impl SignerReport {
    /// True when the signature verified and the chain, if checked, is valid.
    pub fn is_ok(&self) -> bool {
        self.signature_ok && self.chain_ok != Some(false)
    }
}

/// Signs `content`: a detached SignedData with one signer. The key must belong to `cert`.
pub fn sign_detached(
    content: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>> {
    let signer = new_signer_info(content, cert, key, signing_time)?;
    let signed_data = OrderedSignedData {
        version: CmsVersion::V1,
        digest_algorithms: OrderedSet(vec![digest_identifier(DigestAlgorithm::Sha256)?]),
        encap_content_info: Any::encode_from(&EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        })
        .map_err(der_error("encapContentInfo"))?,
        certificates: Some(OrderedSet(vec![certificate_any(cert)?])),
        crls: None,
        signer_infos: OrderedSet(vec![signer]),
    };
    encode_signature(&signed_data)
}

/// Adds a signer to an existing detached signature (DER, BER or PEM). The earlier signers
/// are kept byte for byte and in order; the new one comes last. Refused when `content` is
/// not the file the existing signature covers, or when this certificate already signed.
pub fn cosign(
    existing: &[u8],
    content: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>> {
    let signed_data = cosignable(existing, content, cert)?;
    let signer = new_signer_info(content, cert, key, signing_time)?;
    append_signer(signed_data, signer, cert, digest_identifier(DigestAlgorithm::Sha256)?)
}

/// Signs `content` with a GOST R 34.10-2012 key through the system OpenSSL: a detached
/// SignedData with one signer, as [`sign_detached`]. `key` is the key's PEM file (encrypted
/// with `password` when given); it never leaves this machine.
pub fn sign_detached_gost(
    openssl: &SystemOpenssl,
    content: &[u8],
    cert: &Certificate,
    key: &Path,
    password: Option<&Password>,
) -> Result<Vec<u8>> {
    let single = openssl.sign_detached(content, cert, key, password)?;
    // Read back as every signature is, and written in this module's encoding.
    encode_signature(&decode_input(&single)?)
}

/// Adds a GOST R 34.10-2012 signer to an existing detached signature, as [`cosign`]: the
/// engine signs, and its SignerInfo is placed after the earlier signers, kept byte for byte.
pub fn cosign_gost(
    openssl: &SystemOpenssl,
    existing: &[u8],
    content: &[u8],
    cert: &Certificate,
    key: &Path,
    password: Option<&Password>,
) -> Result<Vec<u8>> {
    let signed_data = cosignable(existing, content, cert)?;
    let single = decode_input(&openssl.sign_detached(content, cert, key, password)?)?;
    let (Some(signer), Some(digest)) = (
        single.signer_infos.0.first().cloned(),
        single.digest_algorithms.0.first().cloned(),
    ) else {
        return Err(PkiError::Crypto("the GOST engine made a signature without a signer".to_owned()));
    };
    append_signer(signed_data, signer, cert, digest)
}

/// The existing signature, when `cert` may add itself to it: every earlier signer signed
/// `content`, and this certificate has not signed yet.
fn cosignable(existing: &[u8], content: &[u8], cert: &Certificate) -> Result<OrderedSignedData> {
    let signed_data = decode_input(existing)?;
    let signers = parse_signers(&signed_data)?;
    let embedded = embedded_certificates(&signed_data);
    let econtent_type = signed_data.econtent_type()?;
    for (position, signer) in signers.iter().enumerate() {
        let index = position + 1;
        if !signer_covers(signer, index, content, &embedded, &econtent_type)? {
            return Err(PkiError::Invalid(format!(
                "the existing signature was made over a different file (signer {index}'s \
                 message digest does not match)"
            )));
        }
    }
    let parsed = cert.parsed()?;
    if let Some(index) = signers
        .iter()
        .position(|signer| signer.sid.matches(&parsed))
    {
        return Err(PkiError::Invalid(format!(
            "certificate {} ({}) has already signed this file (signer {})",
            cert.source().display(),
            parsed.subject(),
            index + 1
        )));
    }
    drop(parsed);
    Ok(signed_data)
}

/// `signer` placed last, its certificate and digest algorithm added when missing.
fn append_signer(
    mut signed_data: OrderedSignedData,
    signer: Any,
    cert: &Certificate,
    digest: AlgorithmIdentifierOwned,
) -> Result<Vec<u8>> {
    signed_data.signer_infos.0.push(signer);

    let certificate = certificate_any(cert)?;
    let certificates = signed_data
        .certificates
        .get_or_insert_with(OrderedSet::default);
    if !certificates.0.contains(&certificate) {
        certificates.0.push(certificate);
    }

    if !signed_data
        .digest_algorithms
        .0
        .iter()
        .any(|known| known.oid == digest.oid)
    {
        signed_data.digest_algorithms.0.push(digest);
    }
    if signed_data.version < CmsVersion::V1 {
        signed_data.version = CmsVersion::V1;
    }
    encode_signature(&signed_data)
}

/// True when every signer of `existing` signed `content` (their messageDigest matches): the
/// check `cosign` makes, exposed so callers can name the files in their own message.
pub fn covers_content(existing: &[u8], content: &[u8]) -> Result<bool> {
    let signed_data = decode_input(existing)?;
    let signers = parse_signers(&signed_data)?;
    let embedded = embedded_certificates(&signed_data);
    let econtent_type = signed_data.econtent_type()?;
    for (position, signer) in signers.iter().enumerate() {
        if !signer_covers(signer, position + 1, content, &embedded, &econtent_type)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Verifies every signer of a detached signature over `content`, in order. With `trust`
/// anchors, also checks that each signer's certificate chains to one of them (through
/// certificates embedded in the signature if needed), valid at the signing time (now when
/// the signer gave none). Each signer's outcome is reported; only a signature that cannot
/// be read at all is an error.
pub fn verify_detached(
    signature: &[u8],
    content: &[u8],
    trust: &[Certificate],
) -> Result<Vec<SignerReport>> {
    let signed_data = decode_input(signature)?;
    let signers = parse_signers(&signed_data)?;
    let embedded = embedded_certificates(&signed_data);
    let econtent_type = signed_data.econtent_type()?;
    let mut reports = Vec::with_capacity(signers.len());
    for (position, signer) in signers.iter().enumerate() {
        reports.push(report_signer(
            position + 1,
            signer,
            content,
            &embedded,
            &econtent_type,
            trust,
        ));
    }
    Ok(reports)
}

/// Reads a signature file (DER, BER with indefinite lengths, or PEM `CMS` / `PKCS7`) and
/// returns its DER, naming the file when it is something else (a certificate, a truncated
/// PEM, a certificate bundle without signers...).
pub fn load_signature(path: &Path) -> Result<Vec<u8>> {
    let bytes = files::read(path)?;
    signature_der(&bytes).map_err(|problem| PkiError::bad_file(path, problem))
}

/// True when the private key is the one the certificate was issued for.
pub fn key_matches_certificate(cert: &Certificate, key: &PrivateKey) -> Result<bool> {
    let parsed = cert.parsed()?;
    Ok(parsed.public_key().subject_public_key.data.as_ref() == key.public_key_bits().as_slice())
}

// ---------------------------------------------------------------------------------------
// Encoding structures.

/// A `SET OF` kept in the order it was written or read (no DER re-sorting).
#[derive(Clone, Debug, PartialEq, Eq)]
struct OrderedSet<T>(Vec<T>);

impl<T> Default for OrderedSet<T> {
    fn default() -> Self {
        OrderedSet(Vec::new())
    }
}

impl<'a, T: Decode<'a>> DecodeValue<'a> for OrderedSet<T> {
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        reader.read_nested(header.length, |reader| {
            let mut items = Vec::new();
            while !reader.is_finished() {
                items.push(T::decode(reader)?);
            }
            Ok(OrderedSet(items))
        })
    }
}

impl<T: Encode> EncodeValue for OrderedSet<T> {
    fn value_len(&self) -> der::Result<Length> {
        self.0
            .iter()
            .try_fold(Length::ZERO, |length, item| length + item.encoded_len()?)
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        for item in &self.0 {
            item.encode(writer)?;
        }
        Ok(())
    }
}

impl<T> FixedTag for OrderedSet<T> {
    const TAG: Tag = Tag::Set;
}

/// RFC 5652 SignedData with the certificates, CRLs and SignerInfos kept as raw elements in
/// their original order, so that co-signing never re-encodes what others signed.
#[derive(Clone, Debug, Sequence)]
struct OrderedSignedData {
    version: CmsVersion,
    digest_algorithms: OrderedSet<AlgorithmIdentifierOwned>,
    /// Kept raw: an attached signature's BER content (constructed OCTET STRING) is only
    /// recognised, never decoded.
    encap_content_info: Any,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    certificates: Option<OrderedSet<Any>>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    crls: Option<OrderedSet<Any>>,
    signer_infos: OrderedSet<Any>,
}

impl OrderedSignedData {
    /// The encapsulated content type and whether the content itself is embedded.
    fn encapsulated(&self) -> der::Result<(ObjectIdentifier, bool)> {
        if self.encap_content_info.tag() != Tag::Sequence {
            return Err(self
                .encap_content_info
                .tag()
                .unexpected_error(Some(Tag::Sequence)));
        }
        let mut reader = SliceReader::new(self.encap_content_info.value())?;
        let econtent_type = ObjectIdentifier::decode(&mut reader)?;
        Ok((econtent_type, !reader.is_finished()))
    }

    fn econtent_type(&self) -> Result<ObjectIdentifier> {
        self.encapsulated()
            .map(|(econtent_type, _)| econtent_type)
            .map_err(|e| PkiError::Invalid(format!("damaged CMS encapContentInfo ({e})")))
    }
}

fn oid(text: &str) -> Result<ObjectIdentifier> {
    ObjectIdentifier::new(text).map_err(|e| PkiError::Crypto(format!("OID {text}: {e}")))
}

fn der_error(what: &str) -> impl Fn(der::Error) -> PkiError + '_ {
    move |e| PkiError::Crypto(format!("encoding {what}: {e}"))
}

fn digest_identifier(digest: DigestAlgorithm) -> Result<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid: oid(digest.oid())?,
        parameters: None,
    })
}

fn certificate_any(cert: &Certificate) -> Result<Any> {
    Any::from_der(cert.der()).map_err(|e| {
        PkiError::bad_file(
            cert.source(),
            format!("certificate cannot be embedded in a signature: not DER ({e})"),
        )
    })
}

fn encode_signature(signed_data: &OrderedSignedData) -> Result<Vec<u8>> {
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(signed_data).map_err(der_error("SignedData"))?,
    };
    content_info.to_der().map_err(der_error("ContentInfo"))
}

/// The signingTime value: UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5652
/// §11.3), whole seconds in UTC.
fn signing_time_value(time: OffsetDateTime) -> Result<Any> {
    let utc = time.to_offset(time::UtcOffset::UTC);
    let year = u16::try_from(utc.year())
        .map_err(|_| PkiError::Invalid(format!("signing time {utc} is out of range")))?;
    let date_time = der::DateTime::new(
        year,
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
    )
    .map_err(|e| PkiError::Invalid(format!("signing time {utc} cannot be encoded ({e})")))?;
    let value = if (1950..2050).contains(&year) {
        Time::UtcTime(
            UtcTime::from_date_time(date_time)
                .map_err(|e| PkiError::Invalid(format!("signing time {utc}: {e}")))?,
        )
    } else {
        Time::GeneralTime(GeneralizedTime::from_date_time(date_time))
    };
    Any::encode_from(&value).map_err(der_error("signingTime"))
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).map_err(der_error("attribute"))?,
    })
}

/// Builds the SignerInfo of a new signer (as a raw element ready for the SET).
fn new_signer_info(
    content: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    signing_time: OffsetDateTime,
) -> Result<Any> {
    if !key_matches_certificate(cert, key)? {
        return Err(PkiError::Invalid(format!(
            "the private key does not match certificate {} (the certificate holds another \
             public key)",
            cert.source().display()
        )));
    }
    let x509 = x509_cert::Certificate::from_der(cert.der()).map_err(|e| {
        PkiError::bad_file(
            cert.source(),
            format!("certificate cannot be used to sign ({e})"),
        )
    })?;
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: x509.tbs_certificate.issuer.clone(),
        serial_number: x509.tbs_certificate.serial_number.clone(),
    });

    let algorithm = CmsSignatureAlgorithm::for_key(key);
    let digest = DigestAlgorithm::Sha256;
    let message_digest =
        OctetString::new(digest.digest(content)).map_err(der_error("messageDigest"))?;
    let attributes = SetOfVec::try_from(vec![
        attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(der_error("contentType"))?,
        )?,
        attribute(ID_SIGNING_TIME, signing_time_value(signing_time)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&message_digest).map_err(der_error("messageDigest"))?,
        )?,
    ])
    .map_err(der_error("signed attributes"))?;
    // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF (0x31).
    let to_be_signed = attributes
        .to_der()
        .map_err(der_error("signed attributes"))?;
    let signature = key.sign(&to_be_signed)?;

    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid,
        digest_alg: digest_identifier(digest)?,
        signed_attrs: Some(attributes),
        signature_algorithm: algorithm.identifier()?,
        signature: OctetString::new(signature).map_err(der_error("signature"))?,
        unsigned_attrs: None,
    };
    Any::encode_from(&signer_info).map_err(der_error("SignerInfo"))
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// Turns the bytes of a signature (DER, BER, PEM) into DER, or says what they are instead.
fn signature_der(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let der = if files::looks_like_pem(bytes) {
        let blocks = pem::parse_many(bytes)
            .map_err(|error| format!("damaged or truncated PEM ({error})"))?;
        let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
        match blocks
            .iter()
            .find(|b| matches!(b.tag(), "CMS" | "PKCS7" | "PKCS #7 SIGNED DATA"))
        {
            Some(block) => block.contents().to_vec(),
            None if tags.is_empty() => {
                return Err(
                    "damaged or truncated PEM (a BEGIN line without its END line)".to_owned(),
                )
            }
            None if tags.iter().any(|t| {
                matches!(
                    *t,
                    "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE"
                )
            }) =>
            {
                return Err(not_a_signature_but_a_certificate())
            }
            None => {
                return Err(format!(
                    "is not a CMS signature (found {}; expected a CMS or PKCS7 block)",
                    crate::key::describe_tags(&tags)
                ))
            }
        }
    } else {
        bytes.to_vec()
    };
    let signed_data = decode_signature(&der)?;
    if signed_data.signer_infos.0.is_empty() {
        return Err(
            "has no signers (a certificate bundle, not a signature over a file)".to_owned(),
        );
    }
    // Return canonical bytes: BER input has been normalised by decode_signature.
    encode_signature(&signed_data).map_err(|e| e.to_string())
}

/// Decodes what a library caller passed as a signature: DER, BER or PEM.
fn decode_input(bytes: &[u8]) -> Result<OrderedSignedData> {
    let decoded = if files::looks_like_pem(bytes) {
        signature_der(bytes).and_then(|der| decode_signature(&der))
    } else {
        decode_signature(bytes)
    };
    decoded.map_err(|problem| PkiError::Invalid(format!("the signature {problem}")))
}

fn not_a_signature_but_a_certificate() -> String {
    "is an X.509 certificate, not a CMS signature; give the .sig file made by \
     `medgate pki sign` or `openssl cms -sign`"
        .to_owned()
}

/// Parses a ContentInfo holding a detached SignedData (DER, or BER with indefinite
/// lengths). The error text is meant to follow a file name.
fn decode_signature(bytes: &[u8]) -> std::result::Result<OrderedSignedData, String> {
    let content_info = match ContentInfo::from_der(bytes) {
        Ok(content_info) => content_info,
        Err(first_error) => {
            let normalised = definite_lengths(bytes);
            match normalised.as_deref().map(ContentInfo::from_der) {
                Some(Ok(content_info)) => content_info,
                _ => {
                    if X509Certificate::from_der(bytes).is_ok() {
                        return Err(not_a_signature_but_a_certificate());
                    }
                    if bytes.is_empty() {
                        return Err("is empty, expected a CMS signature".to_owned());
                    }
                    return Err(format!(
                        "is not a CMS signature (damaged or truncated: {first_error})"
                    ));
                }
            }
        }
    };
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(format!(
            "is a CMS structure of type {} but not a signature (id-signedData)",
            content_info.content_type
        ));
    }
    let signed_data: OrderedSignedData = content_info
        .content
        .decode_as()
        .map_err(|e| format!("is a damaged CMS SignedData ({e})"))?;
    let (_, embedded) = signed_data
        .encapsulated()
        .map_err(|e| format!("is a damaged CMS SignedData (encapContentInfo: {e})"))?;
    if embedded {
        return Err(
            "embeds the signed content (an attached signature, as made by openssl \
                    with -nodetach or -stream); medgate works with detached signatures that \
                    travel next to the file"
                .to_owned(),
        );
    }
    Ok(signed_data)
}

/// How a SignerInfo names its certificate.
#[derive(Clone, Debug)]
enum SignerId {
    /// DER of the issuer Name and the serial INTEGER's content octets.
    IssuerAndSerial { issuer: Vec<u8>, serial: Vec<u8> },
    /// subjectKeyIdentifier.
    KeyId(Vec<u8>),
}

impl SignerId {
    fn matches(&self, cert: &X509Certificate<'_>) -> bool {
        match self {
            SignerId::IssuerAndSerial { issuer, serial } => {
                cert.issuer().as_raw() == issuer.as_slice()
                    && cert.raw_serial() == serial.as_slice()
            }
            SignerId::KeyId(id) => cert.extensions().iter().any(|extension| {
                matches!(extension.parsed_extension(),
                    ParsedExtension::SubjectKeyIdentifier(key_id) if key_id.0 == id.as_slice())
            }),
        }
    }

    fn serial_hex(&self) -> String {
        match self {
            SignerId::IssuerAndSerial { serial, .. } => serial_hex(serial),
            SignerId::KeyId(_) => String::new(),
        }
    }

    fn describe(&self) -> String {
        match self {
            SignerId::IssuerAndSerial { issuer, serial } => {
                let issuer = x509_parser::x509::X509Name::from_der(issuer)
                    .map(|(_, name)| name.to_string())
                    .unwrap_or_else(|_| "an unreadable name".to_owned());
                format!("issuer {issuer}, serial {}", serial_hex(serial))
            }
            SignerId::KeyId(id) => format!("subject key identifier {}", hex::encode_upper(id)),
        }
    }
}

/// One SignerInfo, read without re-encoding anything that was signed.
#[derive(Clone, Debug)]
struct ParsedSigner {
    /// The SignerInfo as it is in the signature (DER).
    raw: Vec<u8>,
    sid: SignerId,
    digest_oid: String,
    /// The signed attributes as DER with the SET OF tag: the bytes the signature covers.
    signed_attrs: Option<Vec<u8>>,
    attributes: Vec<Attribute>,
    signature_oid: String,
    signature: Vec<u8>,
}

impl ParsedSigner {
    fn attribute(&self, oid: &ObjectIdentifier) -> Option<&Any> {
        self.attributes
            .iter()
            .find(|attribute| attribute.oid == *oid)
            .and_then(|attribute| attribute.values.iter().next())
    }

    fn signing_time(&self) -> Option<OffsetDateTime> {
        let value = self.attribute(&ID_SIGNING_TIME)?;
        let time = Time::from_der(&value.to_der().ok()?).ok()?;
        let seconds = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
        OffsetDateTime::from_unix_timestamp(seconds).ok()
    }
}

fn parse_signers(signed_data: &OrderedSignedData) -> Result<Vec<ParsedSigner>> {
    if signed_data.signer_infos.0.is_empty() {
        return Err(PkiError::Invalid(
            "the signature has no signers (a certificate bundle, not a signature over a file)"
                .to_owned(),
        ));
    }
    signed_data
        .signer_infos
        .0
        .iter()
        .enumerate()
        .map(|(position, raw)| {
            parse_signer(raw).map_err(|e| {
                PkiError::Invalid(format!(
                    "damaged CMS signature: SignerInfo {} cannot be read ({e})",
                    position + 1
                ))
            })
        })
        .collect()
}

fn parse_signer(raw: &Any) -> der::Result<ParsedSigner> {
    if raw.tag() != Tag::Sequence {
        return Err(raw.tag().unexpected_error(Some(Tag::Sequence)));
    }
    let mut reader = SliceReader::new(raw.value())?;
    let _version = u8::decode(&mut reader)?;
    let sid_element = Any::decode(&mut reader)?;
    let sid = match sid_element.tag() {
        Tag::Sequence => {
            let mut inner = SliceReader::new(sid_element.value())?;
            let issuer = Any::decode(&mut inner)?;
            let serial = Any::decode(&mut inner)?;
            if issuer.tag() != Tag::Sequence {
                return Err(issuer.tag().unexpected_error(Some(Tag::Sequence)));
            }
            if serial.tag() != Tag::Integer {
                return Err(serial.tag().unexpected_error(Some(Tag::Integer)));
            }
            inner.finish(())?;
            SignerId::IssuerAndSerial {
                issuer: issuer.to_der()?,
                serial: serial.value().to_vec(),
            }
        }
        Tag::ContextSpecific {
            constructed: false,
            number: TagNumber::N0,
        } => SignerId::KeyId(sid_element.value().to_vec()),
        other => return Err(other.unexpected_error(Some(Tag::Sequence))),
    };
    let digest_alg = AlgorithmIdentifierOwned::decode(&mut reader)?;
    let mut next = Any::decode(&mut reader)?;
    let mut signed_attrs = None;
    let mut attributes = Vec::new();
    if next.tag()
        == (Tag::ContextSpecific {
            constructed: true,
            number: TagNumber::N0,
        })
    {
        let as_set = Any::new(Tag::Set, next.value())?.to_der()?;
        attributes = OrderedSet::<Attribute>::from_der(&as_set)?.0;
        signed_attrs = Some(as_set);
        next = Any::decode(&mut reader)?;
    }
    let signature_alg: AlgorithmIdentifierOwned = next.decode_as()?;
    let signature = OctetString::decode(&mut reader)?;
    // unsignedAttrs [1] (countersignatures, timestamps) are not interpreted.
    while !reader.is_finished() {
        Any::decode(&mut reader)?;
    }
    Ok(ParsedSigner {
        raw: raw.to_der()?,
        sid,
        digest_oid: digest_alg.oid.to_string(),
        signed_attrs,
        attributes,
        signature_oid: signature_alg.oid.to_string(),
        signature: signature.into_bytes(),
    })
}

/// The certificates embedded in the signature that parse as X.509 (others are skipped).
fn embedded_certificates(signed_data: &OrderedSignedData) -> Vec<Certificate> {
    let source = PathBuf::from("(certificate embedded in the signature)");
    signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter(|element| element.tag() == Tag::Sequence)
        .filter_map(|element| element.to_der().ok())
        .filter_map(|der| Certificate::from_der(der, &source).ok())
        .collect()
}

fn find_certificate<'c>(
    sid: &SignerId,
    certificates: &'c [Certificate],
) -> Option<&'c Certificate> {
    certificates.iter().find(|cert| {
        cert.parsed()
            .map(|parsed| sid.matches(&parsed))
            .unwrap_or(false)
    })
}

/// Why a signer does not hold.
enum SignerFailure {
    /// The messageDigest attribute differs from the file's digest.
    ContentChanged,
    /// Anything else, in words.
    Other(String),
}

/// Checks one signer's digest and signature over `content`.
fn check_signature(
    signer: &ParsedSigner,
    index: usize,
    content: &[u8],
    certificate: Option<&Certificate>,
    econtent_type: &ObjectIdentifier,
) -> std::result::Result<(), SignerFailure> {
    let other = |e: PkiError| SignerFailure::Other(e.to_string());
    // GOST signers are checked by the system OpenSSL (below); the others here.
    let algorithm = if is_gost_signature(&signer.signature_oid) {
        None
    } else {
        let digest = DigestAlgorithm::from_oid(&signer.digest_oid).map_err(other)?;
        Some(CmsSignatureAlgorithm::from_oids(&signer.signature_oid, digest).map_err(other)?)
    };
    let message: &[u8] = match &signer.signed_attrs {
        Some(signed_attrs) => {
            match signer.attribute(&ID_CONTENT_TYPE) {
                Some(value)
                    if value.decode_as::<ObjectIdentifier>().ok().as_ref()
                        == Some(econtent_type) => {}
                Some(_) => {
                    return Err(SignerFailure::Other(
                        "its contentType attribute does not match the signed content type"
                            .to_owned(),
                    ))
                }
                None => {
                    return Err(SignerFailure::Other(
                        "its signed attributes lack the contentType attribute".to_owned(),
                    ))
                }
            }
            let Some(expected) = signer
                .attribute(&ID_MESSAGE_DIGEST)
                .and_then(|value| value.decode_as::<OctetString>().ok())
            else {
                return Err(SignerFailure::Other(
                    "its signed attributes lack a readable messageDigest attribute".to_owned(),
                ));
            };
            if expected.as_bytes() != content_digest(&signer.digest_oid, content).map_err(other)? {
                return Err(SignerFailure::ContentChanged);
            }
            signed_attrs
        }
        None => content,
    };
    let Some(certificate) = certificate else {
        return Err(SignerFailure::Other(format!(
            "its certificate ({}) is not in the signature",
            signer.sid.describe()
        )));
    };
    let Some(algorithm) = algorithm else {
        return check_gost_signature(signer, index, content, certificate, econtent_type);
    };
    let parsed = certificate.parsed().map_err(other)?;
    verify_signature(
        parsed.public_key().raw,
        algorithm.oid(),
        message,
        &signer.signature,
    )
    .map_err(|problem| {
        if signer.signed_attrs.is_none() && problem == "signature does not verify" {
            // Without signed attributes the signature is over the file itself.
            SignerFailure::ContentChanged
        } else {
            SignerFailure::Other(format!(
                "signer {index}'s signature does not verify with its certificate ({problem})"
            ))
        }
    })
}

/// A GOST signer's signature, checked by the system OpenSSL over a SignedData of that signer
/// alone (its SignerInfo byte for byte, its certificate).
fn check_gost_signature(
    signer: &ParsedSigner,
    index: usize,
    content: &[u8],
    certificate: &Certificate,
    econtent_type: &ObjectIdentifier,
) -> std::result::Result<(), SignerFailure> {
    let other = |e: PkiError| SignerFailure::Other(e.to_string());
    let openssl = SystemOpenssl::locate().map_err(other)?;
    let single = OrderedSignedData {
        version: CmsVersion::V1,
        digest_algorithms: OrderedSet(vec![AlgorithmIdentifierOwned {
            oid: oid(&signer.digest_oid).map_err(other)?,
            parameters: None,
        }]),
        encap_content_info: Any::encode_from(&EncapsulatedContentInfo {
            econtent_type: *econtent_type,
            econtent: None,
        })
        .map_err(|e| SignerFailure::Other(e.to_string()))?,
        certificates: Some(OrderedSet(vec![certificate_any(certificate).map_err(other)?])),
        crls: None,
        signer_infos: OrderedSet(vec![
            Any::from_der(&signer.raw).map_err(|e| SignerFailure::Other(e.to_string()))?,
        ]),
    };
    let single = encode_signature(&single).map_err(other)?;
    openssl.verify_single_signer(&single, content).map_err(|problem| {
        SignerFailure::Other(format!(
            "signer {index}'s GOST signature does not verify with its certificate ({problem})"
        ))
    })
}

/// True when `signer` signed `content`; an algorithm that cannot be computed is an error.
fn signer_covers(
    signer: &ParsedSigner,
    index: usize,
    content: &[u8],
    embedded: &[Certificate],
    econtent_type: &ObjectIdentifier,
) -> Result<bool> {
    if signer.signed_attrs.is_some() {
        let expected = signer
            .attribute(&ID_MESSAGE_DIGEST)
            .and_then(|value| value.decode_as::<OctetString>().ok());
        return match expected {
            Some(expected) => Ok(expected.as_bytes() == content_digest(&signer.digest_oid, content)?),
            None => Err(PkiError::Invalid(format!(
                "signer {index} of the existing signature has no readable messageDigest"
            ))),
        };
    }
    let certificate = find_certificate(&signer.sid, embedded);
    match check_signature(signer, index, content, certificate, econtent_type) {
        Ok(()) => Ok(true),
        Err(SignerFailure::ContentChanged) => Ok(false),
        Err(SignerFailure::Other(problem)) => Err(PkiError::Invalid(format!(
            "signer {index} of the existing signature: {problem}"
        ))),
    }
}

fn report_signer(
    index: usize,
    signer: &ParsedSigner,
    content: &[u8],
    embedded: &[Certificate],
    econtent_type: &ObjectIdentifier,
    trust: &[Certificate],
) -> SignerReport {
    let certificate = find_certificate(&signer.sid, embedded).cloned();
    let signing_time = signer.signing_time();
    let (subject, serial) = match certificate.as_ref().map(Certificate::parsed) {
        Some(Ok(parsed)) => (
            parsed.subject().to_string(),
            serial_hex(parsed.raw_serial()),
        ),
        _ => (
            format!("unknown signer ({})", signer.sid.describe()),
            signer.sid.serial_hex(),
        ),
    };
    let mut problems = Vec::new();
    let signature_ok =
        match check_signature(signer, index, content, certificate.as_ref(), econtent_type) {
            Ok(()) => true,
            Err(SignerFailure::ContentChanged) => {
                problems.push(format!(
                    "the file was changed after signer {index} signed it (its message digest \
                     does not match)"
                ));
                false
            }
            Err(SignerFailure::Other(problem)) => {
                problems.push(problem);
                false
            }
        };
    let chain_ok = if trust.is_empty() {
        None
    } else {
        match &certificate {
            None => {
                if signature_ok {
                    problems.push("its certificate is not in the signature".to_owned());
                }
                Some(false)
            }
            Some(certificate) => {
                let at = signing_time.unwrap_or_else(OffsetDateTime::now_utc);
                let checked = if gost::is_gost_certificate(certificate) {
                    SystemOpenssl::locate()
                        .map_err(|e| e.to_string())
                        .and_then(|openssl| openssl.verify_chain(certificate, embedded, trust, at))
                } else {
                    check_chain(certificate, embedded, trust, at)
                };
                match checked {
                    Ok(()) => Some(true),
                    Err(problem) => {
                        problems.push(problem);
                        Some(false)
                    }
                }
            }
        }
    };
    SignerReport {
        index,
        subject,
        serial_hex: serial,
        signing_time,
        certificate,
        signature_ok,
        chain_ok,
        problem: if problems.is_empty() {
            None
        } else {
            Some(problems.join("; "))
        },
    }
}

/// Checks that `leaf` chains to one of `trust` (through `intermediates` if needed), every
/// certificate valid at `at`.
fn check_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    trust: &[Certificate],
    at: OffsetDateTime,
) -> std::result::Result<(), String> {
    let when = x509_parser::time::ASN1Time::from(at);
    let mut current = leaf.clone();
    for _ in 0..8 {
        let parsed = current.parsed().map_err(|e| e.to_string())?;
        if !parsed.validity().is_valid_at(when) {
            return Err(format!(
                "certificate {} was not valid at {} (valid {} to {})",
                parsed.subject(),
                at,
                parsed.validity().not_before,
                parsed.validity().not_after
            ));
        }
        if trust.iter().any(|anchor| anchor.der() == current.der()) {
            return Ok(());
        }
        let issued_by = |candidate: &Certificate, require_ca: bool| -> bool {
            let Ok(issuer) = candidate.parsed() else {
                return false;
            };
            let is_ca = match issuer.basic_constraints() {
                Ok(Some(constraints)) => constraints.value.ca,
                Ok(None) => !require_ca,
                Err(_) => false,
            };
            is_ca
                && issuer.subject().as_raw() == parsed.issuer().as_raw()
                && parsed.verify_signature(Some(issuer.public_key())).is_ok()
        };
        if let Some(anchor) = trust.iter().find(|anchor| issued_by(anchor, false)) {
            let anchor = anchor.parsed().map_err(|e| e.to_string())?;
            if !anchor.validity().is_valid_at(when) {
                return Err(format!(
                    "CA certificate {} was not valid at {}",
                    anchor.subject(),
                    at
                ));
            }
            return Ok(());
        }
        let next = intermediates
            .iter()
            .find(|candidate| candidate.der() != current.der() && issued_by(candidate, true))
            .cloned();
        match next {
            Some(next) => current = next,
            None => {
                let names: Vec<String> = trust
                    .iter()
                    .filter_map(|anchor| anchor.parsed().ok().map(|a| a.subject().to_string()))
                    .collect();
                return Err(format!(
                    "certificate {} (issued by {}) does not chain to the given CA ({})",
                    parsed.subject(),
                    parsed.issuer(),
                    names.join(", ")
                ));
            }
        }
    }
    Err("certificate chain is too long (more than 8 certificates)".to_owned())
}

// ---------------------------------------------------------------------------------------
// BER → DER lengths.

/// Rewrites BER indefinite lengths (what `openssl cms -sign -stream` writes) as definite
/// lengths, leaving every definite-length element byte for byte. `None` when the input is
/// not a well-formed single BER element.
fn definite_lengths(input: &[u8]) -> Option<Vec<u8>> {
    let mut output = Vec::with_capacity(input.len());
    let rest = copy_element(input, &mut output, 0)?;
    rest.is_empty().then_some(output)
}

fn copy_element<'a>(input: &'a [u8], output: &mut Vec<u8>, depth: usize) -> Option<&'a [u8]> {
    if depth > MAX_BER_DEPTH {
        return None;
    }
    let first = *input.first()?;
    let mut position = 1;
    if first & 0x1f == 0x1f {
        loop {
            let byte = *input.get(position)?;
            position += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    let tag_end = position;
    let constructed = first & 0x20 != 0;
    let length_byte = *input.get(position)?;
    position += 1;
    if length_byte == 0x80 {
        if !constructed {
            return None;
        }
        let mut body = Vec::new();
        let mut rest = input.get(position..)?;
        loop {
            if let Some(after) = rest.strip_prefix(&[0u8, 0u8]) {
                rest = after;
                break;
            }
            rest = copy_element(rest, &mut body, depth + 1)?;
        }
        output.extend_from_slice(input.get(..tag_end)?);
        write_length(output, body.len());
        output.extend_from_slice(&body);
        return Some(rest);
    }
    let length = if length_byte < 0x80 {
        usize::from(length_byte)
    } else {
        let count = usize::from(length_byte & 0x7f);
        if count > 4 {
            return None;
        }
        input
            .get(position..position + count)?
            .iter()
            .fold(0usize, |value, byte| (value << 8) | usize::from(*byte))
    };
    if length_byte >= 0x80 {
        position += usize::from(length_byte & 0x7f);
    }
    let end = position.checked_add(length)?;
    let value = input.get(position..end)?;
    if constructed {
        let mut body = Vec::with_capacity(value.len());
        let mut rest = value;
        while !rest.is_empty() {
            rest = copy_element(rest, &mut body, depth + 1)?;
        }
        if body != value {
            output.extend_from_slice(input.get(..tag_end)?);
            write_length(output, body.len());
            output.extend_from_slice(&body);
            return input.get(end..);
        }
    }
    output.extend_from_slice(input.get(..end)?);
    input.get(end..)
}

fn write_length(output: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        output.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        output.push(0x80 | (bytes.len() - skip) as u8);
        output.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;
    use time::macros::datetime;

    struct Signer {
        cert: Certificate,
        key: PrivateKey,
    }

    fn rcgen_error(e: rcgen::Error) -> PkiError {
        PkiError::Crypto(e.to_string())
    }

    /// A CA and one signer per requested algorithm, issued by it.
    fn pki(algorithms: &[KeyAlgorithm], ca_name: &str) -> Result<(Certificate, Vec<Signer>)> {
        let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_pair = ca_key.rcgen_key_pair()?;
        let ca_der = ca_params.self_signed(&ca_pair).map_err(rcgen_error)?;
        let ca = Certificate::from_der(ca_der.der().to_vec(), Path::new("ca.pem"))?;
        let issuer = rcgen::Issuer::new(ca_params, ca_pair);
        let mut signers = Vec::new();
        for (n, algorithm) in algorithms.iter().enumerate() {
            let key = PrivateKey::generate(*algorithm)?;
            let mut params =
                rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, format!("Signer {}", n + 1));
            // Decreasing serials: a DER-sorted SET OF SignerInfo would reverse the signers.
            params.serial_number = Some(rcgen::SerialNumber::from(0x70 - 0x10 * n as u64));
            let pair = key.rcgen_key_pair()?;
            let der = params.signed_by(&pair, &issuer).map_err(rcgen_error)?;
            let cert = Certificate::from_der(der.der().to_vec(), Path::new("signer.pem"))?;
            signers.push(Signer { cert, key });
        }
        Ok((ca, signers))
    }

    const WHEN: OffsetDateTime = datetime!(2026-01-15 10:00:00 UTC);

    #[test]
    fn rsa_and_p256_signers_round_trip_in_order() -> Result<()> {
        let (ca, signers) = pki(
            &[
                KeyAlgorithm::Rsa2048,
                KeyAlgorithm::EcdsaP256,
                KeyAlgorithm::Rsa2048,
            ],
            "Test CA",
        )?;
        let content = b"register 2026-01\n";
        let mut signature = sign_detached(content, &signers[0].cert, &signers[0].key, WHEN)?;
        for (n, signer) in signers.iter().enumerate().skip(1) {
            let later = WHEN + time::Duration::minutes(n as i64);
            signature = cosign(&signature, content, &signer.cert, &signer.key, later)?;
        }
        let reports = verify_detached(&signature, content, std::slice::from_ref(&ca))?;
        assert_eq!(reports.len(), 3);
        for (n, report) in reports.iter().enumerate() {
            assert_eq!(report.index, n + 1);
            assert_eq!(report.subject, format!("CN=Signer {}", n + 1));
            assert!(report.signature_ok, "{report:?}");
            assert_eq!(report.chain_ok, Some(true), "{report:?}");
            assert_eq!(report.problem, None);
            assert_eq!(
                report.signing_time,
                Some(WHEN + time::Duration::minutes(n as i64))
            );
            assert_eq!(
                report.certificate.as_ref().map(Certificate::der),
                Some(signers[n].cert.der())
            );
        }
        // Digest algorithms stay deduplicated, all three certificates are embedded.
        let decoded = decode_signature(&signature).map_err(PkiError::Invalid)?;
        let serials: Vec<String> = decoded
            .signer_infos
            .0
            .iter()
            .map(|raw| parse_signer(raw).map(|signer| signer.sid.serial_hex()))
            .collect::<der::Result<_>>()
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        assert_eq!(serials, ["70", "60", "50"]);
        assert_eq!(decoded.digest_algorithms.0.len(), 1);
        assert_eq!(decoded.certificates.map(|c| c.0.len()), Some(3));
        assert_eq!(decoded.version, CmsVersion::V1);
        // Without trust anchors the chain is not checked.
        let reports = verify_detached(&signature, content, &[])?;
        assert!(reports
            .iter()
            .all(|r| r.signature_ok && r.chain_ok.is_none()));
        Ok(())
    }

    #[test]
    fn signed_attributes_are_signed_as_a_set_of() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256], "CA")?;
        let signature = sign_detached(b"x", &signers[0].cert, &signers[0].key, WHEN)?;
        let decoded = decode_signature(&signature).map_err(PkiError::Invalid)?;
        let signer = parse_signer(&decoded.signer_infos.0[0])
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let signed = signer.signed_attrs.clone().unwrap_or_default();
        assert_eq!(signed.first(), Some(&0x31));
        assert_eq!(signer.signature_oid, OID_ECDSA_WITH_SHA256);
        assert_eq!(signer.digest_oid, OID_SHA256);
        let spki = signers[0].key.public_key_info_der()?;
        assert_eq!(
            verify_signature(&spki, OID_ECDSA_WITH_SHA256, &signed, &signer.signature),
            Ok(())
        );
        Ok(())
    }

    #[test]
    fn a_changed_file_is_reported_for_every_signer() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256], "CA")?;
        let first = sign_detached(b"original", &signers[0].cert, &signers[0].key, WHEN)?;
        let both = cosign(&first, b"original", &signers[1].cert, &signers[1].key, WHEN)?;
        let reports = verify_detached(&both, b"originaL", &[])?;
        assert_eq!(reports.len(), 2);
        for report in &reports {
            assert!(!report.signature_ok);
            let problem = report.problem.clone().unwrap_or_default();
            assert!(
                problem.contains(&format!("changed after signer {} signed", report.index)),
                "{problem}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_tampered_signature_byte_is_detected() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::Rsa2048], "CA")?;
        let mut signature = sign_detached(b"data", &signers[0].cert, &signers[0].key, WHEN)?;
        // The RSA signature value is the last 256 bytes of the structure.
        let last = signature.len() - 10;
        signature[last] ^= 0x01;
        let reports = verify_detached(&signature, b"data", &[])?;
        assert!(!reports[0].signature_ok);
        let problem = reports[0].problem.clone().unwrap_or_default();
        assert!(problem.contains("does not verify"), "{problem}");
        Ok(())
    }

    #[test]
    fn another_ca_fails_the_chain_but_not_the_signature() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256], "Real CA")?;
        let (other_ca, _) = pki(&[], "Other CA")?;
        let signature = sign_detached(b"data", &signers[0].cert, &signers[0].key, WHEN)?;
        let reports = verify_detached(&signature, b"data", &[other_ca])?;
        assert!(reports[0].signature_ok);
        assert_eq!(reports[0].chain_ok, Some(false));
        let problem = reports[0].problem.clone().unwrap_or_default();
        assert!(
            problem.contains("does not chain") && problem.contains("Other CA"),
            "{problem}"
        );
        Ok(())
    }

    #[test]
    fn cosigning_a_different_file_or_twice_is_refused() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256], "CA")?;
        let signature = sign_detached(b"file one", &signers[0].cert, &signers[0].key, WHEN)?;
        let error = cosign(
            &signature,
            b"file two",
            &signers[1].cert,
            &signers[1].key,
            WHEN,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("made over a different file"), "{error}");
        assert!(!covers_content(&signature, b"file two")?);
        assert!(covers_content(&signature, b"file one")?);
        let error = cosign(
            &signature,
            b"file one",
            &signers[0].cert,
            &signers[0].key,
            WHEN,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(error.contains("already signed"), "{error}");
        Ok(())
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256], "CA")?;
        assert!(!key_matches_certificate(&signers[0].cert, &signers[1].key)?);
        let error = sign_detached(b"x", &signers[0].cert, &signers[1].key, WHEN)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("does not match certificate signer.pem"),
            "{error}"
        );
        Ok(())
    }

    #[test]
    fn gost_algorithms_are_named_not_panicked_on() -> Result<()> {
        for oid in ["1.2.643.7.1.1.2.2", "1.2.643.7.1.1.2.3"] {
            let error = DigestAlgorithm::from_oid(oid).err().map(|e| e.to_string());
            assert_eq!(
                error.as_deref(),
                Some(
                    format!(
                        "unsupported algorithm OID {oid} (GOST R 34.10-2012 needs the GOST engine)"
                    )
                    .as_str()
                )
            );
        }
        for oid in [
            "1.2.643.7.1.1.1.1",
            "1.2.643.7.1.1.1.2",
            "1.2.643.7.1.1.3.2",
            "1.2.643.7.1.1.3.3",
        ] {
            let error = CmsSignatureAlgorithm::from_oids(oid, DigestAlgorithm::Sha256)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(oid) && error.contains("GOST engine"),
                "{error}"
            );
        }
        // A signer whose SignerInfo names Streebog is reported, the others still verify.
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256, KeyAlgorithm::EcdsaP256], "CA")?;
        let first = sign_detached(b"doc", &signers[0].cert, &signers[0].key, WHEN)?;
        let both = cosign(&first, b"doc", &signers[1].cert, &signers[1].key, WHEN)?;
        let mut decoded = decode_signature(&both).map_err(PkiError::Invalid)?;
        let mut info: SignerInfo = decoded.signer_infos.0[1]
            .decode_as()
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        info.digest_alg.oid = oid("1.2.643.7.1.1.2.2")?;
        decoded.signer_infos.0[1] =
            Any::encode_from(&info).map_err(|e| PkiError::Crypto(e.to_string()))?;
        let gost = encode_signature(&decoded)?;
        let reports = verify_detached(&gost, b"doc", &[])?;
        assert!(reports[0].signature_ok);
        assert!(!reports[1].signature_ok);
        let problem = reports[1].problem.clone().unwrap_or_default();
        assert!(
            problem.contains("1.2.643.7.1.1.2.2") && problem.contains("GOST"),
            "{problem}"
        );
        Ok(())
    }

    #[test]
    fn garbage_and_certificates_are_errors_not_reports() -> Result<()> {
        let (ca, signers) = pki(&[KeyAlgorithm::EcdsaP256], "CA")?;
        assert!(verify_detached(b"", b"x", &[]).is_err());
        assert!(verify_detached(b"\x30\x03\x02\x01", b"x", &[]).is_err());
        let error = verify_detached(ca.der(), b"x", &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("X.509 certificate, not a CMS signature"),
            "{error}"
        );
        let signature = sign_detached(b"x", &signers[0].cert, &signers[0].key, WHEN)?;
        let truncated = &signature[..signature.len() - 20];
        assert!(verify_detached(truncated, b"x", &[]).is_err());
        // An attached signature (content inside) is named as such.
        let mut attached = decode_signature(&signature).map_err(PkiError::Invalid)?;
        let inner = OctetString::new(b"x".to_vec()).map_err(der_error("test"))?;
        attached.encap_content_info = Any::encode_from(&EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: Some(Any::encode_from(&inner).map_err(der_error("test"))?),
        })
        .map_err(der_error("test"))?;
        let error = verify_detached(&encode_signature(&attached)?, b"x", &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("embeds the signed content"), "{error}");
        Ok(())
    }

    #[test]
    fn ber_indefinite_lengths_and_pem_are_accepted() -> Result<()> {
        let (_, signers) = pki(&[KeyAlgorithm::EcdsaP256], "CA")?;
        let signature = sign_detached(b"x", &signers[0].cert, &signers[0].key, WHEN)?;
        // Re-wrap the outer SEQUENCE and the [0] around SignedData with indefinite lengths.
        let decoded =
            ContentInfo::from_der(&signature).map_err(|e| PkiError::Crypto(e.to_string()))?;
        let inner = decoded
            .content
            .to_der()
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let oid = ID_SIGNED_DATA
            .to_der()
            .map_err(|e| PkiError::Crypto(e.to_string()))?;
        let mut ber = vec![0x30, 0x80];
        ber.extend_from_slice(&oid);
        ber.extend_from_slice(&[0xa0, 0x80]);
        ber.extend_from_slice(&inner);
        ber.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(
            definite_lengths(&ber).as_deref(),
            Some(signature.as_slice())
        );
        assert!(verify_detached(&ber, b"x", &[])?[0].signature_ok);
        let pem_text = pem::encode(&pem::Pem::new("CMS", signature.clone()));
        assert_eq!(
            signature_der(pem_text.as_bytes()).ok(),
            Some(signature.clone())
        );
        assert!(verify_detached(pem_text.as_bytes(), b"x", &[])?[0].signature_ok);
        let truncated = &pem_text[..pem_text.len() / 2];
        let error = signature_der(truncated.as_bytes())
            .err()
            .unwrap_or_default();
        assert!(error.contains("truncated"), "{error}");
        Ok(())
    }

    #[test]
    fn signing_time_uses_generalized_time_from_2050() -> Result<()> {
        let utc = signing_time_value(datetime!(2049-12-31 23:59:59 UTC))?;
        assert_eq!(utc.tag(), Tag::UtcTime);
        let generalized = signing_time_value(datetime!(2050-01-01 00:00:00 UTC))?;
        assert_eq!(generalized.tag(), Tag::GeneralizedTime);
        Ok(())
    }
}

//! Certificate signing requests: the subject a tenant needs (`CN=<tenant> TLS|WSS`, `O`, `OU`,
//! `C`), country names mapped to ISO 3166 codes, generating key + CSR pairs, writing them as a
//! set without leaving half of it behind, and reading any PKCS#10 request back (subject, key,
//! whether its signature verifies) for `inspect` and for the CA.

use std::path::{Path, PathBuf};

use medgate_ids::TenantId;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::cri_attributes::ParsedCriAttribute;
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate, X509Extension};

use crate::cert::{common_name_of, describe_public_key};
use crate::error::{PkiError, Result};
use crate::files::{self, Password, Visibility, WriteMode};
use crate::key::{KeyAlgorithm, PrivateKey};
use crate::kind::{CertKind, TenantCommonName};

/// RFC 5280 upper bound for `O` and `OU` values (ub-organization-name and
/// ub-organizational-unit-name): longer values are rejected by some CAs and parsers.
const MAX_NAME_LENGTH: usize = 64;

/// Every ISO 3166-1 alpha-2 code, so that a typo such as `PO` is refused instead of ending up
/// in a certificate that the national CA will reject weeks later.
const ISO_3166_ALPHA2: &str = "\
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR \
BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW \
GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY \
KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV \
MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY \
QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG \
TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM \
ZW";

/// Country names people type into the `C` field, in English, in the country's own language
/// and in the languages of the seeds (Polish, Hungarian, Russian), lower-case. Names without
/// diacritics are listed too because they are what a keyboard without them produces.
#[rustfmt::skip]
const COUNTRY_NAMES: &[(&str, &[&str])] = &[
    ("PL", &["poland", "polska", "lengyelország", "lengyelorszag", "польша", "rzeczpospolita polska"]),
    ("HU", &["hungary", "magyarország", "magyarorszag", "węgry", "wegry", "венгрия"]),
    ("RU", &["russia", "russian federation", "россия", "российская федерация", "rosja", "oroszország", "oroszorszag"]),
    ("DE", &["germany", "deutschland", "niemcy", "németország", "nemetorszag", "германия"]),
    ("CZ", &["czechia", "czech republic", "česko", "cesko", "česká republika", "ceska republika", "czechy", "csehország", "чехия"]),
    ("SK", &["slovakia", "slovensko", "słowacja", "slowacja", "szlovákia", "szlovakia", "словакия"]),
    ("AT", &["austria", "österreich", "osterreich", "ausztria", "австрия"]),
    ("UA", &["ukraine", "україна", "украина", "ukraina", "ukrajna"]),
    ("BY", &["belarus", "беларусь", "białoruś", "bialorus", "fehéroroszország"]),
    ("LT", &["lithuania", "lietuva", "litwa", "litvánia", "литва"]),
    ("LV", &["latvia", "latvija", "łotwa", "lotwa", "lettország", "латвия"]),
    ("EE", &["estonia", "eesti", "észtország", "эстония"]),
    ("RO", &["romania", "românia", "rumunia", "románia", "румыния"]),
    ("RS", &["serbia", "србија", "srbija", "szerbia", "сербия"]),
    ("HR", &["croatia", "hrvatska", "chorwacja", "horvátország", "хорватия"]),
    ("SI", &["slovenia", "slovenija", "słowenia", "szlovénia", "словения"]),
    ("BG", &["bulgaria", "българия", "bułgaria", "bulgária", "болгария"]),
    ("FR", &["france", "francja", "franciaország", "франция"]),
    ("IT", &["italy", "italia", "włochy", "wlochy", "olaszország", "италия"]),
    ("ES", &["spain", "españa", "espana", "hiszpania", "spanyolország", "испания"]),
    ("PT", &["portugal", "portugalia", "portugália", "португалия"]),
    ("NL", &["netherlands", "nederland", "holandia", "hollandia", "нидерланды"]),
    ("BE", &["belgium", "belgië", "belgique", "belgia", "бельгия"]),
    ("LU", &["luxembourg", "luksemburg", "luxemburg", "люксембург"]),
    ("CH", &["switzerland", "schweiz", "suisse", "svizzera", "szwajcaria", "svájc", "швейцария"]),
    ("GB", &["united kingdom", "great britain", "wielka brytania", "egyesült királyság", "великобритания"]),
    ("IE", &["ireland", "éire", "irlandia", "írország", "ирландия"]),
    ("DK", &["denmark", "danmark", "dania", "dánia", "дания"]),
    ("SE", &["sweden", "sverige", "szwecja", "svédország", "швеция"]),
    ("NO", &["norway", "norge", "norwegia", "norvégia", "норвегия"]),
    ("FI", &["finland", "suomi", "finlandia", "finnország", "финляндия"]),
    ("GR", &["greece", "ελλάδα", "grecja", "görögország", "греция"]),
    ("KZ", &["kazakhstan", "қазақстан", "казахстан", "kazachstan"]),
    ("MD", &["moldova", "mołdawia", "moldawia", "молдова", "молдавия"]),
    ("GE", &["georgia", "საქართველო", "gruzja", "грузия"]),
    ("AM", &["armenia", "հայաստան", "армения"]),
    ("US", &["united states", "united states of america", "usa", "stany zjednoczone", "сша"]),
];

/// A country for the `C` attribute: always the two-letter ISO 3166 code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Country(String);

impl Country {
    /// Accepts a two-letter code in any case (`PL`, `pl`) or a country name (`Polska`,
    /// `Magyarország`, `Россия`, `Poland`) and returns the code. Anything else is refused
    /// with a message saying what is accepted.
    pub fn parse(text: &str) -> Result<Self> {
        let trimmed = text.trim();
        if trimmed.len() == 2 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
            let code = trimmed.to_ascii_uppercase();
            if ISO_3166_ALPHA2.split(' ').any(|known| known == code) {
                return Ok(Country(code));
            }
            return Err(PkiError::Invalid(format!(
                "country '{trimmed}' is not an ISO 3166 two-letter code: use e.g. PL, HU or RU"
            )));
        }
        let wanted = trimmed
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        COUNTRY_NAMES
            .iter()
            .find(|(_, names)| names.contains(&wanted.as_str()))
            .map(|(code, _)| Country((*code).to_owned()))
            .ok_or_else(|| {
                PkiError::Invalid(format!(
                    "unknown country '{trimmed}': give the two-letter ISO 3166 code (PL, HU, RU, \
                     ...) or a country name such as Polska, Magyarország or Россия"
                ))
            })
    }

    /// The two-letter code, e.g. `PL`.
    pub fn code(&self) -> &str {
        &self.0
    }
}

/// The organisation part of a tenant subject: `O`, `OU` and `C`. The `CN` comes from the
/// tenant id and the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectFields {
    organisation: String,
    unit: String,
    country: Country,
}

impl SubjectFields {
    /// Checks the values: not empty, at most 64 characters, no control characters.
    pub fn new(organisation: &str, unit: &str, country: Country) -> Result<Self> {
        Ok(SubjectFields {
            organisation: checked_name("organisation (O)", organisation)?,
            unit: checked_name("organisational unit (OU)", unit)?,
            country,
        })
    }

    /// `O`.
    pub fn organisation(&self) -> &str {
        &self.organisation
    }

    /// `OU`.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// `C`.
    pub fn country(&self) -> &Country {
        &self.country
    }

    /// The subject as printed by `inspect` and OpenSSL's RFC 2253 order reversed:
    /// `C=PL, O=..., OU=..., CN=<tenant> TLS`.
    pub fn display(&self, tenant: &TenantId, kind: CertKind) -> String {
        format!(
            "C={}, O={}, OU={}, CN={}",
            self.country.code(),
            self.organisation,
            self.unit,
            kind.common_name(tenant)
        )
    }
}

fn checked_name(what: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PkiError::Invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > MAX_NAME_LENGTH {
        return Err(PkiError::Invalid(format!(
            "{what} is {} characters long; X.509 allows at most {MAX_NAME_LENGTH}",
            value.chars().count()
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(PkiError::Invalid(format!(
            "{what} contains a control character (tab, newline...)"
        )));
    }
    Ok(value.to_owned())
}

/// Parses `tls`, `wss` or `both` into the kinds to generate, TLS first.
pub fn parse_kinds(text: &str) -> Result<Vec<CertKind>> {
    match text.to_ascii_lowercase().as_str() {
        "both" | "all" => Ok(vec![CertKind::Tls, CertKind::Wss]),
        other => CertKind::parse(other)
            .map(|kind| vec![kind])
            .map_err(|_| PkiError::Invalid(format!("unknown kind '{text}': use tls, wss or both"))),
    }
}

/// Builds the PEM CSR for an existing key: subject `C`, `O`, `OU`, `CN=<tenant> <KIND>` and
/// an extension request for the key usages the CA will grant for that kind (so that a
/// reviewer sees the purpose in the request itself).
pub fn tenant_csr_for_key(
    key: &PrivateKey,
    tenant: &TenantId,
    kind: CertKind,
    subject: &SubjectFields,
) -> Result<String> {
    let rcgen_error = |e: rcgen::Error| PkiError::Crypto(format!("building the CSR failed: {e}"));
    let mut params = rcgen::CertificateParams::default();
    let mut name = rcgen::DistinguishedName::new();
    // countryName is a PrintableString (RFC 5280 appendix A); the others are UTF8String so that
    // Polish, Hungarian and Cyrillic names survive.
    let country =
        rcgen::string::PrintableString::try_from(subject.country.code()).map_err(rcgen_error)?;
    name.push(
        rcgen::DnType::CountryName,
        rcgen::DnValue::PrintableString(country),
    );
    name.push(
        rcgen::DnType::OrganizationName,
        subject.organisation.as_str(),
    );
    name.push(rcgen::DnType::OrganizationalUnitName, subject.unit.as_str());
    name.push(rcgen::DnType::CommonName, kind.common_name(tenant));
    params.distinguished_name = name;
    let rsa = matches!(
        key.algorithm(),
        KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072
    );
    params.key_usages = match kind {
        CertKind::Tls if rsa => vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ],
        CertKind::Tls => vec![rcgen::KeyUsagePurpose::DigitalSignature],
        CertKind::Wss => vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::ContentCommitment,
        ],
    };
    if kind == CertKind::Tls {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    }
    let pair = key.rcgen_key_pair()?;
    params
        .serialize_request(&pair)
        .and_then(|csr| csr.pem())
        .map_err(rcgen_error)
}

/// Generates a fresh key and its CSR (PEM) for one kind.
pub fn generate_tenant_csr(
    tenant: &TenantId,
    kind: CertKind,
    subject: &SubjectFields,
    algorithm: KeyAlgorithm,
) -> Result<(PrivateKey, String)> {
    let key = PrivateKey::generate(algorithm)?;
    let csr = tenant_csr_for_key(&key, tenant, kind, subject)?;
    Ok((key, csr))
}

/// What to generate with [`write_tenant_csrs`].
#[derive(Clone, Debug)]
pub struct CsrRequest {
    pub tenant: TenantId,
    pub kinds: Vec<CertKind>,
    pub subject: SubjectFields,
    pub algorithm: KeyAlgorithm,
}

/// One key + CSR pair that was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenCsr {
    pub kind: CertKind,
    pub key_path: PathBuf,
    pub csr_path: PathBuf,
    /// The subject of the request, e.g. `C=PL, O=..., OU=..., CN=0000000000005010 TLS`.
    pub subject: String,
    /// E.g. `RSA 2048`.
    pub key_description: String,
    /// True when the key file is encrypted with the password.
    pub encrypted: bool,
}

/// The file names a kind uses in an output folder: `<stem>.key` and `<stem>.csr`.
pub fn csr_paths(dir: &Path, kind: CertKind) -> (PathBuf, PathBuf) {
    let stem = kind.file_stem();
    (
        dir.join(format!("{stem}.key")),
        dir.join(format!("{stem}.csr")),
    )
}

/// Generates keys and CSRs for every requested kind and writes `<dir>/tls.key`, `tls.csr`,
/// `wss.key`, `wss.csr` (keys owner-only, encrypted when a password is given).
///
/// Every target file is checked before anything is generated or written, so a refusal to
/// overwrite leaves the folder as it was; if a write fails later, the files this call created
/// are removed again, so the folder never holds a key without its CSR.
pub fn write_tenant_csrs(
    dir: &Path,
    request: &CsrRequest,
    password: Option<&Password>,
    force: bool,
) -> Result<Vec<WrittenCsr>> {
    if request.kinds.is_empty() {
        return Err(PkiError::Invalid("no certificate kind requested".into()));
    }
    files::ensure_dir(dir)?;
    let targets: Vec<(CertKind, PathBuf, PathBuf)> = request
        .kinds
        .iter()
        .map(|&kind| {
            let (key, csr) = csr_paths(dir, kind);
            (kind, key, csr)
        })
        .collect();
    for (_, key_path, csr_path) in &targets {
        for path in [key_path, csr_path] {
            if path.is_dir() {
                return Err(PkiError::bad_file(
                    path,
                    "is a folder, expected a file name",
                ));
            }
            if !force && path.exists() {
                return Err(PkiError::WouldOverwrite { path: path.clone() });
            }
        }
    }

    // Generate everything first: key generation is the slow and failure-prone part.
    let mut generated = Vec::with_capacity(targets.len());
    for (kind, key_path, csr_path) in targets {
        let (key, csr) =
            generate_tenant_csr(&request.tenant, kind, &request.subject, request.algorithm)?;
        let key_pem = key.to_pem(password)?;
        generated.push((kind, key_path, csr_path, key, key_pem, csr));
    }

    let mode = if force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    };
    let mut created: Vec<PathBuf> = Vec::new();
    let mut written = Vec::with_capacity(generated.len());
    for (kind, key_path, csr_path, key, key_pem, csr) in &generated {
        for (path, contents, visibility) in [
            (key_path, key_pem.as_bytes(), Visibility::Secret),
            (csr_path, csr.as_bytes(), Visibility::Public),
        ] {
            let existed = path.exists();
            if let Err(error) = files::write(path, contents, mode, visibility) {
                for path in &created {
                    // Best effort: the error below is what the user needs to see.
                    let _ = std::fs::remove_file(path);
                }
                return Err(error);
            }
            if !existed {
                created.push(path.clone());
            }
        }
        written.push(WrittenCsr {
            kind: *kind,
            key_path: key_path.clone(),
            csr_path: csr_path.clone(),
            subject: request.subject.display(&request.tenant, *kind),
            key_description: key.describe(),
            encrypted: password.is_some(),
        });
    }
    Ok(written)
}

/// What a certificate request says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrInfo {
    /// The subject, e.g. `C=PL, O=Clinic, OU=IT, CN=0000000000005010 TLS`.
    pub subject: String,
    pub common_name: Option<String>,
    /// Tenant id and kind when the CN has the `<16 digits> TLS|WSS` form.
    pub tenant_name: Option<TenantCommonName>,
    /// E.g. `RSA 2048`, `ECDSA P-256`.
    pub key_description: String,
    /// E.g. `sha256WithRSAEncryption` (or the dotted OID when unknown).
    pub signature_algorithm: String,
    /// True when the request is signed by the key it contains (proof of possession).
    pub signature_valid: bool,
    /// Why the signature does not verify, when it does not.
    pub signature_problem: Option<String>,
    /// Extensions the requester asked for, described (`keyUsage: digitalSignature`, ...).
    pub requested_extensions: Vec<String>,
    /// DER of the subject Name, to copy into a certificate unchanged.
    pub subject_der: Vec<u8>,
    /// DER of the subjectPublicKeyInfo.
    pub public_key_info_der: Vec<u8>,
    /// DER of the whole request.
    pub der: Vec<u8>,
}

impl CsrInfo {
    /// The kind read from the CN, if it has the tenant form.
    pub fn kind(&self) -> Option<CertKind> {
        self.tenant_name.as_ref().map(|name| name.kind)
    }
}

/// Reads and parses a CSR file (PEM or DER).
pub fn load_csr(path: &Path) -> Result<CsrInfo> {
    let bytes = files::read(path)?;
    parse_csr(&bytes, path)
}

/// Parses a PKCS#10 request given as PEM or DER; `path` only names it in errors. A request
/// whose signature does not verify is returned with `signature_valid == false` (inspection
/// wants to show it); a certificate, key or damaged data in place of a request is an error
/// that says what the file really is.
pub fn parse_csr(bytes: &[u8], path: &Path) -> Result<CsrInfo> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(PkiError::bad_file(
            path,
            "is empty, expected a certificate request (CSR)",
        ));
    }
    let der = if files::looks_like_pem(bytes) {
        let blocks = files::pem_blocks(path, bytes)?;
        if blocks.is_empty() {
            return Err(PkiError::bad_file(
                path,
                "damaged or truncated PEM: a -----BEGIN line without its -----END line",
            ));
        }
        let request = blocks
            .iter()
            .find(|b| b.tag() == "CERTIFICATE REQUEST" || b.tag() == "NEW CERTIFICATE REQUEST");
        match request {
            Some(block) => block.contents().to_vec(),
            None => {
                let tags: Vec<&str> = blocks.iter().map(|b| b.tag()).collect();
                return Err(PkiError::bad_file(path, not_a_request(&tags)));
            }
        }
    } else {
        bytes.to_vec()
    };
    let (rest, request) = match X509CertificationRequest::from_der(&der) {
        Ok(parsed) => parsed,
        Err(error) => {
            let problem = if X509Certificate::from_der(&der).is_ok() {
                "is a certificate, not a certificate request (CSR)".to_owned()
            } else if files::looks_like_pem(bytes) {
                format!(
                    "damaged certificate request: the PEM block does not hold a valid \
                     PKCS#10 request ({error})"
                )
            } else {
                "is not a certificate request (neither PEM nor DER PKCS#10)".to_owned()
            };
            return Err(PkiError::bad_file(path, problem));
        }
    };
    if !rest.is_empty() {
        return Err(PkiError::bad_file(
            path,
            format!(
                "damaged certificate request: {} unexpected bytes after the request",
                rest.len()
            ),
        ));
    }
    let info = &request.certification_request_info;
    let common_name = common_name_of(&info.subject);
    let (signature_valid, signature_problem) = match request.verify_signature() {
        Ok(()) => (true, None),
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => (
            false,
            Some(format!(
                "unsupported signature algorithm {}",
                request.signature_algorithm.algorithm.to_id_string()
            )),
        ),
        Err(_) => (
            false,
            Some(
                "the request was altered after signing, or its public key was replaced".to_owned(),
            ),
        ),
    };
    let requested_extensions = request
        .certification_request_info
        .iter_attributes()
        .find_map(|attribute| match attribute.parsed_attribute() {
            ParsedCriAttribute::ExtensionRequest(request) => Some(&request.extensions),
            _ => None,
        })
        .map(|extensions| extensions.iter().map(describe_extension).collect())
        .unwrap_or_default();
    Ok(CsrInfo {
        subject: info.subject.to_string(),
        tenant_name: common_name.as_deref().and_then(TenantCommonName::parse),
        common_name,
        key_description: describe_public_key(&info.subject_pki),
        signature_algorithm: signature_algorithm_name(
            &request.signature_algorithm.algorithm.to_id_string(),
        ),
        signature_valid,
        signature_problem,
        requested_extensions,
        subject_der: info.subject.as_raw().to_vec(),
        public_key_info_der: info.subject_pki.raw.to_vec(),
        der: request.as_raw().to_vec(),
    })
}

fn not_a_request(tags: &[&str]) -> String {
    if tags
        .iter()
        .any(|t| *t == "CERTIFICATE" || *t == "X509 CERTIFICATE")
    {
        "is a certificate, not a certificate request (CSR)".to_owned()
    } else if tags.iter().any(|t| t.ends_with("PRIVATE KEY")) {
        "is a private key, not a certificate request (CSR)".to_owned()
    } else {
        format!(
            "contains no certificate request (found {}); expected a CERTIFICATE REQUEST block",
            crate::key::describe_tags(tags)
        )
    }
}

/// Names the signature algorithms a CSR realistically uses.
pub(crate) fn signature_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.2.643.7.1.1.3.2" => "GOST R 34.10-2012 (256)",
        "1.2.643.7.1.1.3.3" => "GOST R 34.10-2012 (512)",
        other => return other.to_owned(),
    }
    .to_owned()
}

fn describe_extension(extension: &X509Extension<'_>) -> String {
    match extension.parsed_extension() {
        ParsedExtension::KeyUsage(usage) => {
            let names: Vec<&str> = [
                (usage.digital_signature(), "digitalSignature"),
                (usage.non_repudiation(), "nonRepudiation"),
                (usage.key_encipherment(), "keyEncipherment"),
                (usage.data_encipherment(), "dataEncipherment"),
                (usage.key_agreement(), "keyAgreement"),
                (usage.key_cert_sign(), "keyCertSign"),
                (usage.crl_sign(), "cRLSign"),
            ]
            .into_iter()
            .filter_map(|(present, name)| present.then_some(name))
            .collect();
            format!("keyUsage: {}", names.join(", "))
        }
        ParsedExtension::ExtendedKeyUsage(usage) => {
            let mut names: Vec<String> = [
                (usage.server_auth, "serverAuth"),
                (usage.client_auth, "clientAuth"),
                (usage.code_signing, "codeSigning"),
                (usage.email_protection, "emailProtection"),
                (usage.time_stamping, "timeStamping"),
                (usage.ocsp_signing, "OCSPSigning"),
                (usage.any, "anyExtendedKeyUsage"),
            ]
            .into_iter()
            .filter(|(present, _)| *present)
            .map(|(_, name)| name.to_owned())
            .collect();
            names.extend(usage.other.iter().map(|oid| oid.to_id_string()));
            format!("extendedKeyUsage: {}", names.join(", "))
        }
        ParsedExtension::SubjectAlternativeName(san) => {
            let names: Vec<String> = san.general_names.iter().map(|n| n.to_string()).collect();
            format!("subjectAltName: {}", names.join(", "))
        }
        ParsedExtension::BasicConstraints(constraints) => {
            format!(
                "basicConstraints: CA:{}",
                if constraints.ca { "TRUE" } else { "FALSE" }
            )
        }
        ParsedExtension::SubjectKeyIdentifier(_) => "subjectKeyIdentifier".to_owned(),
        _ => format!("extension {}", extension.oid.to_id_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant() -> TenantId {
        TenantId::parse("0000000000005010").unwrap_or_else(|e| panic!("{e}"))
    }

    fn subject() -> Result<SubjectFields> {
        SubjectFields::new(
            "Przychodnia Zdrowie Sp. z o.o.",
            "IT",
            Country::parse("Polska")?,
        )
    }

    #[test]
    fn country_names_and_codes_map_to_iso_codes() -> Result<()> {
        for (text, code) in [
            ("PL", "PL"),
            ("pl", "PL"),
            ("Polska", "PL"),
            ("POLSKA", "PL"),
            (" Poland ", "PL"),
            ("Magyarország", "HU"),
            ("Hungary", "HU"),
            ("Россия", "RU"),
            ("Russia", "RU"),
            ("Russian  Federation", "RU"),
            ("DE", "DE"),
        ] {
            assert_eq!(Country::parse(text)?.code(), code, "{text}");
        }
        for bad in ["PO", "XX", "Narnia", "", "P"] {
            let message = Country::parse(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains("country"), "{bad}: {message}");
        }
        Ok(())
    }

    #[test]
    fn subject_fields_refuse_empty_long_and_control_characters() {
        let pl = || Country::parse("PL").unwrap_or_else(|e| panic!("{e}"));
        assert!(SubjectFields::new("", "IT", pl()).is_err());
        assert!(SubjectFields::new("Clinic", "IT\n", pl()).is_ok());
        assert!(SubjectFields::new("Clinic", "I\tT", pl()).is_err());
        assert!(SubjectFields::new(&"x".repeat(65), "IT", pl()).is_err());
        assert!(SubjectFields::new(&"ł".repeat(64), "IT", pl()).is_ok());
    }

    #[test]
    fn kinds_parse() -> Result<()> {
        assert_eq!(parse_kinds("both")?, vec![CertKind::Tls, CertKind::Wss]);
        assert_eq!(parse_kinds("WSS")?, vec![CertKind::Wss]);
        assert!(parse_kinds("ssl").is_err());
        Ok(())
    }

    #[test]
    fn generated_csr_parses_back_with_subject_and_valid_signature() -> Result<()> {
        let (key, pem) = generate_tenant_csr(
            &tenant(),
            CertKind::Tls,
            &subject()?,
            KeyAlgorithm::EcdsaP256,
        )?;
        let info = parse_csr(pem.as_bytes(), Path::new("tls.csr"))?;
        assert!(info.signature_valid, "{:?}", info.signature_problem);
        assert_eq!(
            info.subject,
            "C=PL, O=Przychodnia Zdrowie Sp. z o.o., OU=IT, CN=0000000000005010 TLS"
        );
        assert_eq!(info.subject, subject()?.display(&tenant(), CertKind::Tls));
        assert_eq!(info.kind(), Some(CertKind::Tls));
        assert_eq!(info.key_description, "ECDSA P-256");
        assert_eq!(info.signature_algorithm, "ecdsa-with-SHA256");
        assert_eq!(info.public_key_info_der, key.public_key_info_der()?);
        assert!(
            info.requested_extensions
                .iter()
                .any(|e| e == "extendedKeyUsage: clientAuth"),
            "{:?}",
            info.requested_extensions
        );
        Ok(())
    }

    #[test]
    fn wss_csr_requests_non_repudiation_and_no_client_auth() -> Result<()> {
        let (_, pem) =
            generate_tenant_csr(&tenant(), CertKind::Wss, &subject()?, KeyAlgorithm::Rsa2048)?;
        let info = parse_csr(pem.as_bytes(), Path::new("wss.csr"))?;
        assert_eq!(info.kind(), Some(CertKind::Wss));
        assert_eq!(info.key_description, "RSA 2048");
        assert!(info
            .requested_extensions
            .contains(&"keyUsage: digitalSignature, nonRepudiation".to_owned()));
        assert!(!info
            .requested_extensions
            .iter()
            .any(|e| e.contains("clientAuth")));
        Ok(())
    }

    #[test]
    fn a_tampered_request_is_reported_as_not_verifying() -> Result<()> {
        let (_, pem) = generate_tenant_csr(
            &tenant(),
            CertKind::Tls,
            &subject()?,
            KeyAlgorithm::EcdsaP256,
        )?;
        let mut der = parse_csr(pem.as_bytes(), Path::new("tls.csr"))?.der;
        // Change one letter of the organisation name: the signature no longer matches.
        let at = der
            .windows(11)
            .position(|w| w == b"Przychodnia")
            .unwrap_or_else(|| panic!("organisation not found"));
        der[at] = b'Q';
        let info = parse_csr(&der, Path::new("tls.der"))?;
        assert!(!info.signature_valid);
        assert!(info.signature_problem.is_some());
        Ok(())
    }

    #[test]
    fn other_files_in_place_of_a_request_are_named() -> Result<()> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let key_pem = key.to_pem(None)?;
        let message = |bytes: &[u8]| {
            parse_csr(bytes, Path::new("in.csr"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let got = message(key_pem.as_bytes());
        assert!(
            got.contains("in.csr") && got.contains("private key"),
            "{got}"
        );
        let got = message(b"");
        assert!(got.contains("empty"), "{got}");
        let got = message(b"\x30\x03\x02\x01\x00");
        assert!(got.contains("not a certificate request"), "{got}");
        let (_, pem) = generate_tenant_csr(
            &tenant(),
            CertKind::Tls,
            &subject()?,
            KeyAlgorithm::EcdsaP256,
        )?;
        let truncated = &pem.as_bytes()[..pem.len() / 2];
        let got = message(truncated);
        assert!(got.contains("in.csr"), "{got}");
        Ok(())
    }

    #[test]
    fn writing_a_set_refuses_to_overwrite_before_writing_anything() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| PkiError::io(Path::new("tmp"), "mk", e))?;
        let request = CsrRequest {
            tenant: tenant(),
            kinds: parse_kinds("both")?,
            subject: subject()?,
            algorithm: KeyAlgorithm::EcdsaP256,
        };
        // Only wss.csr exists: nothing may be written, not even tls.key.
        let wss_csr = dir.path().join("wss.csr");
        std::fs::write(&wss_csr, "old").map_err(|e| PkiError::io(&wss_csr, "w", e))?;
        let refused = write_tenant_csrs(dir.path(), &request, None, false);
        assert!(matches!(refused, Err(PkiError::WouldOverwrite { .. })));
        assert!(!dir.path().join("tls.key").exists());
        assert_eq!(files::read(&wss_csr)?, b"old");

        let password = Password::new("secret");
        let written = write_tenant_csrs(dir.path(), &request, Some(&password), true)?;
        assert_eq!(written.len(), 2);
        assert!(written.iter().all(|w| w.encrypted));
        let key = PrivateKey::load(&written[1].key_path, Some(&password))?;
        let info = load_csr(&written[1].csr_path)?;
        assert_eq!(info.public_key_info_der, key.public_key_info_der()?);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&written[0].key_path)
                .map_err(|e| PkiError::io(&written[0].key_path, "stat", e))?;
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        }
        Ok(())
    }
}

//! Signed connection-check reports (`medgate connect-check --report`, `medgate pki
//! verify-report`): one JSON file that a person can read and a platform can verify.
//!
//! ```json
//! {
//!   "report": { ...the report, readable... },
//!   "payload": "<base64 of the exact UTF-8 bytes of the report JSON>",
//!   "signature": "<base64 DER: detached CMS SignedData over those bytes>"
//! }
//! ```
//!
//! The signature covers `payload`, never the readable copy: JSON has no canonical form, so
//! the bytes that were signed travel with the file. Verification decodes `payload`, checks
//! the CMS signature over it (and the signer's chain when trust anchors are given), and
//! compares it with the readable `report`, naming the first field that differs, so that an
//! edit of the readable copy cannot pass unnoticed.
//!
//! Why the envelope lives here although this crate has no serde: the library API takes and
//! returns file bytes, so that every program (not only the `medgate` binary) signs and checks
//! reports the same way. The envelope is three fields, so a small JSON reader (below: values,
//! strings with escapes, a depth limit) and string building for writing are enough; the
//! report object itself is produced by the caller (the binary serialises it with serde) and
//! is only validated and compared here.

use time::OffsetDateTime;

use crate::cert::Certificate;
use crate::cms::{self, SignerReport};
use crate::error::{PkiError, Result};
use crate::key::PrivateKey;

/// What [`verify_report`] found.
#[derive(Clone, Debug)]
pub struct VerifiedReport {
    /// The signed report JSON, exactly the bytes that were signed.
    pub payload: Vec<u8>,
    /// Each signer of the CMS signature, in order (a report has one).
    pub signers: Vec<SignerReport>,
    /// When the readable `report` differs from the signed payload: the first difference,
    /// in words (`report.tls.version is "TLSv1.2" in the file, "TLSv1.3" in the signed
    /// payload`). `None` when they are equal.
    pub edited: Option<String>,
    /// Whether the signers' chains were checked (trust anchors given).
    pub chain_checked: bool,
}

impl VerifiedReport {
    /// Everything that is wrong, worst first; empty when the report can be trusted.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(edit) = &self.edited {
            problems.push(format!(
                "the readable \"report\" was edited after signing: {edit}"
            ));
        }
        if self.signers.is_empty() {
            problems.push("the signature has no signer".to_owned());
        }
        for signer in &self.signers {
            if !signer.signature_ok {
                problems.push(format!(
                    "bad signature by {}: {}",
                    signer.subject,
                    signer
                        .problem
                        .as_deref()
                        .unwrap_or("it does not match the signed payload")
                ));
            } else if signer.chain_ok == Some(false) {
                problems.push(format!(
                    "untrusted signer {} (serial {}): {}",
                    signer.subject,
                    signer.serial_hex,
                    signer
                        .problem
                        .as_deref()
                        .unwrap_or("the certificate does not chain to the given CA")
                ));
            }
        }
        problems
    }

    /// True when nothing is wrong.
    pub fn is_ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// The (first) signer.
    pub fn signer(&self) -> Option<&SignerReport> {
        self.signers.first()
    }

    /// The signed report as text (the payload is checked to be UTF-8).
    pub fn report_text(&self) -> &str {
        std::str::from_utf8(&self.payload).unwrap_or("")
    }
}

/// Signs a report: `report_json` must be a JSON object (UTF-8). Returns the bytes of the
/// report file: the readable copy, the payload and a detached CMS signature made now with
/// `key` and `cert`.
pub fn sign_report(report_json: &[u8], cert: &Certificate, key: &PrivateKey) -> Result<Vec<u8>> {
    sign_report_at(report_json, cert, key, OffsetDateTime::now_utc())
}

/// [`sign_report`] with a given signing time.
pub fn sign_report_at(
    report_json: &[u8],
    cert: &Certificate,
    key: &PrivateKey,
    signing_time: OffsetDateTime,
) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(report_json)
        .map_err(|_| PkiError::Invalid("the report to sign is not UTF-8 text".into()))?;
    match json::parse(text) {
        Ok(json::Value::Object(_)) => {}
        Ok(_) => {
            return Err(PkiError::Invalid(
                "the report to sign must be a JSON object".into(),
            ))
        }
        Err(problem) => {
            return Err(PkiError::Invalid(format!(
                "the report to sign is not valid JSON: {problem}"
            )))
        }
    }
    if !cms::key_matches_certificate(cert, key)? {
        return Err(PkiError::Invalid(format!(
            "the signing key does not belong to certificate {}",
            cert.source().display()
        )));
    }
    let signature = cms::sign_detached(report_json, cert, key, signing_time)?;
    // Raw line breaks can only be whitespace between JSON tokens (inside strings they are
    // escaped), so indenting after each one keeps the readable copy the same JSON.
    let readable = text.trim_end().replace('\n', "\n  ");
    let mut file = String::with_capacity(readable.len() * 3);
    file.push_str("{\n  \"report\": ");
    file.push_str(&readable);
    file.push_str(",\n  \"payload\": \"");
    file.push_str(&base64::encode(report_json));
    file.push_str("\",\n  \"signature\": \"");
    file.push_str(&base64::encode(&signature));
    file.push_str("\"\n}\n");
    Ok(file.into_bytes())
}

/// Reads a report file and checks it: the payload decodes, the readable copy equals it, the
/// CMS signature verifies over it, and (with `trust`) the signer chains to one of the
/// anchors. Only a file that is not a signed report at all is an error; what is wrong with
/// a report is in [`VerifiedReport::problems`].
pub fn verify_report(file: &[u8], trust: &[Certificate]) -> Result<VerifiedReport> {
    let not_report =
        |why: &str| PkiError::Invalid(format!("not a signed connection-check report: {why}"));
    let text = std::str::from_utf8(file).map_err(|_| not_report("the file is not UTF-8 text"))?;
    let envelope = json::parse(text)
        .map_err(|problem| not_report(&format!("the file is not valid JSON ({problem})")))?;
    let json::Value::Object(fields) = &envelope else {
        return Err(not_report("the file is not a JSON object"));
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
            .ok_or_else(|| not_report(&format!("it has no \"{name}\" field")))
    };
    let readable = field("report")?;
    let json::Value::String(payload_b64) = field("payload")? else {
        return Err(not_report("\"payload\" is not a string"));
    };
    let json::Value::String(signature_b64) = field("signature")? else {
        return Err(not_report("\"signature\" is not a string"));
    };
    let payload = base64::decode(payload_b64).map_err(|problem| {
        PkiError::Invalid(format!(
            "the \"payload\" field was damaged or edited: {problem}"
        ))
    })?;
    let signature = base64::decode(signature_b64).map_err(|problem| {
        PkiError::Invalid(format!(
            "the \"signature\" field was damaged or edited: {problem}"
        ))
    })?;
    let payload_text = std::str::from_utf8(&payload).map_err(|_| {
        PkiError::Invalid("the \"payload\" field was damaged or edited: it is not UTF-8".into())
    })?;
    let signed = json::parse(payload_text).map_err(|problem| {
        PkiError::Invalid(format!(
            "the \"payload\" field was damaged or edited: it is not JSON ({problem})"
        ))
    })?;
    let edited = json::first_difference(&signed, readable, "report");
    let signers = cms::verify_detached(&signature, &payload, trust)
        .map_err(|e| PkiError::Invalid(format!("the \"signature\" field: {e}")))?;
    Ok(VerifiedReport {
        payload,
        signers,
        edited,
        chain_checked: !trust.is_empty(),
    })
}

/// Standard base64 (RFC 4648 §4, with padding).
mod base64 {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
    }

    /// Decodes; ASCII whitespace (line breaks of wrapped text) is ignored.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let symbols: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if symbols.len() % 4 != 0 {
            return Err("its base64 length is not a multiple of 4".into());
        }
        let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
        let groups = symbols.len() / 4;
        for (index, group) in symbols.chunks(4).enumerate() {
            let last = index + 1 == groups;
            let padding = group.iter().rev().take_while(|&&c| c == b'=').count();
            if padding > 2 || (padding > 0 && !last) {
                return Err("misplaced '=' padding in base64".into());
            }
            let mut n = 0u32;
            for &c in &group[..4 - padding] {
                let v = value(c).ok_or_else(|| {
                    format!(
                        "'{}' is not a base64 character",
                        char::from(c).escape_default()
                    )
                })?;
                n = (n << 6) | v;
            }
            n <<= 6 * padding as u32;
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..3 - padding]);
        }
        Ok(out)
    }
}

/// A small JSON reader: enough to read the envelope and compare two reports.
mod json {
    /// A JSON value; object members keep their order, numbers their text.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Value {
        Null,
        Bool(bool),
        Number(String),
        String(String),
        Array(Vec<Value>),
        Object(Vec<(String, Value)>),
    }

    /// Deepest nesting accepted (reports nest a few levels).
    const MAX_DEPTH: usize = 64;

    /// Parses one JSON text (RFC 8259); the error says what and where (byte offset).
    pub fn parse(text: &str) -> Result<Value, String> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            at: 0,
        };
        parser.whitespace();
        let value = parser.value(0)?;
        parser.whitespace();
        if parser.at != parser.bytes.len() {
            return Err(parser.error("unexpected text after the JSON value"));
        }
        Ok(value)
    }

    struct Parser<'a> {
        bytes: &'a [u8],
        at: usize,
    }

    impl Parser<'_> {
        fn error(&self, what: &str) -> String {
            format!("{what} at byte {}", self.at)
        }

        fn peek(&self) -> Option<u8> {
            self.bytes.get(self.at).copied()
        }

        fn whitespace(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.at += 1;
            }
        }

        fn expect(&mut self, byte: u8) -> Result<(), String> {
            if self.peek() == Some(byte) {
                self.at += 1;
                Ok(())
            } else {
                Err(self.error(&format!("expected '{}'", char::from(byte))))
            }
        }

        fn literal(&mut self, word: &str, value: Value) -> Result<Value, String> {
            if self.bytes[self.at..].starts_with(word.as_bytes()) {
                self.at += word.len();
                Ok(value)
            } else {
                Err(self.error("unexpected character"))
            }
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(self.error("nesting too deep"));
            }
            match self.peek() {
                None => Err(self.error("unexpected end of the text")),
                Some(b'{') => self.object(depth),
                Some(b'[') => self.array(depth),
                Some(b'"') => self.string().map(Value::String),
                Some(b't') => self.literal("true", Value::Bool(true)),
                Some(b'f') => self.literal("false", Value::Bool(false)),
                Some(b'n') => self.literal("null", Value::Null),
                Some(b'-' | b'0'..=b'9') => self.number(),
                Some(_) => Err(self.error("unexpected character")),
            }
        }

        fn object(&mut self, depth: usize) -> Result<Value, String> {
            self.expect(b'{')?;
            let mut members = Vec::new();
            self.whitespace();
            if self.peek() == Some(b'}') {
                self.at += 1;
                return Ok(Value::Object(members));
            }
            loop {
                self.whitespace();
                if self.peek() != Some(b'"') {
                    return Err(self.error("expected a member name"));
                }
                let key = self.string()?;
                if members.iter().any(|(k, _)| *k == key) {
                    return Err(self.error(&format!("member \"{key}\" appears twice")));
                }
                self.whitespace();
                self.expect(b':')?;
                self.whitespace();
                let value = self.value(depth + 1)?;
                members.push((key, value));
                self.whitespace();
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b'}') => {
                        self.at += 1;
                        return Ok(Value::Object(members));
                    }
                    _ => return Err(self.error("expected ',' or '}'")),
                }
            }
        }

        fn array(&mut self, depth: usize) -> Result<Value, String> {
            self.expect(b'[')?;
            let mut items = Vec::new();
            self.whitespace();
            if self.peek() == Some(b']') {
                self.at += 1;
                return Ok(Value::Array(items));
            }
            loop {
                self.whitespace();
                items.push(self.value(depth + 1)?);
                self.whitespace();
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        return Ok(Value::Array(items));
                    }
                    _ => return Err(self.error("expected ',' or ']'")),
                }
            }
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.at;
            if self.peek() == Some(b'-') {
                self.at += 1;
            }
            let digits = |p: &mut Self| {
                let from = p.at;
                while matches!(p.peek(), Some(b'0'..=b'9')) {
                    p.at += 1;
                }
                p.at - from
            };
            let int_start = self.at;
            let int_digits = digits(self);
            if int_digits == 0 || (int_digits > 1 && self.bytes[int_start] == b'0') {
                return Err(self.error("malformed number"));
            }
            if self.peek() == Some(b'.') {
                self.at += 1;
                if digits(self) == 0 {
                    return Err(self.error("malformed number"));
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.at += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.at += 1;
                }
                if digits(self) == 0 {
                    return Err(self.error("malformed number"));
                }
            }
            let text = String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned();
            Ok(Value::Number(text))
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let digits = self
                .bytes
                .get(self.at..self.at + 4)
                .ok_or_else(|| self.error("truncated \\u escape"))?;
            let text = std::str::from_utf8(digits).map_err(|_| self.error("bad \\u escape"))?;
            let value = u32::from_str_radix(text, 16).map_err(|_| self.error("bad \\u escape"))?;
            self.at += 4;
            Ok(value)
        }

        fn string(&mut self) -> Result<String, String> {
            self.expect(b'"')?;
            let mut out = String::new();
            loop {
                let start = self.at;
                while let Some(b) = self.peek() {
                    if b == b'"' || b == b'\\' || b < 0x20 {
                        break;
                    }
                    self.at += 1;
                }
                // The input is a &str and we stopped at ASCII bytes: a char boundary.
                out.push_str(&String::from_utf8_lossy(&self.bytes[start..self.at]));
                match self.peek() {
                    None => return Err(self.error("unterminated string")),
                    Some(b'"') => {
                        self.at += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        self.at += 1;
                        let escape = self
                            .peek()
                            .ok_or_else(|| self.error("unterminated string"))?;
                        self.at += 1;
                        match escape {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'u' => {
                                let first = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&first) {
                                    if !self.bytes[self.at..].starts_with(b"\\u") {
                                        return Err(self.error("lone surrogate in \\u escape"));
                                    }
                                    self.at += 2;
                                    let second = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&second) {
                                        return Err(self.error("bad surrogate pair"));
                                    }
                                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                                } else {
                                    first
                                };
                                let c = char::from_u32(code)
                                    .ok_or_else(|| self.error("bad \\u escape"))?;
                                out.push(c);
                            }
                            _ => return Err(self.error("unknown escape")),
                        }
                    }
                    Some(_) => return Err(self.error("control character in a string")),
                }
            }
        }
    }

    /// Short JSON-like text of a value, for messages.
    fn show(value: &Value) -> String {
        let text = match value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.clone(),
            Value::String(s) => format!("{s:?}"),
            Value::Array(items) => format!("an array of {} item(s)", items.len()),
            Value::Object(_) => "an object".to_owned(),
        };
        if text.chars().count() > 80 {
            let short: String = text.chars().take(77).collect();
            format!("{short}...")
        } else {
            text
        }
    }

    fn numbers_equal(a: &str, b: &str) -> bool {
        a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if x == y)
    }

    /// The first place where `file` (the readable copy) differs from `signed`, in words;
    /// `None` when they are the same JSON (member order and whitespace do not matter).
    pub fn first_difference(signed: &Value, file: &Value, path: &str) -> Option<String> {
        match (signed, file) {
            (Value::Object(a), Value::Object(b)) => {
                for (key, value) in a {
                    let here = format!("{path}.{key}");
                    match b.iter().find(|(k, _)| k == key) {
                        None => {
                            return Some(format!(
                                "{here} was removed (the signed payload has {})",
                                show(value)
                            ))
                        }
                        Some((_, other)) => {
                            if let Some(d) = first_difference(value, other, &here) {
                                return Some(d);
                            }
                        }
                    }
                }
                b.iter()
                    .find(|(k, _)| !a.iter().any(|(key, _)| key == k))
                    .map(|(k, v)| {
                        format!(
                            "{path}.{k} was added ({}; not in the signed payload)",
                            show(v)
                        )
                    })
            }
            (Value::Array(a), Value::Array(b)) => {
                for (index, (x, y)) in a.iter().zip(b).enumerate() {
                    if let Some(d) = first_difference(x, y, &format!("{path}[{index}]")) {
                        return Some(d);
                    }
                }
                (a.len() != b.len()).then(|| {
                    format!(
                        "{path} has {} item(s) in the file, {} in the signed payload",
                        b.len(),
                        a.len()
                    )
                })
            }
            (Value::Number(a), Value::Number(b)) if numbers_equal(a, b) => None,
            (a, b) if a == b => None,
            (a, b) => Some(format!(
                "{path} is {} in the file, {} in the signed payload",
                show(b),
                show(a)
            )),
        }
    }

    #[cfg(test)]
    #[allow(clippy::unwrap_used)]
    mod tests {
        use super::*;

        #[test]
        fn parses_and_compares() {
            let a =
                parse(r#"{"a": [1, 2.5e3, "x\u00e9\ud83d\ude00\n"], "b": {"c": null, "d": true}}"#)
                    .unwrap();
            let b = parse("{\"b\":{\"d\":true,\"c\":null},\"a\":[1,2500,\"x\u{e9}\u{1F600}\\n\"]}")
                .unwrap();
            assert_eq!(first_difference(&a, &b, "r"), None);
            let c = parse(r#"{"a": [1, 2.5e3, "y"], "b": {"c": null, "d": true}}"#).unwrap();
            let diff = first_difference(&a, &c, "r").unwrap();
            assert!(diff.starts_with("r.a[2] is \"y\" in the file"), "{diff}");
            let d = parse(r#"{"a": [1, 2.5e3, "x"], "b": {"c": null}, "e": 1}"#).unwrap();
            assert!(first_difference(&a, &d, "r").is_some());
        }

        #[test]
        fn refuses_bad_json() {
            for bad in [
                "{",
                "{\"a\" 1}",
                "[1,]",
                "01",
                "\"\\x\"",
                "{\"a\":1,\"a\":2}",
                "nul",
                "1 2",
                "\"\u{1}\"",
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::key::KeyAlgorithm;

    #[test]
    fn base64_round_trip() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64::encode(plain.as_bytes()), encoded);
            assert_eq!(base64::decode(encoded).unwrap(), plain.as_bytes());
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64::decode(&base64::encode(&all)).unwrap(), all);
        assert!(base64::decode("Zm9v!").is_err());
        assert!(base64::decode("Zg==Zm9v").is_err());
    }

    fn rcgen_error(e: rcgen::Error) -> PkiError {
        PkiError::Crypto(e.to_string())
    }

    /// A CA and a signer issued by it.
    fn signer(ca_name: &str) -> Result<(Certificate, Certificate, PrivateKey)> {
        let path = std::path::Path::new("test.pem");
        let ca_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, ca_name);
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca_pair = ca_key.rcgen_key_pair()?;
        let ca_der = ca_params.self_signed(&ca_pair).map_err(rcgen_error)?;
        let ca = Certificate::from_der(ca_der.der().to_vec(), path)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_pair);
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(rcgen_error)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "0000000000005010 WSS");
        let der = params
            .signed_by(&key.rcgen_key_pair()?, &issuer)
            .map_err(rcgen_error)?;
        let cert = Certificate::from_der(der.der().to_vec(), path)?;
        Ok((ca, cert, key))
    }

    const REPORT: &str = "{\n  \"url\": \"https://127.0.0.1:8443/\",\n  \"tls\": {\n    \"version\": \"TLSv1.3\"\n  },\n  \"usable\": true\n}";

    #[test]
    fn signs_and_verifies() {
        let (ca, cert, key) = signer("Tenant CA").unwrap();
        let file = sign_report(REPORT.as_bytes(), &cert, &key).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(
            text.starts_with("{\n  \"report\": {\n    \"url\""),
            "{text}"
        );

        let verified = verify_report(&file, std::slice::from_ref(&ca)).unwrap();
        assert!(verified.is_ok(), "{:?}", verified.problems());
        assert_eq!(verified.payload, REPORT.as_bytes());
        assert_eq!(verified.signers.len(), 1);
        assert!(verified.chain_checked);

        // One character of the readable copy changed: named.
        let edited = text.replacen("TLSv1.3", "TLSv1.2", 1);
        let verified = verify_report(edited.as_bytes(), &[]).unwrap();
        let problems = verified.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("edited")
                && problems[0].contains("report.tls.version is \"TLSv1.2\" in the file"),
            "{problems:?}"
        );

        // Another CA: untrusted signer.
        let (other_ca, _, _) = signer("Other CA").unwrap();
        let verified = verify_report(&file, &[other_ca]).unwrap();
        let problems = verified.problems();
        assert!(
            problems.iter().any(|p| p.contains("untrusted signer")),
            "{problems:?}"
        );

        // A payload re-signed by nobody: the signature no longer matches.
        let other_payload = base64::encode(REPORT.replace("true", "false").as_bytes());
        let start = text.find("\"payload\": \"").unwrap() + "\"payload\": \"".len();
        let end = start + text[start..].find('"').unwrap();
        let forged = format!("{}{}{}", &text[..start], other_payload, &text[end..]).replacen(
            "\"usable\": true",
            "\"usable\": false",
            1,
        );
        let verified = verify_report(forged.as_bytes(), &[]).unwrap();
        let problems = verified.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("bad signature"), "{problems:?}");

        // Not a report at all.
        assert!(verify_report(b"{\"report\": {}}", &[]).is_err());
        assert!(verify_report(b"not json", &[]).is_err());
        assert!(sign_report(b"[1]", &cert, &key).is_err());
    }
}

//! The report: what was seen at each step and the findings with what to do, as serialised
//! into the JSON report (which `medgate connect-check --report` signs); the command prints
//! the same report as text.

use std::time::Duration;

use medgate_pki::Certificate;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ConnectCheck, SigningKey};

impl ConnectCheck {
    pub(super) fn empty_report(&self) -> ConnectReport {
        let host = self.url.host_str().unwrap_or("").to_owned();
        let port = self.url.port_or_known_default().unwrap_or(443);
        let tls_facts = self.tls_chain.first().map(cert_facts);
        let tenant = self.tls_chain.first().and_then(tenant_of);
        ConnectReport {
            tool: self.tool.clone(),
            time: rfc3339(OffsetDateTime::now_utc()),
            url: self.url.to_string(),
            usable: false,
            summary: String::new(),
            client: ClientSide {
                tenant,
                tls_certificate: tls_facts.unwrap_or_default(),
                signing_key: self.signing_key,
                signing_certificate: cert_facts(&self.signer),
            },
            connection: ConnectionFacts {
                host,
                port,
                address: None,
                established: false,
                error: None,
            },
            tls: None,
            probe: None,
            client_certificate: CertificateVerdict::default(),
            signature: SignatureVerdict {
                valid: None,
                signed_with: self.signing_key,
                keyid: cert_facts(&self.signer).serial,
                code: None,
                message: None,
            },
            clock: None,
            latency_ms: Latency::default(),
            findings: Vec::new(),
        }
    }
}

/// The result of a check: what was seen at each step, and findings with what to do.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectReport {
    /// The program and version that made the check.
    pub tool: String,
    /// When the check started (RFC 3339, UTC).
    pub time: String,
    pub url: String,
    /// True when the connection is usable: TLS established, client certificate accepted,
    /// signature valid, and no error finding.
    pub usable: bool,
    /// One sentence: usable, or the first problem.
    pub summary: String,
    pub client: ClientSide,
    pub connection: ConnectionFacts,
    pub tls: Option<TlsFacts>,
    pub probe: Option<ProbeFacts>,
    pub client_certificate: CertificateVerdict,
    pub signature: SignatureVerdict,
    pub clock: Option<ClockFacts>,
    pub latency_ms: Latency,
    pub findings: Vec<Finding>,
}

impl ConnectReport {
    pub(super) fn add(
        &mut self,
        severity: Severity,
        code: &str,
        message: impl Into<String>,
        action: impl Into<String>,
    ) {
        self.findings.push(Finding {
            severity,
            code: code.to_owned(),
            message: message.into(),
            action: action.into(),
        });
    }

    pub(super) fn finish(&mut self) {
        let tls_ok = self.tls.as_ref().is_some_and(|t| t.established);
        let errors = self
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        self.usable = tls_ok
            && self.client_certificate.accepted == Some(true)
            && self.signature.valid == Some(true)
            && errors == 0;
        self.findings.sort_by_key(|f| f.severity);
        self.summary = if self.usable {
            let tls = self.tls.as_ref();
            format!(
                "the connection is usable: {} {}, client certificate accepted, signature valid",
                tls.and_then(|t| t.version.as_deref()).unwrap_or("TLS"),
                tls.and_then(|t| t.cipher_suite.as_deref()).unwrap_or("")
            )
        } else {
            match self.findings.iter().find(|f| f.severity == Severity::Error) {
                Some(first) => format!("the connection is not usable: {}", first.message),
                None => "the connection is not usable".to_owned(),
            }
        };
    }

    /// The number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The client's certificates.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClientSide {
    /// The tenant named by the TLS certificate's CN (`<tenant> TLS`), when it names one.
    pub tenant: Option<String>,
    pub tls_certificate: CertFacts,
    /// Which key signed the probe and the report.
    pub signing_key: SigningKey,
    pub signing_certificate: CertFacts,
}

impl Default for ClientSide {
    fn default() -> Self {
        ClientSide {
            tenant: None,
            tls_certificate: CertFacts::default(),
            signing_key: SigningKey::Wss,
            signing_certificate: CertFacts::default(),
        }
    }
}

/// A certificate, as a person checks it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    /// Upper-case hex.
    pub serial: String,
    pub not_before: String,
    pub not_after: String,
    /// Whole days until `not_after` (negative when expired).
    pub days_left: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_yet_valid: bool,
}

/// Name lookup and TCP.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ConnectionFacts {
    pub host: String,
    pub port: u16,
    /// The address connected to (or last tried).
    pub address: Option<String>,
    pub established: bool,
    pub error: Option<String>,
}

/// The TLS handshake.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TlsFacts {
    /// True when the handshake completed on the client side.
    pub established: bool,
    /// `TLSv1.3` or `TLSv1.2` (as OpenSSL names them).
    pub version: Option<String>,
    /// IANA name, e.g. `TLS_AES_256_GCM_SHA384`.
    pub cipher_suite: Option<String>,
    pub alpn: Option<String>,
    /// The name the server's certificate is checked against.
    pub server_name: String,
    /// True only when the chain was verified against --ca and the name matched.
    pub server_verified: bool,
    /// In words.
    pub verification: String,
    /// As the server sent it: its certificate first.
    pub server_chain: Vec<CertFacts>,
    /// Whether the server asked for a client certificate (`None`: the handshake did not
    /// get that far).
    pub client_certificate_requested: Option<bool>,
    /// The CAs the server said it accepts client certificates from.
    pub acceptable_client_cas: Vec<String>,
    /// True when the server refused the client certificate with a TLS alert.
    pub client_certificate_refused: bool,
    /// The TLS alert received, if any.
    pub alert: Option<String>,
    pub error: Option<String>,
}

/// The probe request and what the server answered about the connection.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProbeFacts {
    pub path: String,
    pub http_version: String,
    pub status: u16,
    /// The TLS version as the server saw it.
    pub server_tls_version: Option<String>,
    pub server_time: Option<String>,
    /// The client certificate as the server saw it.
    pub presented_certificate: Option<PresentedCertificate>,
}

/// Subject and serial of the certificate the server saw.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PresentedCertificate {
    pub subject: String,
    pub serial: String,
}

/// Whether the server accepted the client certificate.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CertificateVerdict {
    /// `None` when the check did not get far enough to know.
    pub accepted: Option<bool>,
    /// The account the certificate belongs to, when accepted.
    pub tenant: Option<String>,
    /// The server's refusal code (or `tls_alert` for a refusal in the handshake).
    pub code: Option<String>,
    pub message: Option<String>,
    /// True when the refusal came as a TLS alert, not as an answer.
    pub refused_during_handshake: bool,
}

/// Whether the server accepted the probe's RFC 9421 signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignatureVerdict {
    pub valid: Option<bool>,
    pub signed_with: SigningKey,
    /// The `keyid` sent: the signing certificate's serial.
    pub keyid: String,
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Default for SignatureVerdict {
    fn default() -> Self {
        SignatureVerdict {
            valid: None,
            signed_with: SigningKey::Wss,
            keyid: String::new(),
            code: None,
            message: None,
        }
    }
}

/// The server's clock against this computer's.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ClockFacts {
    pub server_time: String,
    /// The local time at the middle of the request.
    pub local_time: String,
    /// Server minus local, seconds (positive: the local clock is behind).
    pub skew_seconds: f64,
    /// True above 30 s.
    pub warning: bool,
}

/// Durations in milliseconds (0.1 ms resolution).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Latency {
    pub dns: Option<f64>,
    pub tcp_connect: Option<f64>,
    pub tls_handshake: Option<f64>,
    /// The probe's round trip: request sent to answer received.
    pub request: Option<f64>,
    pub total: Option<f64>,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// One thing found, and what to do about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub action: String,
}

pub(super) fn millis(duration: Duration) -> f64 {
    (duration.as_secs_f64() * 10_000.0).round() / 10.0
}

pub(super) fn rfc3339(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(time.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(time)
        .format(&Rfc3339)
        .unwrap_or_else(|_| time.to_string())
}

pub(super) fn cert_facts(certificate: &Certificate) -> CertFacts {
    match certificate.summary() {
        Ok(summary) => {
            let now = OffsetDateTime::now_utc();
            CertFacts {
                subject: summary.subject,
                issuer: summary.issuer,
                serial: summary.serial_hex,
                not_before: rfc3339(summary.not_before),
                not_after: rfc3339(summary.not_after),
                days_left: (summary.not_after - now).whole_days(),
                not_yet_valid: now < summary.not_before,
            }
        }
        Err(e) => CertFacts {
            subject: format!("(unreadable certificate: {e})"),
            ..CertFacts::default()
        },
    }
}

pub(super) fn tenant_of(certificate: &Certificate) -> Option<String> {
    certificate
        .summary()
        .ok()
        .and_then(|s| s.tenant_name)
        .map(|name| name.tenant.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_to_a_tenth() {
        assert_eq!(millis(Duration::from_micros(1_234)), 1.2);
    }

    #[test]
    fn findings_sort_worst_first_and_decide_usability() {
        let mut report = ConnectReport::default();
        report.add(Severity::Info, "i", "info", "");
        report.add(Severity::Error, "e", "broken", "");
        report.tls = Some(TlsFacts {
            established: true,
            ..TlsFacts::default()
        });
        report.client_certificate.accepted = Some(true);
        report.signature.valid = Some(true);
        report.finish();
        assert!(!report.usable);
        assert_eq!(report.findings[0].code, "e");
        assert_eq!(report.summary, "the connection is not usable: broken");
        report.findings.retain(|f| f.severity != Severity::Error);
        report.finish();
        assert!(report.usable, "{}", report.summary);
    }
}

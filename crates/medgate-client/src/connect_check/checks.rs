//! The checks: what each step saw — the client's own certificates and keys, the
//! connection, the handshake and the server's chain, the probe's answer about the
//! certificate and the signature, the clocks — turned into findings that say what to do.

use medgate_pki::keystore::key_belongs_to;
use medgate_pki::{Certificate, PrivateKey};
use rustls::{AlertDescription, CertificateError};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::probe::Recorded;
use super::report::{rfc3339, ClockFacts, ConnectReport, Severity, TlsFacts};
use super::tls::{describe_io, Observed};
use super::{
    settings_error, ConnectCheck, SigningKey, EXPIRY_WARNING_DAYS, SIGNATURE_MAX_AGE_SECONDS,
    SKEW_WARNING_SECONDS,
};
use crate::ClientError;

impl ConnectCheck {
    /// What can be said about the client's own certificates before connecting.
    pub(super) fn client_findings(&self, report: &mut ConnectReport) {
        let mut certificates = vec![("TLS", report.client.tls_certificate.clone())];
        if self.signing_key == SigningKey::Wss {
            certificates.push(("WSS", report.client.signing_certificate.clone()));
        }
        for (kind, facts) in certificates {
            if facts.not_yet_valid {
                report.add(
                    Severity::Error,
                    "client_certificate_not_yet_valid",
                    format!(
                        "the {kind} certificate ({}) is not valid before {}",
                        facts.subject, facts.not_before
                    ),
                    "wait until it is valid, or check this computer's clock",
                );
            } else if facts.days_left < 0 {
                report.add(
                    Severity::Error,
                    "client_certificate_expired",
                    format!(
                        "the {kind} certificate ({}) expired on {}",
                        facts.subject, facts.not_after
                    ),
                    "request a new certificate and register it (`medgate client update-certs`)",
                );
            } else if facts.days_left <= EXPIRY_WARNING_DAYS {
                report.add(
                    Severity::Warning,
                    "client_certificate_expiring",
                    format!(
                        "the {kind} certificate ({}) expires in {} day(s), on {}",
                        facts.subject, facts.days_left, facts.not_after
                    ),
                    "request a new certificate now and register it before the old one expires",
                );
            }
        }
        // A PKCS#12 identity (the clinical record service's institutions) has one key, which
        // signs as real requests are signed: nothing to note.
        if self.signing_key == SigningKey::Tls && !self.one_key_identity {
            report.add(
                Severity::Info,
                "signed_with_tls_key",
                "no WSS key was given (--wss-cert/--wss-key): the probe is signed with the TLS key",
                "the server checks signatures against the account's WSS certificate; give the WSS \
                 certificate and key to test message signing as real requests do it",
            );
        }
    }

    pub(super) fn timed_out(&self, report: &mut ConnectReport, step: &str) {
        let ms = self.timeout.as_millis();
        let message = format!("no answer within {ms} ms while {step}");
        if report.connection.error.is_none() {
            report.connection.error = Some(message.clone());
        }
        report.add(
            Severity::Error,
            "timeout",
            message,
            "check that the server is reachable from this network (a firewall that drops packets \
             looks like this), or raise --timeout-ms",
        );
    }

    /// Explains a failed handshake.
    pub(super) fn handshake_failure(
        &self,
        report: &mut ConnectReport,
        facts: &mut TlsFacts,
        seen: &Observed,
        tls_error: Option<&rustls::Error>,
        io_error: &std::io::Error,
    ) {
        if let Some(Err(error)) = &seen.verification {
            facts.server_verified = false;
            let (code, reason) = self.server_verification_problem(error);
            facts.verification = format!("server not verified: {reason}");
            let ca = self
                .ca
                .as_ref()
                .map(|(p, _)| p.display().to_string())
                .unwrap_or_default();
            report.add(
                Severity::Error,
                code,
                format!("server not verified: {reason}"),
                format!(
                    "give with --ca the CA that issued the repository's certificate (the repository's \
                     DATA/ca/ca.pem, from its operator), not {ca}; if it is the right CA, you may be \
                     talking to another server than you think"
                ),
            );
            return;
        }
        if let Some(rustls::Error::AlertReceived(alert)) = tls_error {
            if let Some(explanation) = client_certificate_alert(*alert) {
                self.refused_certificate(report, facts, *alert, explanation, true);
                return;
            }
            let message = format!(
                "the server ended the TLS handshake with the alert {alert:?}{}",
                match alert {
                    AlertDescription::HandshakeFailure
                    | AlertDescription::ProtocolVersion
                    | AlertDescription::InsufficientSecurity => {
                        ": no TLS version or cipher suite in common"
                    }
                    _ => "",
                }
            );
            facts.alert = Some(format!("{alert:?}"));
            report.add(
                Severity::Error,
                "tls_handshake_failed",
                message,
                "this client offers TLS 1.2 and 1.3 with modern cipher suites; ask the platform which it requires",
            );
            return;
        }
        let (code, message, action) = match tls_error {
            Some(rustls::Error::InvalidMessage(_))
            | Some(rustls::Error::InappropriateMessage { .. }) => (
                "not_tls",
                format!(
                    "the server does not answer with TLS at this address ({})",
                    describe_io(io_error)
                ),
                "check the port and that the URL starts with https:// for a TLS port",
            ),
            Some(rustls::Error::PeerIncompatible(problem)) => (
                "tls_incompatible",
                format!("the server's TLS parameters are not compatible: {problem:?}"),
                "ask the platform which TLS versions and cipher suites it requires",
            ),
            _ if matches!(
                io_error.kind(),
                std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::BrokenPipe
            ) =>
            {
                (
                    "tls_closed",
                    format!(
                        "the server closed the connection during the TLS handshake ({})",
                        describe_io(io_error)
                    ),
                    "the port may not be a TLS port, or a proxy in between refuses the connection",
                )
            }
            _ => (
                "tls_handshake_failed",
                format!("the TLS handshake failed: {}", describe_io(io_error)),
                "check the URL and the certificate files",
            ),
        };
        report.add(Severity::Error, code, message, action);
    }

    fn server_verification_problem(&self, error: &rustls::Error) -> (&'static str, String) {
        let ca = self
            .ca
            .as_ref()
            .map(|(p, _)| p.display().to_string())
            .unwrap_or_default();
        let host = self.url.host_str().unwrap_or("?");
        match error {
            rustls::Error::InvalidCertificate(problem) => match problem {
                CertificateError::UnknownIssuer => (
                    "server_certificate_untrusted",
                    format!(
                        "the server's certificate is not issued by the CA in {ca} (unknown issuer)"
                    ),
                ),
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => (
                    "server_name_mismatch",
                    format!("the server's certificate is not valid for the name '{host}'"),
                ),
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => (
                    "server_certificate_expired",
                    "the server's certificate has expired".to_owned(),
                ),
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => (
                    "server_certificate_not_yet_valid",
                    "the server's certificate is not valid yet (or this computer's clock is wrong)"
                        .to_owned(),
                ),
                CertificateError::Revoked => (
                    "server_certificate_revoked",
                    "the server's certificate has been revoked".to_owned(),
                ),
                other => (
                    "server_certificate_invalid",
                    format!("the server's certificate is not acceptable: {other:?}"),
                ),
            },
            other => (
                "server_certificate_invalid",
                format!("the server's certificate could not be verified: {other}"),
            ),
        }
    }

    fn refused_certificate(
        &self,
        report: &mut ConnectReport,
        facts: &mut TlsFacts,
        alert: AlertDescription,
        explanation: &str,
        during_handshake: bool,
    ) {
        facts.alert = Some(format!("{alert:?}"));
        facts.client_certificate_refused = true;
        report.client_certificate.accepted = Some(false);
        report.client_certificate.refused_during_handshake = true;
        report.client_certificate.code = Some("tls_alert".into());
        let issuer = &report.client.tls_certificate.issuer;
        // With TLS 1.3 the server checks the certificate after the client finished its part
        // of the handshake, so the alert arrives with the first read.
        let after = if during_handshake {
            ""
        } else {
            "; the alert arrived right after the handshake, as with TLS 1.3"
        };
        let message = format!(
            "the server refused the client certificate during the TLS handshake: TLS alert {alert:?} ({explanation}){after}"
        );
        report.client_certificate.message = Some(message.clone());
        let hints = &facts.acceptable_client_cas;
        let expected = if hints.is_empty() {
            String::new()
        } else {
            format!(
                "; the server accepts certificates issued by: {}",
                hints.join(" | ")
            )
        };
        report.add(
            Severity::Error,
            "client_certificate_refused",
            message,
            format!(
                "use a TLS certificate issued by the platform's tenant CA (yours is issued by {issuer}{expected}); \
                 if it is, it may have been revoked: request a new one"
            ),
        );
    }

    pub(super) fn tls_findings(&self, report: &mut ConnectReport, seen: &Observed) {
        let Some(facts) = report.tls.clone() else {
            return;
        };
        if self.ca.is_none() {
            report.add(
                Severity::Warning,
                "server_not_verified",
                "server not verified: no --ca given, so the server's chain is only reported, not checked",
                "give the repository's CA certificate with --ca (its DATA/ca/ca.pem, from the operator) \
                 to make sure this is the right server",
            );
        }
        if let Some(first) = facts.server_chain.first() {
            if first.days_left >= 0 && first.days_left <= EXPIRY_WARNING_DAYS {
                report.add(
                    Severity::Warning,
                    "server_certificate_expiring",
                    format!(
                        "the server's certificate expires in {} day(s), on {}",
                        first.days_left, first.not_after
                    ),
                    "tell the platform's operator",
                );
            }
        }
        if facts.version.as_deref() == Some("TLSv1.2") {
            report.add(
                Severity::Info,
                "tls12",
                "the connection uses TLS 1.2; TLS 1.3 is preferred",
                "nothing to do on this side",
            );
        }
        if !seen.client_auth_requested {
            report.add(
                Severity::Warning,
                "client_certificate_not_requested",
                "the server did not ask for a client certificate during the handshake",
                "the URL may point to a proxy or a server that does not authenticate institutions; check the URL",
            );
        } else if !facts.acceptable_client_cas.is_empty() {
            let issuer = &report.client.tls_certificate.issuer;
            if !facts.acceptable_client_cas.iter().any(|ca| ca == issuer) {
                report.add(
                    Severity::Warning,
                    "client_certificate_issuer_not_listed",
                    format!(
                        "the server asks for certificates issued by {}; the TLS certificate is issued by {issuer}",
                        facts.acceptable_client_cas.join(" | ")
                    ),
                    "use a TLS certificate issued by the platform's tenant CA",
                );
            }
        }
    }

    pub(super) fn request_failure(
        &self,
        report: &mut ConnectReport,
        error: &hyper::Error,
        recorded: Option<Recorded>,
    ) {
        if let Some(Recorded::Tls(rustls::Error::AlertReceived(alert))) = &recorded {
            if let Some(explanation) = client_certificate_alert(*alert) {
                if let Some(mut facts) = report.tls.take() {
                    self.refused_certificate(report, &mut facts, *alert, explanation, false);
                    facts.error = Some(format!("received fatal alert: {alert:?}"));
                    report.tls = Some(facts);
                }
                return;
            }
        }
        let mut chain = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        let recorded_text = match &recorded {
            Some(Recorded::Tls(e)) => format!(" ({e})"),
            Some(Recorded::Io(text)) => format!(" ({text})"),
            None => String::new(),
        };
        let closed = error.is_incomplete_message()
            || error.is_canceled()
            || matches!(recorded, Some(Recorded::Io(_)))
            || chain.contains("closed");
        if closed {
            report.add(
                Severity::Error,
                "closed_after_handshake",
                format!(
                    "the server closed the connection after the TLS handshake without answering the probe{recorded_text}"
                ),
                "the server may have refused the client certificate; check that it is issued by the \
                 platform's tenant CA and not revoked, and look at the server's log",
            );
        } else {
            report.add(
                Severity::Error,
                "probe_failed",
                format!("the probe request failed: {chain}{recorded_text}"),
                "check the URL; see the server's log",
            );
        }
    }

    pub(super) fn account_verdict(&self, report: &mut ConnectReport, answer: &serde_json::Value) {
        let account = &answer["account"];
        let text = |v: &serde_json::Value, key: &str| v[key].as_str().map(without_status);
        let accepted = account["accepted"].as_bool();
        report.client_certificate.accepted = accepted;
        report.client_certificate.tenant = text(account, "tenant");
        report.client_certificate.code = text(account, "code");
        report.client_certificate.message = text(account, "message");
        let signature = &answer["signature"];
        report.signature.valid = signature["valid"].as_bool();
        report.signature.code = text(signature, "code");
        report.signature.message = text(signature, "message");
        match accepted {
            Some(true) => {}
            Some(false) => {
                let code = report.client_certificate.code.clone().unwrap_or_default();
                let message = report
                    .client_certificate
                    .message
                    .clone()
                    .unwrap_or_default();
                let action = match code.as_str() {
                    "certificate_not_registered" => {
                        "register the certificates and activate the account (`medgate client activate`), \
                         or use the account's current TLS certificate"
                    }
                    "wrong_certificate_kind" => "present the TLS certificate (CN=<tenant> TLS), not the WSS one",
                    "wrong_tenant_certificate" => "present this account's own TLS certificate",
                    "account_suspended" | "account_expired" | "account_not_yet_valid" => {
                        "contact the platform's operator"
                    }
                    "account_not_active" => "activate the account (`medgate client activate`)",
                    _ => "see the server's message",
                };
                report.add(
                    Severity::Error,
                    "client_certificate_not_accepted",
                    format!("client certificate not accepted by the server: {code}: {message}"),
                    action,
                );
            }
            None => report.add(
                Severity::Error,
                "probe_unreadable",
                "the probe answer does not say whether the certificate was accepted",
                "check that the URL is a medgate repository",
            ),
        }
        match report.signature.valid {
            Some(true) => {}
            Some(false) if accepted == Some(false) => report.add(
                Severity::Info,
                "signature_not_checked",
                "the signature could not be checked because the client certificate was not accepted",
                "fix the certificate first",
            ),
            Some(false) => {
                let code = report.signature.code.clone().unwrap_or_default();
                let message = report.signature.message.clone().unwrap_or_default();
                let action = match (self.signing_key, code.as_str()) {
                    (SigningKey::Tls, _) => {
                        "sign with the WSS key registered for the account (--wss-cert/--wss-key)"
                    }
                    (_, "unknown_key") => {
                        "sign with the WSS key of the certificate registered for the account \
                         (`medgate client account` lists it)"
                    }
                    (_, "signature_expired" | "signature_in_future" | "created_in_future") => {
                        "set this computer's clock right (NTP)"
                    }
                    _ => "see the server's message",
                };
                report.add(
                    Severity::Error,
                    "signature_invalid",
                    format!("signature not valid: {code}: {message}"),
                    action,
                );
            }
            None => report.add(
                Severity::Error,
                "probe_unreadable",
                "the probe answer does not say whether the signature was valid",
                "check that the URL is a medgate repository",
            ),
        }
    }

    pub(super) fn clock(
        &self,
        report: &mut ConnectReport,
        answer: &serde_json::Value,
        before: OffsetDateTime,
        after: OffsetDateTime,
    ) {
        let Some(server_time) = answer["server_time"]
            .as_str()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        else {
            return;
        };
        let round_trip: time::Duration = after - before;
        let midpoint = before + round_trip / 2;
        let difference: time::Duration = server_time - midpoint;
        let skew = difference.as_seconds_f64();
        let skew = (skew * 10.0).round() / 10.0;
        let warning = skew.abs() > SKEW_WARNING_SECONDS;
        report.clock = Some(ClockFacts {
            server_time: rfc3339(server_time),
            local_time: rfc3339(midpoint),
            skew_seconds: skew,
            warning,
        });
        if skew.abs() > SIGNATURE_MAX_AGE_SECONDS {
            report.add(
                Severity::Error,
                "clock_skew",
                format!(
                    "this computer's clock is {:.0} s {} the server's: signatures older than {SIGNATURE_MAX_AGE_SECONDS:.0} s are refused",
                    skew.abs(),
                    if skew > 0.0 { "behind" } else { "ahead of" }
                ),
                "set the clock right (NTP) before sending documents",
            );
        } else if warning {
            report.add(
                Severity::Warning,
                "clock_skew",
                format!(
                    "this computer's clock is {:.0} s {} the server's (more than {SKEW_WARNING_SECONDS:.0} s)",
                    skew.abs(),
                    if skew > 0.0 { "behind" } else { "ahead of" }
                ),
                "set the clock right (NTP); signatures older than 300 s are refused",
            );
        }
    }
}

/// The server's message without the `403 (code): ` that its error text starts with (the
/// report gives the code on its own).
fn without_status(message: &str) -> String {
    let bytes = message.as_bytes();
    if bytes.len() > 6
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && message[3..].starts_with(" (")
    {
        if let Some(end) = message.find("): ") {
            return message[end + 3..].to_owned();
        }
    }
    message.to_owned()
}

/// The alerts a server sends when it does not accept the client certificate, explained.
fn client_certificate_alert(alert: AlertDescription) -> Option<&'static str> {
    Some(match alert {
        AlertDescription::UnknownCA => "the certificate is not issued by a CA the server trusts",
        AlertDescription::CertificateRevoked => "the certificate has been revoked",
        AlertDescription::CertificateExpired => {
            "the server considers the certificate expired or not yet valid"
        }
        AlertDescription::BadCertificate
        | AlertDescription::UnsupportedCertificate
        | AlertDescription::CertificateUnknown => {
            "the certificate is damaged or not usable for client authentication"
        }
        AlertDescription::CertificateRequired | AlertDescription::NoCertificate => {
            "the server requires a client certificate"
        }
        AlertDescription::DecryptError => {
            "the handshake signature did not verify: the key may not belong to the certificate"
        }
        AlertDescription::AccessDenied => "access denied",
        _ => return None,
    })
}

/// Checks that `key` belongs to `certificate`, naming the classic mix-up of the other
/// kind's key.
pub(super) fn check_pair(
    kind: &str,
    key: &PrivateKey,
    key_path: &std::path::Path,
    certificate: &Certificate,
    other: Option<&Certificate>,
) -> Result<(), ClientError> {
    if key_belongs_to(key, certificate).map_err(settings_error)? {
        return Ok(());
    }
    let other_kind = if kind == "TLS" { "WSS" } else { "TLS" };
    if let Some(other) = other {
        if key_belongs_to(key, other).map_err(settings_error)? {
            return Err(ClientError::Settings(format!(
                "{}: this is the {other_kind} key (it belongs to {}), given in place of the {kind} key",
                key_path.display(),
                other.source().display(),
            )));
        }
    }
    Err(ClientError::Settings(format!(
        "{}: the {kind} key does not belong to the {kind} certificate {}; the TLS handshake would fail",
        key_path.display(),
        certificate.source().display()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_lose_their_status() {
        assert_eq!(
            without_status("403 (certificate_not_registered): Certificate X"),
            "Certificate X"
        );
        assert_eq!(
            without_status("Certificate X (a): b"),
            "Certificate X (a): b"
        );
    }
}

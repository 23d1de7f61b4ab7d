//! The two kinds of tenant certificate and how the subject names them: `CN=<tenant id> TLS`
//! for client authentication, `CN=<tenant id> WSS` for message signing.

use std::fmt;

use medgate_ids::TenantId;

use crate::error::{PkiError, Result};

/// What a tenant certificate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CertKind {
    /// Mutual-TLS client authentication (extendedKeyUsage clientAuth).
    Tls,
    /// Message signing (keyUsage digitalSignature + nonRepudiation).
    Wss,
}

impl CertKind {
    /// Parses `tls` or `wss` (any case).
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "tls" => Ok(CertKind::Tls),
            "wss" => Ok(CertKind::Wss),
            other => Err(PkiError::Invalid(format!(
                "unknown certificate kind '{other}': use tls or wss"
            ))),
        }
    }

    /// The suffix of the common name: `TLS` or `WSS`.
    pub fn suffix(self) -> &'static str {
        match self {
            CertKind::Tls => "TLS",
            CertKind::Wss => "WSS",
        }
    }

    /// The other kind (the one a mixed-up file usually belongs to).
    pub fn other(self) -> Self {
        match self {
            CertKind::Tls => CertKind::Wss,
            CertKind::Wss => CertKind::Tls,
        }
    }

    /// The file stem used for this kind's key, CSR and certificate: `tls` or `wss`.
    pub fn file_stem(self) -> &'static str {
        match self {
            CertKind::Tls => "tls",
            CertKind::Wss => "wss",
        }
    }

    /// The common name a tenant's certificate of this kind must carry.
    pub fn common_name(self, tenant: &TenantId) -> String {
        format!("{tenant} {}", self.suffix())
    }
}

impl fmt::Display for CertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// A common name split into tenant id and kind, when it has the `<16 digits> TLS|WSS` form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantCommonName {
    pub tenant: TenantId,
    pub kind: CertKind,
}

impl TenantCommonName {
    /// Reads a common name; `None` when it is not of the tenant form.
    pub fn parse(common_name: &str) -> Option<Self> {
        let (tenant, suffix) = common_name.trim().rsplit_once(' ')?;
        let kind = match suffix {
            "TLS" => CertKind::Tls,
            "WSS" => CertKind::Wss,
            _ => return None,
        };
        let tenant = TenantId::parse(tenant.trim()).ok()?;
        Some(TenantCommonName { tenant, kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_common_names_are_recognised() {
        let parsed = TenantCommonName::parse("0000000000005010 WSS");
        assert_eq!(parsed.map(|p| (p.tenant.to_string(), p.kind)), Some(("0000000000005010".into(), CertKind::Wss)));
        assert_eq!(TenantCommonName::parse("0000000000005010 tls"), None);
        assert_eq!(TenantCommonName::parse("clinic.example"), None);
        assert_eq!(TenantCommonName::parse("12345 TLS"), None);
    }
}

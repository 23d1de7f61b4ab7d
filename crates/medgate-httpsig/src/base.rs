//! Signature parameters (the inner list of a `Signature-Input` member) and the signature base
//! of RFC 9421 §2.5: one `"<component>": <value>` line per covered component, in order, and
//! the `"@signature-params"` line last, joined with LF and no trailing newline.

use crate::component::{Component, RequestView};
use crate::error::{HttpSigError, Result};

/// The metadata parameters defined by RFC 9421 §2.3, in the order this crate writes them.
const KNOWN_PARAMETERS: [&str; 6] = ["created", "expires", "keyid", "alg", "nonce", "tag"];

#[derive(Clone, Debug, PartialEq)]
enum ReceivedParameter {
    Known(&'static str),
    Other(sfv::Key, sfv::BareItem),
}

/// The covered components and metadata of one signature (`Signature-Input` member).
///
/// Parameters read from a request keep their order (and unknown parameters are kept), so that
/// the `@signature-params` line is the one the signer signed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SignatureParams {
    /// The covered components, in order.
    pub components: Vec<Component>,
    /// `created`: UNIX time the signature was made.
    pub created: Option<i64>,
    /// `expires`: UNIX time after which the signature is void.
    pub expires: Option<i64>,
    /// `keyid`: which key signed.
    pub keyid: Option<String>,
    /// `alg`: the algorithm name (RFC 9421 registry).
    pub alg: Option<String>,
    /// `nonce`: a value the signer never repeats.
    pub nonce: Option<String>,
    /// `tag`: the application the signature is meant for.
    pub tag: Option<String>,
    received: Vec<ReceivedParameter>,
}

fn sf_string(value: &str, what: &str) -> Result<sfv::BareItem> {
    sfv::String::from_string(value.to_owned())
        .map(sfv::BareItem::String)
        .map_err(|(e, _)| {
            HttpSigError::invalid_request(format!(
                "the {what} parameter must be printable ASCII ({e})"
            ))
        })
}

fn sf_integer(value: i64, what: &str) -> Result<sfv::BareItem> {
    sfv::Integer::try_from(value)
        .map(sfv::BareItem::Integer)
        .map_err(|e| HttpSigError::invalid_request(format!("the {what} parameter: {e}")))
}

impl SignatureParams {
    /// Parameters covering `components`, without metadata yet.
    pub fn new(components: Vec<Component>) -> Self {
        SignatureParams {
            components,
            ..SignatureParams::default()
        }
    }

    fn known_value(&self, name: &str) -> Result<Option<sfv::BareItem>> {
        Ok(match name {
            "created" => self.created.map(|v| sf_integer(v, name)).transpose()?,
            "expires" => self.expires.map(|v| sf_integer(v, name)).transpose()?,
            "keyid" => self
                .keyid
                .as_deref()
                .map(|v| sf_string(v, name))
                .transpose()?,
            "alg" => self
                .alg
                .as_deref()
                .map(|v| sf_string(v, name))
                .transpose()?,
            "nonce" => self
                .nonce
                .as_deref()
                .map(|v| sf_string(v, name))
                .transpose()?,
            "tag" => self
                .tag
                .as_deref()
                .map(|v| sf_string(v, name))
                .transpose()?,
            _ => None,
        })
    }

    /// The parameters in serialization order.
    fn parameters(&self) -> Result<sfv::Parameters> {
        let mut parameters = sfv::Parameters::new();
        let key = |name: &str| {
            sfv::Key::from_string(name.to_owned())
                .map_err(|(e, _)| HttpSigError::invalid_request(e.to_string()))
        };
        for received in &self.received {
            match received {
                ReceivedParameter::Known(name) => {
                    if let Some(value) = self.known_value(name)? {
                        parameters.insert(key(name)?, value);
                    }
                }
                ReceivedParameter::Other(name, value) => {
                    parameters.insert(name.clone(), value.clone());
                }
            }
        }
        for name in KNOWN_PARAMETERS {
            if parameters.contains_key(name) {
                continue;
            }
            if let Some(value) = self.known_value(name)? {
                parameters.insert(key(name)?, value);
            }
        }
        Ok(parameters)
    }

    fn inner_list(&self) -> Result<sfv::InnerList> {
        let items = self
            .components
            .iter()
            .map(Component::to_item)
            .collect::<Result<Vec<_>>>()?;
        Ok(sfv::InnerList::with_params(items, self.parameters()?))
    }

    /// The serialized inner list, e.g. `("@method" "@path");created=1618884473;keyid="k"`:
    /// the value of the `@signature-params` line and of the `Signature-Input` member.
    pub fn serialize(&self) -> Result<String> {
        let inner_list = sfv::ListEntry::InnerList(self.inner_list()?);
        let mut serializer = sfv::ListSerializer::new();
        serializer.members([&inner_list]);
        Ok(serializer.finish().unwrap_or_default())
    }

    /// Reads one `Signature-Input` member (`label` names it in errors).
    pub(crate) fn from_inner_list(label: &str, inner_list: &sfv::InnerList) -> Result<Self> {
        let mut params = SignatureParams::default();
        for item in &inner_list.items {
            let component = Component::from_item(item, true).map_err(|e| match e {
                HttpSigError::MalformedSignatureInput { reason } => {
                    HttpSigError::malformed(format!("signature '{label}': {reason}"))
                }
                other => other,
            })?;
            params.components.push(component);
        }
        for (key, value) in &inner_list.params {
            let name = key.as_str();
            let wrong_type = |expected: &str| {
                HttpSigError::malformed(format!(
                    "signature '{label}': parameter {name} must be {expected}"
                ))
            };
            let integer = || -> Result<i64> {
                value
                    .as_integer()
                    .map(i64::from)
                    .ok_or_else(|| wrong_type("an integer (UNIX seconds)"))
            };
            let string = || -> Result<String> {
                value
                    .as_string()
                    .map(|s| s.as_str().to_owned())
                    .ok_or_else(|| wrong_type("a quoted string"))
            };
            match name {
                "created" => params.created = Some(integer()?),
                "expires" => params.expires = Some(integer()?),
                "keyid" => params.keyid = Some(string()?),
                "alg" => params.alg = Some(string()?),
                "nonce" => params.nonce = Some(string()?),
                "tag" => params.tag = Some(string()?),
                _ => {
                    params
                        .received
                        .push(ReceivedParameter::Other(key.clone(), value.clone()));
                    continue;
                }
            }
            if let Some(known) = KNOWN_PARAMETERS.iter().find(|k| **k == name) {
                params.received.push(ReceivedParameter::Known(known));
            }
        }
        Ok(params)
    }

    /// Names of the covered components, for messages and [`crate::VerifiedSignature`].
    pub fn component_names(&self) -> Vec<String> {
        self.components.iter().map(ToString::to_string).collect()
    }
}

/// Builds the signature base of `request` for `params` (RFC 9421 §2.5).
pub fn signature_base(request: &RequestView<'_>, params: &SignatureParams) -> Result<String> {
    let mut base = String::new();
    let mut seen = Vec::with_capacity(params.components.len());
    for component in &params.components {
        if seen.contains(&component) {
            return Err(HttpSigError::malformed(format!(
                "component {component} is covered twice"
            )));
        }
        seen.push(component);
        let value = component.value(request)?;
        base.push_str(&component.identifier()?);
        base.push_str(": ");
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&params.serialize()?);
    Ok(base)
}

/// Parses a `Signature-Input` value (several field lines joined with `", "`) into its labelled
/// members, in order.
pub fn parse_signature_input(value: &str) -> Result<Vec<(String, SignatureParams)>> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(value).parse().map_err(|e| {
        HttpSigError::malformed(format!(
            "Signature-Input is not a structured dictionary ({e})"
        ))
    })?;
    let mut members = Vec::with_capacity(dictionary.len());
    for (label, entry) in &dictionary {
        let sfv::ListEntry::InnerList(inner_list) = entry else {
            return Err(HttpSigError::malformed(format!(
                "Signature-Input member '{}' must be an inner list like (\"@method\" \"@path\");created=…",
                label.as_str()
            )));
        };
        members.push((
            label.as_str().to_owned(),
            SignatureParams::from_inner_list(label.as_str(), inner_list)?,
        ));
    }
    Ok(members)
}

/// Parses a `Signature` value into its labelled signature bytes, in order.
pub fn parse_signature(value: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(value).parse().map_err(|e| {
        HttpSigError::malformed(format!("Signature is not a structured dictionary ({e})"))
    })?;
    let mut members = Vec::with_capacity(dictionary.len());
    for (label, entry) in &dictionary {
        let bytes = match entry {
            sfv::ListEntry::Item(item) => item.bare_item.as_byte_sequence(),
            sfv::ListEntry::InnerList(_) => None,
        };
        let Some(bytes) = bytes else {
            return Err(HttpSigError::malformed(format!(
                "Signature member '{}' must be a byte sequence :<base64>:",
                label.as_str()
            )));
        };
        members.push((label.as_str().to_owned(), bytes.to_vec()));
    }
    Ok(members)
}

/// Serializes `label=<inner list>` for the `Signature-Input` header.
pub(crate) fn signature_input_header(label: &str, params: &SignatureParams) -> Result<String> {
    let key = label_key(label)?;
    let mut dictionary = sfv::Dictionary::new();
    dictionary.insert(key, sfv::ListEntry::InnerList(params.inner_list()?));
    let mut serializer = sfv::DictSerializer::new();
    serializer.members(&dictionary);
    serializer
        .finish()
        .ok_or_else(|| HttpSigError::invalid_request("empty Signature-Input"))
}

/// Serializes `label=:<base64>:` for the `Signature` header.
pub(crate) fn signature_header(label: &str, signature: &[u8]) -> Result<String> {
    let key = label_key(label)?;
    let mut serializer = sfv::DictSerializer::new();
    _ = serializer.bare_item(&key, signature);
    serializer
        .finish()
        .ok_or_else(|| HttpSigError::invalid_request("empty Signature"))
}

pub(crate) fn label_key(label: &str) -> Result<sfv::Key> {
    sfv::Key::from_string(label.to_owned()).map_err(|(e, _)| {
        HttpSigError::invalid_request(format!(
            "signature label '{label}' is not a structured-field key: use lower-case letters, \
             digits, '_', '-', '.', '*' ({e})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_parameter_order_and_unknown_parameters_are_kept() -> Result<()> {
        let input = r#"sig1=("@method" "@path");keyid="k";x-custom=?1;created=1618884473;alg="rsa-v1_5-sha256""#;
        let members = parse_signature_input(input)?;
        assert_eq!(members.len(), 1);
        let (label, params) = &members[0];
        assert_eq!(label, "sig1");
        assert_eq!(params.created, Some(1_618_884_473));
        assert_eq!(params.keyid.as_deref(), Some("k"));
        assert_eq!(
            params.serialize()?,
            r#"("@method" "@path");keyid="k";x-custom;created=1618884473;alg="rsa-v1_5-sha256""#
        );
        assert_eq!(
            signature_input_header(label, params)?,
            input.replace("=?1", "")
        );
        Ok(())
    }

    #[test]
    fn new_parameters_are_written_in_a_fixed_order() -> Result<()> {
        let mut params = SignatureParams::new(vec![Component::parse("@method")?]);
        params.tag = Some("medgate".into());
        params.alg = Some("ecdsa-p256-sha256".into());
        params.keyid = Some("wss".into());
        params.created = Some(1);
        assert_eq!(
            params.serialize()?,
            r#"("@method");created=1;keyid="wss";alg="ecdsa-p256-sha256";tag="medgate""#
        );
        assert_eq!(signature_header("sig1", b"\x01\x02\x03")?, "sig1=:AQID:");
        Ok(())
    }

    #[test]
    fn type_errors_are_malformed() {
        for input in [
            r#"sig1=("@method");created="yesterday""#,
            r#"sig1=("@method");keyid=token"#,
            r#"sig1=(@method)"#,
            r#"sig1="not a list""#,
            r#"sig1=("Content-Type")"#,
            r#"sig1=("@method";bs)"#,
            "sig1=(",
        ] {
            let code = parse_signature_input(input).err().map(|e| e.code());
            assert_eq!(code, Some("malformed_signature_input"), "{input}");
        }
        let code = parse_signature("sig1=\"text\"").err().map(|e| e.code());
        assert_eq!(code, Some("malformed_signature_input"));
        let code = signature_header("Sig", b"x").err().map(|e| e.code());
        assert_eq!(code, Some("invalid_request"));
    }
}

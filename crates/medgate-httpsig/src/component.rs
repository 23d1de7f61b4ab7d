//! Covered components (RFC 9421 §2): their identifiers (`"@method"`, `"content-digest"`,
//! `"@query-param";name="Pet"`) and their values taken from a request: derived components
//! from the method and target URI, header fields with their values trimmed and several field
//! lines joined with `", "`.

use std::fmt;

use http::{HeaderMap, Method, Uri};

use crate::error::{HttpSigError, Result};

/// The derived components of a request that this crate computes.
pub const DERIVED_COMPONENTS: [&str; 8] = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
    "@query-param",
];

/// A parameter of a component identifier that this crate supports.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ComponentParameter {
    /// `;name="…"` of `@query-param` (§2.2.8): which query parameter.
    Name(String),
    /// `;key="…"` of a dictionary-structured header field (§2.1.2): which member.
    Key(String),
}

/// A covered component identifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Component {
    name: String,
    parameter: Option<ComponentParameter>,
}

impl Component {
    /// Parses a component as a person writes it: `@method`, `Content-Digest` (header names
    /// are lower-cased), or the serialized identifier `"@query-param";name="Pet"`.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.starts_with('"') {
            let item: sfv::Item = sfv::Parser::new(text)
                .parse()
                .map_err(|e| HttpSigError::malformed(format!("component {text}: {e}")))?;
            return Self::from_item(&item, true);
        }
        if let Some((name, parameters)) = text.split_once(';') {
            // `@query-param;name="Pet"` written without the quotes around the name.
            let quoted = format!("\"{}\";{parameters}", name.trim().to_ascii_lowercase());
            return Self::parse(&quoted);
        }
        Self::from_parts(&text.to_ascii_lowercase(), None)
    }

    /// A header field component, e.g. `content-type`.
    pub fn field(name: &str) -> Result<Self> {
        Self::from_parts(&name.to_ascii_lowercase(), None)
    }

    /// `"@query-param";name="<name>"`; `name` is given as it appears (percent-encoded) in the
    /// query.
    pub fn query_param(name: &str) -> Self {
        Component {
            name: "@query-param".to_owned(),
            parameter: Some(ComponentParameter::Name(name.to_owned())),
        }
    }

    /// `"<field>";key="<key>"`: one member of a dictionary header field.
    pub fn dictionary_member(field: &str, key: &str) -> Result<Self> {
        Self::from_parts(
            &field.to_ascii_lowercase(),
            Some(ComponentParameter::Key(key.to_owned())),
        )
    }

    /// A known-good component name (crate-internal constants).
    pub(crate) fn known(name: &str) -> Self {
        Component {
            name: name.to_owned(),
            parameter: None,
        }
    }

    fn from_parts(name: &str, parameter: Option<ComponentParameter>) -> Result<Self> {
        if name.is_empty() {
            return Err(HttpSigError::malformed("empty component name"));
        }
        if let Some(derived) = name.strip_prefix('@') {
            if !DERIVED_COMPONENTS.contains(&name) {
                let reason = match derived {
                    "status" => "@status belongs to responses, not requests".to_owned(),
                    "signature-params" => {
                        "@signature-params cannot be a covered component".to_owned()
                    }
                    _ => format!(
                        "unknown derived component {name} (known: {})",
                        DERIVED_COMPONENTS.join(", ")
                    ),
                };
                return Err(HttpSigError::malformed(reason));
            }
            match (&parameter, name) {
                (Some(ComponentParameter::Name(_)), "@query-param") => {}
                (None, "@query-param") => {
                    return Err(HttpSigError::malformed(
                        "@query-param needs a name parameter: \"@query-param\";name=\"…\"",
                    ))
                }
                (None, _) => {}
                (Some(_), _) => {
                    return Err(HttpSigError::malformed(format!(
                        "{name} takes no parameters"
                    )))
                }
            }
        } else {
            let token_chars = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if !name.chars().all(token_chars) {
                return Err(HttpSigError::malformed(format!(
                    "\"{name}\" is not an HTTP field name"
                )));
            }
            if matches!(parameter, Some(ComponentParameter::Name(_))) {
                return Err(HttpSigError::malformed(format!(
                    "the name parameter belongs to @query-param, not to {name}"
                )));
            }
        }
        Ok(Component {
            name: name.to_owned(),
            parameter,
        })
    }

    /// Reads a component identifier from a parsed Signature-Input. `strict` refuses upper-case
    /// names (RFC 9421 §2.1: names are lower-cased by the signer).
    pub(crate) fn from_item(item: &sfv::Item, strict: bool) -> Result<Self> {
        let Some(name) = item.bare_item.as_string() else {
            return Err(HttpSigError::malformed(
                "component identifiers must be quoted strings, e.g. (\"@method\" \"@path\")",
            ));
        };
        let name = name.as_str();
        if strict && name.chars().any(|c| c.is_ascii_uppercase()) {
            return Err(HttpSigError::malformed(format!(
                "component name \"{name}\" must be lower case"
            )));
        }
        let mut parameter = None;
        for (key, value) in &item.params {
            let value = match (key.as_str(), value.as_string()) {
                ("name", Some(value)) => ComponentParameter::Name(value.as_str().to_owned()),
                ("key", Some(value)) => ComponentParameter::Key(value.as_str().to_owned()),
                ("name" | "key", None) => {
                    return Err(HttpSigError::malformed(format!(
                        "the {} parameter of \"{name}\" must be a string",
                        key.as_str()
                    )))
                }
                (other, _) => {
                    return Err(HttpSigError::malformed(format!(
                        "component parameter ;{other} on \"{name}\" is not supported \
                         (supported: name on @query-param, key on dictionary fields)"
                    )))
                }
            };
            if parameter.replace(value).is_some() {
                return Err(HttpSigError::malformed(format!(
                    "\"{name}\" has more than one parameter"
                )));
            }
        }
        Self::from_parts(name, parameter)
    }

    /// The structured-field item of this identifier.
    pub(crate) fn to_item(&self) -> Result<sfv::Item> {
        let name = sfv::String::from_string(self.name.clone())
            .map_err(|(e, _)| HttpSigError::malformed(format!("component {}: {e}", self.name)))?;
        let mut params = sfv::Parameters::new();
        if let Some(parameter) = &self.parameter {
            let (key, value) = match parameter {
                ComponentParameter::Name(value) => ("name", value),
                ComponentParameter::Key(value) => ("key", value),
            };
            let key = sfv::Key::from_string(key.to_owned())
                .map_err(|(e, _)| HttpSigError::malformed(e.to_string()))?;
            let value = sfv::String::from_string(value.clone()).map_err(|(e, _)| {
                HttpSigError::malformed(format!("parameter of {}: {e}", self.name))
            })?;
            params.insert(key, sfv::BareItem::String(value));
        }
        Ok(sfv::Item::with_params(sfv::BareItem::String(name), params))
    }

    /// The serialized identifier as it appears in the signature base and Signature-Input,
    /// e.g. `"@query-param";name="Pet"`.
    pub fn identifier(&self) -> Result<String> {
        let item = self.to_item()?;
        Ok(sfv::ItemSerializer::new()
            .bare_item(&item.bare_item)
            .parameters(&item.params)
            .finish())
    }

    /// The component name, e.g. `@method` or `content-digest`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The supported parameter, if any.
    pub fn parameter(&self) -> Option<&ComponentParameter> {
        self.parameter.as_ref()
    }

    /// True for derived components (`@…`).
    pub fn is_derived(&self) -> bool {
        self.name.starts_with('@')
    }

    /// The component's value in `request` (RFC 9421 §2.1, §2.2).
    pub fn value(&self, request: &RequestView<'_>) -> Result<String> {
        match self.name.as_str() {
            "@method" => Ok(request.method.as_str().to_owned()),
            "@scheme" => Ok(request.scheme()?.to_ascii_lowercase()),
            "@authority" => request.normalized_authority(),
            "@target-uri" => Ok(format!(
                "{}://{}{}{}",
                request.scheme()?,
                request.authority()?,
                request.path(),
                request.query().map(|q| format!("?{q}")).unwrap_or_default()
            )),
            "@request-target" => Ok(format!(
                "{}{}",
                request.path(),
                request.query().map(|q| format!("?{q}")).unwrap_or_default()
            )),
            "@path" => Ok(request.path().to_owned()),
            "@query" => Ok(format!("?{}", request.query().unwrap_or_default())),
            "@query-param" => {
                let Some(ComponentParameter::Name(name)) = &self.parameter else {
                    return Err(HttpSigError::malformed("@query-param without a name"));
                };
                query_param_value(request.query().unwrap_or_default(), name)
            }
            field => {
                let value = combined_field_value(request.headers, field)?.ok_or_else(|| {
                    HttpSigError::MissingComponent {
                        component: format!("header {field}"),
                    }
                })?;
                match &self.parameter {
                    Some(ComponentParameter::Key(key)) => dictionary_member(field, &value, key),
                    _ => Ok(value),
                }
            }
        }
    }
}

impl fmt::Display for Component {
    /// `@method`, `content-digest`, `@query-param;name="Pet"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match &self.parameter {
            Some(ComponentParameter::Name(name)) => write!(f, ";name=\"{name}\""),
            Some(ComponentParameter::Key(key)) => write!(f, ";key=\"{key}\""),
            None => Ok(()),
        }
    }
}

/// The parts of a request that signatures cover. `uri` must carry the scheme and authority
/// the client used (a server rebuilds it from its listener and the `Host` header); when it
/// has no authority, the `Host` header is used for `@authority`.
#[derive(Clone, Copy, Debug)]
pub struct RequestView<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

impl<'a> RequestView<'a> {
    /// Bundles the parts.
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap) -> Self {
        RequestView {
            method,
            uri,
            headers,
        }
    }

    fn scheme(&self) -> Result<&str> {
        self.uri.scheme_str().ok_or_else(|| {
            HttpSigError::invalid_request(format!(
                "the request URI {} has no scheme; use the absolute URI the client addressed \
                 (https://host:port/path)",
                self.uri
            ))
        })
    }

    /// The authority as written (without user information), from the URI or the Host header.
    fn authority(&self) -> Result<String> {
        if let Some(authority) = self.uri.authority() {
            let text = authority.as_str();
            let without_user = text.rsplit_once('@').map_or(text, |(_, host)| host);
            return Ok(without_user.to_owned());
        }
        match self.headers.get(http::header::HOST).map(|v| v.to_str()) {
            Some(Ok(host)) if !host.trim().is_empty() => Ok(host.trim().to_owned()),
            _ => Err(HttpSigError::invalid_request(format!(
                "the request URI {} has no authority and there is no Host header",
                self.uri
            ))),
        }
    }

    /// §2.2.3: lower-case host, default port (80 for http, 443 for https) removed.
    fn normalized_authority(&self) -> Result<String> {
        let authority = self.authority()?.to_ascii_lowercase();
        let scheme = self
            .uri
            .scheme_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => Some("80"),
            "https" => Some("443"),
            _ => None,
        };
        // The port follows the last ':' unless that ':' is inside an IPv6 literal.
        if let Some((host, port)) = authority.rsplit_once(':') {
            if !port.contains(']') && port.chars().all(|c| c.is_ascii_digit()) {
                let port_trimmed = port.trim_start_matches('0');
                if port.is_empty() || Some(port_trimmed) == default_port {
                    return Ok(host.to_owned());
                }
            }
        }
        Ok(authority)
    }

    fn path(&self) -> &str {
        match self.uri.path() {
            "" => "/",
            path => path,
        }
    }

    fn query(&self) -> Option<&str> {
        self.uri.query()
    }
}

/// A header's field lines, each trimmed, joined with `", "` (RFC 9421 §2.1); `None` when the
/// header is absent.
pub(crate) fn combined_field_value(headers: &HeaderMap, name: &str) -> Result<Option<String>> {
    let mut values = Vec::new();
    for value in headers.get_all(name) {
        let bytes = value.as_bytes();
        if bytes
            .iter()
            .any(|b| !(b.is_ascii_graphic() || *b == b' ' || *b == b'\t'))
        {
            return Err(HttpSigError::invalid_request(format!(
                "header {name} contains bytes outside visible ASCII, which a signature base \
                 cannot carry"
            )));
        }
        let text = String::from_utf8_lossy(bytes);
        values.push(text.trim_matches([' ', '\t']).to_owned());
    }
    Ok(if values.is_empty() {
        None
    } else {
        Some(values.join(", "))
    })
}

/// §2.1.2: the serialization of one member of a dictionary header.
fn dictionary_member(field: &str, value: &str, key: &str) -> Result<String> {
    let dictionary: sfv::Dictionary = sfv::Parser::new(value).parse().map_err(|e| {
        HttpSigError::invalid_request(format!("header {field} is not a dictionary ({e})"))
    })?;
    let entry = dictionary
        .iter()
        .find(|(name, _)| name.as_str() == key)
        .map(|(_, entry)| entry)
        .ok_or_else(|| HttpSigError::MissingComponent {
            component: format!("member {key} of header {field}"),
        })?;
    let mut serializer = sfv::ListSerializer::new();
    serializer.members([entry]);
    serializer
        .finish()
        .ok_or_else(|| HttpSigError::invalid_request(format!("member {key} of {field} is empty")))
}

fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    out
}

/// §2.2.8: percent-encoding with the `application/x-www-form-urlencoded` set (everything
/// but ASCII alphanumerics and `*-._`), spaces as `%20`.
fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || b"*-._".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn query_param_value(query: &str, name: &str) -> Result<String> {
    let wanted = percent_decode(name);
    let mut found = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key) == wanted {
            found.push(percent_encode(&percent_decode(value)));
        }
    }
    match found.len() {
        0 => Err(HttpSigError::MissingComponent {
            component: format!("query parameter {name}"),
        }),
        1 => Ok(found.remove(0)),
        n => Err(HttpSigError::invalid_request(format!(
            "query parameter {name} appears {n} times; sign the whole @query instead"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str) -> (Method, Uri, HeaderMap) {
        let uri: Uri = uri.parse().unwrap_or_default();
        (Method::POST, uri, HeaderMap::new())
    }

    fn value(component: &str, uri: &str) -> Result<String> {
        let (method, uri, headers) = request(uri);
        Component::parse(component)?.value(&RequestView::new(&method, &uri, &headers))
    }

    #[test]
    fn derived_components_of_rfc9421_section_2_2() -> Result<()> {
        let uri = "https://www.example.com/path?param=value";
        assert_eq!(value("@method", uri)?, "POST");
        assert_eq!(value("@target-uri", uri)?, uri);
        assert_eq!(value("@authority", uri)?, "www.example.com");
        assert_eq!(value("@scheme", uri)?, "https");
        assert_eq!(value("@request-target", uri)?, "/path?param=value");
        assert_eq!(value("@path", uri)?, "/path");
        assert_eq!(value("@query", uri)?, "?param=value");
        assert_eq!(value("@query", "https://www.example.com/path")?, "?");
        assert_eq!(
            value("@query", "https://www.example.com/path?queryString")?,
            "?queryString"
        );
        assert_eq!(
            value("@authority", "https://WWW.Example.com:443/")?,
            "www.example.com"
        );
        assert_eq!(
            value("@authority", "https://example.com:8443/")?,
            "example.com:8443"
        );
        assert_eq!(
            value("@authority", "http://example.com:80/")?,
            "example.com"
        );
        assert_eq!(value("@authority", "http://[::1]:8080/")?, "[::1]:8080");
        assert_eq!(value("@path", "https://example.com")?, "/");
        Ok(())
    }

    #[test]
    fn query_params_of_rfc9421_section_2_2_8() -> Result<()> {
        let uri = "https://example.com/parameters?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&fa%C3%A7ade%22%3A%20=something";
        assert_eq!(
            value(r#""@query-param";name="var""#, uri)?,
            "this%20is%20a%20big%0Amultiline%20value"
        );
        assert_eq!(
            value(r#""@query-param";name="bar""#, uri)?,
            "with%20plus%20whitespace"
        );
        assert_eq!(
            value(r#""@query-param";name="fa%C3%A7ade%22%3A%20""#, uri)?,
            "something"
        );
        let missing = value(r#""@query-param";name="nope""#, uri).err();
        assert_eq!(missing.map(|e| e.code()), Some("missing_component"));
        Ok(())
    }

    #[test]
    fn header_values_are_trimmed_and_joined() -> Result<()> {
        let (method, uri, mut headers) = request("https://example.com/");
        headers.append(
            "x-example",
            http::HeaderValue::from_static("  Value with spaces\t "),
        );
        headers.append("x-list", http::HeaderValue::from_static("a, b"));
        headers.append("x-list", http::HeaderValue::from_static("c"));
        headers.append("x-empty", http::HeaderValue::from_static(""));
        headers.append(
            "x-dict",
            http::HeaderValue::from_static("a=1, b=2;x=1;y=2, c=(a b c)"),
        );
        let view = RequestView::new(&method, &uri, &headers);
        assert_eq!(
            Component::parse("X-Example")?.value(&view)?,
            "Value with spaces"
        );
        assert_eq!(Component::parse("x-list")?.value(&view)?, "a, b, c");
        assert_eq!(Component::parse("x-empty")?.value(&view)?, "");
        assert_eq!(
            Component::parse(r#""x-dict";key="b""#)?.value(&view)?,
            "2;x=1;y=2"
        );
        assert_eq!(
            Component::parse(r#""x-dict";key="c""#)?.value(&view)?,
            "(a b c)"
        );
        let missing = Component::parse("x-missing")?.value(&view).err();
        assert_eq!(missing.map(|e| e.code()), Some("missing_component"));
        Ok(())
    }

    #[test]
    fn identifiers_serialize_exactly() -> Result<()> {
        assert_eq!(Component::parse("@method")?.identifier()?, "\"@method\"");
        assert_eq!(
            Component::query_param("Pet").identifier()?,
            "\"@query-param\";name=\"Pet\""
        );
        assert_eq!(
            Component::parse(r#"@query-param;name="Pet""#)?,
            Component::query_param("Pet")
        );
        assert_eq!(
            Component::parse(r#""content-digest";key="sha-256""#)?.to_string(),
            "content-digest;key=\"sha-256\""
        );
        for bad in [
            "@status",
            "@nope",
            "@query-param",
            "bad header",
            r#""@method";req"#,
        ] {
            let error = Component::parse(bad).err();
            assert_eq!(
                error.map(|e| e.code()),
                Some("malformed_signature_input"),
                "{bad}"
            );
        }
        Ok(())
    }

    #[test]
    fn a_relative_uri_cannot_give_a_scheme() -> Result<()> {
        let error = value("@scheme", "/only/path").err();
        assert_eq!(error.map(|e| e.code()), Some("invalid_request"));
        let (method, uri, mut headers) = request("/only/path");
        headers.insert("host", http::HeaderValue::from_static("Example.COM"));
        let view = RequestView::new(&method, &uri, &headers);
        assert_eq!(Component::parse("@authority")?.value(&view)?, "example.com");
        Ok(())
    }
}

//! What every page reads of its request: cookies, form fields, the query, the language, the
//! peer's address.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::http::{HeaderMap, Method, Uri};
use medgate_storage::AuditOrigin;

use crate::error::ApiError;
use crate::i18n::{self, Lang};
use crate::PeerInfo;

/// Largest form body accepted (the forms are a few short fields).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// The value of cookie `name` in the request, if sent.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// A parsed `application/x-www-form-urlencoded` body. A field sent twice keeps its first
/// value; forms here never repeat a field.
#[derive(Debug, Default)]
pub struct Form(HashMap<String, String>);

impl Form {
    /// Parses a form body; refuses one that is too large or not UTF-8 after decoding.
    pub fn parse(body: &[u8]) -> Result<Form, ApiError> {
        if body.len() > MAX_FORM_BYTES {
            return Err(ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                "form_too_large",
                format!("A form may have at most {MAX_FORM_BYTES} bytes."),
            ));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiError::bad_request("bad_form", "The form is not UTF-8."))?;
        let decode = |part: &str| -> Result<String, ApiError> {
            urlencoding::decode(&part.replace('+', " "))
                .map(|decoded| decoded.into_owned())
                .map_err(|_| ApiError::bad_request("bad_form", "The form cannot be decoded."))
        };
        let mut fields = HashMap::new();
        for pair in text.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            fields.entry(decode(name)?).or_insert(decode(value)?);
        }
        Ok(Form(fields))
    }

    /// A form of fields read another way (a `multipart/form-data` upload).
    pub fn from_fields(fields: HashMap<String, String>) -> Form {
        Form(fields)
    }

    /// The field's value, trimmed; `""` when absent.
    pub fn text(&self, name: &str) -> &str {
        self.0.get(name).map(|value| value.trim()).unwrap_or("")
    }

    /// The field's value exactly as typed (passwords: spaces count); `""` when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }
}

/// What every page handler needs of its request: where it came from, its headers and
/// target, and the language to answer in.
pub struct WebRequest {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub address: IpAddr,
    pub lang: Lang,
    /// `Set-Cookie` for the language when the request chose one with `?lang=`.
    pub lang_cookie: Option<String>,
}

impl WebRequest {
    /// Where the request came from, for the audit log.
    pub fn origin(&self) -> AuditOrigin {
        AuditOrigin::Address(self.address)
    }

    /// This request as a desk offering `offered` (its default first) hears it: the
    /// language negotiated again among those (the Polish desks' choice is the default).
    pub fn speaking(mut self, offered: &[Lang]) -> WebRequest {
        let query_lang = self.query("lang");
        let (lang, lang_cookie) = i18n::negotiate_among(offered, query_lang.as_deref(), &self.headers);
        self.lang = lang;
        self.lang_cookie = lang_cookie;
        self
    }

    /// The value of a query parameter (percent-decoded), if given.
    pub fn query(&self, name: &str) -> Option<String> {
        self.uri.query().and_then(|query| {
            Form::parse(query.as_bytes())
                .ok()
                .map(|form| form.text(name).to_owned())
                .filter(|value| !value.is_empty())
        })
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for WebRequest {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let address = parts
            .extensions
            .get::<PeerInfo>()
            .map(|peer| peer.address.ip())
            .ok_or_else(|| ApiError::internal("web request", &"no peer information"))?;
        let query_lang = parts.uri.query().and_then(|query| {
            Form::parse(query.as_bytes())
                .ok()
                .map(|form| form.text("lang").to_owned())
        });
        let (lang, lang_cookie) = i18n::negotiate(query_lang.as_deref(), &parts.headers);
        Ok(WebRequest {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            address,
            lang,
            lang_cookie,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "cookie",
            HeaderValue::from_static("medgate_session_x=1; medgate_session=abc; other=2"),
        );
        assert_eq!(cookie(&headers, "medgate_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn forms_decode_plus_and_percent_and_keep_the_first_value() {
        let form = Form::parse(b"a=x+y%C5%BC&b=%26%3D&a=second&empty=&flag").unwrap();
        assert_eq!(form.text("a"), "x yż");
        assert_eq!(form.text("b"), "&=");
        assert_eq!(form.text("empty"), "");
        assert_eq!(form.text("flag"), "");
        assert_eq!(form.raw("missing"), "");
        assert!(Form::parse(&vec![b'a'; MAX_FORM_BYTES + 1]).is_err());
    }
}

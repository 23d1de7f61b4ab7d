//! Cross-site request forgery protection, three layers deep:
//!
//! 1. every form carries a secret token in a hidden field, checked on every POST: a signed-in
//!    session's own random secret (kept with the session), or before sign-in a random value
//!    that is also set as the `__Host-medgate_csrf` cookie (double submit) — another site can
//!    make the browser send the cookie but cannot read it to put it in the form, and the
//!    `__Host-` prefix keeps a sibling host from setting it;
//! 2. the browser's own testimony: a POST whose `Sec-Fetch-Site` is anything but
//!    `same-origin`, or whose `Origin` is not this server, is refused;
//! 3. the cookies are `SameSite=Strict`, so a cross-site POST does not even carry them.
//!
//! Requests from non-browser clients (no `Origin`, no `Sec-Fetch-Site`) are judged by the
//! token alone.

use axum::http::{header, HeaderMap, Uri};

/// The hidden field every form carries.
pub const FIELD: &str = "csrf";

/// The cookie that holds the token of forms shown before sign-in. The `__Host-` prefix makes
/// browsers accept it only from this very origin (`Secure`, `Path=/`, no `Domain`), so a
/// sibling host cannot plant a token of its choosing for the double submit.
pub const ANONYMOUS_COOKIE: &str = "__Host-medgate_csrf";

/// The `<input type="hidden">` carrying `token`.
pub fn hidden_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">",
        crate::layout::escape(token)
    )
}

/// True when `given` equals `expected`, compared in constant time; an empty expected
/// token matches nothing.
pub fn tokens_match(expected: &str, given: &str) -> bool {
    !expected.is_empty()
        && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), given.as_bytes())
            .is_ok()
}

/// Checks what the browser says about where a POST comes from. `Err` names the reason
/// (for the log; the user sees one sentence).
pub fn check_origin(headers: &HeaderMap, uri: &Uri) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        if site.as_bytes() != b"same-origin" {
            return Err("Sec-Fetch-Site is not same-origin");
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .or_else(|| uri.authority().map(|authority| authority.as_str()))
            .unwrap_or("");
        let expected = format!("https://{host}");
        if host.is_empty() || !origin.as_bytes().eq_ignore_ascii_case(expected.as_bytes()) {
            return Err("Origin is not this server");
        }
    }
    Ok(())
}

/// The token of the forms shown before sign-in: the one in the request's `__Host-medgate_csrf`
/// cookie if it holds a well-formed one, else a new one with the `Set-Cookie` that stores it.
pub fn anonymous_token(
    headers: &HeaderMap,
) -> Result<(String, Option<String>), crate::error::ApiError> {
    if let Some(token) = crate::request::cookie(headers, ANONYMOUS_COOKIE).filter(|t| well_formed(t)) {
        return Ok((token, None));
    }
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| {
        crate::error::ApiError::internal("form token", &"the system random source failed")
    })?;
    let token = hex::encode(bytes);
    let cookie = format!("{ANONYMOUS_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict");
    Ok((token, Some(cookie)))
}

/// The anonymous token the request's cookie holds, for checking a POST (`""` if none).
pub fn anonymous_expected(headers: &HeaderMap) -> String {
    crate::request::cookie(headers, ANONYMOUS_COOKIE)
        .filter(|t| well_formed(t))
        .unwrap_or_default()
}

fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_must_match_exactly_and_not_be_empty() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
    }

    #[test]
    fn cross_site_posts_are_refused_by_origin_and_fetch_metadata() {
        let uri: Uri = "/portal".parse().unwrap();
        let mut headers = HeaderMap::new();
        assert!(
            check_origin(&headers, &uri).is_ok(),
            "no browser headers: token decides"
        );
        headers.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8443"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://127.0.0.1:8443"),
        );
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(check_origin(&headers, &uri).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(check_origin(&headers, &uri).is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&headers, &uri).is_err());
        headers.remove(header::ORIGIN);
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_origin(&headers, &uri).is_err());
    }

    #[test]
    fn anonymous_tokens_come_from_the_cookie_or_are_new() {
        let (token, cookie) = anonymous_token(&HeaderMap::new()).unwrap();
        assert_eq!(token.len(), 64);
        let cookie = cookie.unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        // The `__Host-` rules: the prefix, Secure, Path=/ and no Domain.
        assert!(cookie.starts_with(&format!("__Host-medgate_csrf={token};")));
        assert!(cookie.contains("; Secure") && cookie.contains("; Path=/;"));
        assert!(!cookie.to_ascii_lowercase().contains("domain="));
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{ANONYMOUS_COOKIE}={token}")).unwrap(),
        );
        assert_eq!(anonymous_token(&headers).unwrap(), (token.clone(), None));
        assert_eq!(anonymous_expected(&headers), token);
    }
}

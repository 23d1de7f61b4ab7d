//! What every page is made of: one inline stylesheet, the security headers — a CSP that
//! allows no script at all and only this stylesheet (by its SHA-256), no framing, forms only
//! to this server; `no-store` so that a shared computer's back button or cache shows nothing
//! after sign-out — messages, redirects, downloads and the one form-field renderer
//! ([`Input`]). The frame around a page is a desk's ([`crate::desk::Frame`]).
//!
//! Everything that is not a literal of this crate must pass through [`escape`] before it is
//! written into a page.

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;


/// The one stylesheet of every page (the portal's and the staff desks'): readable at
/// 1280×800 and on a phone, visible focus, no external resources.
pub const CSS: &str = "
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',sans-serif;font-size:16px;line-height:1.5;color:#1b1f24;background:#f4f6f8}
body{margin:0}
a{color:#0b5cad}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.top{background:#0d3b66;color:#fff}
.top .bar{max-width:72rem;margin:0 auto;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:center}
.top a{color:#fff}
.brand{font-weight:700;font-size:1.1rem;margin-right:auto;text-decoration:none}
.top nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}
.top nav a[aria-current=page]{font-weight:700;text-decoration-thickness:3px}
.top form{margin:0}
.top button{background:transparent;color:#fff;border:1px solid #fff;border-radius:4px;padding:.2rem .7rem;font:inherit;cursor:pointer}
.langs{display:flex;gap:.6rem;font-size:.9rem}
.langs [aria-current=true]{font-weight:700;text-decoration:none}
main{max-width:72rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
.card{background:#fff;border:1px solid #d5dbe1;border-radius:8px;padding:1.25rem;max-width:32rem}
.field{margin:0 0 1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input[type=text],input[type=password]{width:100%;padding:.55rem .6rem;font:inherit;border:1px solid #8a96a3;border-radius:4px;background:#fff}
input[aria-invalid=true]{border-color:#b3261e;border-width:2px}
.hint{display:block;color:#4a5561;font-size:.875rem;margin-top:.2rem}
.field-error{display:block;color:#b3261e;font-weight:600;font-size:.9rem;margin-top:.2rem}
button.primary{background:#0b5cad;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font:inherit;font-weight:600;cursor:pointer}
.message{border-radius:6px;padding:.75rem 1rem;margin:0 0 1rem;max-width:48rem}
.message.error{background:#fdecea;border:1px solid #b3261e}
.message.info{background:#e8f1fb;border:1px solid #0b5cad}
.muted{color:#4a5561}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid #d5dbe1;border-radius:8px}
table{border-collapse:collapse;width:100%}
caption{text-align:left;padding:.75rem 1rem;font-weight:600}
th,td{text-align:left;vertical-align:top;padding:.6rem 1rem;border-top:1px solid #e3e7eb}
th{background:#eef1f4;font-size:.9rem}
td ul{margin:0;padding-left:1.1rem}
.who{margin:0 0 1rem}
@media (max-width:40rem){
 main{padding:1rem .75rem 2rem}
 .card{padding:1rem}
 table.stack thead{position:absolute;left:-9999px}
 table.stack tr{display:block;border-top:1px solid #d5dbe1;padding:.4rem 0}
 table.stack td{display:block;border:0;padding:.2rem .75rem}
 table.stack td::before{content:attr(data-label);display:block;font-size:.8rem;color:#4a5561;font-weight:600}
}
.skip{position:absolute;left:-9999px}
.skip:focus{left:1rem;top:.5rem;background:#fff;color:#0b5cad;padding:.4rem .8rem;z-index:10;border-radius:4px}
.top .who-am-i{font-size:.9rem}
.tabs{background:#e3ebf3;border-bottom:1px solid #c3cfdb}
.tabs ul{max-width:72rem;margin:0 auto;padding:0 1rem;list-style:none;display:flex;flex-wrap:wrap;gap:0 .25rem}
.tabs a{display:block;padding:.55rem .8rem;color:#0d3b66;text-decoration:none;border-bottom:3px solid transparent}
.tabs a:hover{text-decoration:underline}
.tabs a[aria-current=page]{border-bottom-color:#0d3b66;font-weight:700}
.card.wide{max-width:none;margin:0 0 1rem}
summary:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.implicit-submit{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}
.stack-gap>*+*{margin-top:1rem}
.boxes{display:grid;grid-template-columns:repeat(auto-fit,minmax(17rem,1fr));gap:1rem;margin:0 0 1rem}
.boxes .card{max-width:none}
.card h2{font-size:1.1rem;margin:0 0 .75rem}
h2{font-size:1.25rem;margin:1.5rem 0 .75rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:0}
dl.facts dt{font-weight:600;color:#4a5561}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:0 1rem}
fieldset{border:1px solid #d5dbe1;border-radius:8px;padding:.75rem 1rem 0;margin:0 0 1rem;background:#fff;min-width:0}
legend{font-weight:700;padding:0 .3rem}
input[type=number],input[type=date],input[type=email],input[type=tel],input[type=search],select,textarea{width:100%;padding:.55rem .6rem;font:inherit;border:1px solid #8a96a3;border-radius:4px;background:#fff}
select[aria-invalid=true],textarea[aria-invalid=true]{border-color:#b3261e;border-width:2px}
input[type=checkbox]{width:1.2rem;height:1.2rem;margin:0;accent-color:#0b5cad}
.check{display:flex;gap:.5rem;align-items:center;margin:0 0 1rem}
.check label{display:inline;font-weight:400;margin:0}
td .check{margin:0}
td input[type=number]{max-width:7rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:0 0 1rem}
.actions form{margin:0}
a.button,button.secondary,button.danger,button.primary{display:inline-block;border-radius:4px;padding:.5rem 1rem;font:inherit;font-weight:600;cursor:pointer;text-decoration:none;line-height:1.5}
a.button,button.secondary{background:#fff;color:#0b5cad;border:1px solid #0b5cad}
button.danger{background:#b3261e;color:#fff;border:0}
button.link{background:none;border:0;padding:0;color:#0b5cad;text-decoration:underline;font:inherit;cursor:pointer}
.message.warning{background:#fff4d6;border:1px solid #a86b00}
.message.ok{background:#e7f5ea;border:1px solid #2e7d32}
.quota{margin:.5rem 0}
.quota progress{width:100%;height:1.1rem;accent-color:#0b5cad}
.quota.high progress{accent-color:#b3261e}
.status{display:inline-block;border-radius:999px;padding:.05rem .6rem;font-size:.85rem;font-weight:700;background:#e3ebf3;color:#0d3b66}
.status.active,.status.sent{background:#e7f5ea;color:#1d5e22}
.status.suspended,.status.revoked{background:#fdecea;color:#8c1d18}
.status.created,.status.draft{background:#fff4d6;color:#6b4500}
.mark{font-weight:700;color:#1d5e22}
.code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:1.4rem;letter-spacing:.08em;background:#fff;border:2px dashed #0b5cad;border-radius:6px;padding:.5rem 1rem;display:inline-block}
.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace}
.pager{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;margin:1rem 0}
.search summary{cursor:pointer;font-weight:700;padding:.25rem 0}
.table-wrap td,.table-wrap th{padding:.5rem .75rem}
.nowrap{white-space:nowrap}
td.mono,td .mono:not(.nowrap){word-break:break-all}
@media (max-width:40rem){
 dl.facts{grid-template-columns:1fr}
 dl.facts dd{margin-bottom:.4rem}
 .tabs ul{padding:0 .5rem}
 .tabs a{padding:.45rem .5rem}
}
";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The Content-Security-Policy of every page.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, CSS.as_bytes());
        let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
        format!(
            "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    })
}

/// The headers every page response carries, with its CSP.
pub fn secure_headers(headers: &mut axum::http::HeaderMap, csp: &str) {
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with
    // a form POST, which the CSRF origin check must refuse; other sites still get nothing.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The CSP of every file sent as a download (an export, an attachment, a certificate):
/// nothing may load and, should a browser render the file anyway, it runs sandboxed (no
/// script, an opaque origin without this server's cookies).
pub const DOWNLOAD_CSP: &str = "default-src 'none'; sandbox";

/// A file download with the pages' headers: `Content-Disposition: attachment` with
/// `file_name` (made of `[A-Za-z0-9._-]` by the caller), [`DOWNLOAD_CSP`], `nosniff`,
/// `no-store`.
pub fn download(content_type: &str, file_name: &str, bytes: bytes::Bytes) -> Response {
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    secure_headers(headers, DOWNLOAD_CSP);
    response
}

/// A `303 See Other` to `location` (a path on this server) with cookies.
pub fn redirect(location: &str, cookies: &[String]) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The kind of a message box.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

/// A message box above a form or a table; errors are announced to screen readers at once.
pub fn message(kind: MessageKind, text: &str) -> String {
    match kind {
        MessageKind::Info => format!(
            "<p class=\"message info\" role=\"status\">{}</p>",
            escape(text)
        ),
        MessageKind::Error => format!(
            "<p class=\"message error\" role=\"alert\">{}</p>",
            escape(text)
        ),
    }
}

/// A labelled input of any type with an optional hint and an error beside it. `value` is
/// escaped; `extra` is trusted attribute text.
pub struct Input<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub error: Option<&'a str>,
    pub required: bool,
    pub extra: &'a str,
}

impl<'a> Input<'a> {
    pub fn text(name: &'a str, label: &'a str, value: &'a str) -> Input<'a> {
        Input {
            name,
            label,
            kind: "text",
            value,
            hint: None,
            error: None,
            required: false,
            extra: "",
        }
    }

    pub fn html(&self) -> String {
        let id = field_id(self.name);
        let mut described = Vec::new();
        let hint = match self.hint {
            Some(hint) => {
                described.push(format!("{id}-hint"));
                format!(
                    "<span class=\"hint\" id=\"{id}-hint\">{}</span>",
                    escape(hint)
                )
            }
            None => String::new(),
        };
        let error = match self.error {
            Some(error) => {
                described.push(format!("{id}-error"));
                format!(
                    "<span class=\"field-error\" id=\"{id}-error\">{}</span>",
                    escape(error)
                )
            }
            None => String::new(),
        };
        let describedby = if described.is_empty() {
            String::new()
        } else {
            format!(" aria-describedby=\"{}\"", described.join(" "))
        };
        let invalid = if self.error.is_some() {
            " aria-invalid=\"true\""
        } else {
            ""
        };
        let required = if self.required { " required" } else { "" };
        let value = if self.kind == "password" {
            String::new()
        } else {
            format!(" value=\"{}\"", escape(self.value))
        };
        format!(
            "<div class=\"field\"><label for=\"{id}\">{label}</label>\
             <input type=\"{kind}\" id=\"{id}\" name=\"{name}\"{value}{required}{describedby}{invalid} {extra}>\
             {hint}{error}</div>",
            label = escape(self.label),
            kind = escape(self.kind),
            name = escape(self.name),
            extra = self.extra,
        )
    }
}

/// The element id of a form field: its name with the characters ids should not have
/// replaced (`units[2].phone` → `f-units-2--phone`).
pub fn field_id(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("f-{cleaned}")
}

/// A checkbox with its label.
pub fn checkbox(name: &str, label: &str, checked: bool, extra: &str) -> String {
    let id = field_id(name);
    format!(
        "<div class=\"check\"><input type=\"checkbox\" id=\"{id}\" name=\"{name}\" value=\"1\"{checked} {extra}>\
         <label for=\"{id}\">{label}</label></div>",
        name = escape(name),
        checked = if checked { " checked" } else { "" },
        label = escape(label),
    )
}

/// The words of the activation form's three fields, in the page's language.
pub struct ActivationTexts<'a> {
    /// The code as typed, shown again after a refusal (it is not a password: it works once).
    pub code_value: &'a str,
    pub code_label: &'a str,
    pub code_hint: &'a str,
    pub code_error: Option<&'a str>,
    pub password_label: &'a str,
    /// The password rules, shown as the new password's hint.
    pub rules: &'a str,
    pub password_error: Option<&'a str>,
    pub repeat_label: &'a str,
    pub repeat_error: Option<&'a str>,
}

/// The one-time code, the new password and its repetition: the fields every activation
/// form (patient portal, staff desks) shares.
pub fn activation_fields(texts: &ActivationTexts<'_>) -> String {
    let code = Input {
        name: "code",
        label: texts.code_label,
        kind: "text",
        value: texts.code_value,
        hint: Some(texts.code_hint),
        error: texts.code_error,
        required: true,
        extra: "autocomplete=\"one-time-code\" autocapitalize=\"characters\" spellcheck=\"false\" maxlength=\"64\"",
    };
    let new_password = Input {
        name: "password",
        label: texts.password_label,
        kind: "password",
        value: "",
        hint: Some(texts.rules),
        error: texts.password_error,
        required: true,
        extra: "autocomplete=\"new-password\" maxlength=\"256\"",
    };
    let repeat = Input {
        name: "password2",
        label: texts.repeat_label,
        kind: "password",
        value: "",
        hint: None,
        error: texts.repeat_error,
        required: true,
        extra: "autocomplete=\"new-password\" maxlength=\"256\"",
    };
    format!("{}{}{}", code.html(), new_password.html(), repeat.html())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    #[test]
    fn the_policy_allows_no_script_and_only_our_stylesheet() {
        let csp = content_security_policy();
        assert!(
            csp.starts_with("default-src 'none'; style-src 'sha256-"),
            "{csp}"
        );
        assert!(!csp.contains("script-src"));
        assert!(!csp.contains("unsafe-inline"));
    }

    #[test]
    fn fields_show_hint_and_error_but_never_a_password() {
        let html = Input {
            name: "password",
            label: "Hasło",
            kind: "password",
            value: "secret",
            hint: Some("12+"),
            error: Some("za krótkie"),
            required: true,
            extra: "autocomplete=\"current-password\"",
        }
        .html();
        assert!(!html.contains("secret"));
        assert!(html.contains("aria-invalid=\"true\""));
        assert!(html.contains("aria-describedby=\"f-password-hint f-password-error\""));
    }
}

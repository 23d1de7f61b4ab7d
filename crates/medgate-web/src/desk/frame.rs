//! The page frame of every desk: header with the site name, the signed-in user and the
//! sign-out button, the language switch, the desk's tabs, the main column; the stylesheet
//! and its Content-Security-Policy; the error pages.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;

use super::text::T;
use super::{Desk, Tab};
use crate::csrf;
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::layout::{escape, message, MessageKind};
use crate::WebRequest;

/// A word of the frame in `lang`: the Polish desks' words, and the Hungarian desk's
/// frame in Hungarian, the Russian desk's in Russian (the rest of such a page is its module's
/// words).
fn frame_word(word: T, lang: Lang) -> &'static str {
    match (word, lang) {
        (T::SignOut, Lang::Hu) => "Kijelentkezés",
        (T::MainMenu, Lang::Hu) => "Főmenü",
        (T::Language, Lang::Hu) => "Nyelv",
        (T::SkipToContent, Lang::Hu) => "Ugrás a tartalomra",
        (T::ErrorTitle, Lang::Hu) => "Hiba",
        (T::FormExpired, Lang::Hu) => {
            "Az űrlap lejárt vagy nem erről az oldalról érkezett. Töltse ki újra."
        }
        (T::InternalError, Lang::Hu) => {
            "A szerver hibát észlelt. Próbálja újra később; ha ismétlődik, adja meg az üzemeltetőnek a(z) {reference} hivatkozást."
        }
        (T::SignOut, Lang::Ru) => "Выйти",
        (T::MainMenu, Lang::Ru) => "Главное меню",
        (T::Language, Lang::Ru) => "Язык",
        (T::SkipToContent, Lang::Ru) => "Перейти к содержимому",
        (T::ErrorTitle, Lang::Ru) => "Ошибка",
        (T::FormExpired, Lang::Ru) => {
            "Форма устарела или отправлена не с этой страницы. Заполните её заново."
        }
        (T::InternalError, Lang::Ru) => {
            "На сервере произошла ошибка. Повторите позже; если ошибка повторяется, сообщите в фонд номер {reference}."
        }
        _ => word.text(lang),
    }
}

/// Who is signed in, for the header.
pub struct SignedInHeader {
    /// Login, and for an administrator the tenant.
    pub who: String,
    pub csrf_secret: String,
}

/// A staff page to send.
pub struct Frame {
    pub desk: &'static Desk,
    pub lang: Lang,
    pub status: StatusCode,
    /// Plain text: the `<title>` and the `<h1>`.
    pub title: String,
    /// The page's own address, for the language switch and the current tab.
    pub path: String,
    /// The query of the page's address without `lang` (a search's filters), kept by the
    /// language switch; empty for a page answering a form.
    pub query: String,
    pub signed_in: Option<SignedInHeader>,
    /// The tabs this user may use, when they are fewer than the desk's (an insurer's reviewer
    /// on the claims desk; the first is then the brand's link); `None` shows the desk's own.
    pub tabs: Option<&'static [Tab]>,
    /// Trusted HTML of the main column, after the `<h1>`.
    pub body: String,
    pub cookies: Vec<String>,
}

impl Frame {
    pub fn new(desk: &'static Desk, request: &WebRequest, title: impl Into<String>) -> Frame {
        Frame {
            desk,
            lang: request.lang.within(desk.langs),
            status: StatusCode::OK,
            title: title.into(),
            path: request.uri.path().to_owned(),
            query: if request.method == axum::http::Method::GET {
                request
                    .uri
                    .query()
                    .unwrap_or("")
                    .split('&')
                    .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
                    .collect::<Vec<_>>()
                    .join("&")
            } else {
                String::new()
            },
            signed_in: None,
            tabs: None,
            body: String::new(),
            cookies: request.lang_cookie.iter().cloned().collect(),
        }
    }

    /// The complete HTML document.
    pub fn html(&self) -> String {
        let lang = self.lang;
        let switch: String = self
            .desk
            .langs
            .iter()
            .map(|other| {
                let current = if *other == lang {
                    " aria-current=\"true\"".to_owned()
                } else {
                    format!(" hreflang=\"{}\"", other.code())
                };
                let query = if self.query.is_empty() {
                    String::new()
                } else {
                    format!("{}&", self.query)
                };
                format!(
                    "<a href=\"{}?{}lang={}\" lang=\"{}\"{current}>{}</a>",
                    escape(&self.path),
                    escape(&query),
                    other.code(),
                    other.code(),
                    other.own_name()
                )
            })
            .collect();
        let (account, tabs) = match &self.signed_in {
            None => (String::new(), String::new()),
            Some(header) => {
                let account = format!(
                    "<span class=\"who-am-i\">{who}</span>\
                     <form method=\"post\" action=\"{base}/logout\">{csrf}\
                     <button type=\"submit\">{sign_out}</button></form>",
                    who = escape(&header.who),
                    base = self.desk.base,
                    csrf = csrf::hidden_field(&header.csrf_secret),
                    sign_out = escape(frame_word(T::SignOut, lang)),
                );
                let items: String = self
                    .tabs
                    .unwrap_or(self.desk.tabs)
                    .iter()
                    .map(|tab| {
                        let (href, label) = (tab.href, tab.label);
                        let current =
                            if self.path == *href || self.path.starts_with(&format!("{href}/")) {
                                " aria-current=\"page\""
                            } else {
                                ""
                            };
                        format!(
                            "<li><a href=\"{href}\"{current}>{}</a></li>",
                            escape(label(lang))
                        )
                    })
                    .collect();
                let tabs = format!(
                    "<nav class=\"tabs\" aria-label=\"{menu}\"><ul>{items}</ul></nav>",
                    menu = escape(frame_word(T::MainMenu, lang)),
                );
                (account, tabs)
            }
        };
        format!(
            "<!DOCTYPE html>\n<html lang=\"{code}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"referrer\" content=\"same-origin\">\n\
             <title>{title} · {site}</title>\n<style>{css}</style>\n</head>\n<body>\n\
             <a class=\"skip\" href=\"#main\">{skip}</a>\
             <header class=\"top\"><div class=\"bar\">\
             <a class=\"brand\" href=\"{home}\">medgate · {site}</a>{account}\
             <div class=\"langs\" role=\"group\" aria-label=\"{language}\">{switch}</div>\
             </div></header>\n{tabs}\n<main id=\"main\">\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
            code = lang.code(),
            title = escape(&self.title),
            site = escape((self.desk.site)(lang)),
            css = crate::layout::CSS,
            skip = escape(frame_word(T::SkipToContent, lang)),
            home = if self.signed_in.is_some() {
                self.tabs
                    .and_then(|tabs| tabs.first())
                    .map_or(self.desk.home, |tab| tab.href)
            } else {
                self.desk.base
            },
            language = escape(frame_word(T::Language, lang)),
            body = self.body,
        )
    }

    /// The page as a response with the security headers and cookies.
    pub fn into_response(self) -> Response {
        let html = self.html();
        let mut response = Response::new(Body::from(html));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        crate::layout::secure_headers(headers, crate::layout::content_security_policy());
        for cookie in &self.cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
        response
    }
}

/// A message box of a kind the foundation does not have (warning, success).
pub fn notice(class: &str, text: &str) -> String {
    format!(
        "<p class=\"message {class}\" role=\"status\">{}</p>",
        escape(text)
    )
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// 403 with "the form has expired" in `frame`: a POST whose form token or origin is wrong.
pub fn forged_page(mut frame: Frame) -> Response {
    frame.status = StatusCode::FORBIDDEN;
    frame.body = message(MessageKind::Error, frame_word(T::FormExpired, frame.lang));
    frame.into_response()
}

/// The page for a failure: the status of `error`, a sentence in the page's language (the
/// reference of an internal error ties it to the log line).
pub fn error_page(desk: &'static Desk, request: &WebRequest, error: &ApiError) -> Response {
    let lang = request.lang.within(desk.langs);
    let text = if error.status() == StatusCode::INTERNAL_SERVER_ERROR {
        let reference = error
            .message()
            .split("reference ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or("-");
        frame_word(T::InternalError, lang).replace("{reference}", reference)
    } else {
        error.message().to_owned()
    };
    let mut frame = Frame::new(desk, request, frame_word(T::ErrorTitle, lang));
    frame.status = error.status();
    frame.body = message(MessageKind::Error, &text);
    frame.into_response()
}

/// Why a page handler did not make its page: a failure (shown as the error page), or
/// another answer it chose instead (a "not found" page, a redirect, a form shown again).
/// `?` turns an [`ApiError`] into the first; [`PageError::Answer`] is the second.
pub enum PageError {
    Failed(ApiError),
    Answer(Box<Response>),
}

impl PageError {
    /// Sends `response` instead of the page.
    pub fn answer(response: Response) -> PageError {
        PageError::Answer(Box::new(response))
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        PageError::Failed(error)
    }
}

/// What a page handler's body returns.
pub type PageResult<T = Response> = Result<T, PageError>;

/// Runs a page handler, turning its failure into an error page.
pub fn respond(desk: &'static Desk, request: &WebRequest, outcome: PageResult) -> Response {
    match outcome {
        Ok(response) => response,
        Err(PageError::Answer(response)) => *response,
        Err(PageError::Failed(error)) => error_page(desk, request, &error),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use crate::desk::Tab;
    use crate::session::SessionPolicy;

    const TEST_DESK: Desk = Desk {
        kind: medgate_storage::WebSessionKind::new("test"),
        base: "/test",
        home: "/test/home",
        policy: SessionPolicy {
            idle: time::Duration::minutes(1),
            absolute: time::Duration::minutes(2),
        },
        site: |_| "Test <desk>",
        langs: Lang::POLISH_DESK,
        tabs: &[
            Tab {
                href: "/test/home",
                label: |_| "Home",
            },
            Tab {
                href: "/test/other",
                label: |_| "Other",
            },
        ],
        audit_prefix: "test",
        sign_in_intro: |_| "",
        sign_in_failed: |_| "",
    };

    fn request(path: &str) -> WebRequest {
        WebRequest {
            method: axum::http::Method::GET,
            uri: path.parse().unwrap(),
            headers: axum::http::HeaderMap::new(),
            address: std::net::Ipv4Addr::LOCALHOST.into(),
            lang: Lang::En,
            lang_cookie: None,
        }
    }

    #[test]
    fn the_frame_has_one_stylesheet_no_script_and_escapes_its_words() {
        let page = Frame::new(&TEST_DESK, &request("/test"), "T <b>").html();
        assert_eq!(page.matches("<style>").count(), 1);
        assert!(page.contains(&format!("<style>{}</style>", crate::layout::CSS)));
        assert!(page.contains("<title>T &lt;b&gt; · Test &lt;desk&gt;</title>"));
        assert!(page.contains("<html lang=\"en\">"));
        assert!(!page.contains("<script"));
        // Signed out: no tabs, no sign-out form, the brand leads to the sign-in page.
        assert!(!page.contains("class=\"tabs\""));
        assert!(page.contains("href=\"/test\">medgate"));
    }

    #[test]
    fn the_language_switch_keeps_a_searchs_filters() {
        let page = Frame::new(
            &TEST_DESK,
            &request("/test/home?patient=4405&lang=pl&page=2"),
            "T",
        )
        .html();
        assert!(
            page.contains("href=\"/test/home?patient=4405&amp;page=2&amp;lang=en\""),
            "{page}"
        );
        let plain = Frame::new(&TEST_DESK, &request("/test/home"), "T").html();
        assert!(plain.contains("href=\"/test/home?lang=en\""));
    }

    #[test]
    fn a_signed_in_frame_has_the_desks_tabs_and_a_sign_out_form() {
        let mut frame = Frame::new(&TEST_DESK, &request("/test/other"), "Other");
        frame.signed_in = Some(SignedInHeader {
            who: "jan <x>".to_owned(),
            csrf_secret: "secret".to_owned(),
        });
        let page = frame.html();
        assert!(page.contains("<a href=\"/test/other\" aria-current=\"page\">Other</a>"));
        assert!(page.contains("<a href=\"/test/home\">Home</a>"));
        assert!(page.contains("action=\"/test/logout\""));
        assert!(page.contains("jan &lt;x&gt;"));
        assert!(page.contains("href=\"/test/home\">medgate"));
    }
}

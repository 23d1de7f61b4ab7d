//! The pages' words. The Polish desks (administrator, operator, portal) speak Polish and
//! English, Polish by default (the seeds are Polish and use their domain words: "Zgody",
//! "Dokumenty", "Dziennik dostępu", "Zaloguj się"); the Hungarian practitioners' desk speaks
//! Hungarian and English, Hungarian by default; the Russian claims registers' desk Russian and
//! English, Russian by default. The language comes from `?lang=pl|en|hu`
//! (remembered in a cookie), then the cookie, then the browser's `Accept-Language`, among
//! the languages the desk offers ([`negotiate_among`]).
//!
//! Each text of the Polish desks is a [`Msg`] with both translations side by side, so a
//! missing translation is a compile error; asked in Hungarian (a Hungarian browser on a
//! Polish desk) they answer in English, and the frame says so (`lang="en"`). Texts with a
//! placeholder write it as `{name}`; [`Msg::with`] fills it in.

use axum::http::HeaderMap;

/// The cookie that remembers the chosen language.
pub const LANG_COOKIE: &str = "medgate_lang";

/// A language of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Pl,
    En,
    Hu,
    Ru,
}

impl Lang {
    /// `pl`, `en` or `hu`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Pl => "pl",
            Lang::En => "en",
            Lang::Hu => "hu",
            Lang::Ru => "ru",
        }
    }

    /// The language for a code such as `pl`, `en`, `en-GB`, `PL`.
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match primary.as_str() {
            "pl" => Some(Lang::Pl),
            "en" => Some(Lang::En),
            "hu" => Some(Lang::Hu),
            "ru" => Some(Lang::Ru),
            _ => None,
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Pl => "Polski",
            Lang::En => "English",
            Lang::Hu => "Magyar",
            Lang::Ru => "Русский",
        }
    }

    pub const ALL: [Lang; 4] = [Lang::Pl, Lang::En, Lang::Hu, Lang::Ru];

    /// The languages of the Polish desks, Polish first (their default).
    pub const POLISH_DESK: &'static [Lang] = &[Lang::Pl, Lang::En];

    /// The languages of the Hungarian desks, Hungarian first (their default).
    pub const HUNGARIAN_DESK: &'static [Lang] = &[Lang::Hu, Lang::En];

    /// The languages of the Russian desks (the claims registers), Russian first (their
    /// default).
    pub const RUSSIAN_DESK: &'static [Lang] = &[Lang::Ru, Lang::En];

    /// The language a desk offering `offered` (its default first) answers a request for
    /// `self` in: `self` when offered, else English when offered, else the default.
    pub fn within(self, offered: &[Lang]) -> Lang {
        if offered.contains(&self) {
            self
        } else if offered.contains(&Lang::En) {
            Lang::En
        } else {
            offered.first().copied().unwrap_or(Lang::En)
        }
    }
}

/// The language of a request to a Polish desk, and the `Set-Cookie` value to send when
/// `?lang=` chose it.
pub fn negotiate(query_lang: Option<&str>, headers: &HeaderMap) -> (Lang, Option<String>) {
    negotiate_among(Lang::POLISH_DESK, query_lang, headers)
}

/// The language of a request to a desk offering `offered` (its default first): `?lang=`,
/// the cookie, then `Accept-Language`, each only when it names an offered language; else the
/// desk's default. Gives the `Set-Cookie` value to send when `?lang=` chose it.
pub fn negotiate_among(
    offered: &[Lang],
    query_lang: Option<&str>,
    headers: &HeaderMap,
) -> (Lang, Option<String>) {
    let offers = |lang: &Lang| offered.contains(lang);
    let default = offered.first().copied().unwrap_or(Lang::En);
    if let Some(lang) = query_lang.and_then(Lang::from_code).filter(offers) {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; Secure; SameSite=Strict",
            lang.code()
        );
        return (lang, Some(cookie));
    }
    if let Some(lang) = crate::request::cookie(headers, LANG_COOKIE)
        .and_then(|c| Lang::from_code(&c))
        .filter(offers)
    {
        return (lang, None);
    }
    let accepted = headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    let lang = accepted
        .split(',')
        .filter_map(|part| Lang::from_code(part.split(';').next().unwrap_or("")))
        .find(offers)
        .unwrap_or(default);
    (lang, None)
}

/// A word of the pages in each language (every enum made with [`bilingual!`]).
pub trait Text: Copy {
    fn text(self, lang: Lang) -> &'static str;
}

/// Declares an enum of texts, each given in a desk's own language and English side by side (a
/// missing translation does not compile), with `text(lang)` and `with(lang, name, value)`.
/// Without a language the first is Polish (the portal's [`Msg`] and the staff desks'
/// `desk::text::T`); `bilingual!(Hu; …)` and `bilingual!(Ru; …)` make the Hungarian and
/// Russian desks' words. English stands in for every other language.
#[macro_export]
macro_rules! bilingual {
    ($lang:ident; $(#[$doc:meta])* $enum:ident { $($name:ident => ($native:expr, $en:expr),)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $enum { $($name,)* }

        impl $crate::i18n::Text for $enum {
            fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                $enum::text(self, lang)
            }
        }

        impl $enum {
            /// The text in `lang` (English for a language the desk does not speak).
            pub fn text(self, lang: $crate::i18n::Lang) -> &'static str {
                if lang == $crate::i18n::Lang::$lang {
                    match self { $($enum::$name => $native,)* }
                } else {
                    match self { $($enum::$name => $en,)* }
                }
            }

            /// The text with its `{name}` placeholder replaced by `value` (not escaped:
            /// escape the result when it goes into HTML).
            pub fn with(self, lang: $crate::i18n::Lang, name: &str, value: &str) -> String {
                self.text(lang).replace(&format!("{{{name}}}"), value)
            }
        }
    };
    ($(#[$doc:meta])* $enum:ident { $($body:tt)* }) => {
        $crate::bilingual!(Pl; $(#[$doc])* $enum { $($body)* });
    };
}
pub use crate::bilingual;

bilingual! {
    /// Every text of the portal pages.
    Msg {
        PortalTitle => ("Portal pacjenta", "Patient portal"),
        Language => ("Język", "Language"),
        MainMenu => ("Menu główne", "Main menu"),
        SignIn => ("Zaloguj się", "Sign in"),
        SignOut => ("Wyloguj się", "Sign out"),
        Documents => ("Dokumenty", "Documents"),
        AccessLog => ("Dziennik dostępu", "Access log"),
        Consents => ("Zgody", "Consents"),
        ActivateTitle => ("Aktywacja konta", "Activate your account"),
        Activate => ("Aktywuj konto", "Activate the account"),
        SignInIntro => (
            "Zaloguj się, aby zobaczyć dokumenty, które placówka Ci udostępniła.",
            "Sign in to see the documents your clinic shared with you."
        ),
        ActivateIntro => (
            "Ustaw hasło do portalu za pomocą jednorazowego kodu aktywacyjnego otrzymanego w placówce.",
            "Set your portal password with the one-time activation code your clinic gave you."
        ),
        HaveCode => ("Masz kod aktywacyjny? Aktywuj konto", "Have an activation code? Activate your account"),
        HavePassword => ("Masz już hasło? Zaloguj się", "Already have a password? Sign in"),
        TenantId => ("Identyfikator placówki", "Clinic id"),
        TenantIdHint => ("16 cyfr, podanych przez placówkę", "16 digits, given to you by the clinic"),
        PatientId => ("PESEL", "PESEL (patient identifier)"),
        PatientIdHint => (
            "11 cyfr; inny identyfikator w postaci OID^numer",
            "11 digits; another identifier as OID^number"
        ),
        Password => ("Hasło", "Password"),
        NewPassword => ("Nowe hasło", "New password"),
        RepeatPassword => ("Powtórz hasło", "Repeat the password"),
        PasswordRules => (
            "Co najmniej {min} znaków, najwyżej {max}; inne niż PESEL i kod aktywacyjny.",
            "At least {min} characters, at most {max}; not your PESEL or the activation code."
        ),
        ActivationCode => ("Kod aktywacyjny", "Activation code"),
        ActivationCodeHint => (
            "Jednorazowy kod z placówki, np. K7QM-2XWD-9RTB-HC4N",
            "The one-time code from the clinic, e.g. K7QM-2XWD-9RTB-HC4N"
        ),
        SignInFailed => (
            "Nie udało się zalogować: identyfikator placówki, PESEL lub hasło są nieprawidłowe albo konto nie zostało jeszcze aktywowane.",
            "Sign-in failed: the clinic id, PESEL or password is wrong, or the account is not activated yet."
        ),
        Locked => (
            "Zbyt wiele nieudanych prób. Logowanie i aktywacja dla tych danych są zablokowane na {minutes} minut (do {until} UTC).",
            "Too many failed attempts. Sign-in and activation for these details are locked for {minutes} minutes (until {until} UTC)."
        ),
        ActivationFailed => (
            "Aktywacja nie powiodła się: dane lub kod aktywacyjny są nieprawidłowe, kod wygasł albo został już użyty.",
            "Activation failed: the details or the activation code are wrong, or the code has expired or was already used."
        ),
        Activated => ("Hasło zostało ustawione. Zaloguj się.", "Your password is set. Sign in."),
        SignedOut => ("Wylogowano.", "You are signed out."),
        SessionExpired => ("Sesja wygasła. Zaloguj się ponownie.", "Your session has ended. Sign in again."),
        FormExpired => (
            "Formularz wygasł lub został wysłany z innej strony. Spróbuj ponownie.",
            "The form has expired or was sent from another site. Please try again."
        ),
        Required => ("To pole jest wymagane.", "This field is required."),
        BadTenantId => ("Podaj 16 cyfr identyfikatora placówki.", "Give the clinic id's 16 digits."),
        BadPatientId => (
            "To nie jest prawidłowy PESEL (sprawdź cyfry).",
            "This is not a valid PESEL (check the digits)."
        ),
        PasswordTooShort => ("Hasło musi mieć co najmniej {min} znaków.", "The password must have at least {min} characters."),
        PasswordTooLong => ("Hasło może mieć najwyżej {max} znaków.", "The password can have at most {max} characters."),
        PasswordMismatch => ("Powtórzone hasło różni się od pierwszego.", "The repeated password differs from the first."),
        PasswordIsIdentifier => (
            "Hasło nie może być numerem PESEL ani kodem aktywacyjnym.",
            "The password cannot be your PESEL or the activation code."
        ),
        PasswordControl => ("Hasło nie może zawierać znaków sterujących.", "The password cannot contain control characters."),
        FixErrors => ("Popraw zaznaczone pola.", "Correct the marked fields."),
        SignedInAs => ("Zalogowano jako", "Signed in as"),
        Patient => ("Pacjent", "Patient"),
        Title => ("Tytuł", "Title"),
        DocumentType => ("Rodzaj dokumentu", "Document type"),
        Date => ("Data", "Date"),
        SharedWith => ("Udostępniono dla", "Shared with"),
        Purpose => ("Cel", "Purpose"),
        ConsentValid => ("Zgoda ważna", "Consent valid"),
        DocumentsIntro => (
            "Dokumenty, które placówka udostępniła Ci na podstawie zgód obowiązujących dziś.",
            "The documents your clinic shares with you under the consents in force today."
        ),
        NoDocuments => (
            "Nie ma dokumentów udostępnionych Ci w tej chwili.",
            "No documents are shared with you at the moment."
        ),
        Untitled => ("(bez tytułu)", "(untitled)"),
        BackToDocuments => ("← Wróć do dokumentów", "← Back to documents"),
        NotFoundTitle => ("Nie znaleziono", "Not found"),
        DocumentNotShared => (
            "Ten dokument nie jest Ci teraz udostępniony: nie istnieje, zgoda została wycofana albo nie obowiązuje w tym dniu.",
            "This document is not shared with you now: it does not exist, or its consent was revoked or is not in force today."
        ),
        PageNotFound => ("Nie ma takiej strony.", "There is no such page."),
        AccessLogIntro => (
            "Kto, kiedy i skąd korzystał z Twoich dokumentów w tej placówce (najnowsze na górze).",
            "Who used your documents at this clinic, when and from where (newest first)."
        ),
        NoAccessEntries => ("Brak wpisów.", "No entries."),
        When => ("Kiedy", "When"),
        Who => ("Kto", "Who"),
        What => ("Co", "What"),
        FromWhere => ("Skąd", "From where"),
        You => ("Ty (portal pacjenta)", "You (patient portal)"),
        ErrorTitle => ("Błąd", "Error"),
        InternalError => (
            "Wystąpił błąd serwera. Spróbuj ponownie później; jeśli błąd się powtarza, podaj placówce numer {reference}.",
            "The server failed. Try again later; if it happens again, give the clinic reference {reference}."
        ),
        AccountUnavailable => (
            "Konto placówki jest nieaktywne; portal jest niedostępny. Skontaktuj się z placówką.",
            "The clinic's account is not active, so the portal is unavailable. Contact the clinic."
        ),
        ActionDocumentRead => ("pobranie dokumentu", "document downloaded"),
        ActionDocumentRender => ("podgląd dokumentu", "document viewed"),
        ActionDocumentExport => ("eksport dokumentu", "document exported"),
        ActionDocumentPut => ("zapisanie dokumentu", "document stored"),
        ActionDocumentDelete => ("usunięcie dokumentu", "document deleted"),
        ActionDocumentIndex => ("indeksowanie w rejestrze krajowym", "indexed in the national registry"),
        ActionDocumentSearch => ("wyszukiwanie dokumentów", "documents searched"),
        ActionConsentCreate => ("utworzenie zgody", "consent created"),
        ActionConsentSend => ("wysłanie zgody", "consent sent"),
        ActionConsentRevoke => ("wycofanie zgody", "consent revoked"),
        ActionPortalSignIn => ("logowanie do portalu", "portal sign-in"),
        ActionPortalSignInFailed => ("nieudane logowanie do portalu", "failed portal sign-in"),
        ActionPortalSignOut => ("wylogowanie z portalu", "portal sign-out"),
        ActionPortalActivate => ("aktywacja konta w portalu", "portal account activated"),
        ActionPortalActivateFailed => ("nieudana aktywacja konta w portalu", "failed portal account activation"),
        ActionPortalList => ("lista dokumentów w portalu", "document list in the portal"),
        ActionPortalOpen => ("otwarcie dokumentu w portalu", "document opened in the portal"),
        ActionPortalDenied => ("odmowa dostępu do dokumentu w portalu", "portal document access refused"),
        ActionPortalAccessLog => ("podgląd dziennika dostępu", "access log viewed"),
        ActionDocumentMetadata => ("podgląd danych dokumentu", "document details viewed"),
        ActionDocumentUnindex => ("wycofanie z rejestru krajowego", "withdrawn from the national registry"),
        ActionConsentList => ("przegląd zgód", "consents listed"),
        ActionNationalFind => ("wyszukiwanie w rejestrze krajowym", "searched in the national registry"),
        ActionFhirSearch => ("wyszukiwanie dokumentów (FHIR)", "documents searched (FHIR)"),
        ActionFhirRead => ("podgląd danych dokumentu (FHIR)", "document details viewed (FHIR)"),
        ActionFhirBinary => ("pobranie dokumentu (FHIR)", "document downloaded (FHIR)"),
        ActionOther => ("inna czynność ({code})", "another action ({code})"),
        // Who did it, as the access log names them.
        WhoClinicAdministrator => ("{clinic} (administrator {login})", "{clinic} (administrator {login})"),
        WhoClinicSystem => ("{clinic} (system placówki)", "{clinic} (the clinic's system)"),
        WhoNodeOperator => ("operator węzła ({login})", "the node's operator ({login})"),
        WhoClinic => ("{clinic}", "{clinic}"),
    }
}

/// The words for an audit action code (`document.read`, `portal.open`, …); an unknown code
/// is named as another action with its code.
pub fn action_label(action: &str, lang: Lang) -> String {
    let message = match action {
        "document.read" => Msg::ActionDocumentRead,
        "document.render" => Msg::ActionDocumentRender,
        "document.export" => Msg::ActionDocumentExport,
        "document.put" => Msg::ActionDocumentPut,
        "document.delete" => Msg::ActionDocumentDelete,
        "document.index" => Msg::ActionDocumentIndex,
        "document.search" => Msg::ActionDocumentSearch,
        "consent.create" => Msg::ActionConsentCreate,
        "consent.send" => Msg::ActionConsentSend,
        "consent.revoke" => Msg::ActionConsentRevoke,
        "portal.signin" => Msg::ActionPortalSignIn,
        "portal.signin.failed" => Msg::ActionPortalSignInFailed,
        "portal.signout" => Msg::ActionPortalSignOut,
        "portal.activate" => Msg::ActionPortalActivate,
        "portal.activate.failed" => Msg::ActionPortalActivateFailed,
        "portal.list" => Msg::ActionPortalList,
        "portal.open" => Msg::ActionPortalOpen,
        "portal.open.denied" => Msg::ActionPortalDenied,
        "portal.access-log" => Msg::ActionPortalAccessLog,
        "document.metadata" => Msg::ActionDocumentMetadata,
        "document.unindex" => Msg::ActionDocumentUnindex,
        "consent.list" => Msg::ActionConsentList,
        "national.find" => Msg::ActionNationalFind,
        "fhir.document_reference.search" => Msg::ActionFhirSearch,
        "fhir.document_reference.read" => Msg::ActionFhirRead,
        "fhir.binary.read" => Msg::ActionFhirBinary,
        other => return Msg::ActionOther.with(lang, "code", other),
    };
    message.text(lang).to_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // A test that meets an unexpected value fails by panicking.
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_wins_then_cookie_then_accept_language_then_polish() {
        let mut headers = HeaderMap::new();
        assert_eq!(negotiate(None, &headers), (Lang::Pl, None));
        headers.insert(
            "accept-language",
            HeaderValue::from_static("de-DE, en-GB;q=0.8"),
        );
        assert_eq!(negotiate(None, &headers).0, Lang::En);
        headers.insert("cookie", HeaderValue::from_static("a=b; medgate_lang=pl"));
        assert_eq!(negotiate(None, &headers).0, Lang::Pl);
        let (lang, cookie) = negotiate(Some("en"), &headers);
        assert_eq!(lang, Lang::En);
        assert!(cookie.unwrap().starts_with("medgate_lang=en;"));
        // An unknown choice is ignored rather than refused.
        assert_eq!(negotiate(Some("xx"), &headers).0, Lang::Pl);
    }

    #[test]
    fn a_desk_hears_only_the_languages_it_offers_and_else_speaks_its_default() {
        let mut headers = HeaderMap::new();
        let hungarian = Lang::HUNGARIAN_DESK;
        assert_eq!(negotiate_among(hungarian, None, &headers), (Lang::Hu, None));
        // A Polish cookie (from another desk) and a Polish browser do not make it Polish.
        headers.insert("cookie", HeaderValue::from_static("medgate_lang=pl"));
        headers.insert("accept-language", HeaderValue::from_static("pl, en;q=0.5"));
        assert_eq!(negotiate_among(hungarian, None, &headers).0, Lang::En);
        let (lang, cookie) = negotiate_among(hungarian, Some("hu"), &headers);
        assert_eq!(lang, Lang::Hu);
        assert!(cookie.unwrap().starts_with("medgate_lang=hu;"));
        // The Polish desks ignore `hu` rather than refuse it.
        headers.insert("cookie", HeaderValue::from_static("medgate_lang=hu"));
        assert_eq!(negotiate(Some("hu"), &headers).0, Lang::Pl);
        assert_eq!(Lang::Hu.within(Lang::POLISH_DESK), Lang::En);
        assert_eq!(Lang::Pl.within(Lang::HUNGARIAN_DESK), Lang::En);
        assert_eq!(Msg::Consents.text(Lang::Hu), Msg::Consents.text(Lang::En));
    }

    #[test]
    fn placeholders_are_filled_and_domain_words_are_the_seeds() {
        assert_eq!(
            Msg::PasswordTooShort.with(Lang::En, "min", "12"),
            "The password must have at least 12 characters."
        );
        assert_eq!(Msg::Consents.text(Lang::Pl), "Zgody");
        assert_eq!(Msg::AccessLog.text(Lang::Pl), "Dziennik dostępu");
        assert_eq!(
            action_label("portal.open", Lang::En),
            "document opened in the portal"
        );
        assert_eq!(action_label("x.y", Lang::Pl), "inna czynność (x.y)");
        assert_eq!(action_label("document.metadata", Lang::En), "document details viewed");
    }
}

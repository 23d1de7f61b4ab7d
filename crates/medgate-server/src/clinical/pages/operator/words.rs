//! The operator pages' words in Hungarian (their default: the seed's words — intézmény,
//! szervezeti egység, pecsétszám, VMátrix, WAF-SSL tanúsítvány) and English, side by side,
//! and the domain's refusals as sentences naming the rule in the page's language.

use medgate_clinical::ClinicalError;
use medgate_web::i18n::Lang;

medgate_web::bilingual! {
    Hu;
    /// Every text of the service's operator pages.
    O {
        Site => ("EESZT üzemeltetés", "Clinical record service operations"),
        NavInstitutions => ("Intézmények", "Institutions"),
        NavPractitioners => ("Egészségügyi dolgozók", "Practitioners"),
        NavMatrix => ("Jogosultsági mátrix (VMátrix)", "Authorisation matrix"),
        NavCertificates => ("Tanúsítványok", "Certificates"),
        SignInIntro => (
            "Jelentkezzen be a szolgáltatás üzemeltetői felhasználónevével és jelszavával (medgate operator user create).",
            "Sign in with the service's operator login and password (medgate operator user create)."
        ),
        SignInFailed => (
            "A bejelentkezés nem sikerült: a felhasználónév vagy a jelszó hibás, vagy a fiók még nincs aktiválva.",
            "Sign-in failed: the login or the password is wrong, or the login is not activated yet."
        ),
        ErrorTitle => ("Hiba", "Error"),
        NotFoundTitle => ("Nem található", "Not found"),
        NoSuchInstitution => ("Nincs ilyen nyilvántartott intézmény.", "No such institution is registered."),
        Save => ("Mentés", "Save"),
        Saved => ("Mentve.", "Saved."),
        Refused => ("Elutasítva, semmi sem lett mentve:", "Refused, nothing was saved:"),
        Active => ("aktív", "active"),
        Suspended => ("felfüggesztve", "suspended"),
        Suspend => ("Felfüggesztés", "Suspend"),
        Activate => ("Aktiválás", "Activate"),
        Status => ("Állapot", "Status"),
        Name => ("Név", "Name"),
        // Institutions.
        InstitutionsTitle => ("Intézmények", "Institutions"),
        NoInstitutions => ("Még nincs nyilvántartott intézmény.", "No institution is registered yet."),
        InstitutionId => ("Intézményazonosító", "Institution id"),
        InstitutionIdHint => ("6 számjegy, pl. 506097", "6 digits, e.g. 506097"),
        InstitutionIdRule => ("Az intézményazonosító pontosan 6 számjegy (pl. 506097).", "An institution id is exactly 6 digits (e.g. 506097)."),
        InstitutionName => ("Intézmény neve", "Institution name"),
        NameRule => ("A név 1–200 karakter.", "A name has 1 to 200 characters."),
        AddInstitution => ("Új intézmény", "Register an institution"),
        Units => ("Szervezeti egységek", "Units"),
        NoUnits => ("Még nincs szervezeti egysége.", "No unit yet."),
        UnitId => ("Egységazonosító", "Unit id"),
        UnitIdHint => ("9 számjegy, pl. 001044299", "9 digits, e.g. 001044299"),
        UnitIdRule => ("Az egységazonosító pontosan 9 számjegy (pl. 001044299).", "A unit id is exactly 9 digits (e.g. 001044299)."),
        UnitName => ("Egység neve", "Unit name"),
        AddUnit => ("Egység hozzáadása", "Add a unit"),
        Connection => ("Kapcsolatellenőrzés", "Connection check"),
        ConnectionVerifiedAt => ("Kapcsolat ellenőrizve: {at} UTC", "Connection verified: {at} UTC"),
        ConnectionNotVerified => ("A kapcsolat még nincs ellenőrizve.", "The connection is not verified yet."),
        ConnectionIntro => (
            "Töltse fel az intézmény aláírt kapcsolatellenőrzési jelentését (medgate connect-check --p12 … --report): a szolgáltatás ellenőrzi az aláírást, az intézmény tanúsítványát és az eredményt, és ha rendben van, a kapcsolatot ellenőrzöttnek jelöli.",
            "Upload the institution's signed connection-check report (medgate connect-check --p12 … --report): the service checks its signature, the institution's certificate and the outcome, and when all is right marks the connection verified."
        ),
        Report => ("Aláírt jelentés", "Signed report"),
        CheckReport => ("Jelentés ellenőrzése", "Check the report"),
        NoReport => ("Válassza ki a jelentés fájlját.", "Choose the report's file."),
        ConnectionVerified => ("A jelentés rendben van; a kapcsolat ellenőrzöttnek jelölve. Jelentés: {summary}", "The report is right; the connection is marked verified. Report: {summary}"),
        // Certificates.
        CertificatesTitle => ("Intézményi tanúsítványok (WAF-SSL)", "Institution certificates"),
        NoCertificates => ("Még nincs kiadott tanúsítvány.", "No certificate issued yet."),
        Serial => ("Sorozatszám", "Serial"),
        Institution => ("Intézmény", "Institution"),
        IssuedAt => ("Kiadva (UTC)", "Issued (UTC)"),
        NotAfter => ("Lejár (UTC)", "Expires (UTC)"),
        Expired => ("lejárt", "expired"),
        IssueCertificate => ("Tanúsítvány kiadása", "Issue a certificate"),
        IssueIntro => (
            "A szolgáltatás hitelesítés-szolgáltatója új kulcsot és tanúsítványt készít az intézménynek, PKCS#12 fájlban, amelynek jelszava egy egyszer használatos kód. A fájl és a kód csak egyszer látható: a szolgáltatás a kulcsot nem őrzi meg.",
            "The service's CA makes a new key and certificate for the institution, in a PKCS#12 file whose password is a one-time code. The file and the code are shown once: the service keeps no key."
        ),
        Days => ("Érvényesség (nap)", "Validity (days)"),
        DaysRule => ("Az érvényesség 1 és 825 nap között lehet.", "The validity is 1 to 825 days."),
        IssuedTitle => ("Kiadott tanúsítvány", "Certificate issued"),
        IssuedIntro => (
            "A {serial} sorozatszámú tanúsítvány kiadva, lejár: {until} UTC. Töltse le most a PKCS#12 fájlt, és adja át az intézménynek; a kódot külön csatornán (pl. SMS) juttassa el. Ez az oldal nem jelenik meg újra.",
            "Certificate {serial} issued, valid until {until} UTC. Download the PKCS#12 file now and hand it to the institution; send the code by another channel (e.g. SMS). This page is not shown again."
        ),
        Download => ("PKCS#12 fájl letöltése", "Download the PKCS#12 file"),
        OneTimeCode => ("Egyszer használatos kód (a PKCS#12 jelszava)", "One-time code (the PKCS#12 password)"),
        BackToInstitution => ("← Vissza az intézményhez", "← Back to the institution"),
        // Practitioners.
        PractitionersTitle => ("Egészségügyi dolgozók", "Practitioners"),
        NoPractitioners => ("Még nincs nyilvántartott egészségügyi dolgozó.", "No practitioner is registered yet."),
        UserName => ("EESZT felhasználónév", "User name"),
        UserNameRule => ("A felhasználónév 1–200 karakter: betűk, számjegyek és a . - _ @ jelek.", "A user name has 1 to 200 characters: letters, digits, '.', '-', '_' and '@'."),
        StampNumber => ("Pecsétszám", "Stamp number"),
        StampHint => ("5 számjegy, pl. 58012", "5 digits, e.g. 58012"),
        StampRule => ("A pecsétszám pontosan 5 számjegy, nem mind nulla (pl. 58012).", "A stamp number is exactly 5 digits, not all zeros (e.g. 58012)."),
        InitialPassword => ("Kezdő jelszó", "Initial password"),
        PasswordHint => ("12–128 karakter; a dolgozó ezzel és a token kódjával lép be.", "12 to 128 characters; the practitioner signs in with it and the token's code."),
        PasswordRule => ("A jelszó 12–128 karakter.", "A password has 12 to 128 characters."),
        AddPractitioner => ("Új egészségügyi dolgozó", "Register a practitioner"),
        RegisteredTitle => ("Egészségügyi dolgozó nyilvántartva", "Practitioner registered"),
        TotpIntro => (
            "{user} nyilvántartva. A token titkos kulcsa csak most látható: olvassa be a QR-kódot a dolgozó hitelesítő alkalmazásával, vagy adja meg az otpauth:// címet. A szolgáltatás nem mutatja meg újra.",
            "{user} is registered. The token's secret is shown now only: scan the QR code with the practitioner's authenticator app, or enter the otpauth:// URI. The service does not show it again."
        ),
        QrCode => ("A token QR-kódja", "The token's QR code"),
        BackToPractitioners => ("← Vissza a dolgozókhoz", "← Back to the practitioners"),
        // The matrix.
        MatrixTitle => ("Jogosultsági mátrix (VMátrix)", "Authorisation matrix"),
        MatrixIntro => (
            "Melyik felhasználó melyik intézmény (és egység) nevében, milyen szerepkörben járhat el.",
            "Which user may act for which institution (and unit), in which role."
        ),
        NoMatrix => ("A mátrix üres.", "The matrix is empty."),
        Practitioner => ("Egészségügyi dolgozó", "Practitioner"),
        Unit => ("Egység", "Unit"),
        AllUnits => ("minden egység", "all units"),
        UnitOrAllHint => ("9 számjegy, vagy üresen: az intézmény minden egysége", "9 digits, or empty: every unit of the institution"),
        Role => ("Szerepkör", "Role"),
        RoleHint => ("pl. orvos, ápoló", "e.g. doctor, nurse"),
        RoleRule => ("A szerepkör 1–200 karakter.", "A role has 1 to 200 characters."),
        Grant => ("Jogosultság megadása", "Grant"),
        Revoke => ("Visszavonás", "Revoke"),
        Choose => ("– válasszon –", "– choose –"),
        AlreadyRegistered => ("Már nyilvántartásban van: {id}.", "Registered already: {id}."),
        NotRegistered => ("Nincs nyilvántartásban: {id}.", "Not registered: {id}."),
        ReportRefused => ("A jelentés nem fogadható el: {reason}", "The report is refused: {reason}"),
    }
}

/// The sentence of a domain refusal in `lang`, naming the rule.
pub fn refusal(lang: Lang, error: &ClinicalError) -> String {
    match error {
        ClinicalError::InvalidIdentifier(id) => match id.kind {
            "institution id" => O::InstitutionIdRule.text(lang).to_owned(),
            "unit id" => O::UnitIdRule.text(lang).to_owned(),
            "stamp number" => O::StampRule.text(lang).to_owned(),
            _ => error.to_string(),
        },
        ClinicalError::InvalidResource { field, .. } => match field.as_str() {
            "name" => O::NameRule.text(lang).to_owned(),
            "user_name" => O::UserNameRule.text(lang).to_owned(),
            "password" => O::PasswordRule.text(lang).to_owned(),
            "role" => O::RoleRule.text(lang).to_owned(),
            "days" => O::DaysRule.text(lang).to_owned(),
            _ => error.to_string(),
        },
        ClinicalError::AlreadyRegistered { what, id } => {
            O::AlreadyRegistered.with(lang, "id", &format!("{} {id}", thing(lang, what)))
        }
        ClinicalError::NotRegistered { what, id } => {
            O::NotRegistered.with(lang, "id", &format!("{} {id}", thing(lang, what)))
        }
        ClinicalError::ReportRefused { reason } => O::ReportRefused.with(lang, "reason", reason),
        other => other.to_string(),
    }
}

/// What the registry names (the store's words) in `lang`.
fn thing(lang: Lang, what: &str) -> &str {
    if lang != Lang::Hu {
        return what;
    }
    match what {
        "institution" => "intézmény",
        "unit" => "szervezeti egység",
        "unit of the institution" => "az intézmény szervezeti egysége",
        "practitioner" => "egészségügyi dolgozó",
        "practitioner or institution" => "egészségügyi dolgozó vagy intézmény",
        "authorisation" => "jogosultság",
        "certificate" => "tanúsítvány",
        other => other,
    }
}

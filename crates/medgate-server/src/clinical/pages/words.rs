//! The practitioners' desk's words in Hungarian (its default: the seeds' words — TAJ,
//! eseménykatalógus, eProfil, e-beutaló, "vészhelyzeti hozzáférés") and English, side by
//! side, so a missing translation does not compile. Texts with a placeholder write it as
//! `{name}`; [`W::with`] fills it in.

medgate_web::bilingual! {
    Hu;
    /// Every text of the practitioners' desk.
    W {
        Site => ("Orvosi munkaállomás", "Practitioners' desk"),
        NavPatient => ("Beteg", "Patient"),
        NavReferrals => ("Beutalók", "Referrals"),
        SignInTitle => ("Bejelentkezés", "Sign in"),
        SignInIntro => (
            "Jelentkezzen be az EESZT felhasználónevével, jelszavával és a token aktuális kódjával. A munkamenet 7 óráig érvényes, addig nem kell újra belépnie.",
            "Sign in with your EESZT user name, password and the current code of your token. The session lasts 7 hours; you are not asked again until then."
        ),
        SignInFailed => (
            "A bejelentkezés nem sikerült: ellenőrizze az azonosítót, a felhasználónevet, a jelszót és a kódot.",
            "Sign-in failed: check the account id, the user name, the password and the code."
        ),
        SignIn => ("Belépés", "Sign in"),
        SignedOut => ("Kijelentkezett.", "You have signed out."),
        SessionExpired => (
            "A munkamenet lejárt (7 óra után, vagy az EESZT lezárta). Jelentkezzen be újra.",
            "The session has ended (after 7 hours, or the service ended it). Sign in again."
        ),
        Account => ("Intézményi fiók azonosítója", "Clinic account id"),
        AccountHint => ("16 számjegy, a rendszergazdától", "16 digits, from your administrator"),
        AccountInvalid => ("A fiókazonosító 16 számjegy.", "The account id is 16 digits."),
        UserName => ("EESZT felhasználónév", "EESZT user name"),
        Password => ("Jelszó", "Password"),
        Code => ("Token kód", "Token code"),
        CodeHint => ("A hitelesítő alkalmazás 6 jegyű kódja", "The 6-digit code of your authenticator"),
        CodeInvalid => ("A kód 6 számjegy.", "The code is 6 digits."),
        Required => ("Kötelező mező.", "This field is required."),
        FixErrors => ("Javítsa a megjelölt mezőket.", "Correct the marked fields."),
        FormExpired => (
            "Az űrlap lejárt vagy nem erről az oldalról érkezett. Töltse ki újra.",
            "The form has expired or did not come from this page. Fill it in again."
        ),
        Locked => (
            "Túl sok sikertelen próbálkozás: a belépés {until}-ig zárolva.",
            "Too many failed attempts: signing in is locked until {until}."
        ),
        ServiceSaid => ("Az EESZT hibát jelzett: {reason}.", "The clinical record service: {reason}."),
        ErrorTitle => ("Hiba", "Error"),
        FindPatientTitle => ("Beteg keresése", "Find a patient"),
        FindPatientIntro => (
            "Adja meg a beteg TAJ számát: megjelennek a dokumentumai minden intézményből, az eProfilja és a beutalói, és itt nyithat eseményt.",
            "Give the patient's TAJ number: their documents from every institution, their profile and referrals appear, and you can open an encounter here."
        ),
        Taj => ("TAJ szám", "TAJ number"),
        TajHint => ("9 számjegy", "9 digits"),
        TajInvalid => ("Érvénytelen TAJ szám: {reason}", "Not a valid TAJ number: {reason}"),
        FindPatient => ("Keresés", "Find"),
        PatientTitle => ("Beteg · TAJ {taj}", "Patient · TAJ {taj}"),
        Encounter => ("Esemény", "Encounter"),
        EncounterOpen => (
            "Nyitott esemény: {id}. Lezáráskor az összefoglaló PDF-ként kerül az EESZT-be.",
            "Open encounter: {id}. When you close it, the summary is submitted to the service as a PDF."
        ),
        Unit => ("Szervezeti egység", "Unit"),
        CareType => ("Ellátás típusa", "Care type"),
        DefaultCareType => ("járóbeteg-ellátás", "outpatient care"),
        CareTypeRequired => ("Adja meg az ellátás típusát.", "Give the care type."),
        UnknownUnit => ("A(z) {unit} egység nem ennek az intézménynek az egysége.", "Unit {unit} is not one of this institution's units."),
        OpenEncounter => ("Esemény megnyitása", "Open an encounter"),
        CloseEncounter => ("Lezárás és dokumentum beküldése", "Close and submit the document"),
        DocumentTitle => ("Dokumentum címe", "Document title"),
        DefaultDocumentTitle => ("Ambuláns lap", "Outpatient summary"),
        Summary => ("Összefoglaló", "Summary"),
        SummaryHint => ("Panasz, lelet, kezelés, javaslat — ebből készül a PDF", "Complaint, findings, treatment, advice — the PDF is made of it"),
        SummaryRequired => ("Írja meg az összefoglalót.", "Write the summary."),
        Documents => ("Dokumentumok (minden intézményből)", "Documents (from every institution)"),
        NoDocuments => ("Nincs megjeleníthető dokumentum.", "No documents to show."),
        Restricted => (
            "A beteg korlátozta a dokumentumai elérését; néhány dokumentum rejtve van. Vészhelyzetben indoklással megnyithatja őket — a hozzáférést naplózzuk, és a beteg látja.",
            "The patient restricted access to their documents; some are withheld. In an emergency you may open them with a reason — the access is logged and shown to the patient."
        ),
        BreakGlassReason => ("A vészhelyzeti hozzáférés indoka", "Reason for the emergency access"),
        BreakGlassHint => ("Az indok a beteg hozzáférési naplójába kerül.", "The reason goes into the patient's access log."),
        BreakGlass => ("Vészhelyzeti hozzáférés", "Break the glass"),
        BreakGlassReasonRequired => ("A vészhelyzeti hozzáféréshez indok kell.", "Breaking the glass needs a reason."),
        BrokenGlass => ("Vészhelyzeti hozzáférés, indok: {reason}", "Glass broken, reason: {reason}"),
        NotThisPatient => ("Ez a dokumentum nem ennek a betegnek a dokumentuma.", "This document is not this patient's."),
        Date => ("Dátum", "Date"),
        Institution => ("Intézmény", "Institution"),
        Format => ("Formátum", "Format"),
        Open => ("Megnyitás", "Open"),
        Practitioner => ("Orvos", "Practitioner"),
        Profile => ("eProfil", "Patient profile"),
        NoProfile => ("Nincs profilbejegyzés.", "No profile entries."),
        Kind => ("Típus", "Kind"),
        KindAllergy => ("Allergia, intolerancia", "Allergy, intolerance"),
        KindCondition => ("Krónikus betegség, diagnózis", "Chronic condition, diagnosis"),
        KindMedication => ("Aktuális gyógyszer", "Current medication"),
        KindDevice => ("Implantátum, eszköz", "Implant, device"),
        KindDeviceUse => ("Eszközhasználat", "Device use"),
        KindCarePlan => ("Gondozási program", "Care programme"),
        UnknownKind => ("Ismeretlen bejegyzéstípus.", "Unknown kind of entry."),
        EntryText => ("Bejegyzés", "Entry"),
        EntryTextRequired => ("A bejegyzés szövege üres.", "The entry's text is empty."),
        Version => ("Verzió", "Version"),
        AddEntry => ("Bejegyzés hozzáadása", "Add the entry"),
        Modify => ("Módosítás", "Modify"),
        Delete => ("Törlés", "Delete"),
        History => ("Előzmények", "History"),
        HistoryTitle => ("Előzmények · {kind}", "History · {kind}"),
        DeletedVersion => ("(törölve)", "(deleted)"),
        BackToPatient => ("Vissza a beteghez", "Back to the patient"),
        Referrals => ("Beutalók", "Referrals"),
        NoReferrals => ("Nincs beutaló.", "No referrals."),
        Specialty => ("Szakterület", "Specialty"),
        Note => ("Megjegyzés", "Note"),
        IssueReferral => ("Beutaló kiállítása", "Issue a referral"),
        ReferralId => ("Beutaló azonosító", "Referral id"),
        ReferralIdHint => ("A beutalón szereplő azonosító", "The id on the referral"),
        Status => ("Állapot", "Status"),
        UseReferral => ("Beutaló felhasználása", "Use the referral"),
        ReferralsTitle => ("Beutaló keresése", "Find a referral"),
        ReferralsIntro => (
            "Keresse meg a beutalót az azonosítója alapján, és használja fel (egy beutaló egyszer használható fel).",
            "Find a referral by its id and use it (a referral is used once)."
        ),
        FindReferral => ("Keresés", "Find"),
        SpecialtyRequired => ("Adja meg a szakterületet.", "Give the specialty."),
        NoSuchReferral => ("Nincs {id} azonosítójú beutaló.", "There is no referral {id}."),
        DoneOpened => ("Az esemény megnyílt az EESZT-ben.", "The encounter was opened at the service."),
        DoneClosed => ("A dokumentum beküldve, az esemény lezárva.", "The document was submitted and the encounter closed."),
        DoneAdded => ("A bejegyzés rögzítve.", "The entry was added."),
        DoneUpdated => ("A bejegyzés új verziója rögzítve.", "A new version of the entry was saved."),
        DoneDeleted => ("A bejegyzés törölve.", "The entry was deleted."),
        DoneIssued => ("A beutaló kiállítva.", "The referral was issued."),
        DoneUsed => ("A beutaló felhasználva.", "The referral was used."),
        // The patients' portal of the clinical record service (`/portal`).
        PortalSite => ("Betegportál · EESZT", "Patient portal · clinical record service"),
        PortalSignInIntro => (
            "Jelentkezzen be a TAJ számával és a jelszavával: láthatja a dokumentumait minden intézményből, az eProfilját, a beutalóit, azt, hogy ki mikor nézte meg az adatait, és korlátozhatja a hozzáférést.",
            "Sign in with your TAJ number and password: you see your documents from every institution, your profile, your referrals, who looked at your data and when, and you can restrict access."
        ),
        PortalSignInFailed => (
            "A bejelentkezés nem sikerült: a TAJ szám vagy a jelszó hibás, vagy a fiók még nincs aktiválva.",
            "Sign-in failed: the TAJ number or the password is wrong, or the account is not activated yet."
        ),
        PortalHaveCode => ("Aktiváló kódot kapott? Állítsa be a jelszavát", "Got an activation code? Set your password"),
        PortalActivateTitle => ("A betegfiók aktiválása", "Activate your patient account"),
        PortalActivateIntro => (
            "Adja meg a TAJ számát, az EESZT üzemeltetőjétől kapott egyszer használható aktiváló kódot, és válasszon jelszót.",
            "Give your TAJ number, the one-time activation code from the service's operator, and choose a password."
        ),
        PortalActivate => ("Jelszó beállítása", "Set the password"),
        PortalCodeHint => ("Az egyszer használható kód, pl. K7QM-2XWD-9RTB-HC4N", "The one-time code, e.g. K7QM-2XWD-9RTB-HC4N"),
        PortalPasswordRules => (
            "Legalább {min}, legfeljebb {max} karakter; ne a TAJ szám és ne az aktiváló kód.",
            "At least {min} characters, at most {max}; not your TAJ number or the activation code."
        ),
        PortalPasswordIsTaj => ("A jelszó nem lehet a TAJ szám vagy az aktiváló kód.", "The password cannot be your TAJ number or the activation code."),
        PortalFixErrors => ("Javítsa a megjelölt mezőket.", "Correct the marked fields."),
        NavDocuments => ("Dokumentumok", "Documents"),
        NavProfile => ("eProfil", "Profile"),
        NavReferralsMine => ("Beutalók", "Referrals"),
        NavAccessLog => ("Hozzáférési napló", "Access log"),
        NavRestrictions => ("Korlátozások", "Restrictions"),
        Greeting => ("{name} · TAJ {taj}", "{name} · TAJ {taj}"),
        MyDocumentsIntro => (
            "Az Ön dokumentumai minden intézményből, a legújabb elöl. Az Ön korlátozása csak az orvosokra vonatkozik: Ön mindig látja őket.",
            "Your documents from every institution, newest first. Your restrictions apply to practitioners only: you always see them."
        ),
        Title => ("Cím", "Title"),
        DocumentTitleFallback => ("(cím nélkül)", "(untitled)"),
        DocumentDetails => ("A dokumentum adatai (FHIR DocumentReference)", "The document's details (FHIR DocumentReference)"),
        Identifier => ("Azonosító", "Identifier"),
        Encounter2 => ("Esemény", "Encounter"),
        Size => ("Méret", "Size"),
        Sha1 => ("SHA-1 ellenőrzőösszeg", "SHA-1 hash"),
        Download => ("Letöltés", "Download"),
        DocumentText => ("A dokumentum szövege (CDA XML)", "The document's text (CDA XML)"),
        BackToDocuments => ("Vissza a dokumentumokhoz", "Back to the documents"),
        NotFoundTitle => ("Nem található", "Not found"),
        NotFound => (
            "Nincs ilyen adat az Ön nyilvántartásában.",
            "There is no such item in your record."
        ),
        MyProfileIntro => (
            "Az eProfil bejegyzései típusonként; minden módosítás új verzió, az előzmények megmaradnak.",
            "Your profile's entries by kind; every change is a new version and the history is kept."
        ),
        LastUpdated => ("Utolsó módosítás", "Last updated"),
        Versions => ("Verziók", "Versions"),
        EntryVersions => ("{kind}: a bejegyzés verziói", "{kind}: the entry's versions"),
        BackToProfile => ("Vissza az eProfilhoz", "Back to the profile"),
        MyReferralsIntro => (
            "Az Ön beutalói és állapotuk: kiállítva, felhasználva, visszavonva vagy lejárt.",
            "Your referrals and their status: issued, used, cancelled or expired."
        ),
        Issued => ("Kiállítva", "Issued"),
        StatusIssued => ("kiállítva", "issued"),
        StatusConsumed => ("felhasználva", "used"),
        StatusCancelled => ("visszavonva", "cancelled"),
        StatusExpired => ("lejárt", "expired"),
        AccessLogIntro => (
            "Ki, mikor, melyik intézmény nevében olvasta vagy módosította az adatait — és minden vészhelyzeti hozzáférés az indokával. Az Ön saját megtekintései is itt vannak.",
            "Who read or changed your data, when, on behalf of which institution — and every emergency access with its reason. Your own views are here too."
        ),
        NoAccess => ("Még senki nem fért hozzá az adataihoz.", "Nobody has accessed your data yet."),
        When => ("Időpont", "When"),
        Who => ("Ki", "Who"),
        What => ("Mit", "What"),
        OnBehalfOf => ("Intézmény nevében", "On behalf of"),
        You => ("Ön", "You"),
        EmergencyAccess => ("Vészhelyzeti hozzáférés — indok: {reason}", "Emergency access — reason: {reason}"),
        ActionRead => ("megnyitotta", "read"),
        ActionSearch => ("listázta", "listed"),
        ActionHistory => ("megnézte az előzményeit", "read the history of"),
        ActionCreate => ("létrehozta", "created"),
        ActionUpdate => ("módosította", "changed"),
        ActionDelete => ("törölte", "deleted"),
        ActionRestrict => ("korlátozást állított be", "set a restriction"),
        ActionLift => ("feloldotta a korlátozást", "lifted a restriction"),
        ActionAccessLog => ("megnézte a hozzáférési naplót", "read the access log"),
        RestrictionsIntro => (
            "Korlátozhatja, hogy az orvosok lássák-e a dokumentumait: mindet, egy intézményéit vagy egyet. Korlátozott dokumentumot orvos csak vészhelyzetben, indoklással nyithat meg — ezt a hozzáférési naplóban látja.",
            "You may restrict practitioners' access to your documents: all of them, one institution's or one document. A practitioner opens a restricted document only in an emergency, stating a reason — you see it in the access log."
        ),
        NoRestrictions => ("Nincs korlátozás: az orvosok látják a dokumentumait.", "No restrictions: practitioners see your documents."),
        Scope => ("Hatókör", "Scope"),
        ScopeAll => ("Minden dokumentum", "Every document"),
        ScopeInstitution => ("A(z) {institution} intézmény dokumentumai", "The documents of institution {institution}"),
        ScopeDocument => ("A dokumentum: {document}", "The document: {document}"),
        Active => ("érvényes", "in force"),
        Lifted => ("feloldva", "lifted"),
        Since => ("Beállítva", "Set"),
        Lift => ("Feloldás", "Lift"),
        RestrictAll => ("Minden dokumentum korlátozása", "Restrict every document"),
        RestrictInstitution => ("Egy intézmény dokumentumainak korlátozása", "Restrict one institution's documents"),
        InstitutionId => ("Intézmény azonosító", "Institution id"),
        InstitutionIdHint => ("6 számjegy, pl. 506097", "6 digits, e.g. 506097"),
        RestrictDocument => ("Egy dokumentum korlátozása", "Restrict one document"),
        Restrict => ("Korlátozás", "Restrict"),
        ChooseDocument => ("Dokumentum", "Document"),
        InstitutionInvalid => ("Érvénytelen intézmény azonosító: {reason}", "Not a valid institution id: {reason}"),
        UnknownInstitution => ("Nincs {institution} azonosítójú intézmény.", "There is no institution {institution}."),
        DoneRestricted => ("A korlátozás érvényes: az orvosok mostantól csak vészhelyzetben láthatják.", "The restriction is in force: practitioners see it only in an emergency from now on."),
        DoneLifted => ("A korlátozás feloldva.", "The restriction was lifted."),
    }
}

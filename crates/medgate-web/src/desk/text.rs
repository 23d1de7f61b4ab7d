//! The words of the staff pages in Polish and English, side by side so that a missing
//! translation does not compile (made with `bilingual!`, as [`crate::i18n`] is, in a
//! file of its own so the two sets of pages can grow apart). The Polish domain words
//! are seed 000's: "ID konta", "ID repozytorium w P1", "Dane konta", "Struktura
//! organizacyjna", "Świadczeniodawca", "Zakład leczniczy", "Komórki organizacyjne",
//! "Rodzaje dokumentów", "Czy zapisywać dokument automatycznie w archiwum", "Dostępny
//! lokalnie przez (dni)", "Przegląd archiwum", "Wyszukiwanie zaawansowane", "Udostępnij",
//! "Zapisz XML HL7 CDA", "Pokaż w przeglądarce", "Zapisz załącznik", "Indeksuj dokument",
//! "Rejestr zgód", "Sprawa", "Odwołanie zgody".

use crate::i18n::bilingual;

bilingual! {
    /// Every text of the staff pages.
    T {
        // The account's certificates (seed 000 §1.1.6 and the P1 certificates of §1.3).
        CertificatesPageTitle => ("Certyfikaty konta", "Account certificates"),
        ManageCertificates => ("Zarządzaj certyfikatami", "Manage certificates"),
        RegisterCertificatesTitle => ("Rejestracja i aktualizacja certyfikatów", "Register or update certificates"),
        RegisterCertificatesIntro => (
            "Wczytaj nowy certyfikat TLS, WSSE albo oba: plik PKCS#12 (.p12) z hasłem albo sam certyfikat (PEM lub DER) wystawiony przez urząd certyfikacji węzła. Zarejestrowane certyfikaty od razu zastępują dotychczasowe.",
            "Load a new TLS certificate, WSS certificate or both: a PKCS#12 file (.p12) with its password, or the certificate alone (PEM or DER) issued by the node's CA. Registered certificates replace the current ones at once."
        ),
        ActivateAccount => ("Aktywuj konto", "Activate the account"),
        ActivateAccountIntro => (
            "Konto nie jest jeszcze aktywne. Podaj OID świadczeniodawcy i wczytaj oba certyfikaty (TLS i WSSE): konto zostanie aktywowane, a identyfikatory domeny i repozytorium nadane.",
            "The account is not active yet. Give the provider OID and load both certificates (TLS and WSS): the account is activated and its domain and repository ids assigned."
        ),
        ProviderOidHint => ("Np. 2.16.840.1.113883.3.4424.2.3.123456", "E.g. 2.16.840.1.113883.3.4424.2.3.123456"),
        CertificateFile => ("Plik certyfikatu", "Certificate file"),
        CertificateFileHint => (".p12 / .pfx z kluczem albo .pem / .crt / .der", ".p12 / .pfx with the key, or .pem / .crt / .der"),
        KeystorePasswordOf => ("Hasło do certyfikatu {kind} (dla pliku .p12)", "Password of the {kind} certificate (for a .p12 file)"),
        KeystorePassword => ("Hasło do certyfikatu", "Certificate password"),
        KeystorePasswordNeeded => ("Podaj hasło do certyfikatu: plik .p12 jest zaszyfrowany.", "Give the certificate's password: the .p12 file is encrypted."),
        WrongKeystorePassword => ("Hasło nie otwiera tego pliku .p12 (albo plik jest uszkodzony).", "The password does not open this .p12 file (or the file is damaged)."),
        NoCertificateInKeystore => ("Plik nie zawiera certyfikatu.", "The file holds no certificate."),
        KeyNotOfCertificate => ("Klucz prywatny w pliku .p12 nie należy do jego certyfikatu.", "The private key in the .p12 file does not belong to its certificate."),
        NoCertificateChosen => ("Wybierz plik certyfikatu TLS, WSSE albo oba.", "Choose a TLS certificate file, a WSS certificate file or both."),
        RegisterCertificates => ("Zarejestruj certyfikaty", "Register the certificates"),
        DoneActivated => ("Konto zostało aktywowane.", "The account was activated."),
        DoneCertificatesRegistered => ("Certyfikaty zostały zarejestrowane; poprzednie przestały działać.", "The certificates were registered; the previous ones no longer work."),
        IssueKeystoresTitle => ("Nowe certyfikaty w plikach .p12", "New certificates as .p12 files"),
        IssueKeystoresIntro => (
            "Węzeł wygeneruje klucze TLS i WSSE, wystawi certyfikaty ważne {days} dni i odda je w archiwum ZIP jako dwa pliki .p12 zaszyfrowane podanym hasłem. Kluczy prywatnych węzeł nie zachowuje: zapisz plik i hasło w bezpiecznym miejscu.",
            "The node generates TLS and WSS keys, issues certificates valid for {days} days and hands them over in a ZIP archive as two .p12 files encrypted with the password you give. The node keeps no private keys: store the file and the password safely."
        ),
        IssueKeystoresOff => (
            "Operator nie udostępnił temu kontu wystawiania certyfikatów: poproś operatora o certyfikaty.",
            "The operator has not enabled certificate issuing for this account: ask the operator for certificates."
        ),
        OrganisationO => ("Organizacja (O)", "Organisation (O)"),
        CountryC => ("Kraj (C)", "Country (C)"),
        KeyAlgorithm => ("Algorytm klucza", "Key algorithm"),
        KeystorePasswordHint => ("Co najmniej {min} znaków; potrzebne przy każdym użyciu pliku .p12.", "At least {min} characters; needed whenever the .p12 file is used."),
        RegisterNow => (
            "Od razu zarejestruj nowe certyfikaty (dotychczasowe przestaną działać)",
            "Register the new certificates at once (the current ones stop working)"
        ),
        IssueKeystores => ("Wystaw i zapisz pliki .p12", "Issue and save the .p12 files"),
        NationalCertificatesTitle => ("Certyfikaty P1", "National (P1) certificates"),
        NoRegistryConfigured => (
            "Węzeł nie jest połączony z rejestrem krajowym: operator ustawia go w konfiguracji ([registry]).",
            "This node is not linked to a national registry: the operator sets it in the configuration ([registry])."
        ),
        NationalIntro => (
            "Wczytaj certyfikaty TLS i WSSE otrzymane od operatora rejestru krajowego (pliki .p12 z kluczami) i podaj hasło do certyfikatów. Repozytorium zostanie zarejestrowane w {url} i otrzyma identyfikator repozytorium w P1.",
            "Load the TLS and WSS certificates you received from the national registry's operator (.p12 files with their keys) and give their password. The repository is registered at {url} and receives its national repository id."
        ),
        NationalTlsKeystore => ("Certyfikat P1 TLS (.p12)", "National TLS certificate (.p12)"),
        NationalWssKeystore => ("Certyfikat P1 WSSE (.p12)", "National WSS certificate (.p12)"),
        NationalKeystoreHint => ("Plik .p12 z certyfikatem i kluczem prywatnym", "A .p12 file with the certificate and its private key"),
        RepositoryName => ("Nazwa repozytorium (opcjonalnie)", "Repository name (optional)"),
        RegisterNational => ("Zarejestruj w rejestrze krajowym", "Register with the national registry"),
        RegistryAddress => ("Rejestr krajowy", "National registry"),
        NationalTlsSerial => ("Numer seryjny certyfikatu P1 TLS", "National TLS certificate serial"),
        NationalWssSerial => ("Numer seryjny certyfikatu P1 WSSE", "National WSS certificate serial"),
        RevokeNationalCertificates => ("Odwołaj certyfikaty P1", "Revoke the national certificates"),
        RevokeNationalWarning => (
            "Repozytorium zostanie wyrejestrowane z rejestru krajowego, który wycofa wszystkie jego wpisy; certyfikaty P1 zostaną usunięte z węzła. Dokumenty pozostają w archiwum.",
            "The repository is deregistered from the national registry, which withdraws all its entries; the national certificates are removed from the node. The documents stay in the archive."
        ),
        NationalRepositoryLine => ("Identyfikator repozytorium w P1: {id}", "National repository id: {id}"),
        DoneNationalRegistered => ("Repozytorium zostało zarejestrowane w rejestrze krajowym.", "The repository was registered with the national registry."),
        DoneNationalRevoked => ("Certyfikaty P1 zostały odwołane, a repozytorium wyrejestrowane.", "The national certificates were revoked and the repository deregistered."),
        // The frame.
        AdminSite => ("Panel administratora", "Administration"),
        OperatorSite => ("Operator", "Operator"),
        MainMenu => ("Menu główne", "Main menu"),
        Language => ("Język", "Language"),
        SkipToContent => ("Przejdź do treści", "Skip to content"),
        SignOut => ("Wyloguj się", "Sign out"),
        NavAccount => ("Panel konta", "Account panel"),
        NavOrganisation => ("Struktura organizacyjna", "Organisational structure"),
        NavDocumentTypes => ("Rodzaje dokumentów", "Document types"),
        NavArchive => ("Archiwum", "Archive"),
        NavConsents => ("Rejestr zgód", "Consent register"),
        NavClinicalService => ("Usługa kliniczna", "Clinical service"),
        NavTenants => ("Konta placówek", "Clinic accounts"),
        NavCertificates => ("Wygasające certyfikaty", "Expiring certificates"),
        ErrorTitle => ("Błąd", "Error"),
        InternalError => (
            "Wystąpił błąd serwera. Spróbuj ponownie później; jeśli błąd się powtarza, podaj operatorowi numer {reference}.",
            "The server failed. Try again later; if it happens again, give the operator reference {reference}."
        ),
        Back => ("← Wróć", "← Back"),
        Required => ("To pole jest wymagane.", "This field is required."),
        FixErrors => ("Popraw zaznaczone pola; nic nie zostało zapisane.", "Correct the marked fields; nothing was saved."),
        FormExpired => (
            "Formularz wygasł lub został wysłany z innej strony. Spróbuj ponownie.",
            "The form has expired or was sent from another site. Please try again."
        ),
        Saved => ("Zapisano.", "Saved."),
        Yes => ("tak", "yes"),
        No => ("nie", "no"),
        None_ => ("brak", "none"),
    
        // Signing in.
        SignInTitle => ("Logowanie", "Sign in"),
        SignIn => ("Zaloguj się", "Sign in"),
        AdminSignInIntro => (
            "Zaloguj się kontem administratora konta w eRepozytorium.",
            "Sign in with your account's administrator login."
        ),
        OperatorSignInIntro => (
            "Zaloguj się kontem operatora usługi.",
            "Sign in with your operator login."
        ),
        AccountId => ("ID konta", "Account id"),
        AccountIdHint => ("16 cyfr, np. 0000000000005010", "16 digits, e.g. 0000000000005010"),
        BadAccountId => ("Podaj 16 cyfr ID konta.", "Give the account id's 16 digits."),
        Login => ("Login", "Login"),
        BadLogin => (
            "Login może zawierać litery a-z, cyfry oraz . _ - @ (najwyżej 64 znaki).",
            "A login has letters a-z, digits and . _ - @ (at most 64 characters)."
        ),
        Password => ("Hasło", "Password"),
        AdminSignInFailed => (
            "Nie udało się zalogować: ID konta, login lub hasło są nieprawidłowe albo konto nie zostało jeszcze aktywowane.",
            "Sign-in failed: the account id, login or password is wrong, or the login is not activated yet."
        ),
        OperatorSignInFailed => (
            "Nie udało się zalogować: login lub hasło są nieprawidłowe albo konto nie zostało jeszcze aktywowane.",
            "Sign-in failed: the login or password is wrong, or the login is not activated yet."
        ),
        Locked => (
            "Zbyt wiele nieudanych prób. Logowanie i aktywacja dla tych danych są zablokowane na {minutes} minut (do {until} UTC).",
            "Too many failed attempts. Sign-in and activation for these details are locked for {minutes} minutes (until {until} UTC)."
        ),
        HaveCode => ("Masz kod aktywacyjny? Ustaw hasło", "Have an activation code? Set your password"),
        HavePassword => ("Masz już hasło? Zaloguj się", "Already have a password? Sign in"),
        ActivateTitle => ("Aktywacja konta użytkownika", "Activate your login"),
        ActivateIntro => (
            "Ustaw hasło za pomocą jednorazowego kodu aktywacyjnego otrzymanego od operatora.",
            "Set your password with the one-time activation code the operator gave you."
        ),
        Activate => ("Ustaw hasło", "Set the password"),
        ActivationCode => ("Kod aktywacyjny", "Activation code"),
        ActivationCodeHint => (
            "Jednorazowy kod, np. K7QM-2XWD-9RTB-HC4N",
            "The one-time code, e.g. K7QM-2XWD-9RTB-HC4N"
        ),
        NewPassword => ("Nowe hasło", "New password"),
        RepeatPassword => ("Powtórz hasło", "Repeat the password"),
        PasswordRules => (
            "Co najmniej {min} znaków, najwyżej {max}; inne niż login i kod aktywacyjny.",
            "At least {min} characters, at most {max}; not your login or the activation code."
        ),
        PasswordTooShort => ("Hasło musi mieć co najmniej {min} znaków.", "The password must have at least {min} characters."),
        PasswordTooLong => ("Hasło może mieć najwyżej {max} znaków.", "The password can have at most {max} characters."),
        PasswordMismatch => ("Powtórzone hasło różni się od pierwszego.", "The repeated password differs from the first."),
        PasswordIsLogin => (
            "Hasło nie może być loginem ani kodem aktywacyjnym.",
            "The password cannot be your login or the activation code."
        ),
        PasswordControl => ("Hasło nie może zawierać znaków sterujących.", "The password cannot contain control characters."),
        ActivationFailed => (
            "Aktywacja nie powiodła się: dane lub kod aktywacyjny są nieprawidłowe, kod wygasł albo został już użyty.",
            "Activation failed: the details or the activation code are wrong, or the code has expired or was already used."
        ),
        Activated => ("Hasło zostało ustawione. Zaloguj się.", "Your password is set. Sign in."),
        SignedOut => ("Wylogowano.", "You are signed out."),
        SessionExpired => ("Sesja wygasła. Zaloguj się ponownie.", "Your session has ended. Sign in again."),
        // The account panel.
        AccountPanelTitle => ("Zarządzanie kontem", "Account panel"),
        AccountIdentifiers => ("Identyfikatory konta", "Account identifiers"),
        StatusActive => ("Aktywowane", "Active"),
        StatusSuspended => ("Zawieszone", "Suspended"),
        StatusCreated => ("Nieaktywowane", "Not activated"),
        DomainId => ("ID domeny", "Domain id"),
        RepositoryId => ("ID repozytorium", "Repository id"),
        NationalRepositoryId => ("ID repozytorium w P1", "National repository id (P1)"),
        ProviderOid => ("OID świadczeniodawcy", "Provider OID"),
        AccountData => ("Dane konta", "Account data"),
        ActiveFromTo => ("Aktywne od {from} do {to}", "Valid from {from} to {to}"),
        QuotaLine => ("Wielkość konta {total} MB, wykorzystano {used} MB", "Account size {total} MB, {used} MB used"),
        FilesLine => (
            "Maksymalna liczba plików {max}, zdeponowano {files} dokumentów",
            "Maximum number of files {max}, {files} documents deposited"
        ),
        TlsCertificate => ("Certyfikat TLS", "TLS certificate"),
        WssCertificate => ("Certyfikat WSSE", "WSS certificate"),
        SerialNumber => ("Numer seryjny", "Serial number"),
        Validity => ("Okres ważności", "Validity"),
        DaysLeft => ("Pozostało dni", "Days left"),
        NoCertificate => ("Brak zarejestrowanego certyfikatu.", "No certificate is registered."),
        CertificatesHint => (
            "Certyfikaty rejestruje i aktualizuje system placówki (medgate client activate, medgate client update-certs) albo administrator na stronie certyfikatów; węzeł nie przechowuje kluczy prywatnych konta.",
            "The clinic's system registers and replaces certificates (medgate client activate, medgate client update-certs), or an administrator does on the certificates page; the node keeps none of the account's private keys."
        ),
        Warnings => ("Ostrzeżenia", "Warnings"),
        WarnQuota => (
            "Wykorzystano {percent}% wielkości konta. Usuń zbędne dokumenty lub poproś operatora o większy plan.",
            "{percent}% of the account size is used. Delete documents or ask the operator for a larger plan."
        ),
        WarnFiles => (
            "Zdeponowano {files} z {max} plików.",
            "{files} of {max} files are deposited."
        ),
        WarnCertificateExpiring => (
            "Certyfikat {kind} {serial} wygasa za {days} dni; zamów nowy certyfikat.",
            "The {kind} certificate {serial} expires in {days} days; request a new one."
        ),
        WarnCertificateExpired => ("Certyfikat {kind} {serial} wygasł.", "The {kind} certificate {serial} has expired."),
        WarnAccountExpiring => ("Konto wygasa za {days} dni.", "The account expires in {days} days."),
        WarnAccountExpired => ("Konto wygasło.", "The account has expired."),
        AccountSuspendedExplained => (
            "Konto jest zawieszone przez operatora: dokumenty nie mogą być zapisywane ani odczytywane. Skontaktuj się z operatorem.",
            "The operator suspended the account: documents can be neither stored nor read. Contact the operator."
        ),
        AccountNotActivatedExplained => (
            "Konto nie zostało jeszcze aktywowane: system placówki musi zarejestrować certyfikaty TLS i WSSE (medgate client activate).",
            "The account is not activated yet: the clinic's system must register its TLS and WSS certificates (medgate client activate)."
        ),
        AccountUnusable => (
            "Ta strona jest niedostępna, bo konto nie może być teraz używane. Szczegóły w panelu konta.",
            "This page is unavailable because the account cannot be used now. See the account panel."
        ),
        // The organisational structure.
        OrganisationTitle => ("Struktura organizacyjna", "Organisational structure"),
        OrganisationIntro => (
            "Dane świadczeniodawcy, zakładów leczniczych i komórek organizacyjnych z kodami resortowymi. Identyfikatory są sprawdzane sumami kontrolnymi; nic nie jest zapisywane, dopóki wszystkie pola nie są poprawne.",
            "The provider, its facilities and organisational units with their register codes. Identifiers are checked with their checksums; nothing is stored until every field is valid."
        ),
        OrganisationNone => (
            "Struktura organizacyjna nie została jeszcze przekazana. Wypełnij formularz i wybierz „Wyślij”.",
            "No organisational structure has been sent yet. Fill in the form and choose Send."
        ),
        OrganisationRevision => ("Zapisana wersja {revision} z {at} UTC.", "Stored revision {revision} of {at} UTC."),
        OrganisationSaved => (
            "Struktura organizacyjna została przekazana (wersja {revision}, {at} UTC).",
            "The organisational structure was sent (revision {revision}, {at} UTC)."
        ),
        OrganisationInvalid => (
            "Struktura organizacyjna ma błędne pola ({count}); nic nie zostało zapisane:",
            "The organisational structure has invalid fields ({count}); nothing was stored:"
        ),
        RowAdded => ("Dodano pusty wiersz; wypełnij go i wybierz „Wyślij”.", "An empty row was added; fill it in and choose Send."),
        Provider => ("Świadczeniodawca", "Provider"),
        Facilities => ("Zakłady lecznicze", "Facilities"),
        FacilityNumber => ("Zakład leczniczy {number}", "Facility {number}"),
        Units => ("Komórki organizacyjne", "Organisational units"),
        UnitNumber => ("Komórka organizacyjna {number}", "Organisational unit {number}"),
        AddFacility => ("Dodaj zakład leczniczy", "Add a facility"),
        AddUnit => ("Dodaj komórkę organizacyjną", "Add an organisational unit"),
        RemoveRow => ("Usuń przy zapisie", "Remove when saving"),
        Send => ("Wyślij", "Send"),
        Name => ("Nazwa", "Name"),
        Street => ("Ulica", "Street"),
        Building => ("Nr budynku", "Building"),
        Apartment => ("Nr lokalu", "Apartment"),
        PostalCode => ("Kod pocztowy", "Postal code"),
        City => ("Miejscowość", "City"),
        Country => ("Kraj", "Country"),
        Phone => ("Telefon", "Phone"),
        Email => ("E-mail", "E-mail"),
        Regon => ("REGON", "REGON"),
        Regon14 => ("REGON (14 cyfr)", "REGON (14 digits)"),
        Nip => ("NIP", "NIP"),
        RegisterCodePart1 => ("Kod res. cz. I", "Register code part I"),
        FacilityCode => ("Kod zakładu", "Facility code"),
        UnitCode => ("Kod", "Code"),
        UnitFacility => ("Kod zakładu leczniczego", "Facility code"),
        RegisterCodePart5 => ("Kod res. V", "Register code V"),
        RegisterCodePart7 => ("Kod res. VII", "Register code VII"),
        RegisterCodePart8 => ("Kod res. VIII", "Register code VIII"),
        RegisterCodePart9 => ("Kod res. IX", "Register code IX"),
        RegisterCodePart10 => ("Kod res. X", "Register code X"),
        BadNip => (
            "To nie jest prawidłowy NIP: potrzeba 10 cyfr ze zgodną cyfrą kontrolną.",
            "This is not a valid NIP: it needs 10 digits with a matching check digit."
        ),
        BadRegon9 => (
            "To nie jest prawidłowy REGON: potrzeba 9 cyfr ze zgodną cyfrą kontrolną.",
            "This is not a valid REGON: it needs 9 digits with a matching check digit."
        ),
        BadRegon14 => (
            "To nie jest prawidłowy REGON zakładu: potrzeba 14 cyfr ze zgodnymi cyframi kontrolnymi.",
            "This is not a valid facility REGON: it needs 14 digits with matching check digits."
        ),
        BadPostalCode => ("Kod pocztowy ma postać NN-NNN, np. 00-184.", "A Polish postal code is NN-NNN, e.g. 00-184."),
        BadPhone => (
            "Numer telefonu ma 9 do 15 cyfr (dozwolone spacje, myślniki, nawiasy i + na początku).",
            "A phone number has 9 to 15 digits (spaces, dashes, parentheses and a leading + allowed)."
        ),
        BadEmail => ("To nie jest adres e-mail (nazwa@domena.pl).", "This is not an e-mail address (name@domain.pl)."),
        BadCountry => ("Podaj dwuliterowy kod kraju, np. PL.", "Give a two-letter country code such as PL."),
        BadCode => (
            "Kod może zawierać litery, cyfry oraz . _ - (najwyżej 32 znaki).",
            "A code has letters, digits and . _ - (at most 32 characters)."
        ),
        BadRegisterBook => (
            "Kod resortowy cz. I to numer księgi rejestrowej: najwyżej 12 cyfr.",
            "Register code part I is the register book number: at most 12 digits."
        ),
        BadRegisterPart => ("Ta część kodu resortowego ma dokładnie {digits} cyfry.", "This register code part has exactly {digits} digits."),
        BadHealthCareFunction => (
            "Kod res. IX to kod funkcji ochrony zdrowia, np. HC.1.1.",
            "Register code IX is a health-care function code such as HC.1.1."
        ),
        AlreadyUsed => ("Ta wartość jest już użyta w innym wierszu.", "This value is already used in another row."),
        UnknownFacility => (
            "Nie ma zakładu leczniczego o takim kodzie w tym formularzu.",
            "No facility in this form has this code."
        ),
        TooLong => ("Tekst jest za długi.", "The text is too long."),
        ControlCharacter => ("Tekst zawiera znak sterujący (tabulator, koniec wiersza…).", "The text contains a control character (tab, line break…)."),
        // Document types.
        DocumentTypesTitle => ("Rodzaje dokumentów", "Document types"),
        DocumentTypesIntro => (
            "Określ, czy dokumenty danego rodzaju mają być przekazywane do archiwum automatycznie i jak długo pozostają dostępne lokalnie (agent archiwizujący stosuje te ustawienia).",
            "Choose whether documents of each type go to the archive automatically and how long they stay available locally (the archiving agent follows these settings)."
        ),
        DocumentTypesCaption => ("Rodzaje archiwizowanych dokumentów", "Types of archived documents"),
        Kind => ("Rodzaj", "Type"),
        ArchiveAutomatically => ("Czy zapisywać dokument automatycznie w archiwum", "Archive automatically"),
        KeepLocally => ("Dostępny lokalnie przez (dni)", "Keep locally (days)"),
        Changed => ("Ustawienie", "Setting"),
        ChangedYes => ("zmienione", "changed"),
        DefaultSetting => ("domyślne", "default"),
        SaveChanges => ("Zapisz zmiany", "Save changes"),
        NothingChanged => ("Nic nie zmieniono.", "Nothing was changed."),
        TypesSaved => ("Zapisano zmiany ({count}).", "Changes saved ({count})."),
        BadKeepDays => ("Podaj liczbę dni od 0 do {max}.", "Give a number of days from 0 to {max}."),
        // The archive.
        ArchiveTitle => ("Przegląd archiwum dokumentów", "Document archive"),
        ArchiveIntro => (
            "Dokumenty przekazane do eRepozytorium, od najnowszych. Wybierz dokument, aby go podejrzeć, zapisać, zindeksować, udostępnić albo usunąć.",
            "The documents stored in the repository, newest first. Choose a document to view, save, index, share or delete it."
        ),
        ArchiveCaption => ("Dokumenty w archiwum", "Documents in the archive"),
        AdvancedSearch => ("Wyszukiwanie zaawansowane", "Advanced search"),
        PatientIdentifier => ("Identyfikator pacjenta", "Patient identifier"),
        DateFrom => ("Data od", "Date from"),
        DateTo => ("Data do", "Date to"),
        TypeCode => ("Kod rodzaju dokumentu", "Document type code"),
        Author => ("Autor", "Author"),
        Title => ("Tytuł", "Title"),
        Find => ("Szukaj", "Search"),
        Clear => ("Wyczyść", "Clear"),
        BadPatientQuery => (
            "Podaj PESEL (lub inny numer) albo OID^numer.",
            "Give a PESEL (or another number) or OID^number."
        ),
        BadDate => ("Podaj datę w postaci RRRR-MM-DD.", "Give a date as YYYY-MM-DD."),
        ToBeforeFrom => ("Data do jest wcześniejsza niż data od.", "The end date is before the start date."),
        Patient => ("Pacjent", "Patient"),
        Pesel => ("Pesel", "PESEL"),
        Stored => ("eRepozytorium", "Stored"),
        ConsentIssued => ("Wystawiono zgodę", "Consent issued"),
        DateAdded => ("Data dodania", "Date added"),
        ProviderUser => ("Użytkownik dostawcy", "Author"),
        Document => ("Dokument", "Document"),
        Actions => ("Akcje", "Actions"),
        Attachment => ("Załącznik", "Attachment"),
        Untitled => ("(bez tytułu)", "(untitled)"),
        ShowShort => ("Pokaż", "Show"),
        SaveShort => ("Zapisz", "Save"),
        NoDocumentsFound => ("Nie znaleziono dokumentów.", "No documents found."),
        Range => ("Dokumenty {first}–{last} z {total}", "Documents {first}–{last} of {total}"),
        Previous => ("← Poprzednie", "← Previous"),
        Next => ("Następne →", "Next →"),
        Paging => ("Strony wyników", "Result pages"),
        DocumentDeleted => ("Dokument został usunięty na stałe.", "The document was deleted for good."),
        NotFoundTitle => ("Nie znaleziono", "Not found"),
        DocumentNotFound => (
            "W archiwum tego konta nie ma dokumentu o takim identyfikatorze.",
            "This account's archive has no document with that identifier."
        ),
        BackToArchive => ("← Wróć do archiwum", "← Back to the archive"),
        BackToDocument => ("← Wróć do dokumentu", "← Back to the document"),
        ShowInBrowser => ("Pokaż w przeglądarce", "Show in the browser"),
        SaveXml => ("Zapisz XML HL7 CDA", "Save XML HL7 CDA"),
        ExportZip => ("Pobierz paczkę ZIP (XML z arkuszem stylów)", "Download a ZIP (the XML with its stylesheet)"),
        SaveAttachment => ("Zapisz załącznik", "Save the attachment"),
        IndexDocument => ("Indeksuj dokument", "Index the document"),
        Share => ("Udostępnij", "Share"),
        Delete => ("Usuń", "Delete"),
        Indexed => ("Dokument został zindeksowany w rejestrze krajowym (P1).", "The document was indexed in the national registry (P1)."),
        IndexFailed => ("Dokument nie został zindeksowany:", "The document was not indexed:"),
        DeleteFailed => ("Dokument nie został usunięty:", "The document was not deleted:"),
        DocumentId => ("Identyfikator dokumentu", "Document id"),
        EffectiveTime => ("Data wystawienia", "Issued"),
        Organisation => ("Organizacja", "Organisation"),
        Size => ("Rozmiar", "Size"),
        Bytes => ("{n} bajtów", "{n} bytes"),
        Sha256 => ("SHA-256", "SHA-256"),
        IndexedAt => ("Zindeksowano w P1", "Indexed nationally"),
        NotIndexed => ("nie", "no"),
        DeleteTitle => ("Usunięcie dokumentu", "Delete the document"),
        DeleteWarning => (
            "Dokument zostanie usunięty z archiwum na stałe (treść i metadane, także wpis w rejestrze krajowym). Tej operacji nie można cofnąć.",
            "The document will be deleted from the archive for good (content and metadata, and its national registry entry). This cannot be undone."
        ),
        DeleteForGood => ("Usuń na stałe", "Delete for good"),
        Cancel => ("Anuluj", "Cancel"),
        // The consent register.
        ConsentsTitle => ("Rejestr zgód", "Consent register"),
        ConsentsIntro => (
            "Zgody udostępniają wybrane dokumenty pacjenta w portalu pacjenta: odbiorca, sprawa i okres od–do. Wysłana zgoda działa od razu; odwołana przestaje działać od razu.",
            "Consents share some of a patient's documents on the patient portal: recipient, purpose and dates. A sent consent takes effect at once; a revoked one ends at once."
        ),
        ConsentsCaption => ("Zgody, od najnowszych", "Consents, newest first"),
        NoConsents => ("Brak zgód.", "No consents."),
        NewConsent => ("Nowa zgoda", "New consent"),
        NewConsentIntro => (
            "Podaj pacjenta, zaznacz dokumenty do udostępnienia, wpisz odbiorcę, sprawę i daty. Zgoda zostanie zapisana jako szkic; udostępnia dokumenty dopiero po wysłaniu.",
            "Give the patient, tick the documents to share, write the recipient, the purpose and the dates. The consent is saved as a draft; it shares nothing until sent."
        ),
        PatientHint => ("PESEL albo OID^numer", "PESEL or OID^number"),
        ShowPatientDocuments => ("Pokaż dokumenty pacjenta", "Show the patient's documents"),
        PatientHasNoDocuments => ("Ten pacjent nie ma dokumentów w archiwum.", "This patient has no documents in the archive."),
        PatientDocuments => ("Dokumenty pacjenta {patient}", "Documents of patient {patient}"),
        ConsentDetails => ("Zgoda", "Consent"),
        Recipient => ("Odbiorca", "Recipient"),
        RecipientHint => ("np. lek. Piotr Nowak, kardiolog", "e.g. Dr Piotr Nowak, cardiologist"),
        Purpose => ("Sprawa", "Purpose"),
        PurposeHint => ("przyczyna udostępnienia, np. konsultacja kardiologiczna", "why the documents are shared, e.g. cardiology consultation"),
        CreateConsent => ("Zapisz zgodę", "Save the consent"),
        DocumentName => ("Nazwa dokumentu", "Document name"),
        IssueDate => ("Data wystawienia", "Issued"),
        SentAt => ("Wysłano", "Sent"),
        ValidFromTo => ("Okres (od – do)", "Valid (from – to)"),
        DocumentCount => ("Dokumenty", "Documents"),
        Status => ("Status", "Status"),
        Consent => ("Zgoda", "Consent"),
        Open => ("Otwórz", "Open"),
        ConsentDraft => ("szkic", "draft"),
        ConsentSent => ("wysłana", "sent"),
        ConsentRevoked => ("odwołana", "revoked"),
        InForce => ("obowiązuje", "in force"),
        NotInForce => ("poza okresem", "outside its dates"),
        BadPatient => (
            "To nie jest prawidłowy PESEL ani identyfikator OID^numer.",
            "This is neither a valid PESEL nor an OID^number identifier."
        ),
        TextTooLong => ("Najwyżej {max} znaków.", "At most {max} characters."),
        ChooseDocuments => ("Zaznacz co najmniej jeden dokument.", "Tick at least one document."),
        TooManyDocuments => ("Najwyżej {max} dokumentów w jednej zgodzie.", "At most {max} documents in one consent."),
        ConsentDocumentNotFound => ("Dokumentu {id} nie ma w archiwum tego konta.", "Document {id} is not in this account's archive."),
        ConsentDocumentOfAnother => (
            "Dokument {id} nie jest dokumentem tego pacjenta; zgoda dotyczy dokumentów jednego pacjenta.",
            "Document {id} is not this patient's; a consent shares one patient's documents."
        ),
        ConsentNotFound => ("W rejestrze tego konta nie ma takiej zgody.", "This account's register has no such consent."),
        BackToConsents => ("← Wróć do rejestru zgód", "← Back to the consent register"),
        ConsentTitle => ("Zgoda", "Consent"),
        SharedDocuments => ("Udostępniane dokumenty", "Shared documents"),
        DocumentRemoved => ("(dokument usunięty z archiwum)", "(document deleted from the archive)"),
        CreatedAt => ("Utworzono", "Created"),
        SendConsent => ("Wyślij", "Send"),
        RevokeConsent => ("Odwołaj zgodę", "Revoke the consent"),
        RevokeConsentTitle => ("Odwołanie zgody", "Revoking the consent"),
        RevokeConsentWarning => (
            "Po odwołaniu zgody pacjent od razu przestaje widzieć jej dokumenty w portalu. Odwołanej zgody nie można przywrócić; w razie potrzeby utwórz nową.",
            "Once the consent is revoked, the patient no longer sees its documents in the portal. A revoked consent cannot be restored; create a new one if needed."
        ),
        ConsentCreated => ("Zgoda została zapisana jako szkic. Wybierz „Wyślij”, aby udostępnić dokumenty.", "The consent is saved as a draft. Choose Send to share the documents."),
        ConsentSentNotice => ("Zgoda została wysłana: dokumenty są udostępnione w portalu pacjenta.", "The consent was sent: the documents are shared on the patient portal."),
        ConsentRevokedNotice => ("Zgoda została odwołana: dokumenty nie są już udostępniane.", "The consent was revoked: the documents are no longer shared."),
        ConsentAlreadySent => ("Ta zgoda została już wysłana.", "This consent was already sent."),
        ConsentAlreadyRevoked => ("Ta zgoda została odwołana; utwórz nową.", "This consent was revoked; create a new one."),
        HandOver => ("Przekaż pacjentowi", "Hand this to the patient"),
        HandOverIntro => (
            "Utworzono konto pacjenta w portalu. Pacjent ustawia hasło pod adresem portalu, podając ID konta placówki, swój PESEL i jednorazowy kod:",
            "A portal account was created for the patient. The patient sets a password on the portal with the clinic's account id, their PESEL and the one-time code:"
        ),
        ActivateAt => ("Adres aktywacji", "Activation address"),
        ValidUntil => ("Ważny do", "Valid until"),
        ShownOnce => (
            "Kod jest pokazywany tylko raz i nie jest przechowywany; po odświeżeniu strony nie będzie widoczny.",
            "The code is shown only once and not stored; it will not be shown again."
        ),
        PatientAlreadyActive => (
            "Pacjent ma już aktywne konto w portalu: udostępnione dokumenty zobaczy po zalogowaniu.",
            "The patient already has an active portal account: they will see the shared documents after signing in."
        ),
        // The operator's pages.
        TenantsTitle => ("Konta placówek", "Clinic accounts"),
        AccountUnusableTitle => ("Konto niedostępne", "Account not available"),
        AccountNotActivePage => (
            "Konto nie jest jeszcze aktywne, więc ta strona jest niedostępna. Aktywuj je, rejestrując certyfikaty TLS i WSSE na stronie certyfikatów konta (albo poleceniem medgate client activate w systemie placówki).",
            "The account is not active yet, so this page is not available. Activate it by registering the TLS and WSS certificates on the account's certificates page (or with medgate client activate in the clinic's system)."
        ),
        AccountSuspendedPage => (
            "Konto jest zawieszone, więc ta strona jest niedostępna. Skontaktuj się z operatorem węzła.",
            "The account is suspended, so this page is not available. Contact the node's operator."
        ),
        AccountNotYetValidPage => (
            "Plan konta jeszcze się nie zaczął, więc ta strona jest niedostępna. Daty planu są w panelu konta.",
            "The account's plan has not started yet, so this page is not available. The plan's dates are on the account panel."
        ),
        AccountExpiredPage => (
            "Plan konta wygasł, więc ta strona jest niedostępna. Poproś operatora węzła o przedłużenie planu.",
            "The account's plan has expired, so this page is not available. Ask the node's operator to extend the plan."
        ),
        GoActivate => ("Przejdź do aktywacji konta", "Go to the account's activation"),
        BadProviderOid => (
            "To nie jest OID: podaj liczby rozdzielone kropkami, np. 2.16.840.1.113883.3.4424.2.3.123456.",
            "This is not an OID: give numbers separated by dots, e.g. 2.16.840.1.113883.3.4424.2.3.123456."
        ),
        // A refused certificate (the API's refusals, in the page's words).
        RefusedBadCertificate => ("Plik nie zawiera czytelnego certyfikatu X.509.", "The file holds no readable X.509 certificate."),
        RefusedCertificateKind => (
            "To certyfikat innego rodzaju (TLS zamiast WSSE albo odwrotnie): sprawdź, który plik wczytano w które pole.",
            "This is a certificate of the other kind (TLS instead of WSS or the reverse): check which file went into which field."
        ),
        RefusedCertificateTenant => (
            "Certyfikat wystawiono dla innego konta: jego CN nie zawiera ID tego konta.",
            "The certificate was issued for another account: its CN does not hold this account's id."
        ),
        RefusedCertificateIssuer => (
            "Certyfikatu nie wystawił urząd certyfikacji tego węzła.",
            "The certificate was not issued by this node's CA."
        ),
        RefusedCertificateRevoked => ("Certyfikat został odwołany.", "The certificate was revoked."),
        RefusedCertificateExpired => ("Certyfikat wygasł.", "The certificate has expired."),
        RefusedCertificateNotYetValid => ("Certyfikat nie jest jeszcze ważny.", "The certificate is not valid yet."),
        RefusedCertificateInUse => (
            "Ten certyfikat jest już zarejestrowany (dla tego albo innego konta); użyj nowego.",
            "This certificate is already registered (for this or another account); use a new one."
        ),
        AccountStatus => ("Stan konta", "Account status"),
        SuspendHint => (
            "Zawieszenie od razu blokuje konto: system placówki i jej administratorzy nie mogą z niego korzystać, dopóki konto nie zostanie wznowione. Dane zostają zachowane.",
            "Suspending blocks the account at once: the clinic's system and its administrators cannot use it until it is resumed. Its data is kept."
        ),
        ResumeHint => (
            "Konto jest zawieszone. Wznowienie od razu przywraca dostęp systemowi placówki i jej administratorom.",
            "The account is suspended. Resuming gives the clinic's system and its administrators access again at once."
        ),
        TenantsCaption => ("Konta z planem, wykorzystaniem i statusem", "Accounts with their plan, usage and status"),
        NoTenants => ("Nie ma jeszcze żadnego konta.", "There are no accounts yet."),
        NewTenant => ("Utwórz konto", "Create an account"),
        NewTenantIntro => (
            "Nowe konto czeka na aktywację: placówka generuje klucze i CSR, operator wystawia certyfikaty, system placówki rejestruje je i aktywuje konto.",
            "A new account waits for activation: the clinic makes keys and CSRs, the operator issues certificates, the clinic's system registers them and activates."
        ),
        CreateTenant => ("Utwórz konto", "Create the account"),
        TenantExists => ("Konto o tym ID już istnieje.", "An account with this id already exists."),
        TenantNotFound => ("Nie ma konta o takim ID.", "There is no account with this id."),
        TenantTitle => ("Konto {id}", "Account {id}"),
        BackToTenants => ("← Wróć do listy kont", "← Back to the accounts"),
        PlanValidity => ("Aktywne od – do", "Valid from – to"),
        Quota => ("Wielkość konta", "Quota"),
        Files => ("Pliki", "Files"),
        MbOf => ("{used} z {total} MB", "{used} of {total} MB"),
        FilesOf => ("{files} z {max}", "{files} of {max}"),
        ValidFrom => ("Aktywne od", "Valid from"),
        ValidTo => ("Aktywne do", "Valid to"),
        QuotaMb => ("Wielkość konta (MB)", "Quota (MB)"),
        MaxFiles => ("Maksymalna liczba plików", "Maximum number of files"),
        BadPositive => ("Podaj liczbę całkowitą większą od zera.", "Give a whole number above zero."),
        Plan => ("Plan", "Plan"),
        SavePlan => ("Zapisz plan", "Save the plan"),
        PlanSaved => ("Plan został zmieniony.", "The plan was changed."),
        TenantCreated => ("Konto zostało utworzone.", "The account was created."),
        Suspend => ("Zawieś konto", "Suspend the account"),
        Resume => ("Wznów konto", "Resume the account"),
        TenantSuspendedNotice => ("Konto zostało zawieszone: wszystkie żądania są odrzucane.", "The account was suspended: every request is refused."),
        TenantResumedNotice => ("Konto zostało wznowione.", "The account was resumed."),
        Admins => ("Administratorzy konta", "Account administrators"),
        NoAdmins => ("To konto nie ma jeszcze administratora.", "This account has no administrator yet."),
        LoginHint => ("litery a-z, cyfry oraz . _ - @", "letters a-z, digits and . _ - @"),
        CreateAdmin => ("Utwórz login administratora", "Create an administrator login"),
        AdminCreated => ("Utworzono login administratora.", "The administrator login was created."),
        LoginExists => ("To konto ma już taki login.", "This account already has this login."),
        LoginNotFound => ("To konto nie ma takiego loginu.", "This account has no such login."),
        LoginChanged => ("Zmieniono login.", "The login was changed."),
        LoginActive => ("aktywny", "active"),
        LoginAwaiting => ("czeka na aktywację", "awaiting activation"),
        LoginDisabled => ("wyłączony", "disabled"),
        LastSignIn => ("Ostatnie logowanie", "Last sign-in"),
        NewCode => ("Nowy kod aktywacyjny", "New activation code"),
        Disable => ("Wyłącz", "Disable"),
        Enable => ("Włącz", "Enable"),
        HandOverAdmin => ("Przekaż administratorowi", "Hand this to the administrator"),
        HandOverAdminIntro => (
            "Administrator ustawia hasło pod adresem aktywacji, podając ID konta, login i jednorazowy kod:",
            "The administrator sets a password at the activation address with the account id, the login and the one-time code:"
        ),
        Certificates => ("Certyfikaty", "Certificates"),
        ExpiringTitle => ("Wygasające certyfikaty", "Expiring certificates"),
        WithinDays => ("Wygasające w ciągu (dni)", "Expiring within (days)"),
        NothingExpiring => ("Żaden certyfikat nie wygasa w ciągu {days} dni.", "No certificate expires within {days} days."),
        Expired => ("wygasł", "expired"),
        // Self-service certificate requests.
        NavRequests => ("Wnioski o certyfikaty", "Certificate requests"),
        CertificateRequestsTitle => ("Wnioski o certyfikaty (CSR)", "Certificate requests (CSR)"),
        CertificateRequestsIntro => (
            "Wklej żądanie wydania certyfikatu (CSR) wygenerowane w systemie placówki (np. medgate pki csr). Klucz prywatny zostaje w placówce. Po wystawieniu przez operatora pobierz certyfikat i zarejestruj go w systemie placówki (medgate client update-certs).",
            "Paste a certificate request (CSR) made by the clinic's system (e.g. medgate pki csr). The private key stays at the clinic. Once the operator issues it, download the certificate and register it from the clinic's system (medgate client update-certs)."
        ),
        SelfServiceOff => (
            "Operator nie udostępnił temu kontu samodzielnego przesyłania CSR: wyślij pliki CSR do operatora.",
            "The operator has not enabled CSR uploads for this account: send the CSR files to the operator."
        ),
        CsrPem => ("Żądanie CSR (PEM)", "CSR (PEM)"),
        CsrHint => (
            "Tekst od -----BEGIN CERTIFICATE REQUEST----- do -----END CERTIFICATE REQUEST-----; CN=<ID konta> TLS albo WSS.",
            "The text from -----BEGIN CERTIFICATE REQUEST----- to -----END CERTIFICATE REQUEST-----; CN=<account id> TLS or WSS."
        ),
        SubmitRequest => ("Wyślij wniosek", "Submit the request"),
        YourRequests => ("Wnioski tego konta", "This account's requests"),
        NoRequests => ("Brak wniosków.", "No requests."),
        RequestSubmitted => ("Wniosek został przekazany operatorowi.", "The request was passed to the operator."),
        CsrUnreadable => ("To nie jest poprawne żądanie CSR: {detail}", "This is not a valid CSR: {detail}"),
        CsrBadSignature => (
            "Podpis żądania CSR nie zgadza się z kluczem: żądanie jest uszkodzone.",
            "The CSR's signature does not match its key: the request is damaged."
        ),
        CsrWrongName => (
            "Żądanie ma CN={found}; dla tego konta potrzebne jest CN={tenant} TLS albo CN={tenant} WSS.",
            "The request has CN={found}; this account needs CN={tenant} TLS or CN={tenant} WSS."
        ),
        RequestPendingExists => (
            "Wniosek {kind} tego konta czeka już na decyzję operatora.",
            "A {kind} request of this account is already waiting for the operator."
        ),
        RequestNotFound => ("Nie ma takiego wystawionego certyfikatu w tym koncie.", "This account has no such issued certificate."),
        RequestPending => ("oczekuje", "pending"),
        RequestIssued => ("wystawiony", "issued"),
        RequestRejected => ("odrzucony", "rejected"),
        Subject => ("Podmiot", "Subject"),
        SubmittedAt => ("Przesłano", "Submitted"),
        Outcome => ("Wynik", "Outcome"),
        DownloadCertificate => ("Pobierz certyfikat", "Download the certificate"),
        PendingRequestsTitle => ("Wnioski o certyfikaty do podpisania", "Certificate requests to sign"),
        PendingRequestsIntro => (
            "Żądania CSR przesłane przez administratorów kont. Wystawienie podpisuje certyfikat urzędem certyfikacji węzła (z użyciami właściwymi dla TLS albo WSSE).",
            "CSRs uploaded by the accounts' administrators. Issuing signs the certificate with the node's tenant CA (with the usages of TLS or WSS)."
        ),
        NoPendingRequests => ("Żaden wniosek nie czeka.", "No request is waiting."),
        ValidityDays => ("Ważność (dni)", "Validity (days)"),
        IssueCertificate => ("Wystaw certyfikat", "Issue the certificate"),
        Reason => ("Powód", "Reason"),
        Reject => ("Odrzuć", "Reject"),
        RejectedNoReason => ("odrzucony przez operatora", "rejected by the operator"),
        CertificateIssued => ("Certyfikat został wystawiony.", "The certificate was issued."),
        RequestRejectedNotice => ("Wniosek został odrzucony.", "The request was rejected."),
        RequestNotPending => ("Ten wniosek nie czeka na decyzję.", "This request is not waiting for a decision."),
        BadValidityDays => ("Ważność to od 1 do {max} dni.", "Validity is 1 to {max} days."),
        IssueFailed => ("Certyfikat nie został wystawiony: {detail}", "The certificate was not issued: {detail}"),
        SelfService => ("Samodzielne wnioski o certyfikaty", "Self-service certificate requests"),
        SelfServiceOn => (
            "Administratorzy tego konta mogą przesyłać żądania CSR na panelu konta.",
            "This account's administrators may upload CSRs on the account panel."
        ),
        SelfServiceOffShort => ("Administratorzy tego konta wysyłają CSR do operatora.", "This account's administrators send their CSRs to the operator."),
        EnableSelfService => ("Zezwól na przesyłanie CSR", "Allow CSR uploads"),
        DisableSelfService => ("Wyłącz przesyłanie CSR", "Stop CSR uploads"),
        SelfServiceChanged => ("Zmieniono ustawienie wniosków o certyfikaty.", "The certificate request setting was changed."),
    }
}

/// A word of the staff sign-in, activation and sign-out flow in `lang`: the Polish desks'
/// words, and Hungarian for the Hungarian desks whose staff sign in with it (the clinical
/// record service's operators); a word of the flow without its Hungarian here would show
/// English, so the flow's test reads every page in Hungarian.
pub fn staff_word(word: T, lang: crate::i18n::Lang) -> &'static str {
    if lang == crate::i18n::Lang::Ru {
        return russian_staff_word(word);
    }
    if lang != crate::i18n::Lang::Hu {
        return word.text(lang);
    }
    match word {
        T::SignInTitle => "Bejelentkezés",
        T::SignIn => "Belépés",
        T::Login => "Felhasználónév",
        T::BadLogin => "A felhasználónév kisbetűket (a-z), számjegyeket és a . _ - @ jeleket tartalmazhatja (legfeljebb 64 karakter).",
        T::Password => "Jelszó",
        T::Locked => "Túl sok sikertelen próbálkozás. A bejelentkezés és az aktiválás ezekkel az adatokkal {minutes} percig zárolva van ({until} UTC-ig).",
        T::HaveCode => "Van aktiváló kódja? Állítsa be a jelszavát",
        T::HavePassword => "Van már jelszava? Jelentkezzen be",
        T::ActivateTitle => "Felhasználói fiók aktiválása",
        T::ActivateIntro => "Állítsa be a jelszavát az üzemeltetőtől kapott egyszer használatos aktiváló kóddal.",
        T::Activate => "Jelszó beállítása",
        T::ActivationCode => "Aktiváló kód",
        T::ActivationCodeHint => "Az egyszer használatos kód, pl. K7QM-2XWD-9RTB-HC4N",
        T::NewPassword => "Új jelszó",
        T::RepeatPassword => "Jelszó ismét",
        T::PasswordRules => "Legalább {min}, legfeljebb {max} karakter; nem lehet a felhasználónév vagy az aktiváló kód.",
        T::PasswordTooShort => "A jelszó legalább {min} karakter legyen.",
        T::PasswordTooLong => "A jelszó legfeljebb {max} karakter lehet.",
        T::PasswordMismatch => "A megismételt jelszó eltér az elsőtől.",
        T::PasswordIsLogin => "A jelszó nem lehet a felhasználónév vagy az aktiváló kód.",
        T::PasswordControl => "A jelszó nem tartalmazhat vezérlőkaraktert.",
        T::ActivationFailed => "Az aktiválás nem sikerült: az adatok vagy az aktiváló kód hibásak, a kód lejárt vagy már felhasználták.",
        T::Activated => "A jelszó beállítva. Jelentkezzen be.",
        T::SignedOut => "Kijelentkezett.",
        T::SessionExpired => "A munkamenet lejárt. Jelentkezzen be újra.",
        T::Back => "← Vissza",
        T::Required => "Ez a mező kötelező.",
        T::FixErrors => "Javítsa a megjelölt mezőket; semmi sem lett mentve.",
        T::FormExpired => "Az űrlap lejárt vagy nem erről az oldalról érkezett. Töltse ki újra.",
        T::ErrorTitle => "Hiba",
        _ => word.text(lang),
    }
}

/// The flow's words on the Russian desk (the claims registers' staff sign in with it).
fn russian_staff_word(word: T) -> &'static str {
    match word {
        T::SignInTitle => "Вход в систему",
        T::SignIn => "Войти",
        T::Login => "Логин",
        T::BadLogin => "Логин состоит из латинских букв, цифр и знаков . _ - @ (не более 64 символов).",
        T::Password => "Пароль",
        T::Locked => "Слишком много неудачных попыток. Вход с этими данными заблокирован на {minutes} минут (до {until} UTC).",
        T::HaveCode => "Есть код активации? Задайте пароль",
        T::HavePassword => "Уже есть пароль? Войдите",
        T::ActivateTitle => "Активация учётной записи",
        T::ActivateIntro => "Задайте пароль с помощью одноразового кода активации.",
        T::Activate => "Задать пароль",
        T::ActivationCode => "Код активации",
        T::ActivationCodeHint => "Одноразовый код, например K7QM-2XWD-9RTB-HC4N",
        T::NewPassword => "Новый пароль",
        T::RepeatPassword => "Повторите пароль",
        T::PasswordRules => "От {min} до {max} символов; не совпадает с логином или кодом.",
        T::PasswordTooShort => "Пароль должен быть не короче {min} символов.",
        T::PasswordTooLong => "Пароль должен быть не длиннее {max} символов.",
        T::PasswordMismatch => "Повтор пароля не совпадает с паролем.",
        T::PasswordIsLogin => "Пароль не может совпадать с логином или кодом.",
        T::PasswordControl => "Пароль не может содержать управляющие символы.",
        T::ActivationFailed => "Активация не удалась: данные или код неверны, код истёк или уже использован.",
        T::Activated => "Пароль задан. Войдите.",
        T::SignedOut => "Вы вышли из системы.",
        T::SessionExpired => "Сеанс истёк. Войдите снова.",
        T::Back => "← Назад",
        T::Required => "Обязательное поле.",
        T::FixErrors => "Исправьте отмеченные поля; ничего не сохранено.",
        T::FormExpired => "Форма устарела или отправлена не с этой страницы. Заполните её заново.",
        T::ErrorTitle => "Ошибка",
        _ => word.text(crate::i18n::Lang::En),
    }
}

/// [`staff_word`] with its `{name}` placeholder replaced by `value` (not escaped).
pub fn staff_with(word: T, lang: crate::i18n::Lang, name: &str, value: &str) -> String {
    staff_word(word, lang).replace(&format!("{{{name}}}"), value)
}

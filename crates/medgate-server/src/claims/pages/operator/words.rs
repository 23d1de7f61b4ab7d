//! The fund operator's desk's words in Russian (its default) and English.

medgate_web::bilingual! {
    Ru;
    /// Every text of the fund operator's desk.
    O {
        Site => ("ПУОМП — оператор фонда", "OMS claims registers — fund operator"),
        NavRegistry => ("Справочники", "Registry"),
        NavLogins => ("Логины МО", "MO logins"),
        NavCertificates => ("Сертификаты МИС", "MIS certificates"),
        SignInIntro => (
            "Вход для операторов территориального фонда (учётная запись создаётся командой medgate operator user create).",
            "Sign-in for the territorial fund's operators (the account is made with medgate operator user create)."
        ),
        SignInFailed => ("Неверный логин или пароль.", "Wrong login or password."),
        ErrorTitle => ("Ошибка", "Error"),
        Refused => ("Отклонено:", "Refused:"),
        Saved => ("Сохранено.", "Saved."),
        RegistryTitle => ("Справочники фонда", "The fund's registry"),
        RegistryIntro => (
            "Медицинские организации с подразделениями, подающими реестры отдельно, страховые медицинские организации и отчётные периоды.",
            "Medical organisations with the subdivisions that submit separately, insurers and reporting periods."
        ),
        Organisations => ("Медицинские организации", "Medical organisations"),
        Code => ("Код", "Code"),
        Name => ("Наименование", "Name"),
        Subdivisions => ("Подразделения", "Subdivisions"),
        NoSubdivisions => ("—", "—"),
        NoOrganisations => ("Медицинских организаций пока нет.", "No medical organisations yet."),
        AddOrganisation => ("Добавить МО", "Add an MO"),
        AddSubdivision => ("Добавить подразделение", "Add a subdivision"),
        MoCode => ("Код МО", "MO code"),
        MoCodeHint => ("6 цифр (F003)", "6 digits (F003)"),
        SubdivisionCode => ("Код подразделения", "Subdivision code"),
        Insurers => ("Страховые медицинские организации", "Insurers"),
        NoInsurers => ("СМО пока нет.", "No insurers yet."),
        AddInsurer => ("Добавить СМО", "Add an insurer"),
        SmoCodeHint => ("5 цифр (F002)", "5 digits (F002)"),
        Periods => ("Отчётные периоды", "Reporting periods"),
        Period => ("Период", "Period"),
        PeriodHint => ("ГГГГ-ММ", "YYYY-MM"),
        State => ("Состояние", "State"),
        Open => ("открыт", "open"),
        Closed => ("закрыт", "closed"),
        OpenPeriod => ("Открыть период", "Open the period"),
        ClosePeriod => ("Закрыть", "Close"),
        NoPeriods => ("Отчётных периодов пока нет.", "No reporting periods yet."),
        LoginsTitle => ("Логины медицинских организаций", "Logins of the medical organisations"),
        LoginsIntro => (
            "Новая одноразовая ссылка показывает пароль по умолчанию один раз; прежний пароль перестаёт действовать.",
            "A new one-time link shows the default password once; the old password stops working."
        ),
        Login => ("Логин", "Login"),
        Role => ("Роль", "Role"),
        RoleExecutor => ("исполнитель", "executor"),
        RoleChiefAccountant => ("главный бухгалтер", "chief accountant"),
        RoleHead => ("руководитель", "head"),
        Person => ("ФИО", "Name"),
        LinkState => ("Ссылка и пароль", "Link and password"),
        NotOpened => ("ссылка не открыта", "link not opened"),
        NotChanged => ("ссылка открыта, пароль не сменён", "link opened, password not changed"),
        ActiveLogin => ("действует", "active"),
        NewLink => ("Новая ссылка", "New link"),
        NoLogins => ("Логинов пока нет (medgate claims user add).", "No logins yet (medgate claims user add)."),
        LinkIssued => (
            "Новая одноразовая ссылка для {login} (открывается один раз, до {until}); передайте её сотруднику:",
            "A new one-time link for {login} (opens once, until {until}); hand it to the person:"
        ),
        CertificatesTitle => ("Сертификаты информационных систем МО", "Certificates of the MOs' information systems"),
        CertificatesIntro => (
            "Сертификат выдаётся здесь или командой medgate claims mo certificate issue; отозванный сертификат не открывает ничего со следующего запроса.",
            "A certificate is issued here or with medgate claims mo certificate issue; a revoked certificate opens nothing from the next request on."
        ),
        IssueCertificate => ("Выдать сертификат МИС", "Issue an MIS certificate"),
        SubdivisionOptional => ("Код подразделения (если подаёт отдельно)", "Subdivision code (when it submits separately)"),
        Days => ("Срок действия, дней", "Validity, days"),
        DaysRule => ("Срок действия — от 1 до 825 дней.", "The validity is 1 to 825 days."),
        IssuedTitle => ("Сертификат выдан", "Certificate issued"),
        IssuedIntro => (
            "Сертификат {serial} выдан МИС МО {mo}, действует до {until}. Скачайте файл PKCS#12 сейчас и передайте его МО; код сообщите по другому каналу. Эта страница больше не будет показана.",
            "Certificate {serial} issued to the information system of MO {mo}, valid until {until}. Download the PKCS#12 file now and hand it to the MO; send the code by another channel. This page is not shown again."
        ),
        Download => ("Скачать файл PKCS#12", "Download the PKCS#12 file"),
        OneTimeCode => ("Одноразовый код (пароль PKCS#12)", "One-time code (the PKCS#12 password)"),
        BackToCertificates => ("К сертификатам", "Back to the certificates"),
        Serial => ("Серийный номер", "Serial"),
        Until => ("Действует до", "Valid until"),
        Revoke => ("Отозвать", "Revoke"),
        Revoked => ("отозван {at}: {reason}", "revoked {at}: {reason}"),
        Expired => ("истёк", "expired"),
        Reason => ("Причина", "Reason"),
        RevokedByOperator => ("отозван оператором фонда", "revoked by the fund's operator"),
        NoCertificates => ("Сертификатов пока нет.", "No certificates yet."),
    }
}

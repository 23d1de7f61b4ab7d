//! The words of the registers' pages («Формирование», «Текущие реестры», the register with its
//! history and actions, «Электронная подпись», the documents) in Russian and English. Texts
//! with a placeholder write it as `{name}`.

medgate_web::bilingual! {
    Ru;
    /// Every text of the registers' pages.
    W {
        NavForming => ("Формирование", "Forming"),
        NavRegisters => ("Текущие реестры", "Current registers"),
        NavSignature => ("Электронная подпись", "Electronic signature"),
        NavReviewerRegisters => ("Реестры СМО", "Insurer's registers"),
        FormingTitle => ("Формирование реестров", "Forming registers"),
        FormingIntro => (
            "Реестры формируются из принятых случаев пакетов выбранного периода — по одному на вид помощи (условия оказания USL_OK) и страховую компанию. Случаи с ошибками ФЛК в реестр не попадают; записи перенумеровываются, сумма счёта пересчитывается.",
            "Registers are formed from the accepted cases of the period's packages — one per kind of care (care conditions USL_OK) and insurer. Cases with FLK errors stay out; the records are renumbered and the invoice's sum recomputed."
        ),
        Form => ("Сформировать реестр", "Form the register"),
        Formed => ("Сформировано реестров: {count}.", "Registers formed: {count}."),
        ExecutorForms => ("Реестры формирует исполнитель (логин _1).", "Registers are formed by the executor (the _1 login)."),
        NoPeriods => ("Нет отчётных периодов.", "There is no reporting period."),
        RegistersTitle => ("Текущие реестры", "Current registers"),
        RegistersIntro => (
            "Реестры вашей организации и их статусы. Откройте реестр, чтобы увидеть историю, действия, подписи и документы.",
            "Your organisation's registers and their states. Open a register to see its history, actions, signatures and documents."
        ),
        ReviewerIntro => (
            "Реестры, отправленные в вашу страховую компанию. Откройте реестр, чтобы перевести его «На подпись МО» или вернуть «На доработку».",
            "The registers sent to your insurer. Open a register to pass it for the MO's signature or return it for rework."
        ),
        NoRegisters => ("Реестров пока нет.", "No registers yet."),
        Register => ("Реестр", "Register"),
        RegisterTitle => ("Реестр {name}", "Register {name}"),
        CareConditions => ("Условия оказания (USL_OK)", "Care conditions (USL_OK)"),
        Insurer => ("СМО", "Insurer"),
        Sum => ("Сумма, руб.", "Sum, RUB"),
        State => ("Статус", "State"),
        Formed2 => ("Сформирован", "Formed"),
        History => ("История", "History"),
        When => ("Когда", "When"),
        Who => ("Кто", "Who"),
        FromTo => ("Переход", "Transition"),
        ActionWord => ("Действие", "Action"),
        Comment => ("Комментарий", "Comment"),
        Actions => ("Действия", "Actions"),
        NoActions => ("Для вашего логина в этом статусе действий нет.", "Your login has no action in this state."),
        Send => ("Отправить", "Send"),
        AcceptForSignature => ("На подпись МО", "For the MO's signature"),
        ReturnForRework => ("На доработку", "Return for rework"),
        CommentHint => ("Что исправить (обязательно при возврате на доработку)", "What to correct (required to return for rework)"),
        ActionForm => ("сформирован", "formed"),
        ActionSend => ("отправлен", "sent"),
        ActionAccept => ("переведён на подпись МО", "passed for the MO's signature"),
        ActionReturn => ("возвращён на доработку", "returned for rework"),
        ActionSign => ("подписан", "signed"),
        Moved => ("Статус реестра: {state}.", "The register's state: {state}."),
        Signatures => ("Подписи", "Signatures"),
        Position => ("№", "No."),
        Signer => ("Подписант", "Signer"),
        Certificate => ("Сертификат", "Certificate"),
        NoSignatures => ("Подписей пока нет.", "No signature yet."),
        YourTurn => (
            "Ваша очередь подписать ({role}). Скачайте файл реестра, подпишите его на своём компьютере своим ключом (например, medgate claims sign) и загрузите отсоединённую подпись CMS. Закрытый ключ на сервер не передаётся.",
            "It is your turn to sign ({role}). Download the register's file, sign it on your own computer with your own key (e.g. medgate claims sign) and upload the detached CMS signature. The private key never reaches the server."
        ),
        WaitingFor => ("Ожидается подпись: {role}.", "Waiting for the signature of {role}."),
        DownloadRegister => ("Скачать файл реестра для подписи", "Download the register's file to sign"),
        SignatureFile => ("Файл подписи (.sig, CMS)", "Signature file (.sig, CMS)"),
        UploadSignature => ("Загрузить подпись", "Upload the signature"),
        SignatureAccepted => ("Подпись {position} принята ({algorithm}, {subject}).", "Signature {position} accepted ({algorithm}, {subject})."),
        NoSignatureFile => ("Выберите файл подписи.", "Choose a signature file."),
        Documents => ("Документы", "Documents"),
        DocInvoice => ("Счёт", "Invoice"),
        DocSummary => ("Сводный реестр", "Summary register"),
        DocRegister => ("Реестр счетов", "The register"),
        DocMekAct => ("Акт МЭК", "MEK act"),
        Pdf => ("PDF", "PDF"),
        SignedPackage => ("Подписанный пакет (ZIP: реестр и три подписи)", "Signed package (ZIP: the register and three signatures)"),
        SignatureTitle => ("Электронная подпись", "Electronic signature"),
        SignatureIntro => (
            "Загрузите файл сертификата вашей электронной подписи (.cer, DER или PEM). Сертификат будет сопоставлен с текущим пользователем; реестры подписываются по порядку: исполнитель, главный бухгалтер, руководитель.",
            "Upload your electronic signature's certificate file (.cer, DER or PEM). It is matched to the current user; registers are signed in order: executor, chief accountant, head."
        ),
        NotASigner => ("Ваш логин не подписывает реестры.", "Your login does not sign registers."),
        NoSignerCa => (
            "На этом узле сертификаты подписантов не проверяются по удостоверяющему центру: фонд не установил доверенные УЦ. Проверяются только срок действия и назначение ключа.",
            "Signers' certificates are not checked against a CA on this node: the fund has installed no trusted CA. Only their validity period and key usage are checked."
        ),
        SignerCas => (
            "Сертификат принимается, только если он выдан одним из удостоверяющих центров, которым доверяет фонд (установлено: {count}), действует и не отозван.",
            "A certificate is accepted only when it is issued by one of the CAs the fund trusts (installed: {count}), valid and not revoked."
        ),
        CertificateFile => ("Файл сертификата (.cer)", "Certificate file (.cer)"),
        UploadCertificate => ("Загрузить сертификат", "Upload the certificate"),
        CertificateRegistered => ("Сертификат зарегистрирован: {subject}.", "Certificate registered: {subject}."),
        NoCertificate => ("Сертификат не загружен.", "No certificate uploaded."),
        NoCertificateFile => ("Выберите файл сертификата.", "Choose a certificate file."),
        Subject => ("Владелец", "Subject"),
        Serial => ("Серийный номер", "Serial number"),
        ValidUntil => ("Действителен до", "Valid until"),
        SignersTitle => ("Подписанты организации", "The organisation's signers"),
        Role => ("Роль", "Role"),
        Login => ("Логин", "Login"),
        Total => ("Итого", "Total"),
        Cases => ("Случаев", "Cases"),
        Profile => ("Профиль", "Profile"),
        Patient => ("Пациент", "Patient"),
        Policy => ("Полис", "Policy"),
        Diagnosis => ("Диагноз", "Diagnosis"),
        Dates => ("Даты", "Dates"),
        Record => ("N_ZAP", "N_ZAP"),
        FirstLines => ("Показаны первые {shown} из {total} случаев; полностью — в PDF.", "The first {shown} of {total} cases are shown; the PDF holds them all."),
        MekActText => (
            "В реестр вошли только случаи, прошедшие контроль: проверено случаев — {cases}, снято с оплаты — 0,00 руб.",
            "The register holds only cases that passed control: {cases} cases checked, 0.00 RUB withheld."
        ),
        InvoiceNumber => ("Номер счёта", "Invoice number"),
        InvoiceDate => ("Дата счёта", "Invoice date"),
        Payer => ("Плательщик (СМО)", "Payer (insurer)"),
        MoCode => ("Код МО", "MO code"),
        ReportingPeriod => ("Отчётный период", "Reporting period"),
        Back => ("К реестру", "Back to the register"),
        Refused => ("Отказано: {reason}", "Refused: {reason}"),
        ReviewerGreeting => ("{login} (СМО {smo})", "{login} (insurer {smo})"),
    }
}

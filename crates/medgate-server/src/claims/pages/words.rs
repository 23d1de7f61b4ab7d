//! The claims desk's words in Russian (its default: the fund's letter's words — «Загрузка
//! файла», «ФЛК», «МЭК», «Ссылка открывается только 1 раз») and English, side by side, so a missing
//! translation does not compile. Texts with a placeholder write it as `{name}`.

medgate_web::bilingual! {
    Ru;
    /// Every text of the claims desk.
    R {
        Site => ("ПУОМП — персонифицированный учёт ОМС", "OMS claims registers"),
        NavUpload => ("Загрузка файла", "File upload"),
        NavFlk => ("ФЛК", "FLK"),
        SignInIntro => (
            "Войдите логином вашей медицинской организации (например, M140001_1). При первом входе система попросит сменить пароль по умолчанию.",
            "Sign in with your medical organisation's login (e.g. M140001_1). At the first sign-in you will be asked to change the default password."
        ),
        SignInFailed => ("Неверный логин или пароль.", "Wrong login or password."),
        HaveCode => ("Пароль по умолчанию показывает одноразовая ссылка фонда", "The fund's one-time link shows the default password"),
        ActivateTitle => ("Пароль по умолчанию", "Default password"),
        ActivateIntro => (
            "Пароль по умолчанию показывает одноразовая ссылка, которую выдал фонд. Если ссылка уже открыта или утеряна, обратитесь в фонд за новой.",
            "The one-time link the fund gave you shows the default password. If it was opened already or lost, ask the fund for a new one."
        ),
        Activate => ("Задать пароль", "Set the password"),
        CodeHint => ("Код не используется: откройте ссылку фонда.", "No code is used here: open the fund's link."),
        PasswordRules => ("От {min} до {max} символов; не совпадает с логином.", "{min} to {max} characters; not the login."),
        PasswordIsLogin => ("Пароль не может совпадать с логином.", "The password cannot be the login."),
        FixErrors => ("Исправьте отмеченные поля.", "Fix the marked fields."),
        Login => ("Логин", "Login"),
        LoginHint => ("Например, M140001_1", "For example M140001_1"),
        BadLogin => ("Логин — латинские буквы, цифры и _, не более 40 символов.", "A login is Latin letters, digits and _, at most 40 characters."),
        LinkTitle => ("Пароль по умолчанию", "Default password"),
        LinkOpenIntro => (
            "Ссылка показывает логин и пароль по умолчанию только 1 раз. Откройте её, когда будете готовы сохранить пароль.",
            "The link shows the login and the default password only once. Open it when you are ready to keep the password."
        ),
        LinkOpen => ("Открыть ссылку", "Open the link"),
        LinkShown => (
            "Сохраните пароль по умолчанию: ссылка открывается только 1 раз. При первом входе система предложит сменить пароль.",
            "Keep the default password: this link opens only once. At the first sign-in you will be asked to change it."
        ),
        LinkLogin => ("Логин", "Login"),
        LinkPassword => ("Пароль по умолчанию", "Default password"),
        LinkGone => (
            "Эта ссылка уже была открыта ({at}) и больше не показывает пароль. Если вы не сохранили пароль, попросите фонд выдать новую ссылку.",
            "This link was opened already ({at}) and no longer shows the password. If you did not keep it, ask the fund for a new link."
        ),
        LinkExpired => (
            "Срок действия ссылки истёк, она так и не была открыта. Попросите фонд выдать новую ссылку.",
            "This link expired unopened. Ask the fund for a new link."
        ),
        LinkUnknown => ("Такой ссылки нет. Проверьте, что она скопирована целиком.", "There is no such link. Check that it was copied whole."),
        GoSignIn => ("Перейти ко входу", "Go to sign-in"),
        ChangeTitle => ("Смена пароля", "Change the password"),
        ChangeIntro => (
            "Перед началом работы смените пароль по умолчанию на свой.",
            "Before you start, replace the default password with your own."
        ),
        CurrentPassword => ("Текущий пароль", "Current password"),
        NewPassword => ("Новый пароль", "New password"),
        RepeatPassword => ("Повторите новый пароль", "Repeat the new password"),
        Change => ("Сменить пароль", "Change the password"),
        Changed => ("Пароль изменён.", "The password was changed."),
        WrongCurrent => ("Текущий пароль неверен.", "The current password is wrong."),
        Mismatch => ("Повтор не совпадает с новым паролем.", "The repeat differs from the new password."),
        UploadTitle => ("Загрузка файла", "File upload"),
        UploadIntro => (
            "Загрузите пакет реестра (ZIP с основным файлом H, C, T или D* и файлом персональных данных L) за открытый отчётный период. После загрузки пакет проходит форматно-логический контроль.",
            "Upload a register package (a ZIP with the main file H, C, T or D* and its personal-data L file) for an open reporting period. Once uploaded, the package goes through the format-logical control."
        ),
        Period => ("Отчётный период", "Reporting period"),
        ExecutorOnly => (
            "Пакеты загружает исполнитель (логин _1); главный бухгалтер и руководитель подписывают реестры.",
            "Packages are uploaded by the executor (the _1 login); the chief accountant and the head sign the registers."
        ),
        NoOpenPeriod => ("Нет открытых отчётных периодов: загрузка недоступна.", "No reporting period is open: nothing can be uploaded."),
        PackageFile => ("Файл пакета (ZIP)", "Package file (ZIP)"),
        Upload => ("Загрузить", "Upload"),
        NoFile => ("Выберите файл пакета.", "Choose the package file."),
        TooLarge => ("Файл больше {max} МБ.", "The file is over {max} MB."),
        Refused => ("Пакет не принят: {reason}", "The package was not taken: {reason}"),
        Packages => ("Загруженные пакеты", "Uploaded packages"),
        NoPackages => ("Пакетов пока нет.", "No packages yet."),
        File => ("Файл", "File"),
        Uploaded => ("Загружен", "Uploaded"),
        Status => ("Статус", "Status"),
        Cases => ("Случаев", "Cases"),
        Errors => ("Ошибок", "Errors"),
        Checking => ("проверяется", "being checked"),
        Accepted => ("принят", "accepted"),
        FlkErrors => ("ошибки ФЛК", "FLK errors"),
        RefusedStatus => ("отклонён", "refused"),
        Progress => ("Проверено {percent}%. Страница обновляется сама.", "{percent}% checked. This page refreshes itself."),
        FlkTitle => ("ФЛК", "FLK"),
        FlkIntro => ("Результаты форматно-логического контроля загруженных пакетов.", "The format-logical control of the uploaded packages."),
        PackageTitle => ("Пакет {name}", "Package {name}"),
        RefusedWhole => ("Пакет отклонён целиком, код {code}: {comment}", "The package was refused whole, code {code}: {comment}"),
        Clean => ("Ошибок не найдено, пакет принят.", "No errors found; the package was accepted."),
        Code => ("Код", "Code"),
        Rule => ("Правило", "Rule"),
        Element => ("Элемент (IM_POL)", "Element (IM_POL)"),
        Parent => ("BAS_EL", "BAS_EL"),
        Record => ("N_ZAP", "N_ZAP"),
        Case => ("IDCASE", "IDCASE"),
        Comment => ("Комментарий", "Comment"),
        MoreFindings => ("Показаны первые {shown} из {total} ошибок; протокол содержит показанные.", "The first {shown} of {total} errors are shown; the protocol holds those shown."),
        Protocol => ("Скачать протокол ФЛК (V…zip)", "Download the FLK protocol (V…zip)"),
        NotFoundTitle => ("Не найдено", "Not found"),
        NotFound => ("Такого пакета нет среди пакетов вашей организации.", "Your organisation has no such package."),
        Back => ("← К пакетам", "← Back to the packages"),
        Greeting => ("{login} (МО {mo})", "{login} (MO {mo})"),
        ErrorTitle => ("Ошибка", "Error"),
        NavMek => ("МЭК", "MEK"),
        AcceptedMek => ("принят, удержания МЭК", "accepted, MEK withholdings"),
        MekTitle => ("МЭК", "MEK"),
        MekIntro => (
            "Результаты медико-экономического контроля: случаи, прошедшие ФЛК, проверены по правилам каталогов Q016/Q023 и причинам F014. Ошибки МЭК исправляются в вашей МИС, затем пакет загружается снова.",
            "The medico-economic control: the cases that passed FLK checked by the rules of the Q016/Q023 catalogues and the F014 reasons. MEK errors are fixed in your MIS, then the package is uploaded again."
        ),
        TabFlk => ("ФЛК", "FLK"),
        TabMek => ("МЭК", "MEK"),
        MekFindings => ("Замечаний МЭК", "MEK findings"),
        Withheld => ("Удержано", "Withheld"),
        MekNotRun => ("не проводился", "not run"),
        MekNoCatalogue => (
            "МЭК не проводился: на узле не установлен каталог МЭК Q016. Фонд устанавливает его командой medgate claims nsi import Q016.xml (и региональный Q023); пакеты, загруженные после этого, проходят МЭК.",
            "MEK was not run: the node has no MEK catalogue Q016 installed. The fund installs it with medgate claims nsi import Q016.xml (and the regional Q023); packages uploaded after that go through MEK."
        ),
        MekRefusedWhole => ("Пакет отклонён целиком, МЭК не проводился.", "The package was refused whole; MEK was not run."),
        MekWaiting => ("МЭК проводится после ФЛК: проверено {percent}%. Страница обновляется сама.", "MEK follows FLK: {percent}% checked. This page refreshes itself."),
        MekClean => ("Замечаний МЭК нет, ничего не удержано.", "No MEK findings; nothing is withheld."),
        MekTotals => (
            "Проверено случаев: {checked} (не прошли ФЛК и не проверялись: {failed}). Случаев с удержаниями: {refused}. Замечаний: {findings}. Удержано всего: {withheld} руб.",
            "Cases checked: {checked} (left out after FLK errors: {failed}). Cases with withholdings: {refused}. Findings: {findings}. Withheld in total: {withheld} RUB."
        ),
        MekCatalogues => ("Каталоги МЭК: {editions}", "MEK catalogues: {editions}"),
        Reason => ("Причина (F014)", "Reason (F014)"),
        Basis => ("Основание", "Basis"),
        Stay => ("SL_ID", "SL_ID"),
        WithheldRub => ("Удержано, руб.", "Withheld, RUB"),
        Total => ("Итого", "Total"),
        MoreMekFindings => ("Показаны первые {shown} из {total} замечаний.", "The first {shown} of {total} findings are shown."),
        FlkCleanMek => ("Ошибок ФЛК нет. МЭК удержал часть случаев — см. вкладку «МЭК».", "No FLK errors. MEK withholds some cases: see the MEK tab."),
        FixAction => ("Исправить", "Fix"),
        CorrectColumn => ("Исправление", "Correction"),
        InMis => ("в МИС", "in your MIS"),
        CorrectIntro => (
            "Ошибки с действием «Исправить» можно исправить здесь: исправленная копия пакета регистрируется как новый пакет и сразу проходит контроль. Остальные ошибки исправляются в вашей МИС, затем пакет загружается снова.",
            "Errors with a Fix action can be fixed here: the corrected copy of the package is registered as a new package and checked at once. The other errors are fixed in your MIS, then the package is uploaded again."
        ),
        NoneFixable => (
            "Эти ошибки исправляются в вашей МИС, затем пакет загружается снова.",
            "These errors are fixed in your MIS, then the package is uploaded again."
        ),
        CorrectExecutorOnly => (
            "Исправляет исполнитель пакета (логин _1 его организации и подразделения).",
            "Only the package's executor (the _1 login of its organisation and subdivision) corrects it."
        ),
        CorrectNotFlk => (
            "Исправить на узле можно только пакет со статусом «ошибки ФЛК».",
            "Only a package with FLK errors can be corrected at the node."
        ),
        CorrectedBy => (
            "Пакет уже исправлен: исправленная копия — пакет №{id}. Дальнейшие исправления вносятся в неё.",
            "This package was corrected already: its corrected copy is package No. {id}. Further corrections are made there."
        ),
        Corrects => (
            "Исправление пакета №{id}: {element} записи {n_zap} «{old}» → «{new}»",
            "Correction of package No. {id}: {element} of record {n_zap} “{old}” → “{new}”"
        ),
        CorrectTitle => ("Исправление {element} записи {n_zap}", "Correcting {element} of record {n_zap}"),
        CorrectFormIntro => (
            "Исправленная копия пакета регистрируется как новый пакет того же периода и сразу проходит ФЛК и МЭК. Загруженный пакет не меняется.",
            "The corrected copy of the package is registered as a new package of the same period and goes through FLK and MEK at once. The uploaded package stays as it is."
        ),
        CurrentValue => ("Текущее значение", "Current value"),
        NewValue => ("Новое значение", "New value"),
        NewValueHint => ("Код из справочника, не более 250 символов.", "A code of its dictionary, at most 250 characters."),
        CorrectSubmit => ("Исправить и проверить", "Fix and check"),
        Cancel => ("Отмена", "Cancel"),
        NoCurrentValue => (
            "В записи нет этого элемента: исправьте его в вашей МИС и загрузите пакет снова.",
            "The record holds no such element: fix it in your MIS and upload the package again."
        ),
        CorrectRefused => ("Исправление не выполнено: {reason}", "The correction was not made: {reason}"),
        FixInMis => ("Исправьте случаи в вашей МИС и загрузите пакет снова.", "Fix the cases in your MIS and upload the package again."),
    }
}

"""The report's vocabulary: HTCDS 2.0 / CTDC codes (what csv and json carry) and their labels
in English, Russian and Belarusian (what people read)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "ru", "be"]
LANGS: tuple[Lang, ...] = ("en", "ru", "be")

# Plan domain -> HTCDS spl_Type.
HELP_TYPE = {
    "psychological": "Health",
    "medical": "Health",
    "employment": "Livelihood",
    "housing": "SocialCare",
    "humanitarian": "SocialCare",
    "legal": "Legal",
    "financial": "Financial",
}
HELP_TYPES = ("Health", "Livelihood", "SocialCare", "Legal", "Financial")

# Stored exploitation value (and HTCDS word) -> HTCDS vic_TypeOfExploitation.
EXPLOITATION = {
    "sexual": "SexualExploitation",
    "pornography": "SexualExploitation",
    "labour": "ForcedLabour",
    "domestic-servitude": "Servitude",
    "forced-marriage": "ForcedMarriage",
    "begging": "ForcedBegging",
    "child-labour": "ChildLabour",
    "organ-removal": "OrganRemoval",
    "criminal": "Other",  # HTCDS has no own code for forced criminality
    "other": "Other",
    "not-specified": "NotSpecified",
}
EXPLOITATIONS = (
    "SexualExploitation",
    "ForcedLabour",
    "Servitude",
    "ForcedMarriage",
    "ForcedBegging",
    "ChildLabour",
    "OrganRemoval",
    "Other",
    "NotSpecified",
)
SEXUAL = {
    "prostitution": "Prostitution",
    "pornography": "Pornography",
    "remote-interactive-services": "RemoteInteractiveServices",
    "private-sexual-services": "PrivateSexualServices",
}
SEXUAL_TYPES = tuple(SEXUAL.values())
GENDER = {
    "female": "Feminine",
    "male": "Masculine",
    "other": "Other",
    "unknown": "NonSpecifiedUnknown",
}
GENDERS = tuple(GENDER.values())
MAJORITY = ("Adult", "Minor", "Unknown")
GROUPS = ("Women", "Men", "Girls", "Boys", "OtherOrUnknown")
STEP_STATUSES = ("Started", "Completed", "Skipped", "Cancelled", "NotDelivered")
CHECK_IN_OUTCOMES = ("Attended", "Missed", "Rescheduled")
CONSENT_STATUSES = ("Given", "Refused", "Withdrawn")
PLAN_EVENTS = (
    "Launched",
    "FirstLaunched",
    "Relaunched",
    "Approved",
    "Completed",
    "CompletedNotDelivered",
    "Cancelled",
    "Terminated",
)
CASE_STATES = {
    "awaiting-approval": "AwaitingApproval",
    "active": "Active",
    "completed": "Completed",
    "cancelled": "Cancelled",
    "terminated": "Terminated",
}
STATE_CODES = (*CASE_STATES.values(), "Recorded")
# Why staff closed a case (`rehab case close --reason`) -> the report's code. CTDC and HTCDS
# have no codes for how assistance ended, so these are the programme's own, in their style.
CLOSINGS = {
    "moved-away": "ClosedMovedAway",
    "lost-contact": "ClosedLostContact",
    "transferred": "ClosedTransferred",
    "deceased": "ClosedDeceased",
    "goals-met": "ClosedGoalsMet",
}
CLOSING_CODES = tuple(CLOSINGS.values())

_L: dict[str, tuple[str, str, str]] = {
    # people
    "New": ("New in the period", "Новые за период", "Новыя за перыяд"),
    "Active": ("Active", "Активные", "Актыўныя"),
    "Identified": ("Identified since the start", "Выявлено с начала", "Выяўлена з пачатку"),
    "People": ("People", "Человек", "Чалавек"),
    "Total": ("Total", "Итого", "Усяго"),
    "NotBrokenDown": (
        "Not broken down (no consent to statistics)",
        "Без разбивки (нет согласия на статистику)",
        "Без разбіўкі (няма згоды на статыстыку)",
    ),
    "AllPeople": ("All people", "Все люди", "Усе людзі"),
    # population groups
    "Women": ("Women", "Женщины", "Жанчыны"),
    "Men": ("Men", "Мужчины", "Мужчыны"),
    "Girls": ("Girls", "Девочки", "Дзяўчынкі"),
    "Boys": ("Boys", "Мальчики", "Хлопчыкі"),
    "OtherOrUnknown": ("Other or unknown", "Другое или неизвестно", "Іншае або невядома"),
    # gender
    "Feminine": ("Female", "Женский", "Жаночы"),
    "Masculine": ("Male", "Мужской", "Мужчынскі"),
    "Other": ("Other", "Другое", "Іншае"),
    "NonSpecifiedUnknown": ("Not specified", "Не указано", "Не пазначана"),
    # majority
    "Adult": ("Adult", "Взрослые", "Дарослыя"),
    "Minor": ("Minor at identification", "Несовершеннолетние", "Непаўналетнія"),
    "Unknown": ("Unknown", "Неизвестно", "Невядома"),
    # exploitation
    "SexualExploitation": (
        "Sexual exploitation",
        "Сексуальная эксплуатация",
        "Сэксуальная эксплуатацыя",
    ),
    "ForcedLabour": ("Forced labour", "Принудительный труд", "Прымусовая праца"),
    "Servitude": ("Domestic servitude", "Домашнее рабство", "Хатняе рабства"),
    "ForcedMarriage": ("Forced marriage", "Принудительный брак", "Прымусовы шлюб"),
    "ForcedBegging": ("Forced begging", "Принудительное попрошайничество", "Прымусовае жабрацтва"),
    "ChildLabour": ("Child labour", "Детский труд", "Дзіцячая праца"),
    "OrganRemoval": ("Organ removal", "Изъятие органов", "Выдаленне органаў"),
    "NotSpecified": ("Not specified", "Не указано", "Не пазначана"),
    # sexual sub-types
    "Prostitution": ("Prostitution", "Проституция", "Прастытуцыя"),
    "Pornography": ("Pornography", "Порнография", "Парнаграфія"),
    "RemoteInteractiveServices": (
        "Remote interactive services",
        "Дистанционные интерактивные услуги",
        "Дыстанцыйныя інтэрактыўныя паслугі",
    ),
    "PrivateSexualServices": (
        "Private sexual services",
        "Частные сексуальные услуги",
        "Прыватныя сэксуальныя паслугі",
    ),
    # countries
    "OtherCountries": ("Other countries", "Другие страны", "Іншыя краіны"),
    "Sexual": ("Sexual exploitation", "Сексуальная эксплуатация", "Сэксуальная эксплуатацыя"),
    "OtherExploitation": ("Other exploitation", "Другая эксплуатация", "Іншая эксплуатацыя"),
    # help given
    "Health": ("Health", "Здоровье", "Здароўе"),
    "Livelihood": ("Livelihood", "Средства к жизни", "Сродкі да існавання"),
    "SocialCare": ("Social care", "Социальная помощь", "Сацыяльная дапамога"),
    "Legal": ("Legal", "Юридическая помощь", "Юрыдычная дапамога"),
    "Financial": ("Financial", "Финансовая помощь", "Фінансавая дапамога"),
    "Started": ("Started (referrals)", "Начато (направления)", "Пачата (накіраванні)"),
    "Completed": ("Completed", "Завершено", "Завершана"),
    "Skipped": ("Skipped", "Пропущено", "Прапушчана"),
    "Cancelled": ("Cancelled", "Отменено", "Адменена"),
    "NotDelivered": (
        "Not delivered (partner never told)",
        "Не доставлено (партнёр не узнал)",
        "Не дастаўлена (партнёр не даведаўся)",
    ),
    "Attended": ("Attended", "Состоялись", "Адбыліся"),
    "Missed": ("Missed", "Пропущены", "Прапушчаныя"),
    "Rescheduled": ("Rescheduled", "Перенесены", "Перанесеныя"),
    "ShareAttendedPct": ("Share attended, %", "Доля состоявшихся, %", "Доля тых, што адбыліся, %"),
    "Given": ("Given", "Дано", "Дадзена"),
    "Refused": ("Refused", "Отказано", "Адмоўлена"),
    "Withdrawn": ("Withdrawn", "Отозвано", "Адклікана"),
    # partner kinds
    "healthcare": ("Healthcare", "Здравоохранение", "Ахова здароўя"),
    "education": ("Education", "Образование", "Адукацыя"),
    "employment": ("Employment", "Занятость", "Занятасць"),
    "social-service": ("Social service", "Социальная служба", "Сацыяльная служба"),
    "law-enforcement": ("Law enforcement", "Правоохранительные органы", "Праваахоўныя органы"),
    "legal": ("Legal", "Юридическая помощь", "Юрыдычная дапамога"),
    "shelter": ("Shelter", "Приют", "Прытулак"),
    "ngo": ("NGO", "НКО", "НДА"),
    "other": ("Other", "Другое", "Іншае"),
    "unknown-partner": (
        "Partner not in the directory",
        "Партнёр не в справочнике",
        "Партнёра няма ў даведніку",
    ),
    # outcomes
    "Launched": ("Plans launched", "Планов запущено", "Планаў запушчана"),
    "FirstLaunched": ("of them first launches", "из них впервые", "з іх упершыню"),
    "Relaunched": ("of them relaunches", "из них повторно", "з іх паўторна"),
    "Approved": ("Approved", "Утверждено", "Зацверджана"),
    "CompletedNotDelivered": (
        "of them not delivered (no partner told)",
        "из них не доставлено (партнёры не узнали)",
        "з іх не дастаўлена (партнёры не даведаліся)",
    ),
    "Terminated": ("Terminated", "Прекращено", "Спынена"),
    "ClosedMovedAway": ("Moved away", "Переехал(а)", "Пераехаў(ла)"),
    "ClosedLostContact": ("Contact lost", "Связь потеряна", "Сувязь страчана"),
    "ClosedTransferred": (
        "Transferred to another organisation",
        "Передан(а) другой организации",
        "Перададзены(ая) іншай арганізацыі",
    ),
    "ClosedDeceased": ("Deceased", "Умер(ла)", "Памёр(ла)"),
    "ClosedGoalsMet": ("Goals of the plan met", "Цели плана достигнуты", "Мэты плана дасягнуты"),
    "AwaitingApproval": ("Awaiting approval", "Ждут утверждения", "Чакаюць зацвярджэння"),
    "Recorded": ("Recorded, not launched", "Учтены, не запущены", "Улічаныя, не запушчаныя"),
    "Plans": ("Plans", "Планов", "Планаў"),
    "Cases": ("Cases", "Случаев", "Выпадкаў"),
    # timeliness
    "LaunchToApproval": (
        "Days from launch to approval",
        "Дней от запуска до утверждения",
        "Дзён ад запуску да зацвярджэння",
    ),
    "LaunchToFirstStep": (
        "Days from launch to the first step started",
        "Дней от запуска до первого шага",
        "Дзён ад запуску да першага кроку",
    ),
    "N": ("n", "n", "n"),
    # partners' responsiveness (C5)
    "Referred": ("Referrals", "Направления", "Накіраванні"),
    "Answered": ("Answered", "С ответом", "З адказам"),
    "Accepted": ("Accepted", "Приняты", "Прынятыя"),
    "CheckIns": ("Check-ins recorded", "Записано встреч", "Запісана сустрэч"),
    "PartnerReported": ("Reported by the partner", "Сообщено партнёром", "Паведамлена партнёрам"),
    "ShareAnsweredPct": ("Share answered, %", "Доля с ответом, %", "Доля з адказам, %"),
    "MedianHoursToAccept": (
        "Median hours to accept",
        "Медиана часов до принятия",
        "Медыяна гадзін да прыняцця",
    ),
    "SharePartnerReportedPct": (
        "Share reported by the partner, %",
        "Доля сообщённых партнёром, %",
        "Доля паведамленых партнёрам, %",
    ),
    "MedianDays": ("Median, days", "Медиана, дней", "Медыяна, дзён"),
    "Count": ("Count", "Число", "Колькасць"),
    # bases
    "period": ("In the period", "За период", "За перыяд"),
    "cumulative": ("Since the start", "С начала программы", "З пачатку праграмы"),
}

TITLES: dict[str, tuple[str, str, str]] = {
    "A1": ("A. People", "A. Люди", "A. Людзі"),
    "B1": (
        "B. Population group × type of exploitation",
        "B. Группа × вид эксплуатации",
        "B. Група × від эксплуатацыі",
    ),
    "B2": ("B. Gender", "B. Пол", "B. Пол"),
    "B3": (
        "B. Minor or adult at identification",
        "B. Возраст при выявлении",
        "B. Узрост пры выяўленні",
    ),
    "B4": ("B. Type of exploitation", "B. Вид эксплуатации", "B. Від эксплуатацыі"),
    "B5": (
        "B. Sexual exploitation by sub-type",
        "B. Виды сексуальной эксплуатации",
        "B. Віды сэксуальнай эксплуатацыі",
    ),
    "B6": ("B. Country of exploitation", "B. Страна эксплуатации", "B. Краіна эксплуатацыі"),
    "C1": ("C. Steps by type of help", "C. Шаги по видам помощи", "C. Крокі па відах дапамогі"),
    "C2": ("C. Steps by partner kind", "C. Шаги по видам партнёров", "C. Крокі па відах партнёраў"),
    "C3": (
        "C. Check-ins by type of help",
        "C. Встречи по видам помощи",
        "C. Сустрэчы па відах дапамогі",
    ),
    "C4": ("C. Consents by scope", "C. Согласия по сферам", "C. Згоды па сферах"),
    "C5": (
        "C. Partners' responsiveness by partner kind",
        "C. Отзывчивость партнёров по видам",
        "C. Адгукальнасць партнёраў па відах",
    ),
    "D1": ("D. Plans", "D. Планы", "D. Планы"),
    "D2": ("D. Terminated by rule", "D. Прекращено по правилам", "D. Спынена па правілах"),
    "D3": (
        "D. Cases by state at the period's end",
        "D. Случаи по состоянию на конец периода",
        "D. Выпадкі па стане на канец перыяду",
    ),
    "D4": (
        "D. Plans closed by staff, per reason",
        "D. Планы, закрытые сотрудниками, по причинам",
        "D. Планы, закрытыя супрацоўнікамі, па прычынах",
    ),
    "E1": ("E. Timeliness", "E. Сроки", "E. Тэрміны"),
    "F": ("F. Method", "F. Методика", "F. Методыка"),
    "report": ("Programme report", "Отчёт программы", "Справаздача праграмы"),
    "hidden": (
        "c: hidden to protect the people counted",
        "c: скрыто для защиты людей",
        "c: схавана дзеля абароны людзей",
    ),
    "carried": ("as of", "по состоянию на", "па стане на"),
}


def label(code: str, lang: Lang) -> str:
    """The code's label in `lang`; a code without one (a country, a scope) is its own label."""
    names = _L.get(code) or TITLES.get(code)
    return names[LANGS.index(lang)] if names else code


def has_label(code: str) -> bool:
    """True if the code has a label of its own (else report.words says what it is)."""
    return code in _L or code in TITLES


def title(table: str, lang: Lang) -> str:
    """A table's or section's title in `lang`."""
    return TITLES[table][LANGS.index(lang)]

"""Words a reader of the report reads in her language where the report would otherwise show a
code: the method block, the period's name, and codes with no fixed label (countries, the
programme's rules and consent scopes), each shown as a plain label with its code beside it."""

from __future__ import annotations

from typing import Any

from report.vocabulary import LANGS, Lang, has_label, label

# Countries this programme meets most (return from, exploited in); any other country shows
# as "Country (XX)" in the reader's language.
COUNTRIES: dict[str, tuple[str, str, str]] = {
    "BY": ("Belarus", "Беларусь", "Беларусь"),
    "RU": ("Russia", "Россия", "Расія"),
    "UA": ("Ukraine", "Украина", "Украіна"),
    "PL": ("Poland", "Польша", "Польшча"),
    "LT": ("Lithuania", "Литва", "Літва"),
    "LV": ("Latvia", "Латвия", "Латвія"),
    "EE": ("Estonia", "Эстония", "Эстонія"),
    "DE": ("Germany", "Германия", "Германія"),
    "CZ": ("Czechia", "Чехия", "Чэхія"),
    "IT": ("Italy", "Италия", "Італія"),
    "TR": ("Turkey", "Турция", "Турцыя"),
    "AE": ("United Arab Emirates", "ОАЭ", "ААЭ"),
    "IL": ("Israel", "Израиль", "Ізраіль"),
    "CN": ("China", "Китай", "Кітай"),
    "KZ": ("Kazakhstan", "Казахстан", "Казахстан"),
    "CY": ("Cyprus", "Кипр", "Кіпр"),
    "GR": ("Greece", "Греция", "Грэцыя"),
    "ES": ("Spain", "Испания", "Іспанія"),
}

# What a code with no label of its own is, per dimension of the table it appears in.
KIND_OF_CODE: dict[str, tuple[str, str, str]] = {
    "hte_Country": ("Country", "Страна", "Краіна"),
    "ProgrammeRule": ("Programme rule", "Правило программы", "Правіла праграмы"),
    "ConsentScope": ("Consent scope", "Сфера согласия", "Сфера згоды"),
    "PartnerKind": ("Partner kind", "Вид партнёра", "Від партнёра"),
}

# Consent scopes every programme has: the plan's domains and `statistics`.
SCOPES: dict[str, tuple[str, str, str]] = {
    "statistics": ("Statistics", "Статистика", "Статыстыка"),
    "psychological": ("Psychological help", "Психологическая помощь", "Псіхалагічная дапамога"),
    "medical": ("Medical help", "Медицинская помощь", "Медыцынская дапамога"),
    "legal": ("Legal help", "Юридическая помощь", "Юрыдычная дапамога"),
    "financial": ("Financial help", "Финансовая помощь", "Фінансавая дапамога"),
    "employment": ("Employment", "Трудоустройство", "Працаўладкаванне"),
    "housing": ("Housing", "Жильё", "Жыллё"),
    "humanitarian": ("Humanitarian aid", "Гуманитарная помощь", "Гуманітарная дапамога"),
}

_W: dict[str, tuple[str, str, str]] = {
    "since-start": ("since the start", "с начала программы", "з пачатку праграмы"),
    "release": ("release", "выпуск", "выпуск"),
    "threshold": (
        "Publication threshold: {t}",
        "Порог публикации: {t}",
        "Парог публікацыі: {t}",
    ),
    "consent_basis": (
        "People are broken down by who they are only with consent to statistics (statistics)"
        " given, by their latest record; everyone else is counted once, in the row “{nb}”"
        " (NotBrokenDown).",
        "Люди разбиты по признакам только при данном согласии на статистику (statistics), по"
        " последней записи; остальные учтены один раз, в строке «{nb}» (NotBrokenDown).",
        "Людзі разбіты па прыкметах толькі пры дадзенай згодзе на статыстыку (statistics), па"
        " апошнім запісе; астатнія ўлічаны адзін раз, у радку «{nb}» (NotBrokenDown).",
    ),
    "vocabulary": (
        "Codes of HTCDS 2.0 / CTDC: gender (prs_Gender), minor or adult (majorityStatus), type"
        " of exploitation (vic_TypeOfExploitation), type of sexual exploitation"
        " (vic_TypeOfSexExploitation), country (hte_Country), type of help (spl_Type).",
        "Коды HTCDS 2.0 / CTDC: пол (prs_Gender), возраст при выявлении (majorityStatus), вид"
        " эксплуатации (vic_TypeOfExploitation), вид сексуальной эксплуатации"
        " (vic_TypeOfSexExploitation), страна (hte_Country), вид помощи (spl_Type).",
        "Коды HTCDS 2.0 / CTDC: пол (prs_Gender), узрост пры выяўленні (majorityStatus), від"
        " эксплуатацыі (vic_TypeOfExploitation), від сэксуальнай эксплуатацыі"
        " (vic_TypeOfSexExploitation), краіна (hte_Country), від дапамогі (spl_Type).",
    ),
    "rare": (
        "Countries with few people are grouped into “{oc}” (OtherCountries).",
        "Страны, где людей мало, объединены в «{oc}» (OtherCountries).",
        "Краіны, дзе людзей мала, аб'яднаны ў «{oc}» (OtherCountries).",
    ),
    "small": (
        "Counts from 1 to {below} are hidden; 0 is shown; medians and shares only with at"
        " least {t} people.",
        "Числа от 1 до {below} скрыты; 0 показан; медианы и доли только при числе людей не"
        " меньше {t}.",
        "Лікі ад 1 да {below} схаваны; 0 паказаны; медыяны і долі толькі пры ліку людзей не"
        " менш за {t}.",
    ),
    "line": (
        "Every line with a hidden cell has two hidden cells whose true values reach {t} together.",
        "В каждой строке со скрытой ячейкой скрыты две, чьи истинные значения вместе не"
        " меньше {t}.",
        "У кожным радку са схаванай ячэйкай схаваны дзве, чые сапраўдныя значэнні разам не"
        " менш за {t}.",
    ),
    "marker": (
        "One marker, c, for every hidden cell.",
        "Один знак, c, для каждой скрытой ячейки.",
        "Адзін знак, c, для кожнай схаванай ячэйкі.",
    ),
    "difference": (
        "A cell of a period that differs by 1 to {below} from an earlier release of a period"
        " containing it or inside it is hidden; a cell since the start keeps its last"
        " published value, marked “as of” and the month.",
        "Ячейка периода, отличающаяся на 1–{below} от прежнего выпуска за объемлющий или"
        " вложенный период, скрыта; ячейка «с начала программы» сохраняет последнее"
        " опубликованное значение с пометкой «по состоянию на» и месяцем.",
        "Ячэйка перыяду, што адрозніваецца на 1–{below} ад ранейшага выпуску за ахопны або"
        " ўкладзены перыяд, схавана; ячэйка «з пачатку праграмы» захоўвае апошняе"
        " апублікаванае значэнне з пазнакай «па стане на» і месяцам.",
    ),
}


def word(key: str, lang: Lang, **values: Any) -> str:
    """One of the report's phrases in `lang`, with `values` filled in."""
    return _W[key][LANGS.index(lang)].format(**values)


def period_name(label_: str, lang: Lang) -> str:
    """The period's name as a reader reads it (a month or quarter is its own name)."""
    return word("since-start", lang) if label_ == "since-start" else label_


def code_label(code: str, dim: str, lang: Lang) -> str:
    """What a reader sees for a row's or column's code: its label, never a bare code."""
    return label(code, lang) if has_label(code) else unlabelled(code, dim, lang)


def unlabelled(code: str, dim: str, lang: Lang) -> str:
    """A code with no fixed label: its plain name where known, else what kind of thing it is,
    with the code beside it."""
    i = LANGS.index(lang)
    if dim == "hte_Country" and code in COUNTRIES:
        return f"{COUNTRIES[code][i]} ({code})"
    if dim == "ConsentScope" and code in SCOPES:
        return f"{SCOPES[code][i]} ({code})"
    kind = KIND_OF_CODE.get(dim)
    return f"{kind[i]} ({code})" if kind else code


def method_lines(method: dict[str, Any], lang: Lang, labels: dict[str, str]) -> list[str]:
    """The method block in `lang`: how people were counted and what was hidden, each code
    beside its plain label (`labels`: NotBrokenDown's and OtherCountries' labels)."""
    t = int(method.get("threshold", 11))
    return [
        word("threshold", lang, t=t),
        word("consent_basis", lang, nb=labels["NotBrokenDown"]),
        word("vocabulary", lang),
        word("rare", lang, oc=labels["OtherCountries"]),
        word("small", lang, below=t - 1, t=t),
        word("line", lang, t=t),
        word("marker", lang),
        word("difference", lang, below=t - 1),
    ]

"""The words a message carries that come from the engine's codes (a plan's state, a step's
domain, a consent scope, a message's kind, why a plan ended), in the recipient's language:
every word a person reads is in her language; an unknown code is shown as it is."""

from __future__ import annotations

import re
from typing import Any

_STATE = {
    "ru": {
        "awaiting-approval": "ждёт утверждения",
        "active": "выполняется",
        "completed": "выполнен",
        "cancelled": "отменён",
        "terminated": "прекращён",
    },
    "be": {
        "awaiting-approval": "чакае зацвярджэння",
        "active": "выконваецца",
        "completed": "выкананы",
        "cancelled": "адменены",
        "terminated": "спынены",
    },
}
_DOMAIN = {
    "ru": {
        "psychological": "психологическая помощь",
        "medical": "медицинская помощь",
        "legal": "юридическая помощь",
        "financial": "финансовая помощь",
        "employment": "трудоустройство",
        "housing": "жильё",
        "humanitarian": "гуманитарная помощь",
        "statistics": "статистика",
    },
    "be": {
        "psychological": "псіхалагічная дапамога",
        "medical": "медыцынская дапамога",
        "legal": "юрыдычная дапамога",
        "financial": "фінансавая дапамога",
        "employment": "працаўладкаванне",
        "housing": "жыллё",
        "humanitarian": "гуманітарная дапамога",
        "statistics": "статыстыка",
    },
}
_KIND = {
    "ru": {
        "referral": "направление",
        "reminder": "напоминание",
        "step-cancelled": "отмена этапа",
        "step-rescheduled": "изменение этапа",
        "check-in-missed": "пропущенная встреча",
        "missed-again": "повторные пропуски",
        "missed-not-followed-up": "пропуск без реакции",
        "step-overdue": "просроченный этап",
        "overdue-escalated": "всё ещё просроченный этап",
        "approval-request": "запрос утверждения",
        "amendment-request": "запрос утверждения изменений",
        "consent-request": "запрос согласия",
        "plan-completed": "план выполнен",
        "plan-ended": "план завершён",
        "referral-withdrawn": "направление не доставлено",
        "message-dead": "сообщение не доставлено",
    },
    "be": {
        "referral": "накіраванне",
        "reminder": "напамін",
        "step-cancelled": "адмена этапу",
        "step-rescheduled": "змяненне этапу",
        "check-in-missed": "прапушчаная сустрэча",
        "missed-again": "паўторныя пропускі",
        "missed-not-followed-up": "пропуск без рэакцыі",
        "step-overdue": "пратэрмінаваны этап",
        "overdue-escalated": "усё яшчэ пратэрмінаваны этап",
        "approval-request": "запыт зацвярджэння",
        "amendment-request": "запыт зацвярджэння змяненняў",
        "consent-request": "запыт згоды",
        "plan-completed": "план выкананы",
        "plan-ended": "план завершаны",
        "referral-withdrawn": "накіраванне не дастаўлена",
        "message-dead": "паведамленне не дастаўлена",
    },
}
_PHRASES = {
    "ru": {
        "consent withdrawn": "согласие отозвано",
        "rule": "нарушено правило «{rule}»",
        "every": "каждые {every}, первая {first}",
        "partner": "партнёр {id}",
        "staff": "сотрудник {id}",
        "wake": "ошибка при обработке ({error})",
        "too many": "одна обработка создала бы больше {limit} встреч этапа {step} "
        "(периодичность {every})",
        "lifted since": "карантин уже снят",
    },
    "be": {
        "consent withdrawn": "згода адклікана",
        "rule": "парушана правіла «{rule}»",
        "every": "кожныя {every}, першая {first}",
        "partner": "партнёр {id}",
        "staff": "супрацоўнік {id}",
        "wake": "памылка пры апрацоўцы ({error})",
        "too many": "адна апрацоўка стварыла б больш за {limit} сустрэч этапу {step} "
        "(перыядычнасць {every})",
        "lifted since": "карантын ужо зняты",
    },
    "en": {"every": "every {every}, the first {first}"},
}


def schedule(every: str, first: str, language: str) -> str:
    """'every 7d, the first <when>' in the recipient's language."""
    return _phrase(language, "every").format(every=every, first=first)


def domain_word(domain: str, language: str) -> str:
    """A step's domain (or a consent scope) in words of `language`; English keeps the code."""
    return _DOMAIN.get(language, {}).get(domain, domain)


def in_language(context: dict[str, Any], language: str) -> dict[str, Any]:
    """The message's values with the engine's codes put into words of `language`."""
    out = dict(context)
    if language not in _STATE:
        return out  # English: the codes are its words
    out["state"] = _STATE[language].get(str(out.get("state", "")), out.get("state", ""))
    out["domain"] = _DOMAIN[language].get(str(out.get("domain", "")), out.get("domain", ""))
    scopes = [s for s in str(out.get("scope", "")).split(",") if s]
    out["scope"] = ", ".join(_DOMAIN[language].get(s, s) for s in scopes)
    out["reason"] = _reason(str(out.get("reason", "")), language)
    kind = str(out.get("failed_kind", ""))
    out["failed_kind"] = _KIND[language].get(kind, kind)
    out["failed_recipient"] = _recipient(str(out.get("failed_recipient", "")), language)
    return out


def _phrase(language: str, key: str) -> str:
    return _PHRASES.get(language, _PHRASES["en"]).get(key) or _PHRASES["en"][key]


def _reason(reason: str, language: str) -> str:
    if reason in _PHRASES[language]:
        return _PHRASES[language][reason]
    breached = re.fullmatch(r"rule (\S+) breached", reason)
    if breached:
        return _PHRASES[language]["rule"].format(rule=breached.group(1))
    # Why a case was quarantined (casework/services/quarantine.py, reason_for).
    failed = re.fullmatch(r"its wake failed \((\w+)\)", reason)
    if failed:
        return _PHRASES[language]["wake"].format(error=failed.group(1))
    large = re.fullmatch(
        r"one wake would create more than (\d+) check-ins of step (\S+) "
        r"\(check_ins\.every (\S+)\)",
        reason,
    )
    if large:
        limit, step, every = large.groups()
        return _PHRASES[language]["too many"].format(limit=limit, step=step, every=every)
    return reason


def _recipient(address: str, language: str) -> str:
    kind, _, rid = address.partition(":")
    return _phrase(language, kind).format(id=rid) if kind in ("partner", "staff") else address

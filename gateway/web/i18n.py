"""Language choice and French-first formatting of numbers, units, times and dates.

Rules: every user-visible string goes through gettext (catalogues in ``translations/``,
French default, English available); numbers and times are formatted here, per locale, never
with ``str()`` in a template: ``19,5 °C`` and ``14 h 30`` in French, ``19.5 °C`` and ``14:30``
in English. Times are shown in the site's time zone.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_timedelta
from babel.numbers import format_decimal
from flask import current_app, session
from flask_babel import get_locale

LANGUAGES = ("fr", "en")
NBSP = "\u00a0"  # French typography: a non-breaking space before units and inside "14 h 30"


def select_locale() -> str:
    """The user's choice (kept in the session) or the configured default."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return str(current_app.config["GATEWAY_LANGUAGE"])


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "fr"


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["GATEWAY_TIMEZONE"])


def number(value: float | int | None, digits: int = 1) -> str:
    """``19,5`` in French, ``19.5`` in English; an em dash for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale=current_language())


def unit(value: float | int | None, symbol: str, digits: int = 1) -> str:
    """A value with its unit: ``19,5 °C``, ``1 234 kWh``."""
    text = number(value, digits)
    return text if text == "—" else f"{text}{NBSP}{symbol}"


def temperature(value: float | None) -> str:
    """``19,5 °C``."""
    return unit(value, "°C", 1)


def power(value_w: float | None) -> str:
    """Watts below 10 kW (``850 W``), kilowatts above (``12,4 kW``)."""
    if value_w is None:
        return "—"
    if abs(value_w) >= 10_000:
        return unit(value_w / 1000, "kW", 1)
    return unit(value_w, "W", 0)


def local(moment: datetime | int | float) -> datetime:
    """A UTC datetime or nanosecond timestamp in the site's time zone."""
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment / 1e9, UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_tz())


def clock_time(value: datetime | time | int | None) -> str:
    """``14 h 30`` (``9 h 05``, ``18 h``) in French, ``14:30`` in English."""
    if value is None:
        return "—"
    if isinstance(value, datetime | int):
        value = local(value).timetz()
    if current_language() == "fr":
        return f"{value.hour}{NBSP}h" + (f"{NBSP}{value.minute:02d}" if value.minute else "")
    return f"{value.hour:02d}:{value.minute:02d}"


def day(value: datetime | date | int | None, fmt: str = "EEEE d MMMM") -> str:
    """``vendredi 27 novembre``."""
    if value is None:
        return "—"
    if isinstance(value, datetime | int):
        value = local(value).date()
    return format_date(value, fmt, locale=current_language())


def date_time(value: datetime | int | None) -> str:
    """``27/11/2026 14 h 30``."""
    if value is None:
        return "—"
    moment = local(value)
    return f"{format_date(moment.date(), 'short', locale=current_language())} {clock_time(moment)}"


def signed_pct(value: float | None, digits: int = 0) -> str:
    """A change in percent with its sign: ``−18 %`` (a true minus sign), ``+5 %``, ``0 %``."""
    if value is None:
        return "—"
    rounded = round(value, digits)
    sign = "\u2212" if rounded < 0 else "+" if rounded > 0 else ""
    return f"{sign}{number(abs(rounded), digits)}{NBSP}%"


def hours_minutes(hours: float | None) -> str:
    """A duration in hours as ``9 h 20`` (``9 h``, ``45 min``) in French, ``9:20`` in English."""
    if hours is None:
        return "—"
    total = round(hours * 60)
    h, m = divmod(max(0, total), 60)
    if current_language() != "fr":
        return f"{h}:{m:02d}"
    if h == 0:
        return f"{m}{NBSP}min"
    return f"{h}{NBSP}h{NBSP}{m:02d}" if m else f"{h}{NBSP}h"


def ago(seconds: float | None) -> str:
    """``il y a 3 minutes`` / ``3 minutes ago``."""
    if seconds is None:
        return "—"
    return format_timedelta(
        timedelta(seconds=-max(0.0, seconds)), add_direction=True, threshold=1.0, locale=current_language()
    )


def weekday_name(index: int, width: str = "wide") -> str:
    """Monday = 0 -> ``lundi`` / ``Monday``."""
    from babel.dates import get_day_names

    return str(get_day_names(width, locale=current_language())[index])  # type: ignore[arg-type]


def mode_label(mode: str | None) -> str:
    """A heating mode in words: ``confort`` -> Confort / Comfort, ``hors_gel`` -> Hors-gel."""
    from flask_babel import gettext as _

    labels = {
        "confort": _("Comfort"),
        "reduit": _("Eco"),
        "hors_gel": _("Frost protection"),
        "arret": _("Off"),
    }
    return str(labels.get(mode or "", mode or "—"))


def size(value: int | None) -> str:
    """Bytes as ``12,3 Mo`` / ``12.3 MB``."""
    if value is None:
        return "—"
    units = ("o", "ko", "Mo", "Go", "To") if current_language() == "fr" else ("B", "kB", "MB", "GB", "TB")
    amount = float(value)
    for symbol in units:
        if abs(amount) < 1000 or symbol == units[-1]:
            return unit(amount, symbol, 0 if symbol in ("o", "B") else 1)
        amount /= 1000
    return "—"


def duration(seconds: float | None) -> str:
    """``3 jours`` / ``2 heures``."""
    if seconds is None:
        return "—"
    return format_timedelta(timedelta(seconds=seconds), threshold=1.0, locale=current_language())


def reason(text: str | None, detail: Any = None) -> str:
    """A rules reason in the user's language: ``detail`` (the structured :class:`rules.types.Reason`
    of a zone or circuit status) rendered in it when given, else ``text`` (rendered by the control
    loop in the site's language); the start-up placeholder in words."""
    from flask_babel import gettext as _

    if detail is not None:
        return str(detail.text(current_language()))
    if not text or text == "not evaluated yet":
        return str(_("Not evaluated yet: the gateway is starting."))
    return text


FILTERS = {
    "reason": reason,
    "mode_label": mode_label,
    "size": size,
    "duration": duration,
    "number": number,
    "unit": unit,
    "temperature": temperature,
    "power": power,
    "clock_time": clock_time,
    "day": day,
    "date_time": date_time,
    "ago": ago,
    "weekday_name": weekday_name,
    "signed_pct": signed_pct,
    "hours_minutes": hours_minutes,
}

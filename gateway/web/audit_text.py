"""The action log in words: action codes, subjects and old/new values (JSON from the settings store)
turned into what an agent reads ("Horaires modifiés", "lun. 19 h – 23 h 30 confort").

Pure formatting, called while rendering (request context: the user's language). Anything it does not
recognise is shown as it was recorded, never hidden.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _

from gateway.web import i18n


def action_label(action: str) -> str:
    """``set_week_schedule`` -> "Horaires modifiés"."""
    labels = {
        "set_week_schedule": _("Schedule changed"),
        "reset_week_schedule": _("Configured schedule restored"),
        "add_exception": _("Exception added"),
        "remove_exception": _("Exception removed"),
        "add_zone_override": _("Booking or override added"),
        "cancel_zone_override": _("Booking or override cancelled"),
        "add_lighting_override": _("Lighting override added"),
        "cancel_lighting_override": _("Lighting override cancelled"),
        "acknowledge_leak": _("Leak acknowledged"),
        "user-add": _("Account created"),
        "user-remove": _("Account removed"),
        "password": _("Password changed"),
    }
    return str(labels.get(action, action))


def subject_names(config: Any) -> dict[str, str]:
    """``building/zone`` and circuit ids -> their names from the configuration."""
    names = {
        f"{bid}/{zid}": f"{b.name} – {z.name}" for bid, b in config.buildings.items() for zid, z in b.zones.items()
    }
    names.update({cid: c.name or cid for cid, c in config.lighting.circuits.items()})
    return names


def subject_label(subject: str, names: dict[str, str]) -> str:
    """``salle/grande_salle`` -> "Salle des fêtes – Grande salle" when known."""
    return names.get(subject, subject)


def value_text(text: str) -> str:
    """An old/new value in words; the recorded text when it is not a known shape."""
    if not text:
        return ""
    if text == "default":
        return str(_("the configured schedule"))
    try:
        data = json.loads(text)
    except ValueError:
        return _plain(text)
    if isinstance(data, list) and all(isinstance(p, list) and len(p) == 4 for p in data):
        return "; ".join(_period(p) for p in data) or _("no occupied period")
    if isinstance(data, dict):
        parts = []
        if data.get("label"):
            parts.append(f"« {data['label']} »" if i18n.current_language() == "fr" else f"“{data['label']}”")
        if "mode" in data:
            parts.append(i18n.mode_label(str(data["mode"])))
        if isinstance(data.get("setpoint_c"), int | float):
            parts.append(_("Booking at %(temperature)s", temperature=i18n.temperature(float(data["setpoint_c"]))))
        if "on" in data:
            parts.append(_("on") if data["on"] else _("off"))
        if "start" in data and "end" in data:
            parts.append(f"{_moment(data['start'])} → {_moment(data['end'])}")
        elif "end" in data:
            parts.append(f"→ {_moment(data['end'])}")
        return ", ".join(parts) if parts else text
    return text


def _period(p: list[Any]) -> str:
    day, start, end, mode = p
    try:
        name = i18n.weekday_name(int(day), "abbreviated")
        span = f"{i18n.clock_time(time.fromisoformat(start))} – {i18n.clock_time(time.fromisoformat(end))}"
    except (ValueError, TypeError, IndexError):
        return json.dumps(p)
    return f"{name} {span} {i18n.mode_label(str(mode)).lower()}"


def _moment(text: str) -> str:
    try:
        if "T" in text:
            return i18n.date_time(datetime.fromisoformat(text))
        return i18n.day(date.fromisoformat(text), "d MMM y")
    except ValueError:
        return text


def _plain(text: str) -> str:
    try:
        return i18n.date_time(datetime.fromisoformat(text))
    except ValueError:
        return text

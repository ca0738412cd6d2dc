"""Helpers shared by the editing views: user, control errors onto form fields, local datetimes,
the id a remove/cancel button posted."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, g
from flask_babel import gettext as _

from gateway.control.values import UnknownSubjectError
from gateway.web.forms import RemoveForm
from gateway.web.i18n import number

#: Messages of the control façade (English, plain words) -> catalogue strings.
_KNOWN: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"overlaps another"), lambda m: _("This period overlaps another one on the same day.")),
    (re.compile(r"end is already past"), lambda m: _("The end is already past.")),
    (re.compile(r"end must be after the start"), lambda m: _("The end must be after the start.")),
    (re.compile(r"end must not be before"), lambda m: _("The last day must not be before the first.")),
    (re.compile(r"at most 180 days"), lambda m: _("An override may last at most 180 days.")),
    (re.compile(r"at most a year"), lambda m: _("An exception may last at most a year.")),
    (re.compile(r"start is more than a day in the past"), lambda m: _("The start is more than a day in the past.")),
    (
        re.compile(r"first day is more than a day in the past"),
        lambda m: _("The first day is more than a day in the past."),
    ),
    (re.compile(r"more than (\d+) days ahead"), lambda m: _("At most %(n)s days ahead.", n=m.group(1))),
    (
        re.compile(r"at most (\d+) overrides not yet ended"),
        lambda m: _("At most %(n)s bookings or overrides at a time; cancel one first.", n=m.group(1)),
    ),
    (
        re.compile(r"at most (\d+) exceptions not yet ended"),
        lambda m: _("At most %(n)s exceptions at a time; remove one first.", n=m.group(1)),
    ),
    (re.compile(r"at most (\d+) periods"), lambda m: _("At most %(n)s periods in a week.", n=m.group(1))),
    (
        re.compile(r"between ([\d.]+) and ([\d.]+)"),
        lambda m: _("Between %(low)s and %(high)s °C.", low=_num(m.group(1)), high=_num(m.group(2))),
    ),
    (re.compile(r"unknown mode"), lambda m: _("Unknown mode.")),
    (re.compile(r"label"), lambda m: _("Invalid label.")),
]


def _num(text: str) -> str:
    value = float(text)
    return number(value, 0 if value.is_integer() else 1)


def translate(message: str) -> str:
    """A control message in the user's language (unknown ones are shown as they are)."""
    for pattern, render in _KNOWN:
        match = pattern.search(message)
        if match:
            return str(render(match))
    return message


def attach_errors(form: Any, errors: dict[str, str], aliases: dict[str, str] | None = None) -> None:
    """Put each control error on the matching form field (``setpoint_c`` -> ``setpoint``, ...)."""
    aliases = aliases or {}
    for key, message in errors.items():
        name = key.rsplit(".", 1)[-1] if "." in key else key
        name = aliases.get(name, name)
        target = getattr(form, name, None)
        if target is None or not hasattr(target, "errors"):
            target = next(iter(form), None)
        if target is not None:
            if isinstance(target.errors, tuple):
                target.errors = list(target.errors)
            target.errors.append(translate(message))


def backend() -> Any:
    return current_app.extensions["gateway.backend"]


def user_name() -> str:
    return str(g.user.name)


def aware(naive: datetime, tz: ZoneInfo) -> datetime:
    """A naive local datetime from a form, in the site's zone."""
    return naive.replace(tzinfo=tz)


def posted_id(prefix: str) -> int:
    """The numeric ``ident`` of a posted :class:`~gateway.web.forms.RemoveForm` (CSRF checked);
    400 when it is missing or not a number."""
    form = RemoveForm(prefix=prefix)
    if not form.validate_on_submit() or not str(form.ident.data).isdigit():
        abort(400)
    return int(form.ident.data)


def on_posted_id(prefix: str, act: Callable[[int], object]) -> None:
    """Hand the posted ``<prefix>-ident`` (see :func:`posted_id`) to the façade's ``act``; 404 when it
    names nothing (an override or exception already gone)."""
    ident = posted_id(prefix)
    try:
        act(ident)
    except UnknownSubjectError:
        abort(404)

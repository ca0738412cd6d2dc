"""Zone: status and reason, 7-day chart, weekly schedule grid, exceptions, overrides and bookings.

Every POST validates its form first (errors shown next to the fields, status 400, nothing
changed), then makes exactly one call to the control façade, whose own validation is the
last word (its errors are put on the same fields). Schedule edits send the whole week at
once, so a change applies entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from gateway.control.values import SchedulePeriod, UnknownSubjectError, ValidationError
from gateway.web.forms import (
    SETPOINT_CHOICE,
    CopyDayForm,
    ExceptionForm,
    OverrideForm,
    PeriodForm,
    PeriodRemoveForm,
    RemoveForm,
    day_choices,
    options,
)
from gateway.web.i18n import mode_label, temperature
from gateway.web.security import require_role
from gateway.web.views._common import attach_errors, aware, backend, on_posted_id, translate, user_name
from gateway.web.zone_model import model_card

bp = Blueprint("zone", __name__)


def _detail(building: str, zone: str) -> Any:
    try:
        return backend().zone(building, zone)
    except UnknownSubjectError:
        abort(404)


def _mode_choices(modes: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(m, mode_label(m)) for m in modes]


def _period_form(detail: Any, index: int | None, period: Any = None, *, bind: bool = False) -> PeriodForm:
    prefix = "new" if index is None else f"p{index}"
    data = None
    if period is not None:
        data = {
            "index": index,
            "day": str(period.day),
            "start": period.start,
            "end": period.end,
            "mode": period.mode,
        }
    form = PeriodForm(prefix=prefix, data=None if bind else data, formdata=None if not bind else _formdata())
    form.day.choices = options(day_choices())
    form.mode.choices = options(_mode_choices(detail.modes))
    return form


def _formdata() -> Any:
    from flask import request

    return request.form


def _override_form(detail: Any, *, bind: bool = False) -> OverrideForm:
    now = backend().now().replace(tzinfo=None, second=0, microsecond=0)
    tonight = now.replace(hour=18, minute=0)
    tonight = max(now, tonight)
    defaults = {"start": tonight, "end": now.replace(hour=23, minute=0), "mode": "confort"}
    if defaults["end"] <= defaults["start"]:
        defaults["end"] = defaults["start"] + timedelta(hours=3)
    form = OverrideForm(prefix="ov", formdata=_formdata() if bind else None, data=None if bind else defaults)
    low, high = detail.setpoint_min_c, detail.setpoint_max_c
    form.mode.choices = options(
        [
            *(
                (
                    m,
                    f"{mode_label(m)} ({temperature(detail.mode_setpoints[m])})"
                    if m in detail.mode_setpoints
                    else mode_label(m),
                )
                for m in detail.modes
            ),
            (SETPOINT_CHOICE, _("A temperature (%(low)s – %(high)s)", low=temperature(low), high=temperature(high))),
        ]
    )
    form.setpoint_bounds = (low, high)
    return form


def _copy_form(*, bind: bool = False) -> CopyDayForm:
    form = CopyDayForm(prefix="copy", formdata=_formdata() if bind else None)
    form.source.choices = options(day_choices())
    form.targets.choices = options(day_choices())
    return form


def _exception_form(*, bind: bool = False) -> ExceptionForm:
    form = ExceptionForm(prefix="ex", formdata=_formdata() if bind else None)
    del form.mode  # an exception here means "unoccupied": holidays, closures
    return form


def render(building: str, zone: str, *, failed: dict[str, Any] | None = None, status: int = 200) -> Any:
    """The zone page; ``failed`` holds bound forms with errors to show in place of blank ones."""
    b = backend()
    detail = _detail(building, zone)
    failed = failed or {}
    period_forms = [failed.get(f"p{i}") or _period_form(detail, i, p) for i, p in enumerate(detail.week)]
    new_form = failed.get("new") or _period_form(detail, None)
    building_name = b.config.buildings[building].name
    kind = b.config.buildings[building].kind
    return (
        render_template(
            "zone.html",
            detail=detail,
            status=detail.status,
            model=model_card(detail.status, now=b.now()),
            building=building,
            zone=zone,
            building_name=building_name,
            is_hall=kind == "hall",
            periods=list(zip(detail.week, period_forms, strict=True)),
            new_form=new_form,
            remove_form=PeriodRemoveForm(prefix="rm"),
            copy_form=failed.get("copy") or _copy_form(),
            exception_form=failed.get("ex") or _exception_form(),
            override_form=failed.get("ov") or _override_form(detail),
            cancel_form=RemoveForm(prefix="cancel"),
            history=b.zone_history(building, zone),
            days=day_choices(),
            page="overview",
        ),
        status,
    )


@bp.get("/zone/<building>/<zone>")
def show(building: str, zone: str) -> Any:
    return render(building, zone)


def _back(building: str, zone: str, anchor: str) -> Any:
    return redirect(url_for("zone.show", building=building, zone=zone, _anchor=anchor))


def _submit(
    building: str,
    zone: str,
    key: str,
    form: Any,
    call: Callable[[], object],
    *,
    done: str,
    anchor: str,
    aliases: dict[str, str] | None = None,
    not_found: tuple[type[Exception], ...] = (),
) -> Any:
    """The one shape of a form POST: validate the form, make the one façade ``call``, then flash ``done``
    and go back to ``anchor``; errors (the form's or the façade's, put on the fields through ``aliases``)
    show the page again with the form bound under ``key``, status 400. ``not_found`` errors answer 404."""
    if not form.validate_on_submit():
        return render(building, zone, failed={key: form}, status=400)
    try:
        call()
    except ValidationError as exc:
        attach_errors(form, exc.errors, aliases)
        return render(building, zone, failed={key: form}, status=400)
    except not_found:
        abort(404)
    flash(done, "ok")
    return _back(building, zone, anchor)


@bp.post("/zone/<building>/<zone>/period/<key>")
@require_role("agent")
def save_period(building: str, zone: str, key: str) -> Any:
    """Add (``key`` = new) or edit/move period number ``key``."""
    detail = _detail(building, zone)
    index = None if key == "new" else _index(key, len(detail.week))
    form = _period_form(detail, index, bind=True)
    prefix = "new" if index is None else f"p{index}"

    def save() -> None:
        period = SchedulePeriod(int(form.day.data), _minute(form.start.data), _minute(form.end.data), form.mode.data)
        backend().save_period(building, zone, index, period, user=user_name())

    return _submit(
        building, zone, prefix, form, save, done=_("Schedule saved."), anchor="schedule", not_found=(LookupError,)
    )


@bp.post("/zone/<building>/<zone>/period-remove")
@require_role("agent")
def remove_period(building: str, zone: str) -> Any:
    detail = _detail(building, zone)
    form = PeriodRemoveForm(prefix="rm")
    if not form.validate_on_submit():
        abort(400)
    try:
        backend().remove_period(building, zone, _index(form.index.data, len(detail.week)), user=user_name())
    except (ValidationError, LookupError):
        abort(400)
    flash(_("Period removed."), "ok")
    return _back(building, zone, "schedule")


@bp.post("/zone/<building>/<zone>/copy")
@require_role("agent")
def copy_day(building: str, zone: str) -> Any:
    _detail(building, zone)
    form = _copy_form(bind=True)

    def copy() -> None:
        backend().copy_day(building, zone, int(form.source.data), [int(t) for t in form.targets.data], user=user_name())

    aliases = {"start": "targets", "end": "targets", "mode": "targets", "periods": "targets"}
    return _submit(building, zone, "copy", form, copy, done=_("Day copied."), anchor="schedule", aliases=aliases)


@bp.post("/zone/<building>/<zone>/reset")
@require_role("agent")
def reset(building: str, zone: str) -> Any:
    _detail(building, zone)
    form = RemoveForm(prefix="reset")
    if not form.validate_on_submit():
        abort(400)
    backend().reset_week(building, zone, user=user_name())
    flash(_("The configured schedule applies again."), "ok")
    return _back(building, zone, "schedule")


@bp.post("/zone/<building>/<zone>/exception")
@require_role("agent")
def add_exception(building: str, zone: str) -> Any:
    _detail(building, zone)
    form = _exception_form(bind=True)

    def add() -> None:
        backend().add_exception(building, zone, form.first.data, form.last.data, form.label.data, user=user_name())

    aliases = {"start": "first", "end": "last", "periods": "label"}
    return _submit(building, zone, "ex", form, add, done=_("Exception added."), anchor="exceptions", aliases=aliases)


@bp.post("/zone/<building>/<zone>/exception-remove")
@require_role("agent")
def remove_exception(building: str, zone: str) -> Any:
    _detail(building, zone)
    on_posted_id("exrm", lambda ident: backend().remove_exception(ident, user=user_name()))
    flash(_("Exception removed."), "ok")
    return _back(building, zone, "exceptions")


@bp.post("/zone/<building>/<zone>/override")
@require_role("agent")
def add_override(building: str, zone: str) -> Any:
    """Book the zone (or force it) from start to end in a mode (its configured setpoint applies) or at a
    temperature within the zone's bounds."""

    detail = _detail(building, zone)
    form = _override_form(detail, bind=True)

    def book() -> None:
        tz = backend().tz
        setpoint = form.setpoint_c.value if form.mode.data == SETPOINT_CHOICE else None
        backend().add_override(
            building,
            zone,
            mode=None if setpoint is not None else form.mode.data,
            setpoint_c=setpoint,
            start=aware(form.start.data, tz),
            end=aware(form.end.data, tz),
            label=form.label.data,
            user=user_name(),
        )

    done = _("Booking saved: %(label)s.", label=form.label.data)
    return _submit(building, zone, "ov", form, book, done=done, anchor="overrides")


@bp.post("/zone/<building>/<zone>/override-cancel")
@require_role("agent")
def cancel_override(building: str, zone: str) -> Any:
    _detail(building, zone)
    try:
        on_posted_id("cancel", lambda ident: backend().cancel_override(ident, user=user_name()))
    except ValidationError as exc:
        flash(translate(str(exc)), "error")
    else:
        flash(_("Override cancelled."), "ok")
    return _back(building, zone, "overrides")


def _index(text: Any, length: int) -> int:
    if not str(text).isdigit() or not 0 <= int(text) < length:
        abort(404)
    return int(text)


def _minute(value: time) -> time:
    return value.replace(second=0, microsecond=0)

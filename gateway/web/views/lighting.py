"""Éclairage: circuits, today's astronomical times, the night-cut window, overrides."""

# mypy: disable-error-code="misc"
# (flask_wtf ships no type information: FlaskForm is Any, and subclassing it is the API)
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import SelectField

from gateway.control.values import UnknownSubjectError, ValidationError
from gateway.web.forms import OverrideSpanForm, RemoveForm, options
from gateway.web.security import require_role
from gateway.web.views._common import attach_errors, aware, backend, on_posted_id, user_name

bp = Blueprint("lighting", __name__)


class LightingOverrideForm(OverrideSpanForm):
    """Force a circuit on or off for a while."""

    on = SelectField(_l("Lighting"), choices=options([("1", _l("On")), ("0", _l("Off"))]))


def _form(circuit: str, *, bind: bool = False) -> LightingOverrideForm:
    now = backend().now().replace(tzinfo=None, second=0, microsecond=0)
    data = None if bind else {"start": now, "end": now + timedelta(hours=2), "on": "1"}
    return LightingOverrideForm(prefix=f"l-{circuit}", formdata=request.form if bind else None, data=data)


def render(failed: dict[str, Any] | None = None, status: int = 200) -> Any:
    failed = failed or {}
    circuits = backend().circuits()
    forms = {c.status.circuit: failed.get(c.status.circuit) or _form(c.status.circuit) for c in circuits}
    return (
        render_template(
            "lighting.html",
            circuits=circuits,
            forms=forms,
            cancel_form=RemoveForm(prefix="cancel"),
            now=backend().now(),
            page="lighting",
        ),
        status,
    )


@bp.get("/eclairage")
def index() -> Any:
    return render()


@bp.post("/eclairage/<circuit>/override")
@require_role("agent")
def add_override(circuit: str) -> Any:
    if circuit not in backend().config.lighting.circuits:
        abort(404)
    form = _form(circuit, bind=True)
    if not form.validate_on_submit():
        return render({circuit: form}, 400)
    tz = backend().tz
    try:
        backend().add_lighting_override(
            circuit,
            on=form.on.data == "1",
            start=aware(form.start.data, tz),
            end=aware(form.end.data, tz),
            label=form.label.data,
            user=user_name(),
        )
    except UnknownSubjectError:
        abort(404)
    except ValidationError as exc:
        attach_errors(form, exc.errors)
        return render({circuit: form}, 400)
    flash(_("Lighting override saved."), "ok")
    return redirect(url_for("lighting.index", _anchor=f"c-{circuit}"))


@bp.post("/eclairage/override-cancel")
@require_role("agent")
def cancel_override() -> Any:
    on_posted_id("cancel", lambda ident: backend().cancel_override(ident, user=user_name()))
    flash(_("Override cancelled."), "ok")
    return redirect(url_for("lighting.index"))

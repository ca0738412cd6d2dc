"""Vue d'ensemble: every zone (temperature, target, mode, heater, reason), circuits, meters, alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_babel import gettext as _

from gateway.web.audit_text import subject_names

bp = Blueprint("overview", __name__)


def kind_label(kind: str) -> str:
    """An alert kind in words."""
    labels = {
        "sink_dropped": _("Data lost (disk budget)"),
        "sink_backlog": _("Upload late"),
    }
    if kind in labels:
        return str(labels[kind])
    for part, label in (
        ("leak", _("Water leak")),
        ("stale", _("Silent sensor")),
        ("failsafe", _("Silent sensor")),
        ("window", _("Window open")),
        ("clock", _("Clock")),
    ):
        if part in kind:
            return str(label)
    return kind.replace("_", " ")


@bp.get("/")
def index() -> Any:
    """Is it warm where it should be, and why?"""
    backend = current_app.extensions["gateway.backend"]
    view = backend.overview()
    alerts = []
    names = subject_names(backend.config)
    for a in backend.alerts(view):
        message = a.message
        if a.kind == "sink_dropped":
            message = _("%(count)s points dropped unsent", count=a.message)
        elif a.kind == "sink_backlog":
            message = _("%(count)s points waiting for more than an hour", count=a.message)
        alerts.append(replace(a, message=message, kind=kind_label(a.kind), subject=names.get(a.subject, a.subject)))
    by_building: dict[str, list[Any]] = {}
    for zone in view.zones:
        by_building.setdefault(zone.building, []).append(zone)
    energy = {row.device: row for row in backend.energy(brief=True)}
    return render_template(
        "overview.html",
        view=view,
        alerts=alerts,
        by_building=by_building,
        energy=energy,
        buildings=current_app.config["GATEWAY_BUILDINGS"],
        now=backend.now(),
        page="overview",
    )

"""Système: drivers and devices, journal and sinks, clock, disk, version (read-only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("system", __name__)


@bp.get("/systeme")
def index() -> Any:
    """The system page (every role may read it; nothing here changes anything)."""
    view = current_app.extensions["gateway.backend"].system()
    users = current_app.extensions.get("gateway.users")
    unsaved = users.unsaved() if users is not None else None  # logins/logouts the disk could not take
    return render_template("system.html", view=view, page="system", accounts_unsaved=unsaved)

"""Journal des actions: who changed what and when (old -> new)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

bp = Blueprint("actions", __name__)


@bp.get("/journal")
def index() -> Any:
    """The newest changes first (``?limit=`` up to 2000)."""
    try:
        limit = max(1, min(int(request.args.get("limit", "200")), 2000))
    except ValueError:
        limit = 200
    rows = current_app.extensions["gateway.backend"].actions(limit)
    return render_template("actions.html", rows=rows, limit=limit, page="actions")

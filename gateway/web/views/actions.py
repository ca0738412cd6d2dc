"""Journal des actions: who changed what and when (old -> new)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from gateway.web import audit_text

bp = Blueprint("actions", __name__)


@bp.get("/journal")
def index() -> Any:
    """The newest changes first (``?limit=`` up to 2000)."""
    try:
        limit = max(1, min(int(request.args.get("limit", "200")), 2000))
    except ValueError:
        limit = 200
    backend = current_app.extensions["gateway.backend"]
    names = audit_text.subject_names(backend.config)
    rows = [
        {
            "time": r.time,
            "user": r.user,
            "action": audit_text.action_label(r.action),
            "subject": audit_text.subject_label(r.subject, names),
            "old": audit_text.value_text(r.old),
            "new": audit_text.value_text(r.new),
        }
        for r in backend.actions(limit)
    ]
    return render_template("actions.html", rows=rows, limit=limit, page="actions")

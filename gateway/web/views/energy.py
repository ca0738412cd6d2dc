"""Énergie: per building and meter, daily and monthly kWh against the same period last year; leaks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("energy", __name__)


@bp.get("/energie")
def index() -> Any:
    """Consumption from the hourly archive (counter deltas), grouped by building."""
    backend = current_app.extensions["gateway.backend"]
    rows = backend.energy()
    alerts = [a for a in backend.overview().alerts if "leak" in a.kind]
    buildings = current_app.config["GATEWAY_BUILDINGS"]
    return render_template("energy.html", rows=rows, alerts=alerts, buildings=buildings, page="energy")

"""Énergie: per building, this winter's energy signature and saving at equal climate against last
winter's; per meter, daily and monthly kWh against the same period last year; leaks."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("energy", __name__)
log = logging.getLogger("gateway.web.energy")


@bp.get("/energie")
def index() -> Any:
    """Consumption from the hourly archive (counter deltas), grouped by building."""
    backend = current_app.extensions["gateway.backend"]
    rows = backend.energy()
    alerts = [a for a in backend.overview().alerts if "leak" in a.kind]
    buildings = current_app.config["GATEWAY_BUILDINGS"]
    try:
        winter = backend.reports.winter()
    except Exception as exc:  # the meters' table still shows; the signatures say they are unavailable
        log.warning("energy signatures unavailable: %s", exc)
        winter = None
    return render_template(
        "energy.html", rows=rows, alerts=alerts, buildings=buildings, winter=winter, page="energy"
    )

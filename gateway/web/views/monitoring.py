"""``/health`` (JSON) and ``/metrics`` (Prometheus text): no login, nothing sensitive.

``/health`` answers 200 while the gateway works (``status`` ok or degraded) and 503 when it
is failing (the journal cannot be read); it names no device, user or address. ``/metrics``
exposes the counters and gauges of :class:`gateway.metrics.Metrics` (points journaled, sink
backlog and lag, device errors, relay switches) plus the journal's per-sink figures.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from gateway.web import prometheus
from gateway.web.front import metrics_text

bp = Blueprint("monitoring", __name__)


@bp.get("/health")
def health() -> Any:
    """Liveness and a coarse status for monitoring."""
    body, healthy = current_app.extensions["gateway.backend"].health()
    response = jsonify(body)
    response.status_code = 200 if healthy else 503
    return response


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition (the same text as the daemon's front, :func:`metrics_text`)."""
    return Response(metrics_text(current_app.extensions["gateway.backend"]), content_type=prometheus.CONTENT_TYPE)

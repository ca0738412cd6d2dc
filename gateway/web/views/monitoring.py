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
    """Prometheus text exposition."""
    backend = current_app.extensions["gateway.backend"]
    items = list(backend.metrics.items())
    names = {item[0] for item in items}
    _journal, sinks = backend._journal_view()
    for sink in sinks:
        labels = (("sink", sink.name),)
        for metric, value, help_text in (
            (
                "gateway_sink_backlog_points",
                sink.backlog,
                "points journaled but not yet delivered to the sink",
            ),
            ("gateway_sink_lag_seconds", sink.lag_s, "age of the oldest undelivered point"),
            ("gateway_sink_dropped_points", sink.dropped, "points dropped unsent (disk budget)"),
            ("gateway_sink_rejected_points", sink.rejected, "points the server rejected as malformed"),
        ):
            if value is not None and metric not in names:
                items.append((metric, "gauge", help_text, labels, float(value)))
    return Response(prometheus.render(items), content_type=prometheus.CONTENT_TYPE)

"""Chart helpers for templates: the energy signature and monthly bars as inline SVG (:mod:`gateway.report.svg`).

Rules: templates pass the translated words (titles, axis labels); numbers are formatted by
:func:`gateway.web.i18n.number` in the page's language; no script is needed to see a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from markupsafe import Markup

from gateway.report import svg
from gateway.web.i18n import day, number


def _fmt(value: float) -> str:
    return number(value, 0 if float(value).is_integer() or abs(value) >= 10 else 1)


def signature_svg(building: Any, *, title: str, x_label: str, y_label: str) -> Markup:
    """This period's days (dots) and the reference's (rings), each with its fitted signature line."""
    series = []
    for figures, colour, hollow in ((building.reference, svg.REFERENCE, True), (building.current, svg.CURRENT, False)):
        sig = figures.signature
        line = (sig.base_per_day, sig.slope) if sig is not None and sig.slope > 0 else None
        series.append(svg.ScatterSeries([(d, k) for _, d, k in figures.points], colour, line, hollow))
    return svg.scatter(series, title=title, x_label=x_label, y_label=y_label, fmt=_fmt)


def monthly_svg(months: Sequence[tuple[date, float | None, float | None]], *, title: str, y_label: str) -> Markup:
    """This period's months (dark) against the reference's (light), as grouped bars."""
    labels = [day(m, "MMM") for m, _, _ in months]
    groups = [(svg.REFERENCE, [r for _, _, r in months]), (svg.CURRENT, [c for _, c, _ in months])]
    return svg.bars(labels, groups, title=title, y_label=y_label, fmt=_fmt)


GLOBALS = {
    "signature_svg": signature_svg,
    "monthly_svg": monthly_svg,
    "swatch": svg.swatch,
    "saving_bars": svg.saving_bars,
    "colour_current": svg.CURRENT,
    "colour_reference": svg.REFERENCE,
}

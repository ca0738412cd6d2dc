"""Charts as inline SVG text: no script, no style attribute, so they pass the strictest CSP and print.

Rules of this module: pure functions returning :class:`markupsafe.Markup`; colours are SVG
presentation attributes (``fill``, ``stroke``), never ``style=``; every chart has ``role="img"`` and a
``<title>``; labels and numbers come in already translated and formatted (``fmt``), so the module
knows no language. Sizes are in user units with a ``viewBox``: the chart scales to its container.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: Colours with enough contrast on white, told apart by people with the common colour blindness.
CURRENT = "#0b5fa5"
REFERENCE = "#d0782a"
GRID = "#d8dde3"
INK = "#27313b"


@dataclass(frozen=True, slots=True)
class ScatterSeries:
    """Points ``(x, y)`` drawn as dots, and optionally the line ``y = base + slope × x``."""

    points: Sequence[tuple[float, float]]
    colour: str
    line: tuple[float, float] | None = None  # (base, slope)
    hollow: bool = False


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def _ticks(top: float, count: int = 4) -> list[float]:
    return [top * i / count for i in range(count + 1)]


def _plain(value: float) -> str:
    return f"{value:g}"


def scatter(
    series: Sequence[ScatterSeries],
    *,
    title: str,
    x_label: str,
    y_label: str,
    fmt: Callable[[float], str] = _plain,
    width: int = 560,
    height: int = 300,
) -> Markup:
    """A scatter of daily points (degree-days across, energy up) with each series' fitted line."""
    left, right, top_m, bottom = 56, 12, 12, 44
    xs = [x for s in series for x, _ in s.points] or [1.0]
    ys = [y for s in series for _, y in s.points] or [1.0]
    x_top, y_top = _nice_max(max(xs)), _nice_max(max(ys))
    plot_w, plot_h = width - left - right, height - top_m - bottom

    def px(x: float) -> float:
        return left + plot_w * x / x_top

    def py(y: float) -> float:
        return top_m + plot_h * (1 - max(0.0, y) / y_top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart-svg"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in _ticks(y_top):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>')
        parts.append(f'<text x="{left - 6}" y="{py(tick) + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="{INK}">{escape(fmt(tick))}</text>')
    for tick in _ticks(x_top):
        parts.append(f'<text x="{px(tick):.1f}" y="{height - bottom + 16}" text-anchor="middle" font-size="11" '
                     f'fill="{INK}">{escape(fmt(tick))}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top_m}" y2="{height - bottom}" stroke="{INK}"/>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{height - bottom}" y2="{height - bottom}" '
                 f'stroke="{INK}"/>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle" font-size="12" '
                 f'fill="{INK}">{escape(x_label)}</text>')
    parts.append(f'<text x="14" y="{top_m + plot_h / 2:.0f}" text-anchor="middle" font-size="12" fill="{INK}" '
                 f'transform="rotate(-90 14 {top_m + plot_h / 2:.0f})">{escape(y_label)}</text>')
    for s in series:
        fill = "none" if s.hollow else s.colour
        for x, y in s.points:
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.6" fill="{fill}" stroke="{s.colour}" '
                         f'stroke-width="1" fill-opacity="0.7"/>')
        if s.line is not None and s.points:
            base, slope = s.line
            x1 = max(x for x, _ in s.points)
            parts.append(f'<line x1="{px(0):.1f}" y1="{py(base):.1f}" x2="{px(x1):.1f}" '
                         f'y2="{py(base + slope * x1):.1f}" stroke="{s.colour}" stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape(); numbers are ours


def bars(
    labels: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float | None]]],
    *,
    title: str,
    y_label: str,
    fmt: Callable[[float], str] = _plain,
    width: int = 560,
    height: int = 240,
) -> Markup:
    """Grouped bars: one group per label, one bar per ``(colour, values)`` series."""
    left, right, top_m, bottom = 56, 8, 12, 40
    values = [v for _, vs in groups for v in vs if v is not None] or [1.0]
    y_top = _nice_max(max(values))
    plot_w, plot_h = width - left - right, height - top_m - bottom
    slot = plot_w / max(1, len(labels))
    bar_w = slot * 0.8 / max(1, len(groups))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" class="chart-svg"'
        f' aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in _ticks(y_top):
        y = top_m + plot_h * (1 - tick / y_top)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{INK}">'
                     f'{escape(fmt(tick))}</text>')
    for i, label in enumerate(labels):
        x0 = left + slot * i + slot * 0.1
        for j, (colour, series_values) in enumerate(groups):
            value = series_values[i] if i < len(series_values) else None
            if value is None:
                continue
            h = plot_h * max(0.0, value) / y_top
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{top_m + plot_h - h:.1f}" width="{bar_w * 0.92:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"/>')
        parts.append(f'<text x="{left + slot * (i + 0.5):.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                     f'font-size="11" fill="{INK}">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top_m + plot_h}" y2="{top_m + plot_h}" stroke="{INK}"/>')
    parts.append(f'<text x="14" y="{top_m + plot_h / 2:.0f}" text-anchor="middle" font-size="12" fill="{INK}" '
                 f'transform="rotate(-90 14 {top_m + plot_h / 2:.0f})">{escape(y_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it went through escape(); numbers are ours


def saving_bars(saving_pct: float, *, last_year: str, this_year: str, width: int = 320) -> Markup:
    """Two horizontal bars: last year (full) and this year at equal climate (``100 − saving`` %).
    A label goes inside its bar when it fits, after it otherwise."""
    this = max(0.0, 100.0 - saving_pct)
    scale = (width - 8) / max(100.0, this)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bars" viewBox="0 0 {width} 52" role="img" '
        f'aria-label="{escape(last_year)} 100, {escape(this_year)} {this:.0f}">'
    ]
    for y, value, label, colour in ((2, 100.0, last_year, REFERENCE), (28, this, this_year, CURRENT)):
        bar = value * scale
        parts.append(f'<rect x="0" y="{y}" width="{bar:.1f}" height="18" fill="{colour}"/>')
        inside = len(label) * 6.6 + 12 < bar
        x, ink = (6, "#fff") if inside else (bar + 6, INK)
        parts.append(f'<text x="{x:.1f}" y="{y + 13}" font-size="12" fill="{ink}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - the two labels went through escape()


def swatch(colour: str, *, hollow: bool = False) -> Markup:
    """A small legend square in ``colour``."""
    fill = "none" if hollow else colour
    return Markup(  # noqa: S704 - a constant shape; the colour is one of ours
        f'<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">'
        f'<circle cx="6" cy="6" r="4.5" fill="{fill}" stroke="{colour}" stroke-width="1.5"/></svg>'
    )

"""Charts as inline SVG generated on the server: no CDN, no JavaScript, readable on a phone.

Two shapes cover the reports: stacked bars (tickets per day by category or department) and lines
(percentages or scores over time, with an optional target line). Colours come from a fixed palette.
The markup is built here, as ``markupsafe.Markup``: ``Markup.format`` escapes every argument (labels are
staff- and guest-facing words), and the templates then insert the result as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 28
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#393b79", "#637939")


def _join(parts: Iterable[Markup]) -> Markup:
    return Markup("").join(parts)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(value)


def _axis(top: float, x_labels: Sequence[str], suffix: str, bottom: float = 0) -> list[Markup]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = []
    for i in range(5):
        value = bottom + (top - bottom) * i / 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#e3e6ea" stroke-width="1"/>')
                     .format(LEFT, f"{y:.1f}", WIDTH - RIGHT, f"{y:.1f}"))
        parts.append(Markup('<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#555">{}</text>')
                     .format(LEFT - 4, f"{y + 3:.1f}", f"{value:g}{suffix}"))
    step = max(1, len(x_labels) // 8)
    plot_w = WIDTH - LEFT - RIGHT
    for index, label in enumerate(x_labels):
        if index % step:
            continue
        x = LEFT + plot_w * (index + 0.5) / max(1, len(x_labels))
        parts.append(Markup('<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#555">{}</text>')
                     .format(f"{x:.1f}", HEIGHT - 10, label))
    return parts


def _svg(title: str, parts: Sequence[Markup]) -> Markup:
    return Markup(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">'
        "<title>{}</title>{}</svg>"
    ).format(WIDTH, HEIGHT, title, title, _join(parts))


def legend(names: Sequence[str]) -> Markup:
    return Markup('<ul class="legend">{}</ul>').format(_join(
        Markup('<li><svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" fill="{}"/></svg> {}</li>')
        .format(PALETTE[i % len(PALETTE)], name) for i, name in enumerate(names)
    ))


def _no_data(label: str) -> Markup:
    """Written across an empty chart: an empty frame reads as "zero", which is not what it means."""
    return Markup('<text class="nodata" x="{}" y="{}" font-size="14" text-anchor="middle" fill="#777">{}</text>').format(
        (LEFT + WIDTH - RIGHT) / 2, (TOP + HEIGHT - BOTTOM) / 2, label)


def stacked_bars(title: str, x_labels: Sequence[str], series: Mapping[str, Sequence[int]], *, empty: str = "") -> Markup:
    """One bar per x label, stacked by series (name → one value per label); ``empty`` is said when there are none."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(x_labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(x_labels))
    bar = max(1.0, slot * 0.7)
    parts = _axis(top, x_labels, "")
    for index, label in enumerate(x_labels):
        base = TOP + plot_h
        for number, (name, values) in enumerate(series.items()):
            value = values[index]
            if not value:
                continue
            height = plot_h * value / top
            base -= height
            parts.append(Markup(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{} · {}: {}</title></rect>'
            ).format(
                f"{LEFT + slot * index + (slot - bar) / 2:.1f}", f"{base:.1f}", f"{bar:.1f}", f"{height:.1f}",
                PALETTE[number % len(PALETTE)], label, name, value,
            ))
    if empty and not any(totals):
        parts.append(_no_data(empty))
    return _join([_svg(title, parts), legend(list(series))])


def lines(
    title: str,
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    suffix: str = "",
    top: float | None = None,
    bottom: float = 0,
    target: float | None = None,
    empty: str = "",
) -> Markup:
    """Lines over the x labels; gaps where a value is None. ``target`` draws a dashed reference line;
    ``empty`` is said when there is no value at all."""
    values = [v for vs in series.values() for v in vs if v is not None]
    top = top if top is not None else _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    span = (top - bottom) or 1

    def point(index: int, value: float) -> tuple[float, float]:
        return (LEFT + plot_w * (index + 0.5) / max(1, len(x_labels)), TOP + plot_h - plot_h * (value - bottom) / span)

    parts = _axis(top, x_labels, suffix, bottom)
    if target is not None:
        _, y = point(0, target)
        parts.append(Markup('<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d62728" stroke-dasharray="4 3" stroke-width="1"/>')
                     .format(LEFT, f"{y:.1f}", WIDTH - RIGHT, f"{y:.1f}"))
    for number, (name, data) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        run: list[str] = []
        runs: list[list[str]] = []
        for index, value in enumerate(data):
            if value is None:
                if run:
                    runs.append(run)
                run = []
                continue
            x, y = point(index, value)
            run.append(f"{x:.1f},{y:.1f}")
            parts.append(Markup('<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{} · {}: {}</title></circle>')
                         .format(f"{x:.1f}", f"{y:.1f}", colour, x_labels[index], name, f"{value:.1f}{suffix}"))
        if run:
            runs.append(run)
        for points in runs:
            parts.append(Markup('<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>')
                         .format(" ".join(points), colour))
    if empty and not values:
        parts.append(_no_data(empty))
    return _join([_svg(title, parts), legend(list(series))])

"""Inline SVG charts (no script, no external reference: the HTML report stays one offline file).

Bar labels are data from the logs (client names, reasons, operations): they are escaped and marked
``<tspan class="log">`` so that a reader, or a test, can tell log data from the report's own text.
"""

from __future__ import annotations

from html import escape

SEVERITY_COLOURS = {"info": "#8a8f98", "low": "#3b82c4", "medium": "#d9a21b", "high": "#e0642a", "critical": "#c0392b"}
_FONT = 'font-family="sans-serif" font-size="11"'


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    # No xmlns attribute: inline SVG in HTML needs none, and it would be a URL.
    return (
        f'<svg role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">' + "".join(body) + "</svg>"
    )


def traffic_chart(
    points: list[tuple[float, int, int, str]],
    markers: list[tuple[float, float, str, str]],
    width: int = 900,
    height: int = 220,
) -> str:
    """Requests (and refusals) over time; findings as shaded bands in their severity's colour.

    points: (epoch, requests, refused, label); markers: (start, end, severity, title).
    """
    if not points:
        return _svg(width, 40, [f'<text x="10" y="25" {_FONT}>no traffic</text>'], "no traffic")
    left, bottom, top = 50, height - 25, 10
    t0, t1 = points[0][0], max(points[-1][0], points[0][0] + 1)
    peak = max(max(p[1] for p in points), 1)

    def x(t: float) -> float:
        return left + (t - t0) / (t1 - t0) * (width - left - 10)

    def y(v: float) -> float:
        return bottom - v / peak * (bottom - top)

    body = [
        f'<line x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}" stroke="#999"/>',
        f'<text x="4" y="{top + 10}" {_FONT}>{peak}</text>',
        f'<text x="4" y="{bottom}" {_FONT}>0</text>',
    ]
    for start, end, severity, title in markers:
        x0, x1 = x(max(start, t0)), x(min(max(end, start), t1))
        body.append(
            f'<rect x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 2):.1f}" height="{bottom - top}" '
            f'fill="{SEVERITY_COLOURS[severity]}" opacity="0.25"><title>{escape(title)}</title></rect>'
        )
    for index, colour in ((1, "#2b6cb0"), (2, "#c0392b")):
        path = " ".join(f"{x(p[0]):.1f},{y(p[index]):.1f}" for p in points)
        body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.2"/>')
    body.append(f'<text x="{left}" y="{height - 8}" {_FONT}>{escape(points[0][3])}</text>')
    body.append(f'<text x="{width - 10}" y="{height - 8}" text-anchor="end" {_FONT}>{escape(points[-1][3])}</text>')
    return _svg(width, height, body, "traffic over time")


def bar_chart(
    rows: list[tuple[str, float, str]],
    width: int = 440,
    bar: int = 16,
    value_format: str = "{:,.0f}",
    label: str = "chart",
) -> str:
    """Horizontal bars: (label, value, colour)."""
    if not rows:
        return _svg(width, 30, [f'<text x="10" y="20" {_FONT}>nothing to show</text>'], label)
    peak = max(max(value for _, value, _ in rows), 1e-9)
    text_width, body = 170, []
    for index, (name, value, colour) in enumerate(rows):
        top = index * (bar + 6) + 4
        length = max(value / peak * (width - text_width - 70), 1)
        body.append(
            f'<text x="{text_width - 6}" y="{top + bar - 4}" text-anchor="end" {_FONT}>'
            f'<tspan class="log">{escape(name[:28])}<title>{escape(name)}</title></tspan></text>'
        )
        body.append(f'<rect x="{text_width}" y="{top}" width="{length:.1f}" height="{bar}" fill="{colour}"/>')
        body.append(
            f'<text x="{text_width + length + 4:.1f}" y="{top + bar - 4}" {_FONT}>'
            f"{escape(value_format.format(value))}</text>"
        )
    return _svg(width, len(rows) * (bar + 6) + 8, body, label)

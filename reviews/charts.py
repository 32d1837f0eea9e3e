"""Bar charts drawn on the server as SVG: no script, nothing to load, printable. Each bar
carries its number as text, so the chart reads without colour; a target is a dashed line
with its own label. The table beside each chart holds the same numbers."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 520
HEIGHT = 170
LEFT = 8
TOP = 18
LEGEND = 24  # a target's label gets a band of its own above the bars: no bar label meets it
LEGEND_BASELINE = 12
BOTTOM = 22  # room for the week labels
LABEL_HEIGHT = 11  # a bar label's text, above its baseline


def _px(value: float) -> str:
    return f"{value:.1f}"


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    unit: str = "",
    target: float | None = None,
    target_label: str = "",
) -> SafeString:
    """One bar per label; None is drawn as a dash (nothing to measure that week)."""
    known = [v for v in values if v is not None]
    top = max([*known, target or 0, 1])
    roof = TOP + (LEGEND if target is not None else 0)
    plot = HEIGHT - roof - BOTTOM
    line = HEIGHT - BOTTOM - plot * target / top if target is not None else None
    slot = (WIDTH - LEFT * 2) / max(len(values), 1)
    bar = slot * 0.6
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}">'
            "<title>{}</title>",
            WIDTH,
            HEIGHT,
            title,
            title,
        ),
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1"/>',
            LEFT,
            HEIGHT - BOTTOM,
            WIDTH - LEFT,
            HEIGHT - BOTTOM,
        ),
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = LEFT + i * slot + (slot - bar) / 2
        centre = LEFT + i * slot + slot / 2
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="10" fill="currentColor">{}</text>',
                _px(centre),
                HEIGHT - 6,
                label,
            )
        )
        y: float
        if value is None:
            text, y = "\u2013", HEIGHT - BOTTOM - 4
        else:
            height = plot * value / top
            y = HEIGHT - BOTTOM - height
            over = target is not None and value > target
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}{}</title></rect>',
                    "bar bar-over" if over else "bar",
                    _px(x),
                    _px(y),
                    _px(bar),
                    _px(height),
                    label,
                    _number(value),
                    unit,
                )
            )
            text = f"{_number(value)}{'!' if over else ''}"
            y -= 3
            if line is not None and y - LABEL_HEIGHT - 2 <= line <= y + 4:
                y = line - 6  # the label (descenders too) would meet the target line: lift it above

        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="11" fill="currentColor">{}</text>',
                _px(centre),
                _px(y),
                text,
            )
        )
    if line is not None:
        # The line across the bars; its label in the legend band above them, after a
        # short dashed sample of the line.
        parts.append(
            format_html(
                '<line class="target" x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" '
                'stroke-width="1.5" stroke-dasharray="6 4"/>'
                '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="currentColor" stroke-width="1.5" '
                'stroke-dasharray="6 4"/>'
                '<text class="target-label" x="{}" y="{}" font-size="10" fill="currentColor">{}</text>',
                LEFT,
                _px(line),
                WIDTH - LEFT,
                _px(line),
                LEFT,
                LEGEND_BASELINE - 4,
                LEFT + 24,
                LEGEND_BASELINE - 4,
                LEFT + 30,
                LEGEND_BASELINE,
                target_label,
            )
        )
    parts.append(SafeString("</svg>"))
    return format_html_join("", "{}", ((part,) for part in parts))

"""A sparkline of counts over time drawn server-side as inline SVG: the pages load no
script and no image, so the line is a `<polyline>` whose points code computes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from markupsafe import Markup, escape

# Inset of the line from the box's edges, so the stroke at the top and bottom is not cut.
PAD: Final = 1.0


def sparkline_points(counts: Sequence[int], width: int, height: int) -> list[tuple[float, float]]:
    """The line's points in SVG coordinates (y down): evenly spaced from left to right,
    the peak at the top, zero on the bottom. An all-zero series is a line on the bottom;
    a single count is a flat line across the box, at the top unless it is zero."""
    if not counts:
        return []
    peak = max(counts)
    top, bottom = PAD, height - PAD
    left, right = PAD, width - PAD

    def y(count: int) -> float:
        if peak <= 0:
            return round(bottom, 2)
        return round(bottom - (max(0, count) / peak) * (bottom - top), 2)

    if len(counts) == 1:
        return [(round(left, 2), y(counts[0])), (round(right, 2), y(counts[0]))]
    step = (right - left) / (len(counts) - 1)
    return [(round(left + i * step, 2), y(count)) for i, count in enumerate(counts)]


def sparkline_label(counts: Sequence[int], unit: str = "day") -> str:
    """What the line shows, in words, for readers who cannot see it."""
    peak = max(counts, default=0)
    span = f"{len(counts)} {unit}" + ("" if len(counts) == 1 else "s")
    return f"occurrences per {unit}, peak {peak}, {sum(counts)} in all over {span}"


def sparkline(
    counts: Sequence[int], width: int = 120, height: int = 24, label: str | None = None
) -> Markup:
    """`counts` as an inline `<svg role="img">` with its text alternative in `aria-label`
    and `<title>`; `label` defaults to `sparkline_label(counts)`."""
    text = escape(label if label is not None else sparkline_label(counts))
    points = " ".join(f"{x:g},{y:g}" for x, y in sparkline_points(counts, width, height))
    baseline = height - PAD
    return Markup(
        f'<svg class="spark" role="img" aria-label="{text}" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{text}</title>"
        f'<line class="spark-base" x1="0" y1="{baseline:g}" x2="{width}" y2="{baseline:g}"'
        ' stroke="currentColor" stroke-opacity="0.3" stroke-width="1"/>'
        f'<polyline class="spark-line" points="{points}" fill="none" stroke="currentColor"'
        ' stroke-width="1.5" stroke-linejoin="round" stroke-linecap="round"/>'
        "</svg>"
    )

"""The error clusters' sparkline (issue 19): points computed by code for a known series,
an all-zero one and a single count, drawn as inline SVG with its text alternative."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from recap.api.ui.clusters_page import occurrence_series
from recap.api.ui.sparkline import sparkline, sparkline_points
from recap.clustering.models import ErrorKind, ErrorOccurrence


def test_a_known_series_spans_the_box_with_the_peak_at_the_top() -> None:
    # 102 x 22: an inner box of 100 x 20 inside the 1-pixel inset.
    points = sparkline_points([0, 5, 10, 5, 0], 102, 22)
    assert points == [(1.0, 21.0), (26.0, 11.0), (51.0, 1.0), (76.0, 11.0), (101.0, 21.0)]


def test_an_all_zero_series_lies_on_the_bottom() -> None:
    assert sparkline_points([0, 0, 0], 42, 12) == [(1.0, 11.0), (21.0, 11.0), (41.0, 11.0)]


def test_a_single_count_is_a_flat_line_across() -> None:
    assert sparkline_points([7], 50, 10) == [(1.0, 1.0), (49.0, 1.0)]
    assert sparkline_points([0], 50, 10) == [(1.0, 9.0), (49.0, 9.0)]
    assert sparkline_points([], 50, 10) == []


def test_the_svg_carries_the_points_and_says_what_it_shows() -> None:
    svg = str(sparkline([1, 7, 2], 102, 22))
    assert svg.startswith('<svg class="spark" role="img"')
    points = re.search(r'<polyline[^>]* points="([^"]+)"', svg)
    assert points is not None and points.group(1) == "1,18.14 51,1 101,15.29"
    label = "occurrences per day, peak 7, 10 in all over 3 days"
    assert f'aria-label="{label}"' in svg and f"<title>{label}</title>" in svg
    assert "style=" not in svg  # the pages' CSP allows no inline styles


def test_a_given_label_is_escaped() -> None:
    svg = str(sparkline([1], label='<b>"x"</b>'))
    assert "<b>" not in svg and "&lt;b&gt;" in svg


def _at(day: int, count: int = 1, hour: int = 12) -> ErrorOccurrence:
    when = datetime(2026, 11, day, hour, tzinfo=UTC)
    return ErrorOccurrence(
        session_id=f"s{day}-{hour}",
        kind=ErrorKind.EXCEPTION,
        ref="e1",
        t_ms=0,
        timestamp_ms=int(when.timestamp() * 1000),
        message="TypeError",
        normalized="TypeError",
        fingerprint="f" * 16,
        count=count,
    )


def test_occurrences_are_counted_per_utc_day_weighted_by_their_count() -> None:
    untimed = _at(1).model_copy(update={"timestamp_ms": None, "count": 4})
    series = occurrence_series([_at(3, 2), _at(1), _at(3, 1, hour=23), _at(5), untimed])
    assert series.counts == [1, 0, 3, 0, 1]
    assert series.start is not None and series.start.isoformat() == "2026-11-01"
    assert series.end is not None and series.end.isoformat() == "2026-11-05"
    assert (series.days, series.untimed) == (1, 4)


def test_a_long_span_counts_several_days_per_point() -> None:
    series = occurrence_series([_at(1), _at(2), _at(30, 3)], max_points=10)
    assert series.days == 3 and len(series.counts) == 10
    assert series.counts[0] == 2 and series.counts[-1] == 3 and sum(series.counts) == 5
    assert series.unit == "3 days"

"""The console's server-drawn charts: scale, placement, gaps and the read-out."""

from __future__ import annotations

import pytest

from chom.web.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    TOP,
    WIDTH,
    line_chart,
    milliseconds,
    nice_ceiling,
    per_second,
    percent,
)


@pytest.mark.parametrize(("value", "ceiling"), [
    (0, 1.0), (-3, 1.0), (float("nan"), 1.0), (0.8, 1.0), (1.2, 2.0), (2.2, 2.5), (3.1, 5.0),
    (7, 10.0), (0.0031, 0.005), (420, 500.0)])
def test_the_scale_is_rounded_up_to_a_readable_top(value, ceiling):
    assert nice_ceiling(value) == pytest.approx(ceiling)


def test_points_are_placed_in_the_window_and_read_out():
    series = [{"labels": {}, "values": [[1000, 0.5], [1050, float("nan")], [1100, 2.0],
                                        [1300, 9.0]]}]  # the last is after the window
    chart = line_chart("c", "Requests", series, start=1000, end=1200, format_value=per_second)
    # The top is rounded up from 2.0; NaN and out-of-window points are left out.
    assert chart.y_ticks[-1][1] == "2.00/s" and chart.y_ticks[0][1] == "0.00/s"
    plot_height = HEIGHT - BOTTOM - TOP
    first, second = (tuple(map(float, p.split(","))) for p in chart.points.split())
    assert first == (LEFT, pytest.approx(HEIGHT - BOTTOM - plot_height / 4, abs=0.1))
    assert second == (pytest.approx(LEFT + (WIDTH - RIGHT - LEFT) / 2, abs=0.1), TOP)
    assert chart.last == pytest.approx(second, abs=0.1)
    assert [value for _, value in chart.rows] == ["0.50/s", "2.00/s"]
    assert chart.summary == ("Requests: latest 2.00/s, highest 2.00/s, lowest 0.50/s, "
                             "over 2 points.")
    assert [label for _, label in chart.x_ticks] == ["00:16", "00:18", "00:20"]


def test_ratios_have_a_fixed_scale_and_no_data_says_so():
    chart = line_chart("cpu", "CPU", [{"labels": {}, "values": [[10, 0.25]]}], start=0,
                       end=20, format_value=percent, y_max=1.0)
    assert [label for _, label in chart.y_ticks] == ["0%", "50%", "100%"]
    assert chart.rows == [("1970-01-01 00:00:10", "25%")]
    assert chart.summary.endswith("over 1 point.")
    empty = line_chart("p95", "Latency", [], start=0, end=20, format_value=milliseconds)
    assert empty.empty and empty.points == "" and empty.last is None
    assert empty.summary == "Latency: no data in this range."

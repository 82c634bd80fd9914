"""Line charts drawn on the server: the geometry of an inline SVG (a polyline over labelled
axes) and its values as rows for the table beside it. No chart script, nothing fetched."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

# Drawn about as wide as shown on a wide screen, so 12-unit text reads as 12 px or so.
WIDTH, HEIGHT = 480, 180
# Room for the y labels on the left and the time labels below the plot.
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


@dataclass(frozen=True)
class Chart:
    """One chart: what the template draws (`points`, ticks) and reads out (`summary`, `rows`)."""

    id: str
    title: str
    summary: str
    points: str
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    rows: list[tuple[str, str]]
    #: where the latest value is drawn (a lone point is visible this way too)
    last: tuple[float, float] | None = None
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.rows


def per_second(value: float) -> str:
    return f"{value:.2f}/s"


def milliseconds(value: float) -> str:
    return f"{value * 1000:.0f} ms"


def percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at or above `value` (1 when there is nothing)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def _points(series: list[dict]) -> list[tuple[float, float]]:
    """The finite [t, v] pairs of the one series a query answers (none when no traffic)."""
    values = series[0]["values"] if series else []
    return [(float(t), float(v)) for t, v in values if math.isfinite(float(v))]


def _clock(seconds: float, span: float) -> str:
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%m-%d %H:%M" if span > 86400 else "%H:%M")


def line_chart(chart_id: str, title: str, series: list[dict], *, start: float, end: float,
               format_value: Callable[[float], str], y_max: float | None = None) -> Chart:
    """A chart of `series` (the backend's `[{"labels", "values": [[t, v], ...]}]`) from unix
    time `start` to `end`; `y_max` fixes the top of the scale (1.0 for ratios), else it is
    rounded up from the highest value."""
    points = [(t, v) for t, v in _points(series) if start <= t <= end]
    top = y_max if y_max is not None else nice_ceiling(max((v for _, v in points), default=0))
    span = max(end - start, 1.0)
    x_of = lambda t: LEFT + (t - start) / span * (WIDTH - RIGHT - LEFT)  # noqa: E731
    y_of = lambda v: HEIGHT - BOTTOM - min(v, top) / top * (HEIGHT - BOTTOM - TOP)  # noqa: E731
    line = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in points)
    y_ticks = [(y_of(top * f), format_value(top * f)) for f in (0, 0.5, 1)]
    x_ticks = [(x_of(start + span * f), _clock(start + span * f, span)) for f in (0, 0.5, 1)]
    rows = [(datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M:%S"), format_value(v))
            for t, v in points]
    if points:
        values = [v for _, v in points]
        summary = (f"{title}: latest {format_value(values[-1])}, highest "
                   f"{format_value(max(values))}, lowest {format_value(min(values))}, "
                   f"over {len(values)} point{'' if len(values) == 1 else 's'}.")
    else:
        summary = f"{title}: no data in this range."
    last = (x_of(points[-1][0]), y_of(points[-1][1])) if points else None
    return Chart(chart_id, title, summary, line, y_ticks, x_ticks, rows, last)

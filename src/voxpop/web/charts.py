"""Small SVG charts computed on the server (geometry here, markup in the templates; no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str  # the exact figure, read out by screen readers and shown on hover


@dataclass(frozen=True)
class Chart:
    line: str = ""  # polyline points
    band: str = ""  # polygon points of the interval band
    bars: tuple[Bar, ...] = ()
    y_ticks: tuple[tuple[float, str], ...] = ()
    x_ticks: tuple[tuple[float, str], ...] = ()


def _scale(low: float, high: float):
    span = (high - low) or 1.0
    return lambda value: TOP + (high - value) / span * (HEIGHT - TOP - BOTTOM)


def _ticks(low: float, high: float, y, unit: str) -> tuple[tuple[float, str], ...]:
    return tuple((y(value), f"{value:,.0f}{unit}") for value in (low + (high - low) * k / 4 for k in range(5)))


def line_with_band(labels: list[str], values: list[float | None], lows: list[float | None],
                   highs: list[float | None], *, unit: str = "%") -> Chart:
    """A series with its confidence band; periods without a value are gaps in neither (they are left out)."""
    known = [(index, value, low, high) for index, (value, low, high) in enumerate(zip(values, lows, highs))
             if value is not None and low is not None and high is not None]
    if not known:
        return Chart()
    top = max(high for _, _, _, high in known)
    bottom = min(low for _, _, low, _ in known)
    low_axis, high_axis = (0.0, 100.0) if unit == "%" else (min(0.0, bottom), top)
    y = _scale(low_axis, high_axis)
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    x = [LEFT + step * (index + 0.5) for index in range(len(labels))]
    line = " ".join(f"{x[i]:.1f},{y(value):.1f}" for i, value, _, _ in known)
    band = " ".join([f"{x[i]:.1f},{y(high):.1f}" for i, _, _, high in known]
                    + [f"{x[i]:.1f},{y(low):.1f}" for i, _, low, _ in reversed(known)])
    every = max(1, len(labels) // 8)
    return Chart(line=line, band=band, y_ticks=_ticks(low_axis, high_axis, y, unit),
                 x_ticks=tuple((x[i], labels[i]) for i in range(0, len(labels), every)))


def bars(groups: list[tuple[str, list[tuple[float, str, str]]]], *, unit: str = "") -> Chart:
    """Grouped bars: per group label, (value, css class, title) for each bar side by side."""
    values = [value for _, members in groups for value, _, _ in members]
    if not values:
        return Chart()
    high = max(values) or 1.0
    y = _scale(0.0, high)
    slot = (WIDTH - LEFT - RIGHT) / len(groups)
    drawn, ticks = [], []
    for index, (label, members) in enumerate(groups):
        width = slot * 0.8 / len(members)
        for position, (value, css, title) in enumerate(members):
            left = LEFT + slot * index + slot * 0.1 + width * position
            drawn.append(Bar(left, y(value), width, y(0.0) - y(value), css, title))
        ticks.append((LEFT + slot * (index + 0.5), label))
    every = max(1, len(groups) // 10)
    return Chart(bars=tuple(drawn), y_ticks=_ticks(0.0, high, y, unit), x_ticks=tuple(ticks[::every]))


def curve(points: list[tuple[float, float]], *, x_unit: str = "%", y_unit: str = "%") -> Chart:
    """A line through (x, y) points on true x positions (x from 0 to 100), e.g. the whale curve."""
    if not points:
        return Chart()
    high = max(max(y for _, y in points), 100.0 if y_unit == "%" else 0.0)
    low = min(min(y for _, y in points), 0.0)
    y = _scale(low, high)

    def x(value: float) -> float:
        return LEFT + value / 100 * (WIDTH - LEFT - RIGHT)

    line = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in points)
    return Chart(line=line, y_ticks=_ticks(low, high, y, y_unit),
                 x_ticks=tuple((x(value), f"{value:.0f}{x_unit}") for value in range(0, 101, 20)))


SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline(values: list[float]) -> str:
    """Polyline points of a word-sized trend (Tufte): from zero to the series' own highest value."""
    if len(values) < 2:
        return ""
    high = max(values) or 1.0
    step = (SPARK_WIDTH - 4) / (len(values) - 1)
    return " ".join(f"{2 + index * step:.1f},{SPARK_HEIGHT - 2 - value / high * (SPARK_HEIGHT - 4):.1f}"
                    for index, value in enumerate(values))

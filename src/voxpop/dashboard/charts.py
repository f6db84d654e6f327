"""Control charts drawn as SVG on the server: geometry here, markup in the template. No JavaScript."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.analysis.survey_metrics import Trend

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28
LABELS = {"nps": ("NPS", 1, ""), "csat": ("CSAT top-two-box", 100, "%"), "ces2.0": ("CES 2.0 mean", 1, ""),
          "ces1.0": ("CES 1.0 mean", 1, "")}


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: str
    signalled: bool


@dataclass(frozen=True)
class ChartDrawing:
    title: str
    points: tuple[Point, ...]
    line: str  # the values' polyline
    centre: str
    upper: str  # step lines: the limits change with each month's n
    lower: str
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[tuple[float, str], ...]
    signals: tuple[str, ...]  # one sentence per signal
    rows: tuple[tuple[str, int, str, str, str], ...]  # month, n, value, lower, upper: the table twin


def _steps(xs: list[float], ys: list[float], half: float) -> str:
    return " ".join(f"{x - half:.1f},{y:.1f} {x + half:.1f},{y:.1f}" for x, y in zip(xs, ys))


def draw(trend: Trend) -> ChartDrawing:
    """Lay the chart out on a WIDTH × HEIGHT canvas."""
    title, scale, unit = LABELS.get(trend.metric, (trend.metric, 1, ""))
    chart = trend.chart
    values = [value * scale for value in chart.values]
    upper = [value * scale for value in chart.upper]
    lower = [value * scale for value in chart.lower]
    low, high = min(values + lower), max(values + upper)
    pad = (high - low) * 0.08 or 1.0
    low, high = low - pad, high + pad
    count = len(values)
    step = (WIDTH - LEFT - RIGHT) / max(count, 1)
    xs = [LEFT + step * (index + 0.5) for index in range(count)]

    def y(value: float) -> float:
        return TOP + (high - value) / (high - low) * (HEIGHT - TOP - BOTTOM)

    flagged = {point for signal in trend.signals for point in signal.points[-1:]}
    digits = 0 if trend.metric == "nps" else 1 if unit == "%" else 2
    points = tuple(
        Point(x, y(value), trend.periods[index][:7], f"{value:.{digits}f}{unit}", index in flagged)
        for index, (x, value) in enumerate(zip(xs, values))
    )
    ticks = [low + (high - low) * fraction for fraction in (0.1, 0.5, 0.9)]
    every = max(1, count // 6)
    return ChartDrawing(
        title=title,
        points=points,
        line=" ".join(f"{point.x:.1f},{point.y:.1f}" for point in points),
        centre=_steps(xs, [y(value * scale) for value in chart.centre], step / 2),
        upper=_steps(xs, [y(value) for value in upper], step / 2),
        lower=_steps(xs, [y(value) for value in lower], step / 2),
        y_ticks=tuple((y(tick), f"{tick:.{digits}f}") for tick in ticks),
        x_ticks=tuple((xs[index], trend.periods[index][:7]) for index in range(0, count, every)),
        signals=tuple(
            f"{trend.periods[signal.points[-1]][:7]}: {signal.rule.description}"
            + (f" ({signal.direction})" if signal.direction else "")
            for signal in trend.signals
        ),
        rows=tuple(
            (trend.periods[index][:7], trend.n[index], f"{values[index]:.{digits}f}{unit}",
             f"{lower[index]:.{digits}f}", f"{upper[index]:.{digits}f}")
            for index in range(count)
        ),
    )

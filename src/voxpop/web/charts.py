"""Every staff chart, drawn as SVG on the server: geometry here, markup in templates/charts.html, style in
static/charts.css. No JavaScript, no inline style.

Readable at any width without scaling text: the plot's SVG has no viewBox, so a user unit is a CSS pixel and
tick labels keep their CSS size (13 px) on a phone and on a wide screen alike. Across, positions are
percentages of the plot's width, so the chart fills its card; lines, bands and bars sit in a layer stretched
to that width (x from 0 to STRETCH), with strokes that do not stretch. Down, positions are pixels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

PLOT_TOP = 12  # px above the plotting area, so the top tick's label is not cut
PLOT_HEIGHT = 200  # px; the width is the card's
X_LABELS = 30  # px below the plotting area for one line of x labels
SLANTED_LABELS = 130  # px below it for slanted category labels (a Pareto's themes; see charts.css)
STRETCH = 1000  # user units across the stretched layer
CHAR_WIDTH = 7.5  # px per character of a 13 px tick label, to size the axis columns
PHONE_X_LABELS, WIDE_X_LABELS = 4, 12  # at most this many x labels on a phone, and on a wide screen
LONGEST_CATEGORY = 20  # characters of a slanted label; the full label is in the bar's title
MINUS = "\u2212"


@dataclass(frozen=True)
class Tick:
    at: float  # px down for a y tick; percent across for an x tick
    label: str
    wide_only: bool = False  # left out on a phone, where fewer labels fit
    anchor: str = "middle"  # text-anchor class of an x label: start, middle or end


@dataclass(frozen=True)
class Axis:
    title: str  # what is measured and in which unit, e.g. "NPS (−100 to 100)" or "Customers"
    ticks: tuple[Tick, ...]
    width: int  # px of the axis column, from its longest label


@dataclass(frozen=True)
class Shape:
    points: str  # "x,y x,y ..." in the stretched layer
    kind: str  # css class: series, partial, centre, limit, band, cumulative


@dataclass(frozen=True)
class Bar:
    x: float  # stretched units
    width: float
    y: float  # px
    height: float
    kind: str
    title: str  # the exact figure, shown on hover


@dataclass(frozen=True)
class Point:
    x: float  # percent across
    y: float  # px down
    kind: str  # point, signal, partial or cumulative
    title: str  # value, interval and n, e.g. "March 2026: NPS 31 (95% CI 22 to 40), n = 212"
    note: str = ""  # words beside the point, e.g. "so far"


@dataclass(frozen=True)
class Chart:
    title: str  # one line for screen readers: what the chart shows
    y_axis: Axis
    x_ticks: tuple[Tick, ...]
    x_title: str = ""
    y2_axis: Axis | None = None  # a right-hand axis (a Pareto's cumulative %)
    areas: tuple[Shape, ...] = ()
    bars: tuple[Bar, ...] = ()
    lines: tuple[Shape, ...] = ()
    points: tuple[Point, ...] = ()
    legend: tuple[tuple[str, str], ...] = ()  # (kind, words) for each drawn series
    slanted: bool = False  # x labels slanted (long category names)

    @property
    def height(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT + (SLANTED_LABELS if self.slanted else X_LABELS)

    @property
    def plot_bottom(self) -> int:
        return PLOT_TOP + PLOT_HEIGHT


class Estimated(Protocol):
    """What a point's title reads: core's Estimate, or an API model with the same fields."""

    value: float | None
    n: int
    low_base: bool
    ci_low: float | None
    ci_high: float | None
    confidence: float | None


# Ticks ---------------------------------------------------------------------------------------------------


def nice_step(span: float, intervals: int = 4) -> float:
    """The 1-2-5 step (…, 0.5, 1, 2, 5, 10, 20, …) nearest to `span` / `intervals` (Heckbert, "Nice numbers
    for graph labels", Graphics Gems, 1990: a fraction below 1.5 rounds to 1, below 3 to 2, below 7 to 5)."""
    raw = span / max(intervals, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    fraction = raw / magnitude
    return magnitude * (1 if fraction < 1.5 else 2 if fraction < 3 else 5 if fraction < 7 else 10)


def nice_ticks(low: float, high: float, *, intervals: int = 4) -> tuple[float, ...]:
    """Ticks at a 1-2-5 step from a multiple of the step at or below `low` to one at or above `high`:
    0–30 gives 0, 10, 20, 30; −13–30 gives −20, −10, 0, 10, 20, 30."""
    low, high = min(low, high), max(low, high)
    if high - low < 1e-12:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    step = nice_step(high - low, intervals)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return tuple(round(k * step, digits) + 0.0 for k in range(first, last + 1))


def tick_label(value: float, step: float, unit: str = "") -> str:
    """A tick's words: as many decimals as the step needs, thousands separated, a true minus sign."""
    digits = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    text = f"{abs(value):,.{digits}f}"
    sign = MINUS if value < 0 and float(text.replace(",", "")) != 0 else ""
    return f"{sign}{text}{unit}"


def number(value: float, digits: int = 0, unit: str = "") -> str:
    """A figure for people: thousands separated, a true minus sign."""
    return tick_label(value, 10.0 ** -digits if digits else 1.0, unit)


def _axis(title: str, ticks: Sequence[float], y, unit: str) -> Axis:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    labelled = tuple(Tick(round(y(value), 1), tick_label(value, step, unit)) for value in ticks)
    width = max(len(tick.label) for tick in labelled) * CHAR_WIDTH + 10
    return Axis(title, labelled, int(math.ceil(width)))


def _y_scale(ticks: Sequence[float]):
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return PLOT_TOP + (high - value) / (high - low) * PLOT_HEIGHT

    return y


def _value_ticks(values: Sequence[float], *, floor: float | None = None, ceiling: float | None = None,
                 zero: bool = False) -> tuple[float, ...]:
    low, high = min(values), max(values)
    if zero:
        low, high = min(low, 0.0), max(high, 0.0)
    ticks = nice_ticks(low, high)
    # A bounded scale (NPS, a share) never gets ticks beyond its bounds.
    kept = tuple(tick for tick in ticks if (floor is None or tick >= floor - 1e-9)
                 and (ceiling is None or tick <= ceiling + 1e-9))
    return kept if len(kept) >= 2 else ticks


def _category_ticks(labels: Sequence[str]) -> tuple[Tick, ...]:
    """One label per category centre; on a phone every k-th, counted back from the newest, which is always
    labelled."""
    count = len(labels)
    wide = math.ceil(count / WIDE_X_LABELS)
    phone = wide * math.ceil(math.ceil(count / wide) / PHONE_X_LABELS)  # a multiple: a phone's labels are a subset
    ticks = []
    for index, label in enumerate(labels):
        back = count - 1 - index
        if back % wide == 0:
            ticks.append(Tick(round(100 * (index + 0.5) / count, 2), label, wide_only=back % phone != 0))
    return tuple(ticks)


def _centres(count: int) -> list[float]:
    return [100 * (index + 0.5) / count for index in range(count)]


def _polyline(xs: Sequence[float], ys: Sequence[float]) -> str:
    return " ".join(f"{x * STRETCH / 100:.1f},{y:.1f}" for x, y in zip(xs, ys))


# Words --------------------------------------------------------------------------------------------------


def month_label(period: str | date, *, short: bool = True) -> str:
    """'2026-03-01' as 'Mar 2026' (an axis) or 'March 2026' (a sentence)."""
    day = date.fromisoformat(str(period)[:10])
    return day.strftime("%b %Y" if short else "%B %Y")


def estimate_title(label: str, metric: str, estimate: Estimated, *, unit: str = "", digits: int = 0,
                   note: str = "") -> str:
    """A point's title: 'March 2026: NPS 31 (95% CI 22 to 40), n = 212'."""
    if estimate.value is None:
        return f"{label}: no {metric} yet, n = {estimate.n:,}"
    text = f"{label}{note}: {metric} {number(estimate.value, digits, unit)}"
    if estimate.ci_low is not None and estimate.ci_high is not None:
        text += (f" ({round((estimate.confidence or 0.95) * 100)}% CI {number(estimate.ci_low, digits)} to "
                 f"{number(estimate.ci_high, digits, unit)})")
    text += f", n = {estimate.n:,}"
    return text + (" (too few to read)" if estimate.low_base else "")


# Charts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControlPoint:
    """One period on a control chart; a partial period (one that has not ended) has no limits of its own."""

    label: str  # its x label, e.g. "Mar 2026"
    value: float
    title: str
    centre: float | None = None
    lower: float | None = None
    upper: float | None = None
    signalled: bool = False
    partial: bool = False


def control_chart(points: Sequence[ControlPoint], *, title: str, y_title: str, unit: str = "",
                  floor: float | None = None, ceiling: float | None = None) -> Chart:
    """A metric per period with its centre line and control limits (steps: the limits move with each period's
    n). Signalled points are marked; a partial period is a hollow point marked "so far", joined by a dashed
    line and drawn without limits, since it takes no part in them."""
    ended = [point for point in points if not point.partial]
    limits = [value for point in ended for value in (point.lower, point.upper) if value is not None]
    y_ticks = _value_ticks([point.value for point in points] + limits, floor=floor, ceiling=ceiling)
    y = _y_scale(y_ticks)
    xs = _centres(len(points))
    half = 50 / max(len(points), 1)
    lines: list[Shape] = []
    for kind, name in (("limit", "upper"), ("limit", "lower"), ("centre", "centre")):
        steps = [f"{(x - half) * STRETCH / 100:.1f},{y(getattr(point, name)):.1f} "
                 f"{(x + half) * STRETCH / 100:.1f},{y(getattr(point, name)):.1f}"
                 for x, point in zip(xs, points) if getattr(point, name) is not None]
        if steps:
            lines.append(Shape(" ".join(steps), kind))
    solid = [index for index, point in enumerate(points) if not point.partial]
    lines.append(Shape(_polyline([xs[i] for i in solid], [y(points[i].value) for i in solid]), "series"))
    for index, point in enumerate(points):
        if point.partial and index:
            lines.append(Shape(_polyline(xs[index - 1:index + 1], [y(points[index - 1].value), y(point.value)]),
                               "partial"))
    drawn = tuple(
        Point(round(x, 2), round(y(point.value), 1),
              "partial" if point.partial else "signal" if point.signalled else "point", point.title,
              "so far" if point.partial else "")
        for x, point in zip(xs, points)
    )
    legend = [("series", y_title.split(" (")[0]), ("centre", "Usual level"), ("limit", "Control limits")]
    if any(point.signalled for point in points):
        legend.append(("signal", "Signal: a real change"))
    if any(point.partial for point in points):
        legend.append(("partial", "Period not ended yet"))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, unit), x_ticks=_category_ticks(
                 [point.label for point in points]), lines=tuple(lines), points=drawn, legend=tuple(legend))


@dataclass(frozen=True)
class BandPoint:
    label: str
    value: float
    low: float
    high: float
    title: str
    partial: bool = False


def line_with_band(points: Sequence[BandPoint], *, title: str, y_title: str, unit: str = "%",
                   floor: float | None = 0.0, ceiling: float | None = 100.0, zero: bool = True) -> Chart:
    """A series per period with its confidence band; a partial period is hollow, marked "so far"."""
    if not points:
        raise ValueError("a line needs at least one point")
    y_ticks = _value_ticks([bound for point in points for bound in (point.low, point.high, point.value)],
                           floor=floor, ceiling=ceiling, zero=zero)
    y = _y_scale(y_ticks)
    xs = _centres(len(points))
    band = _polyline(xs, [y(point.high) for point in points]) + " " + _polyline(
        xs[::-1], [y(point.low) for point in reversed(points)])
    solid = [index for index, point in enumerate(points) if not point.partial]
    lines = [Shape(_polyline([xs[i] for i in solid], [y(points[i].value) for i in solid]), "series")]
    lines += [Shape(_polyline(xs[i - 1:i + 1], [y(points[i - 1].value), y(points[i].value)]), "partial")
              for i, point in enumerate(points) if point.partial and i]
    drawn = tuple(Point(round(x, 2), round(y(point.value), 1), "partial" if point.partial else "point", point.title,
                        "so far" if point.partial else "") for x, point in zip(xs, points))
    legend = [("series", y_title.split(" (")[0]), ("band", "95% confidence interval")]
    if any(point.partial for point in points):
        legend.append(("partial", "Period not ended yet"))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, unit), x_ticks=_category_ticks(
                 [point.label for point in points]), areas=(Shape(band, "band"),), lines=tuple(lines),
                 points=drawn, legend=tuple(legend))


@dataclass(frozen=True)
class BarGroup:
    label: str
    bars: tuple[tuple[float, str], ...]  # (value, title) of each series' bar, side by side


def bar_chart(groups: Sequence[BarGroup], *, title: str, y_title: str, x_title: str = "",
              series: Sequence[tuple[str, str]] = (("bar", ""),), unit: str = "", gap: float = 0.2) -> Chart:
    """Bars from zero, grouped side by side when there are several series; `series` names each one's css
    kind and legend words (a single series needs no legend). A histogram is a bar chart with a small gap."""
    values = [value for group in groups for value, _ in group.bars]
    if not values:
        raise ValueError("a bar chart needs at least one bar")
    y_ticks = _value_ticks(values, zero=True)
    y = _y_scale(y_ticks)
    slot = STRETCH / len(groups)
    drawn = []
    for index, group in enumerate(groups):
        width = slot * (1 - gap) / len(group.bars)
        for position, ((value, bar_title), (kind, _)) in enumerate(zip(group.bars, series)):
            top, bottom = sorted((y(value), y(0.0)))
            drawn.append(Bar(round(slot * index + slot * gap / 2 + width * position, 1), round(width, 1),
                             round(top, 1), round(bottom - top, 1), kind, bar_title))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, unit), x_title=x_title,
                 x_ticks=_category_ticks([group.label for group in groups]), bars=tuple(drawn),
                 legend=tuple((kind, words) for kind, words in series if words) if len(series) > 1 else ())


def histogram(bins: Sequence[tuple[float, float, float, str]], *, title: str, y_title: str, x_title: str,
              x_unit: str = "") -> Chart:
    """Adjacent bars on a true numeric x axis with nice ticks: one (low, high, count, title) per bin, in order."""
    if not bins:
        raise ValueError("a histogram needs at least one bin")
    y_ticks = _value_ticks([count for _, _, count, _ in bins], zero=True)
    y = _y_scale(y_ticks)
    start, stop = bins[0][0], bins[-1][1]
    span = (stop - start) or 1.0

    def x(value: float) -> float:
        return 100 * (value - start) / span

    drawn = tuple(Bar(round(x(low) * STRETCH / 100 + 1, 1), round((x(high) - x(low)) * STRETCH / 100 - 2, 1),
                      round(y(count), 1), round(y(0.0) - y(count), 1), "bar", bin_title)
                  for low, high, count, bin_title in bins)
    x_values = [value for value in nice_ticks(start, stop) if start - 1e-9 <= value <= stop + 1e-9]
    step = x_values[1] - x_values[0] if len(x_values) > 1 else 1.0
    x_ticks = tuple(Tick(round(x(value), 2), tick_label(value, step, x_unit), wide_only=index % 2 == 1,
                         anchor="start" if x(value) < 3 else "end" if x(value) > 97 else "middle")
                    for index, value in enumerate(x_values))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, ""), x_title=x_title, x_ticks=x_ticks, bars=drawn)


def pareto(categories: Sequence[tuple[str, float]], *, title: str, y_title: str, unit: str = "",
           titles: Sequence[str] | None = None) -> Chart:
    """A Pareto chart: one bar per category, largest first, and the cumulative share of the total as a line
    on a right-hand 0–100% axis. `titles` (in the order given) replace each bar's default hover text."""
    if not categories:
        raise ValueError("a Pareto chart needs at least one category")
    given = {label: index for index, (label, _) in enumerate(categories)}
    ranked = sorted(categories, key=lambda item: -item[1])
    total = sum(value for _, value in ranked) or 1.0
    y_ticks = _value_ticks([value for _, value in ranked], zero=True)
    y = _y_scale(y_ticks)
    share_ticks = nice_ticks(0.0, 100.0, intervals=5)
    share_y = _y_scale(share_ticks)
    xs = _centres(len(ranked))
    slot = STRETCH / len(ranked)
    bars, points, cumulative = [], [], 0.0
    for index, ((label, value), x) in enumerate(zip(ranked, xs)):
        cumulative += value
        share = 100 * cumulative / total
        bar_title = (titles[given[label]] if titles else f"{label}: {number(value, 0, unit)}")
        bars.append(Bar(round(slot * index + slot * 0.1, 1), round(slot * 0.8, 1), round(y(value), 1),
                        round(y(0.0) - y(value), 1), "bar", bar_title))
        points.append(Point(round(x, 2), round(share_y(share), 1), "cumulative",
                            f"{label} and the categories before it: {share:.0f}% of the total"))
    line = Shape(_polyline(xs, [point.y for point in points]), "cumulative")
    labels = tuple(Tick(round(x, 2), _shorten(label)) for (label, _), x in zip(ranked, xs))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, unit),
                 y2_axis=_axis("Cumulative share (%)", share_ticks, share_y, "%"), x_ticks=labels,
                 bars=tuple(bars), lines=(line,), points=tuple(points), slanted=True,
                 legend=(("bar", y_title.split(" (")[0]), ("cumulative", "Cumulative share of the total")))


def _shorten(label: str) -> str:
    return label if len(label) <= LONGEST_CATEGORY else label[:LONGEST_CATEGORY - 1].rstrip() + "…"


def curve(points: Sequence[tuple[float, float]], *, title: str, x_title: str, y_title: str,
          x_unit: str = "%", y_unit: str = "%", reference: float | None = None) -> Chart:
    """A line through (x, y) points at their true x (0 to 100), e.g. the whale curve; `reference` draws a
    dashed horizontal line at that y (the whale curve's 100%)."""
    if not points:
        raise ValueError("a curve needs at least one point")
    y_values = [value for _, value in points] + ([reference] if reference is not None else [])
    y_ticks = _value_ticks(y_values, zero=True)
    y = _y_scale(y_ticks)
    x_ticks = nice_ticks(0.0, 100.0, intervals=5)
    ticks = tuple(Tick(value, tick_label(value, x_ticks[1] - x_ticks[0], x_unit),
                       wide_only=index % 2 == 1 and 0 < value < 100,
                       anchor="start" if value == 0 else "end" if value == 100 else "middle")
                  for index, value in enumerate(x_ticks))
    lines = [Shape(_polyline([x for x, _ in points], [y(value) for _, value in points]), "series")]
    if reference is not None:
        lines.insert(0, Shape(_polyline([0, 100], [y(reference)] * 2), "centre"))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, y_unit), x_title=x_title, x_ticks=ticks,
                 lines=tuple(lines))


SPARK_WIDTH, SPARK_HEIGHT = 120, 28


def sparkline(values: list[float]) -> str:
    """Polyline points of a word-sized trend (Tufte): from zero to the series' own highest value."""
    if len(values) < 2:
        return ""
    high = max(values) or 1.0
    step = (SPARK_WIDTH - 4) / (len(values) - 1)
    return " ".join(f"{2 + index * step:.1f},{SPARK_HEIGHT - 2 - value / high * (SPARK_HEIGHT - 4):.1f}"
                    for index, value in enumerate(values))



@dataclass(frozen=True)
class CategoryBar:
    label: str  # its x label, e.g. "9"
    value: float
    kind: str  # css class of the bar, e.g. "bar" or a group's ("promoters")
    title: str  # the exact figure, shown on hover


def category_bars(bars: Sequence[CategoryBar], *, title: str, y_title: str, x_title: str = "",
                  legend: Sequence[tuple[str, str]] = ()) -> Chart:
    """One bar per category from zero, each with its own kind (a distribution's bars coloured by group); `legend`
    names each kind in words, so a colour never stands alone."""
    if not bars:
        raise ValueError("a bar chart needs at least one bar")
    y_ticks = _value_ticks([bar.value for bar in bars], zero=True)
    y = _y_scale(y_ticks)
    slot = STRETCH / len(bars)
    drawn = tuple(Bar(round(slot * index + slot * 0.1, 1), round(slot * 0.8, 1), round(y(bar.value), 1),
                      round(y(0.0) - y(bar.value), 1), bar.kind, bar.title) for index, bar in enumerate(bars))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, ""), x_title=x_title,
                 x_ticks=_category_ticks([bar.label for bar in bars]), bars=drawn, legend=tuple(legend))


@dataclass(frozen=True)
class ShareRow:
    label: str
    value: float  # the share, in %
    low: float  # its interval, in %
    high: float
    figure: str  # the share in words beside the bar, e.g. "31% (27 to 35%)"
    title: str  # the full sentence, e.g. "Boots: 31% of 412 who answered (95% CI 27 to 35%), n = 128"
    kind: str = "bar"


@dataclass(frozen=True)
class ShareChart:
    """Horizontal bars of shares with their intervals as whiskers, one row per category, in the order given.
    Positions are percentages of the bar's width, on a scale from 0 to `top` %."""

    title: str
    top: float
    rows: tuple[tuple[ShareRow, float, float, float], ...]  # (row, bar end, interval start, interval end) in %
    ticks: tuple[Tick, ...]


def share_bars(rows: Sequence[ShareRow], *, title: str) -> ShareChart:
    """Shares (0–100%) as horizontal bars with interval whiskers, on a scale that reaches the highest upper bound
    (a nice step up to 100%): long category labels sit above their bar, so they fit on a phone."""
    if not rows:
        raise ValueError("a share chart needs at least one row")
    top = min(100.0, max(nice_ticks(0.0, max(max(row.high for row in rows), 1.0))))
    ticks = tuple(Tick(round(100 * value / top, 2), tick_label(value, nice_step(top), "%"),
                       anchor="start" if value == 0 else "end" if value >= top else "middle")
                  for value in nice_ticks(0.0, top) if value <= top)
    placed = tuple((row, round(100 * row.value / top, 2), round(100 * row.low / top, 2),
                    round(100 * min(row.high, top) / top, 2)) for row in rows)
    return ShareChart(title, top, placed, ticks)


@dataclass(frozen=True)
class QuadrantPoint:
    label: str  # beside the point: the driver
    performance: float  # across
    importance: float  # up, in %
    low: float | None  # the importance's interval, drawn as a whisker
    high: float | None
    title: str


def quadrant_chart(points: Sequence[QuadrantPoint], *, title: str, x_title: str, y_title: str,
                   mean_performance: float, mean_importance: float) -> Chart:
    """Importance × performance (Martilla & James 1977): each driver at its performance (across) and importance
    (up) with its interval, and dashed lines at the mean of each that split the plot into the four quadrants."""
    if not points:
        raise ValueError("a quadrant chart needs at least one point")
    bounds = [value for point in points for value in (point.low, point.high) if value is not None]
    y_ticks = _value_ticks([point.importance for point in points] + bounds + [mean_importance], floor=0.0,
                           ceiling=100.0, zero=True)
    y = _y_scale(y_ticks)
    lowest, highest = min(point.performance for point in points), max(point.performance for point in points)
    room = (highest - lowest) or 1.0  # a point's name sits to its left: leave room for it inside the plot
    x_values = nice_ticks(lowest - 0.3 * room, highest + 0.1 * room)
    start, stop = x_values[0], x_values[-1]

    def x(value: float) -> float:
        return 100 * (value - start) / (stop - start)

    whiskers = [Shape(_polyline([x(point.performance)] * 2, [y(point.low), y(point.high)]), "centre")
                for point in points if point.low is not None and point.high is not None]
    means = [Shape(_polyline([x(mean_performance)] * 2, [y(y_ticks[0]), y(y_ticks[-1])]), "limit"),
             Shape(_polyline([0, 100], [y(mean_importance)] * 2), "limit")]
    step = x_values[1] - x_values[0] if len(x_values) > 1 else 1.0
    x_ticks = tuple(Tick(round(x(value), 2), tick_label(value, step), wide_only=index % 2 == 1 and 0 < index < len(x_values) - 1,
                         anchor="start" if index == 0 else "end" if index == len(x_values) - 1 else "middle")
                    for index, value in enumerate(x_values))
    drawn = tuple(Point(round(x(point.performance), 2), round(y(point.importance), 1), "point", point.title,
                        point.label) for point in points)
    legend = [("limit", "Mean importance and mean performance")]
    if whiskers:
        legend.insert(0, ("centre", "Importance's bootstrap interval"))
    return Chart(title=title, y_axis=_axis(y_title, y_ticks, y, "%"), x_title=x_title, x_ticks=x_ticks,
                 lines=tuple(means + whiskers), points=drawn, legend=tuple(legend))

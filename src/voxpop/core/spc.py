"""Statistical process control for metric series: control charts and the run rules that read them.

Pure: counts or observations in, charts and signals out. Points are numbered from 0, in time order.
A chart carries its limits per point, because an attribute chart's limits move with each subgroup's size.
It also carries sigma per point, because clipping a limit at a bound (0 or 1 for a share, ±100 for NPS)
must not shrink the zones the run rules use: sigma = (upper − centre)/3 before clipping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

D2 = 1.128  # d2 for moving ranges of 2 points (Montgomery, Appendix VI); gives E2 = 3/d2 ≈ 2.66
D4 = 3.267  # D4 for moving ranges of 2 points (Montgomery, Appendix VI)
# √(m−1)·sd(MR̄/d2) for normal data, as m grows: √(Var|Δz| + 2·Cov(|Δz₁|, |Δz₂|))/d2 = √1.0523/1.128
SIGMA_Z_SPREAD = 0.91

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class ControlChart:
    chart: str  # "p", "laney-p", "u", "individuals", "moving-range" or "nps"
    values: tuple[float, ...]
    centre: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    sigma: tuple[float, ...]


@dataclass(frozen=True)
class XmRChart:
    individuals: ControlChart
    moving_range: ControlChart  # point i is |x[i+1] − x[i]|, so it has one point fewer


@dataclass(frozen=True)
class Rule:
    id: str  # stable: "nelson-1".."nelson-8", "we-1".."we-4"
    description: str


@dataclass(frozen=True)
class Signal:
    rule: Rule
    points: tuple[int, ...]  # the whole run, in order; overlapping runs of one rule are merged into one
    direction: Direction | None  # side of the centre, or the trend's direction; None for rules 4, 7, 8


def _chart(chart, values, centre, sigma, *, floor=-np.inf, ceiling=np.inf) -> ControlChart:
    centre, sigma = np.broadcast_to(centre, values.shape), np.broadcast_to(sigma, values.shape)
    lower = np.clip(centre - 3 * sigma, floor, ceiling)
    upper = np.clip(centre + 3 * sigma, floor, ceiling)
    return ControlChart(chart=chart, values=tuple(values.tolist()), centre=tuple(centre.tolist()),
                        lower=tuple(lower.tolist()), upper=tuple(upper.tolist()), sigma=tuple(sigma.tolist()))


def _subgroups(counts, sizes, *, count_name: str, size_name: str, capped: bool) -> tuple[np.ndarray, np.ndarray]:
    counts, sizes = np.asarray(counts, dtype=float), np.asarray(sizes, dtype=float)
    if counts.ndim != 1 or counts.shape != sizes.shape or not counts.size:
        raise ValueError(f"give one {count_name} count and one {size_name} per subgroup, as two lists of the "
                         f"same length (got {counts.size} and {sizes.size})")
    for i in np.flatnonzero(~(sizes > 0)):
        raise ValueError(f"subgroup {i} has {size_name} {sizes[i]:g}; leave out empty subgroups before charting")
    for i in np.flatnonzero(~(counts >= 0) | (capped & (counts > sizes))):
        raise ValueError(f"subgroup {i} has {counts[i]:g} {count_name} out of {sizes[i]:g}; a count must be "
                         f"between 0 and the subgroup's {size_name}")
    return counts, sizes


def p_chart(*, nonconforming: Sequence[int], sizes: Sequence[int]) -> ControlChart:
    """p-chart: p̄ = Σx/Σn, limits p̄ ± 3√(p̄(1−p̄)/nᵢ) clipped to [0, 1] (Montgomery, Introduction to
    Statistical Quality Control, ch. 7)."""
    x, n = _subgroups(nonconforming, sizes, count_name="nonconforming", size_name="size", capped=True)
    p_bar = x.sum() / n.sum()
    return _chart("p", x / n, p_bar, np.sqrt(p_bar * (1 - p_bar) / n), floor=0.0, ceiling=1.0)


def _laney(nonconforming, sizes) -> tuple[np.ndarray, float, np.ndarray, float]:
    x, n = _subgroups(nonconforming, sizes, count_name="nonconforming", size_name="size", capped=True)
    if x.size < 2:
        raise ValueError("Laney's p′ chart needs at least 2 subgroups to measure the variation between them")
    p, p_bar = x / n, x.sum() / n.sum()
    sigma_p = np.sqrt(p_bar * (1 - p_bar) / n)
    # p̄ of 0 or 1 leaves no variation to scale: every pᵢ equals p̄, so zᵢ is 0.
    z = np.divide(p - p_bar, sigma_p, out=np.zeros_like(p), where=sigma_p > 0)
    return p, p_bar, sigma_p, float(np.abs(np.diff(z)).mean() / D2)


def laney_sigma_z(*, nonconforming: Sequence[int], sizes: Sequence[int]) -> float:
    """σz = MR̄(z)/1.128 of zᵢ = (pᵢ − p̄)/σpᵢ: near 1 for binomial data, above 1 when overdispersed
    (Laney 2002, "Improved control charts for attributes", Quality Engineering 14(4))."""
    return _laney(nonconforming, sizes)[3]


def laney_p_chart(*, nonconforming: Sequence[int], sizes: Sequence[int]) -> ControlChart:
    """Laney's p′ chart: limits p̄ ± 3·σpᵢ·σz clipped to [0, 1] (Laney 2002, Quality Engineering 14(4))."""
    p, p_bar, sigma_p, sigma_z = _laney(nonconforming, sizes)
    return _chart("laney-p", p, p_bar, sigma_p * sigma_z, floor=0.0, ceiling=1.0)


def laney_advisable(*, nonconforming: Sequence[int], sizes: Sequence[int]) -> bool:
    """Whether to use the p′ chart: σz is outside 1 ± 2·0.91/√(m−1), where binomial data put it about 95% of
    the time. Large subgroups make this common, since real shares drift more than binomial noise (Laney 2002)."""
    sigma_z = _laney(nonconforming, sizes)[3]
    return abs(sigma_z - 1) > 2 * SIGMA_Z_SPREAD / np.sqrt(len(sizes) - 1)


def u_chart(*, nonconformities: Sequence[int], units: Sequence[float]) -> ControlChart:
    """u-chart: ū = Σc/Σn, limits ū ± 3√(ū/nᵢ), lower clipped at 0 (Montgomery, Introduction to Statistical
    Quality Control, ch. 7)."""
    c, n = _subgroups(nonconformities, units, count_name="nonconformities", size_name="units", capped=False)
    u_bar = c.sum() / n.sum()
    return _chart("u", c / n, u_bar, np.sqrt(u_bar / n), floor=0.0)


def xmr_chart(*, observations: Sequence[float]) -> XmRChart:
    """Individuals chart x̄ ± 3·MR̄/d2 (= 2.66·MR̄) and moving-range chart 0..D4·MR̄ = 3.267·MR̄ (Montgomery,
    Introduction to Statistical Quality Control, ch. 6, individual measurements)."""
    x = np.asarray(observations, dtype=float)
    if x.ndim != 1 or x.size < 2 or not np.isfinite(x).all():
        raise ValueError("an XmR chart needs at least 2 observations, all of them finite numbers")
    moving_ranges = np.abs(np.diff(x))
    mr_bar = moving_ranges.mean()
    return XmRChart(
        individuals=_chart("individuals", x, x.mean(), mr_bar / D2),
        moving_range=_chart("moving-range", moving_ranges, mr_bar, (D4 - 1) * mr_bar / 3, floor=0.0),
    )


def nps_chart(*, promoters: Sequence[int], passives: Sequence[int], detractors: Sequence[int]) -> ControlChart:
    """NPS per period (−100..100) around the pooled NPS, limits ± 3·seᵢ clipped to ±100, where
    seᵢ = 100·√((pP + pD − (pP − pD)²)/nᵢ) from the pooled shares: the variance of a mean of +1/0/−1 scores."""
    p, passive, d = (np.asarray(counts, dtype=float) for counts in (promoters, passives, detractors))
    if not p.shape == passive.shape == d.shape or (np.concatenate([p, passive, d]) < 0).any():
        raise ValueError("give counts of promoters, passives and detractors per period, as three lists of the "
                         "same length with no negative counts")
    _, n = _subgroups(p, p + passive + d, count_name="promoters", size_name="answers", capped=True)
    total = n.sum()
    share_p, share_d = p.sum() / total, d.sum() / total
    se = 100 * np.sqrt((share_p + share_d - (share_p - share_d) ** 2) / n)
    # NPS as 100·(P − D)/n in both places, so that periods with the centre's shares land exactly on it.
    return _chart("nps", 100 * (p - d) / n, 100 * (p.sum() - d.sum()) / total, se, floor=-100.0, ceiling=100.0)


def _runs(flags: np.ndarray, *, k: int, m: int, lead: int = 0) -> list[tuple[int, int]]:
    """(first, last) of each stretch where k of the m points ending at a flagged point are flagged, merging
    overlaps; lead extends a stretch back by the points a flag looks behind (a step has two ends)."""
    spans: list[tuple[int, int]] = []
    for last in np.flatnonzero(flags).tolist():
        start = max(0, last - m + 1)
        window = flags[start:last + 1]
        if window.sum() < k:
            continue
        first = start + int(np.argmax(window)) - lead
        if spans and first <= spans[-1][1]:
            spans[-1] = (spans[-1][0], last)
        else:
            spans.append((first, last))
    return spans


Detector = Callable[[np.ndarray, np.ndarray, np.ndarray], Iterator[tuple[tuple[int, int], Direction | None]]]


def _beyond(*, k: int, m: int, zone: float) -> Detector:
    """k of m points more than zone·σ from the centre on the same side (zone 0: on the same side)."""
    def detect(values, deviation, sigma):
        for side, direction in ((1, "up"), (-1, "down")):
            flags = (sigma > 0) & (side * deviation > zone * sigma)
            yield from ((span, direction) for span in _runs(flags, k=k, m=m))
    return detect


def _in_a_row(*, points: int, within: bool) -> Detector:
    """points in a row within 1σ of the centre, or more than 1σ from it, on either side."""
    def detect(values, deviation, sigma):
        flags = (sigma > 0) & ((np.abs(deviation) < sigma) if within else (np.abs(deviation) > sigma))
        yield from ((span, None) for span in _runs(flags, k=points, m=points))
    return detect


def _trend(*, points: int) -> Detector:
    """points in a row, each higher (or each lower) than the one before; a tie breaks the trend."""
    def detect(values, deviation, sigma):
        for side, direction in ((1, "up"), (-1, "down")):
            flags = np.zeros(values.size, dtype=bool)
            flags[1:] = np.sign(np.diff(values)) == side
            yield from ((span, direction) for span in _runs(flags, k=points - 1, m=points - 1, lead=1))
    return detect


def _alternating(*, points: int) -> Detector:
    """points in a row going up and down in turn; a tie breaks the alternation."""
    def detect(values, deviation, sigma):
        steps = np.sign(np.diff(values))
        flags = np.zeros(values.size, dtype=bool)
        flags[2:] = steps[:-1] * steps[1:] < 0
        yield from ((span, None) for span in _runs(flags, k=points - 2, m=points - 2, lead=2))
    return detect


_NELSON: tuple[tuple[Rule, Detector], ...] = (
    (Rule("nelson-1", "1 point more than 3σ from the centre line"), _beyond(k=1, m=1, zone=3)),
    (Rule("nelson-2", "9 points in a row on the same side of the centre line"), _beyond(k=9, m=9, zone=0)),
    (Rule("nelson-3", "6 points in a row, all increasing or all decreasing"), _trend(points=6)),
    (Rule("nelson-4", "14 points in a row, alternating up and down"), _alternating(points=14)),
    (Rule("nelson-5", "2 out of 3 points more than 2σ from the centre line (same side)"), _beyond(k=2, m=3, zone=2)),
    (Rule("nelson-6", "4 out of 5 points more than 1σ from the centre line (same side)"), _beyond(k=4, m=5, zone=1)),
    (Rule("nelson-7", "15 points in a row within 1σ of the centre line (either side)"),
     _in_a_row(points=15, within=True)),
    (Rule("nelson-8", "8 points in a row more than 1σ from the centre line (either side)"),
     _in_a_row(points=8, within=False)),
)
_WESTERN_ELECTRIC: tuple[tuple[Rule, Detector], ...] = (
    (Rule("we-1", "1 point beyond 3σ from the centre line"), _beyond(k=1, m=1, zone=3)),
    (Rule("we-2", "2 of 3 points in a row beyond 2σ (same side)"), _beyond(k=2, m=3, zone=2)),
    (Rule("we-3", "4 of 5 points in a row beyond 1σ (same side)"), _beyond(k=4, m=5, zone=1)),
    (Rule("we-4", "8 points in a row on the same side of the centre line"), _beyond(k=8, m=8, zone=0)),
)
NELSON_RULES = tuple(rule for rule, _ in _NELSON)
WESTERN_ELECTRIC_RULES = tuple(rule for rule, _ in _WESTERN_ELECTRIC)


def _signals(chart: ControlChart, rules: tuple[tuple[Rule, Detector], ...]) -> tuple[Signal, ...]:
    values = np.asarray(chart.values, dtype=float)
    deviation, sigma = values - np.asarray(chart.centre, dtype=float), np.asarray(chart.sigma, dtype=float)
    return tuple(
        Signal(rule=rule, points=tuple(range(first, last + 1)), direction=direction)
        for rule, detect in rules
        for (first, last), direction in sorted(detect(values, deviation, sigma), key=lambda found: found[0])
    )


def nelson_signals(*, chart: ControlChart) -> tuple[Signal, ...]:
    """Signals of Nelson's eight tests as Minitab words them (Nelson 1984, J. Quality Technology 16(4);
    Minitab, "Tests for special causes"), by rule, then by first point."""
    return _signals(chart, _NELSON)


def western_electric_signals(*, chart: ControlChart) -> tuple[Signal, ...]:
    """Signals of the four Western Electric zone rules (Western Electric Statistical Quality Control Handbook,
    1956), by rule, then by first point."""
    return _signals(chart, _WESTERN_ELECTRIC)

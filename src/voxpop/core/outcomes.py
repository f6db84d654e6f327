"""The balanced scorecard's core customer outcome measures from counts: retention, churn, acquisition, repeat
purchase, cohort retention, customer profitability and market share. Pure: counts in, estimates out.

Kaplan & Norton (1996), "The Balanced Scorecard", ch. 4: market share, customer acquisition, customer retention,
customer satisfaction and customer profitability. Shares are in % with Wilson intervals, as everywhere in voxpop;
the whale curve's coordinates are fractions (0..1) of customers and of total profit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from voxpop.core import estimates
from voxpop.core.estimates import Estimate

CONTRACTUAL = "the contract ended (cancelled or not renewed)"  # fitted on cohorts by core.clv.sbg
MarketBasis = Literal["revenue", "customers"]


def no_purchase(*, window_days: int | None, period: str) -> str:
    """The non-contractual churn definition: no purchase in the `window_days` up to the period's end, or in the
    period itself without a window."""
    if window_days is None:
        return f"no purchase during the {period}"
    return f"no purchase in the {window_days} days up to the end of the {period}"


def retention_rate(*, start: int, end: int, new: int, won_back: int = 0, min_base: int = 30,
                   confidence: float = 0.95) -> Estimate:
    """(E − N) / S in %: of the S customers active at the start, the share still active at the end (Kumar &
    Reinartz, "Customer Relationship Management"), with a Wilson interval (Wilson 1927).

    Customers who lapsed and came back within the period (`won_back`) are in E but were never in S, so they are
    taken out of E − N with the new ones: that keeps retention a share of S, a binomial count of S trials."""
    retained = end - new - won_back
    if not 0 <= retained <= start:
        raise ValueError(f"E − N − won back ({end} − {new} − {won_back} = {retained}) must be between 0 and S ({start}): "
                         "count the customers active at the end who were not active at the start as new or won back")
    return estimates.proportion(successes=retained, n=start, min_base=min_base, confidence=confidence)


@dataclass(frozen=True)
class Churn:
    """The churn rate in % and what "churned" means: CONTRACTUAL, or a no_purchase(window) definition."""

    estimate: Estimate
    definition: str


def churn_rate(retention: Estimate, *, definition: str) -> Churn:
    """100 % − retention, with the interval mirrored: churn is retention's complement, on the same S customers."""
    if retention.value is None:
        return Churn(retention, definition)
    return Churn(Estimate(value=100.0 - retention.value, n=retention.n, low_base=retention.low_base, se=retention.se,
                          ci_low=100.0 - retention.ci_high, ci_high=100.0 - retention.ci_low,
                          confidence=retention.confidence), definition)


def acquisition_rate(*, new: int, end: int, min_base: int = 30, confidence: float = 0.95) -> Estimate:
    """N / E in %: the share of the period's active customers who are new (Kaplan & Norton 1996, ch. 4: acquisition
    "in absolute or relative terms"), with a Wilson interval.

    Relative to E, not S: every new customer is active at the period's end, so N is a binomial count of E, where
    N / S is a growth ratio that can pass 100 % and has no binomial interval."""
    if not 0 <= new <= end:
        raise ValueError(f"new customers ({new}) must be between 0 and the customers active at the end ({end}); "
                         "use an activity window at least one period long, so that every new customer counts as active")
    return estimates.proportion(successes=new, n=end, min_base=min_base, confidence=confidence)


def repeat_purchase_rate(*, repeat_customers: int, customers: int, min_base: int = 30,
                         confidence: float = 0.95) -> Estimate:
    """Customers who bought again over all customers who bought, in %, with a Wilson interval (Wilson 1927)."""
    return estimates.proportion(successes=repeat_customers, n=customers, min_base=min_base, confidence=confidence)


@dataclass(frozen=True)
class CohortRow:
    """One first-purchase cohort: its size, the customers active 0, 1, 2, … periods after it, and those as shares."""

    cohort: Hashable
    size: int
    active: tuple[int, ...]
    shares: tuple[Estimate, ...]


def cohort_retention(active: Mapping[Hashable, Sequence[int]], *, min_base: int = 30,
                     confidence: float = 0.95) -> tuple[CohortRow, ...]:
    """The cohort table: for each cohort, active[k] / active[0] in % with a Wilson interval, n = the cohort size.

    `active[cohort][k]` counts the cohort's customers active k periods after their first; index 0 is the whole
    cohort, by definition. A cohort's sequence ends where the data end: missing cells are unobserved, not 0."""
    rows = []
    for cohort, counts in sorted(active.items(), key=lambda item: item[0]):
        if not counts or counts[0] <= 0:
            raise ValueError(f"cohort {cohort!r} has no customers in its first period; every cohort starts with the "
                             "customers who first bought in it")
        size = int(counts[0])
        if any(not 0 <= count <= size for count in counts):
            raise ValueError(f"cohort {cohort!r} has more active customers than its {size} members in some period: "
                             f"{list(counts)}; count each customer once per period, in their first-purchase cohort")
        shares = tuple(estimates.proportion(successes=int(count), n=size, min_base=min_base, confidence=confidence)
                       for count in counts)
        rows.append(CohortRow(cohort=cohort, size=size, active=tuple(int(count) for count in counts), shares=shares))
    return tuple(rows)


@dataclass(frozen=True)
class ProfitBlock:
    """Customers next to each other in the ranking by profit, highest first: how many, their summed profit, and
    the lowest and highest profit among them. One customer is a block of one."""

    customers: int
    profit: float
    lowest: float
    highest: float


@dataclass(frozen=True)
class WhalePoint:
    """A point of the whale curve: the most profitable `customer_share` of customers (0..1) earn `profit`,
    `profit_share` of the total (None when the total is not above 0, where a share of it means nothing)."""

    customer_share: float
    profit: float
    profit_share: float | None


@dataclass(frozen=True)
class WhaleCurve:
    """Cumulative profit against cumulative customers, most profitable first (Kaplan & Cooper 1998, "Cost &
    Effect"), from (0, 0) to (1, 1); `peak` is where the unprofitable customers begin."""

    customers: int
    total_profit: float
    points: tuple[WhalePoint, ...]
    peak: WhalePoint


def whale_curve(blocks: Sequence[ProfitBlock]) -> WhaleCurve:
    """The whale curve through the edges of `blocks`, given in ranking order (most profitable first).

    With total profit ≤ 0 the points still give cumulative profit in money, and profit_share is None."""
    customers = sum(block.customers for block in blocks)
    if customers == 0:
        raise ValueError("the whale curve needs at least one customer with revenue; import transactions first")
    if any(later.highest > earlier.lowest for earlier, later in itertools.pairwise(blocks)):
        raise ValueError("give the profit blocks ranked by profit, most profitable first")
    total = math.fsum(block.profit for block in blocks)
    points, running, counted = [WhalePoint(0.0, 0.0, 0.0 if total > 0 else None)], [], 0
    for block in blocks:
        counted += block.customers
        running.append(block.profit)
        profit = math.fsum(running)
        points.append(WhalePoint(counted / customers, profit, profit / total if total > 0 else None))
    if total > 0:  # exactly (1, 1): the running sum ends on the total, and fsum makes it the same number
        points[-1] = WhalePoint(1.0, total, 1.0)
    peak = max(points, key=lambda point: point.profit)
    return WhaleCurve(customers=customers, total_profit=total, points=tuple(points), peak=peak)


@dataclass(frozen=True)
class ProfitDistribution:
    """Profit per customer: the mean with its t interval, the share of customers who lose money (Wilson), the
    extremes, and quantiles read off the block edges (exact for blocks of one customer)."""

    mean: Estimate
    unprofitable: Estimate
    lowest: float
    highest: float
    quantiles: dict[float, float]


def profit_distribution(blocks: Sequence[ProfitBlock], *, total_squares: float, min_base: int = 30,
                        confidence: float = 0.95, probabilities: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 0.9),
                        ) -> ProfitDistribution:
    """The distribution summary of customer profit from ranked blocks and Σ profit² over customers."""
    customers = sum(block.customers for block in blocks)
    if customers == 0:
        raise ValueError("the profit distribution needs at least one customer; import transactions first")
    total = math.fsum(block.profit for block in blocks)
    mean = estimates.mean(n=customers, total=total, total_squares=total_squares, min_base=min_base,
                          confidence=confidence)
    # A block straddles 0 only if its lowest is below 0 and its highest above: the caller cuts blocks at 0.
    losing = sum(block.customers for block in blocks if block.highest < 0)
    unprofitable = estimates.proportion(successes=losing, n=customers, min_base=min_base, confidence=confidence)
    return ProfitDistribution(mean=mean, unprofitable=unprofitable, lowest=min(block.lowest for block in blocks),
                              highest=max(block.highest for block in blocks),
                              quantiles={q: _quantile(blocks, customers, q) for q in probabilities})


def _quantile(blocks: Sequence[ProfitBlock], customers: int, probability: float) -> float:
    """The smallest profit with at least `probability` of customers at or below it (Hyndman & Fan 1996, type 1),
    read as the lowest profit of the block that holds that customer."""
    if not 0.0 < probability < 1.0:
        raise ValueError(f"a quantile's probability lies between 0 and 1 (exclusive), not {probability}")
    rank = customers - math.ceil(probability * customers) + 1  # counted from the most profitable customer
    counted = 0
    for block in blocks:
        counted += block.customers
        if counted >= rank:
            return block.lowest
    return blocks[-1].lowest


@dataclass(frozen=True)
class MarketShare:
    """Our share of a market in %, and whether it is a share of the market's revenue or of its customers."""

    basis: MarketBasis
    estimate: Estimate


def market_share(*, basis: MarketBasis, ours: float, market: float, customers: int, min_base: int = 30,
                 confidence: float = 0.95) -> MarketShare:
    """Our revenue or customers over the market's, in % (Kaplan & Norton 1996, ch. 4, market share).

    A share of customers is a binomial count of the market's customers: a Wilson interval, n = the market's
    customers. A share of revenue is a ratio of two totals, not a sample: no interval, n = our `customers`."""
    if market <= 0:
        raise ValueError(f"the market size is {market:g}; enter the market's {basis} for the period (above 0)")
    if not 0 <= ours <= market:
        raise ValueError(f"our {basis} ({ours:g}) must be between 0 and the market's ({market:g}); check that the "
                         "market size is for the same period and segment")
    if basis == "customers":
        if ours != int(ours) or market != int(market):
            raise ValueError(f"customers are whole numbers, not {ours:g} of {market:g}")
        return MarketShare(basis, estimates.proportion(successes=int(ours), n=int(market), min_base=min_base,
                                                       confidence=confidence))
    if basis == "revenue":
        return MarketShare(basis, Estimate(value=100.0 * ours / market, n=customers, low_base=customers < min_base))
    raise ValueError(f"a market share is of revenue or of customers, not {basis!r}")

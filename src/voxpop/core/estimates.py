"""Customer metrics from sufficient statistics. Pure: counts in, estimates out.

Intervals and significance tests are the metrics engine's work (issue 3); until then an Estimate carries
the value, its base n and the low-base flag, and leaves se and the interval empty rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    value: float | None
    n: int
    low_base: bool
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None


def nps(*, promoters: int, passives: int, detractors: int, min_base: int) -> Estimate:
    """Net Promoter Score, −100..100: % promoters (9–10) − % detractors (0–6); skipped answers are not in n
    (Reichheld 2003, "The One Number You Need to Grow", HBR)."""
    n = promoters + passives + detractors
    value = 100.0 * (promoters - detractors) / n if n else None
    return Estimate(value=value, n=n, low_base=n < min_base)


def top_box(*, top: int, n: int, min_base: int) -> Estimate:
    """Top-box share in %, e.g. CSAT as the share answering 4 or 5 on 1–5 (ACSI/CSAT convention)."""
    value = 100.0 * top / n if n else None
    return Estimate(value=value, n=n, low_base=n < min_base)


def mean(*, n: int, total: float, min_base: int) -> Estimate:
    """Arithmetic mean of a rating, e.g. CES 2.0 on its 1–7 agreement scale."""
    value = total / n if n else None
    return Estimate(value=value, n=n, low_base=n < min_base)

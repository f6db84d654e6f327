"""What scored answers add to the daily rollups: counts by the standard NPS cut points, CES 2.0 agreement and
top two boxes. Pure and light (no numpy, no scipy): an import's parsing process counts with it while the main
process writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

ALL = ""  # the attribute name (and value) of a day's totals
COUNTS = ("n", "total", "total_squares", "promoters", "detractors", "top_two", "agree")
CES2_AGREE_MIN = 5  # "somewhat agree" and above on CES 2.0's 1–7 agreement scale (Dixon et al. 2010)


@dataclass(frozen=True)
class NpsCuts:
    """Where detractors end and promoters begin. Stated, never guessed: a 1–10 recommend question uses
    NpsCuts(low=1, high=10) with the same 0–6 / 9–10 meaning, i.e. detractors 1–6."""

    low: int = 0
    high: int = 10
    detractor_max: int = 6
    promoter_min: int = 9

    def __post_init__(self):
        if not self.low <= self.detractor_max < self.promoter_min <= self.high:
            raise ValueError(
                f"NPS cut points must satisfy low ≤ detractor_max < promoter_min ≤ high, got {self.low}, "
                f"{self.detractor_max}, {self.promoter_min}, {self.high}"
            )


CUTS = NpsCuts()  # the rollups count with the standard cut points; other cuts are computed from the answers
# The three groups as pages name them, with the standard cuts' ranges: "Promoters (9–10)".
NPS_GROUP_LABELS = {
    "promoters": f"Promoters ({CUTS.promoter_min}–{CUTS.high})",
    "passives": f"Passives ({CUTS.detractor_max + 1}–{CUTS.promoter_min - 1})",
    "detractors": f"Detractors ({CUTS.low}–{CUTS.detractor_max})",
}


def score_counts(score: int, scale_max: int, count: int = 1) -> tuple[int, float, float, int, int, int, int]:
    """What `count` answers of `score` add to a rollup row, in the order of COUNTS (n, Σx, Σx², promoters,
    detractors, top two boxes, CES 2.0 agree): the rollups' counting rules, for live and imported answers
    (analysis.rollups states the same rules in Ibis, for a rebuild)."""
    return (count, float(count * score), float(count * score * score), count * (score >= CUTS.promoter_min),
            count * (score <= CUTS.detractor_max), count * (score >= scale_max - 1), count * (score >= CES2_AGREE_MIN))


def counted_rows(scored: Mapping[tuple, int], highs: dict[int, int | None]) -> list[dict[str, Any]]:
    """The rollup increments of counted answers: each (question, day ordinal, score, attribute pairs) adds its
    count to the day's totals and to each of its attribute values; answers without a score add nothing."""
    rows: dict[tuple[int, int, str, str], list[float]] = {}
    for (question_id, day, score, sliced), count in scored.items():
        if score is None:
            continue
        counts = score_counts(score, highs[question_id], count)
        for attribute, value in ((ALL, ALL), *sliced):
            row = rows.setdefault((question_id, day, attribute, value), [0, 0.0, 0.0, 0, 0, 0, 0])
            for index, amount in enumerate(counts):
                row[index] += amount
    return [{"question_id": question_id, "day": date.fromordinal(day), "attribute": attribute, "value": value,
             **dict(zip(COUNTS, counts))}
            for (question_id, day, attribute, value), counts in rows.items()]

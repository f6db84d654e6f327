"""Is a segment different from the rest? Each group against all other groups combined, with Holm's
adjustment across the groups compared at once, so that many segments do not manufacture a "finding"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from voxpop.core import comparisons


def _moments(row: dict[str, Any]) -> tuple[int, float, float]:
    """(n, Σx, Σx²) recovered from a mean's estimate: Σx = x̄·n and Σx² = s²·(n − 1) + (Σx)²/n."""
    n, mean, se = row["n"], row["value"], row["se"] or 0.0
    total = mean * n
    return n, total, se * se * n * (n - 1) + total * total / n


def _test(row: dict[str, Any], rest: list[dict[str, Any]], confidence: float) -> comparisons.Difference | None:
    metric = row["metric"]
    if metric == "nps":
        counts = lambda r: (r["promoters"], r["passives"], r["detractors"])  # noqa: E731
        others = tuple(sum(counts(r)[i] for r in rest) for i in range(3))
        return comparisons.nps_difference(a=counts(row), b=others, confidence=confidence)  # type: ignore[arg-type]
    if metric in ("csat", "ces2.0_agree"):
        successes = lambda r: round(r["value"] * r["n"] / 100)  # noqa: E731 - exact: value is 100·k/n
        return comparisons.proportion_difference(
            a=(successes(row), row["n"]), b=(sum(successes(r) for r in rest), sum(r["n"] for r in rest)),
            confidence=confidence)
    mine, theirs = _moments(row), [_moments(r) for r in rest]
    pooled = (sum(m[0] for m in theirs), sum(m[1] for m in theirs), sum(m[2] for m in theirs))
    if mine[0] < 2 or pooled[0] < 2:
        return None
    return comparisons.mean_difference(a=mine, b=pooled, confidence=confidence)


def against_the_rest(rows: list[dict[str, Any]], *, confidence: float) -> list[dict[str, Any]]:
    """The rows with `vs_rest`, `p_value`, `p_holm` and `significant` added. Groups are compared within the
    same metric and period; a low-base group is shown but not tested (its p-values stay None)."""
    families: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        families[(row["metric"], row.get("period"))].append(row)
    result = []
    for family in families.values():
        tested: list[tuple[dict[str, Any], comparisons.Difference]] = []
        for row in family:
            rest = [other for other in family if other is not row and other["n"]]
            if row["n"] and not row["low_base"] and sum(other["n"] for other in rest) >= 2:
                difference = _test(row, rest, confidence)
                if difference is not None:
                    tested.append((row, difference))
        adjusted = comparisons.holm([difference.p_value for _, difference in tested])
        found = {id(row): (difference, p_holm) for (row, difference), p_holm in zip(tested, adjusted)}
        for row in family:
            difference, p_holm = found.get(id(row), (None, None))
            result.append(row | {
                "vs_rest": difference.difference if difference else None,
                "p_value": difference.p_value if difference else None,
                "p_holm": p_holm,
                "significant": bool(difference and p_holm < 1 - confidence),
            })
    return result

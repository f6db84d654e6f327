"""Segments against the rest, with Holm's adjustment."""

import pytest

from voxpop.analysis.compare import against_the_rest
from voxpop.core import estimates


def nps_row(segment, promoters, passives, detractors):
    estimate = estimates.nps(promoters=promoters, passives=passives, detractors=detractors, min_base=30)
    return {"segment": segment, "metric": "nps", "value": estimate.value, "n": estimate.n, "se": estimate.se,
            "low_base": estimate.low_base, "promoters": promoters, "passives": passives, "detractors": detractors}


def test_two_segments_reproduce_the_reference_and_holm_doubles_p():
    # NPS 30 (n=200) against 16 (n=250): p ≈ 0.067 each way; Holm over the two tests gives 0.133.
    rows = against_the_rest([nps_row("a", 100, 60, 40), nps_row("b", 110, 70, 70)], confidence=0.95)
    assert [round(row["p_value"], 3) for row in rows] == [0.067, 0.067]
    assert [round(row["p_holm"], 3) for row in rows] == [0.133, 0.133]
    assert not any(row["significant"] for row in rows)
    assert rows[0]["vs_rest"] == pytest.approx(14.0)


def test_a_low_base_segment_is_shown_but_not_tested():
    rows = against_the_rest([nps_row("a", 100, 60, 40), nps_row("b", 110, 70, 70), nps_row("tiny", 5, 0, 0)],
                            confidence=0.95)
    tiny = rows[-1]
    assert tiny["p_holm"] is None and not tiny["significant"] and tiny["value"] == 100.0


def test_means_recover_their_moments_from_the_estimate():
    from scipy import stats

    a, b = [5, 6, 7, 4, 6, 7, 7, 3, 6] * 4, [4, 3, 5, 4, 2, 5, 3] * 5
    rows = []
    for name, scores in (("a", a), ("b", b)):
        estimate = estimates.mean(n=len(scores), total=sum(scores), total_squares=sum(x * x for x in scores), min_base=30)
        rows.append({"g": name, "metric": "mean", "value": estimate.value, "n": estimate.n, "se": estimate.se,
                     "low_base": estimate.low_base})
    compared = against_the_rest(rows, confidence=0.95)
    assert compared[0]["p_value"] == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue)

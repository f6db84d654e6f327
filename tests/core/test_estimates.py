from hypothesis import given
from hypothesis import strategies as st

from voxpop.core import estimates


def test_nps_reference_example():
    # Reichheld's definition: 50% promoters and 20% detractors give an NPS of +30.
    estimate = estimates.nps(promoters=50, passives=30, detractors=20, min_base=30)
    assert estimate.value == 30.0
    assert estimate.n == 100
    assert not estimate.low_base


def test_nps_with_no_answers_has_no_value():
    estimate = estimates.nps(promoters=0, passives=0, detractors=0, min_base=30)
    assert estimate.value is None and estimate.n == 0 and estimate.low_base


def test_low_base_below_minimum():
    assert estimates.top_box(top=10, n=29, min_base=30).low_base
    assert not estimates.top_box(top=10, n=30, min_base=30).low_base


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_nps_is_within_bounds_and_antisymmetric(promoters, passives, detractors):
    forward = estimates.nps(promoters=promoters, passives=passives, detractors=detractors, min_base=1)
    backward = estimates.nps(promoters=detractors, passives=passives, detractors=promoters, min_base=1)
    if forward.n:
        assert -100.0 <= forward.value <= 100.0
        assert forward.value == -backward.value


@given(st.lists(st.integers(0, 10), min_size=1, max_size=200))
def test_nps_from_counts_equals_per_answer_average(scores):
    # The aggregate equals the mean of the per-answer scores +100 / 0 / −100.
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    estimate = estimates.nps(promoters=promoters, passives=len(scores) - promoters - detractors,
                             detractors=detractors, min_base=1)
    per_answer = [100 if score >= 9 else -100 if score <= 6 else 0 for score in scores]
    assert abs(estimate.value - sum(per_answer) / len(per_answer)) < 1e-9


def test_mean():
    assert estimates.mean(n=4, total=22, min_base=1).value == 5.5

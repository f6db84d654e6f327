import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from voxpop.core import scoring
from voxpop.core.formula import FormulaError
from voxpop.core.scoring import StatusRule

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)

# The anchors' printed vectors (issue 15, "Scoring, exactly as the anchors document it")


def test_linear_bsc_designer_vector():
    assert scoring.linear(50, minimum=0, maximum=200) == 25.0


def test_linear_minimise_bsc_designer_vector():
    assert scoring.linear(5, minimum=0, maximum=20, direction="down") == 75.0


def test_progress_bsc_designer_vector():
    assert f"{scoring.progress(16, baseline=15, target=45):.2f}" == "3.33"


def test_progress_lower_is_better_vector():
    assert scoring.progress(7, baseline=10, target=4) == 50.0


@pytest.mark.parametrize(("value", "shown"), [(300, "0.00"), (500, "3.33"), (700, "6.67"), (900, "10.00")])
def test_goal_red_flag_spider_impact_vector(value, shown):
    assert f"{scoring.goal_red_flag(value, goal=700, red_flag=500):.2f}" == shown


@pytest.mark.parametrize(("value", "shown"), [(250_000, "0.00"), (255_000, "3.33"), (257_500, "5.00"),
                                              (260_000, "6.67"), (265_000, "10.00")])
def test_goal_red_flag_revenue_vector(value, shown):
    assert f"{scoring.goal_red_flag(value, goal=260_000, red_flag=255_000):.2f}" == shown


CLEARPOINT = (
    StatusRule(when="actual >= target", status="above target", colour="green"),
    StatusRule(when="actual >= 0.9 * target", status="caution", colour="amber"),
    StatusRule(when="otherwise", status="below plan", colour="red"),
)


@pytest.mark.parametrize(("actual", "status", "colour"), [
    (100, "above target", "green"), (120, "above target", "green"), (90, "caution", "amber"),
    (95, "caution", "amber"), (89.99, "below plan", "red"), (0, "below plan", "red"),
])
def test_clearpoint_ordered_rules(actual, status, colour):
    rule = scoring.status_by_rules(actual=actual, target=100, rules=CLEARPOINT)
    assert (rule.status, rule.colour) == (status, colour)


def test_roll_up_vector():
    assert f"{scoring.roll_up([65, 75], [2, 1]):.2f}" == "68.33"


def test_roll_up_leaves_children_without_data_out_of_the_weights():
    assert f"{scoring.roll_up([65, None, 75], [2, 5, 1]):.2f}" == "68.33"
    assert scoring.roll_up([40, None], [1, 1]) == 40.0  # not (40 + 0) / 2


def test_roll_up_all_without_data_is_none():
    assert scoring.roll_up([None, None], [1, 2]) is None
    assert scoring.roll_up([], []) is None


# Stabilise, yes/no, bounds, colours, noise


@pytest.mark.parametrize(("value", "score"), [(20, 100.0), (25, 100.0), (30, 100.0), (15, 50.0), (10, 0.0),
                                              (0, 0.0), (35, 50.0), (40, 0.0), (99, 0.0)])
def test_stabilise_is_best_in_the_band(value, score):
    assert scoring.stabilise(value, low=20, high=30, minimum=10, maximum=40) == score


def test_stabilise_with_a_single_best_value():
    assert scoring.stabilise(5, low=5, high=5, minimum=0, maximum=10) == 100.0
    assert scoring.stabilise(7.5, low=5, high=5, minimum=0, maximum=10) == 50.0


def test_yes_no():
    assert scoring.yes_no(1) == 100.0
    assert scoring.yes_no(True) == 100.0
    assert scoring.yes_no(0) == 0.0
    with pytest.raises(ValueError, match="takes 1 \\(yes\\) or 0 \\(no\\), not 0.5"):
        scoring.yes_no(0.5)


def test_linear_and_progress_are_unclamped_and_bounded_clamps():
    assert scoring.linear(300, minimum=0, maximum=200) == 150.0
    assert scoring.progress(60, baseline=15, target=45) == 150.0
    assert scoring.progress(10, baseline=15, target=45) < 0
    assert scoring.bounded(150.0) == 100.0
    assert scoring.bounded(-20.0) == 0.0
    assert scoring.bounded(42.5) == 42.5


@pytest.mark.parametrize(("score", "colour"), [
    (None, "none"), (0, "red"), (33.32, "red"), (33.33, "amber"), (50, "amber"), (66.66, "amber"),
    (66.67, "green"), (100, "green"),
])
def test_colour_thresholds(score, colour):
    assert scoring.colour(score) == colour


def test_goal_red_flag_colours_on_the_scale_rolled_up_by_ten():
    # Spider Impact: at the red flag the measure leaves red; at the goal it is green.
    assert scoring.colour(10 * scoring.goal_red_flag(500, goal=700, red_flag=500)) == "amber"
    assert scoring.colour(10 * scoring.goal_red_flag(499, goal=700, red_flag=500)) == "red"
    assert scoring.colour(10 * scoring.goal_red_flag(700, goal=700, red_flag=500)) == "green"


def test_within_noise_is_inclusive_and_false_without_an_interval():
    assert scoring.within_noise(target=40, ci_low=35, ci_high=45)
    assert scoring.within_noise(target=35, ci_low=35, ci_high=45)
    assert scoring.within_noise(target=45, ci_low=35, ci_high=45)
    assert not scoring.within_noise(target=46, ci_low=35, ci_high=45)
    assert not scoring.within_noise(target=40, ci_low=None, ci_high=None)
    assert not scoring.within_noise(target=None, ci_low=35, ci_high=45)


# Degenerate inputs are sentences


@pytest.mark.parametrize(("call", "words"), [
    (lambda: scoring.linear(1, minimum=5, maximum=5), "maximum different from the minimum"),
    (lambda: scoring.linear(1, minimum=0, maximum=5, direction="middle"), "direction 'up' or 'down'"),
    (lambda: scoring.progress(1, baseline=4, target=4), "target different from the baseline"),
    (lambda: scoring.goal_red_flag(1, goal=3, red_flag=3), "goal different from the red flag"),
    (lambda: scoring.stabilise(1, low=30, high=20, minimum=0, maximum=40), "minimum < low ≤ high < maximum"),
    (lambda: scoring.stabilise(1, low=0, high=20, minimum=0, maximum=40), "minimum < low ≤ high < maximum"),
    (lambda: scoring.roll_up([1, 2], [1]), "one weight per score"),
    (lambda: scoring.roll_up([1, 2], [1, -1]), "zero or more"),
])
def test_degenerate_inputs_raise_a_sentence(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# Status rules


def test_status_rules_none_hold_or_no_actual():
    rules = CLEARPOINT[:2]
    assert scoring.status_by_rules(actual=50, target=100, rules=rules) is None
    assert scoring.status_by_rules(actual=None, target=100, rules=CLEARPOINT) is None


def test_status_rules_pass_over_a_rule_that_needs_a_missing_target_or_divides_by_zero():
    rules = (StatusRule(when="actual / target >= 1", status="on target", colour="green"),
             StatusRule(when="actual >= 50", status="half way", colour="amber"))
    assert scoring.status_by_rules(actual=60, target=None, rules=rules).status == "half way"
    assert scoring.status_by_rules(actual=60, target=0, rules=rules).status == "half way"


def test_status_rule_reads_only_actual_and_target():
    with pytest.raises(FormulaError, match="reads 'budget'; a rule can read only actual and target"):
        StatusRule(when="actual >= budget", status="x", colour="green")


def test_status_rule_refuses_an_unknown_colour_or_an_empty_status():
    with pytest.raises(ValueError, match="colour 'purple'"):
        StatusRule(when="actual >= target", status="x", colour="purple")
    with pytest.raises(ValueError, match="needs a status in words"):
        StatusRule(when="actual >= target", status=" ", colour="green")


# Properties


@given(finite, finite, finite, finite)
def test_linear_is_monotone_in_the_value(a, b, edge, other_edge):
    minimum, maximum = sorted((edge, other_edge))
    assume(maximum - minimum > 1e-3)
    low, high = sorted((a, b))
    up = [scoring.linear(v, minimum=minimum, maximum=maximum) for v in (low, high)]
    down = [scoring.linear(v, minimum=minimum, maximum=maximum, direction="down") for v in (low, high)]
    assert up[0] <= up[1]
    assert down[0] >= down[1]


@given(finite, finite)
def test_progress_is_0_at_the_baseline_and_100_at_the_target(baseline, target):
    assume(baseline != target)
    assert scoring.progress(baseline, baseline=baseline, target=target) == 0.0
    assert scoring.progress(target, baseline=baseline, target=target) == pytest.approx(100.0)


@given(finite, finite)
@example(goal=0.0, red_flag=5e-324)  # the ratio is taken first, so a tiny span cannot round the score away
def test_goal_red_flag_is_a_third_at_the_red_flag_and_two_thirds_at_the_goal(goal, red_flag):
    assume(goal != red_flag)
    assert scoring.goal_red_flag(red_flag, goal=goal, red_flag=red_flag) == pytest.approx(10 / 3)
    assert scoring.goal_red_flag(goal, goal=goal, red_flag=red_flag) == pytest.approx(20 / 3)


@given(st.lists(st.tuples(st.one_of(st.none(), st.floats(-1e6, 1e6)), st.floats(0.01, 100)), min_size=1))
def test_roll_up_lies_between_the_children_with_data_and_ignores_none(children):
    scores = [score for score, _ in children]
    weights = [weight for _, weight in children]
    result = scoring.roll_up(scores, weights)
    with_data = [(score, weight) for score, weight in children if score is not None]
    if not with_data:
        assert result is None
        return
    values = [score for score, _ in with_data]
    assert min(values) - 1e-6 <= result <= max(values) + 1e-6
    assert result == pytest.approx(scoring.roll_up(values, [weight for _, weight in with_data]))

"""Raking against Wikipedia's published iterative proportional fitting example, its invariants (hypothesis), its
errors, trimming, and Kish's effective sample size and design effect."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.core.raking import RakingError, design_effect, effective_sample_size, rake

# Wikipedia, "Iterative proportional fitting", section Example (the article as of 2024; the same table is in the
# ipfn package's README): the seed table x1..x4 × y1..y4, row targets 150, 300, 400, 150 and column targets 200,
# 300, 400, 100, and the published table after three iterations (a row step then a column step each).
SEED = [[40, 30, 20, 10], [35, 50, 100, 75], [30, 80, 70, 120], [20, 30, 40, 50]]
ROW_TARGETS = {"x1": 150, "x2": 300, "x3": 400, "x4": 150}
COLUMN_TARGETS = {"y1": 200, "y2": 300, "y3": 400, "y4": 100}
PUBLISHED = [[64.61, 46.28, 35.42, 3.83], [49.95, 68.15, 156.49, 25.37], [56.70, 144.40, 145.06, 53.76],
             [28.74, 41.18, 63.03, 17.03]]


def _cells():
    """The table as 16 units, one per cell, whose design weight is the cell's seed value."""
    rows, columns, seed = [], [], []
    for i, values in enumerate(SEED):
        for j, value in enumerate(values):
            rows.append(f"x{i + 1}")
            columns.append(f"y{j + 1}")
            seed.append(value)
    return {"row": rows, "column": columns}, seed


def test_reproduces_wikipedias_published_ipf_example():
    """Wikipedia's fitted table after three iterations: 64.61, 46.28, 35.42, 3.83 / 49.95, 68.15, 156.49, 25.37 /
    56.70, 144.40, 145.06, 53.76 / 28.74, 41.18, 63.03, 17.03. Its largest gap (row x1: 150.14 against 150) is
    1.4 per 10,000 of the total, after two iterations 1.9 per 1,000: a tolerance between stops at three."""
    categories, seed = _cells()
    raked = rake(categories, {"row": ROW_TARGETS, "column": COLUMN_TARGETS}, design_weights=seed, tolerance=5e-4)
    assert raked.iterations == 3
    np.testing.assert_allclose(raked.weights.reshape(4, 4), PUBLISHED, atol=0.005)


def test_converged_example_meets_both_margins():
    categories, seed = _cells()
    raked = rake(categories, {"row": ROW_TARGETS, "column": COLUMN_TARGETS}, design_weights=seed, tolerance=1e-10)
    table = raked.weights.reshape(4, 4)
    np.testing.assert_allclose(table.sum(axis=1), list(ROW_TARGETS.values()), rtol=1e-9)
    np.testing.assert_allclose(table.sum(axis=0), list(COLUMN_TARGETS.values()), rtol=1e-9)
    # Raking keeps the seed's odds ratios (Deming & Stephan 1940): the fitted table is P·Z·Q.
    ratio = lambda t: t[0][0] * t[1][1] / (t[0][1] * t[1][0])  # noqa: E731
    assert ratio(table) == pytest.approx(ratio(np.array(SEED, dtype=float)))
    assert table[0] == pytest.approx([64.56, 46.23, 35.38, 3.82], abs=0.005)


@st.composite
def feasible(draw):
    """Random units on two or three variables, with targets built from a random positive weighting of those units
    (so a solution exists), in proportions that differ from the sample's."""
    units = draw(st.integers(min_value=4, max_value=60))
    variables = draw(st.integers(min_value=1, max_value=3))
    categories = {}
    for v in range(variables):
        size = draw(st.integers(min_value=1, max_value=4))
        labels = draw(st.lists(st.integers(min_value=0, max_value=size - 1), min_size=units, max_size=units))
        categories[f"v{v}"] = [f"c{label}" for label in labels]
    truth = np.array(draw(st.lists(st.floats(min_value=0.2, max_value=5.0), min_size=units, max_size=units)))
    targets = {name: {label: float(truth[[x == label for x in labels]].sum()) for label in set(labels)}
               for name, labels in categories.items()}
    return categories, targets, float(truth.sum())


@settings(max_examples=60, deadline=None)
@given(feasible())
def test_every_weighted_margin_equals_its_target(case):
    categories, targets, total = case
    raked = rake(categories, targets, tolerance=1e-9, max_iterations=5000)
    assert np.all(raked.weights > 0)
    assert raked.weights.sum() == pytest.approx(total, rel=1e-7)
    for name, labels in categories.items():
        for label, target in targets[name].items():
            reached = raked.weights[[x == label for x in labels]].sum()
            assert reached == pytest.approx(target, rel=1e-6, abs=1e-6 * total)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=100.0), min_size=1, max_size=50))
def test_kish_effective_n_is_at_most_n_and_equal_weights_give_n(weights):
    n = len(weights)
    assert 0 < effective_sample_size(weights) <= n * (1 + 1e-9)
    assert design_effect(weights) >= 1 - 1e-9
    assert effective_sample_size([weights[0]] * n) == pytest.approx(n)


def test_kish_by_hand():
    # Weights 1, 1, 2, 4: (Σw)² / Σw² = 64 / 22 = 2.909; deff = 4 / 2.909 = 1.375 = 1 + CV² (CV² = 0.375).
    assert effective_sample_size([1, 1, 2, 4]) == pytest.approx(64 / 22)
    assert design_effect([1, 1, 2, 4]) == pytest.approx(1.375)
    assert 1 + np.var([1, 1, 2, 4]) / np.mean([1, 1, 2, 4]) ** 2 == pytest.approx(1.375)


def test_one_variable_is_post_stratification():
    raked = rake({"segment": ["a", "a", "a", "b"]}, {"segment": {"a": 50, "b": 50}})
    assert raked.weights.tolist() == pytest.approx([50 / 3, 50 / 3, 50 / 3, 50])
    assert raked.iterations == 1


def test_shares_rescaled_to_a_total():
    raked = rake({"segment": ["a", "a", "b", "b"]}, {"segment": {"a": 0.25, "b": 0.75}}, total=4)
    assert raked.weights.tolist() == pytest.approx([0.5, 0.5, 1.5, 1.5])


def test_cap_trims_and_reraked_weights_still_meet_the_margins():
    segment = ["a"] * 18 + ["b"] * 2
    region = ["n", "s"] * 10
    targets = {"segment": {"a": 10, "b": 10}, "region": {"n": 10, "s": 10}}
    loose = rake({"segment": segment, "region": region}, targets)
    assert loose.weights.max() / loose.weights.mean() == pytest.approx(5.0)
    with pytest.raises(RakingError, match="cap"):
        rake({"segment": segment, "region": region}, targets, cap=3, max_iterations=200)
    capped_targets = {"segment": {"a": 14, "b": 6}, "region": {"n": 10, "s": 10}}
    capped = rake({"segment": segment, "region": region}, capped_targets, cap=3.5)
    assert capped.weights.max() <= 3.5 * capped.weights.mean() * (1 + 1e-6)
    assert capped.weights[18:].sum() == pytest.approx(6, rel=1e-5)


@pytest.mark.parametrize(("categories", "targets", "message"), [
    ({"segment": ["a", "a"]}, {"segment": {"a": 5, "b": 5}}, "segment 'b' has no respondents"),
    ({"segment": ["a", "c"]}, {"segment": {"a": 5}}, "segment 'c' has units but no target"),
    ({"segment": ["a", "b"], "region": ["n", "s"]}, {"segment": {"a": 5, "b": 5}, "region": {"n": 5, "s": 6}},
     "do not sum alike"),
    ({"segment": ["a", "b"]}, {"segment": {"a": 5, "b": 0}}, "target of 0"),
    ({"segment": ["a", "b"]}, {"region": {"n": 1}}, "no unit has a value for 'region'"),
])
def test_infeasible_margins_are_refused_in_words(categories, targets, message):
    with pytest.raises(RakingError, match=message):
        rake(categories, targets)


def test_non_convergence_names_the_largest_gap():
    # Two units, both a×n and b×s: the margins a=1, n=2 cannot both hold.
    categories = {"segment": ["a", "b"], "region": ["n", "s"]}
    with pytest.raises(RakingError, match=r"largest remaining gap is .* on (segment|region)"):
        rake(categories, {"segment": {"a": 1, "b": 2}, "region": {"n": 2, "s": 1}}, max_iterations=50)


def test_design_weights_are_the_start():
    raked = rake({"segment": ["a", "a", "b"]}, {"segment": {"a": 4, "b": 1}}, design_weights=[1, 3, 2])
    assert raked.weights.tolist() == pytest.approx([1, 3, 1])
    with pytest.raises(RakingError, match="positive"):
        rake({"segment": ["a"]}, {"segment": {"a": 1}}, design_weights=[0])

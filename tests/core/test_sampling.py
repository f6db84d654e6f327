"""Proportional allocation by largest remainder, and seeded simple random samples."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core.sampling import proportional_allocation, simple_random_sample, stratified_sample


def test_hamilton_reproduces_the_alabama_paradox():
    # Hamilton's method's best-known property, the Alabama paradox (a stratum can lose a unit when the total
    # grows), worked by hand: strata of 6, 6, 2 have quotas 4.29, 4.29, 1.43 of 10 (floors 4, 4, 1, the spare
    # unit to the largest remainder, C's .43), and 4.71, 4.71, 1.57 of 11 (floors 4, 4, 1, spares to A and B).
    assert proportional_allocation({"A": 6, "B": 6, "C": 2}, 10) == {"A": 4, "B": 4, "C": 2}
    assert proportional_allocation({"A": 6, "B": 6, "C": 2}, 11) == {"A": 5, "B": 5, "C": 1}


def test_the_published_hare_quota_example_of_the_largest_remainder_method():
    # Wikipedia, "Largest remainder method", worked example with the Hare quota: 100,000 votes, 10 seats.
    votes = {"Yellows": 47_000, "Whites": 16_000, "Reds": 15_800, "Greens": 12_000, "Blues": 6_100, "Pinks": 3_100}
    assert proportional_allocation(votes, 10) == {"Yellows": 5, "Whites": 2, "Reds": 1, "Greens": 1, "Blues": 1,
                                                  "Pinks": 0}


def test_exact_quotas_are_not_rounded_away():
    # 3·(1/3)·... as floats is 0.999...; the exact fraction gives each stratum its 1.
    assert proportional_allocation({"a": 1, "b": 1, "c": 1}, 3) == {"a": 1, "b": 1, "c": 1}
    assert proportional_allocation({"consumer": 700, "business": 200, "premium": 100}, 150) == {
        "consumer": 105, "business": 30, "premium": 15}


def test_sizes_outside_the_strata_are_refused():
    with pytest.raises(ValueError):
        proportional_allocation({"a": 2}, 3)
    with pytest.raises(ValueError):
        proportional_allocation({"a": 2}, -1)
    with pytest.raises(ValueError):
        simple_random_sample([1, 2], 3, seed=1)


strata_sizes = st.dictionaries(st.text(min_size=1, max_size=5), st.integers(0, 500), min_size=1, max_size=8)


@given(strata_sizes, st.data())
def test_allocation_sums_to_n_each_within_one_of_its_share_and_never_above_the_stratum(strata, data):
    total = sum(strata.values())
    size = data.draw(st.integers(0, total))
    allocation = proportional_allocation(strata, size)
    assert sum(allocation.values()) == size
    for name, count in strata.items():
        share = size * count / total if total else 0
        assert abs(allocation[name] - share) < 1
        assert 0 <= allocation[name] <= count


@given(st.sets(st.integers(1, 10_000), max_size=300), st.integers(0, 2**31), st.data())
def test_a_seed_draws_the_same_sample_whatever_order_the_ids_come_in(ids, seed, data):
    size = data.draw(st.integers(0, len(ids)))
    shuffled = list(ids)
    random.Random(seed).shuffle(shuffled)
    drawn = simple_random_sample(sorted(ids), size, seed=seed)
    assert drawn == simple_random_sample(shuffled, size, seed=seed)
    assert len(drawn) == size == len(set(drawn)) and set(drawn) <= ids


def test_strata_are_drawn_independently_and_proportionally():
    strata = {"a": range(0, 600), "b": range(1000, 1300), "c": range(2000, 2100)}
    drawn = stratified_sample(strata, 100, seed=7)
    assert {name: len(ids) for name, ids in drawn.items()} == {"a": 60, "b": 30, "c": 10}
    assert drawn == stratified_sample({name: list(reversed(ids)) for name, ids in strata.items()}, 100, seed=7)
    assert drawn != stratified_sample(strata, 100, seed=8)
    assert drawn["c"] == stratified_sample({"c": strata["c"], "a": strata["a"], "b": strata["b"]}, 100, seed=7)["c"]

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core import spc


def zone_chart(values, sigma=1.0):
    """A chart centred on 0 with the given sigma per point, to put points in the rules' zones by hand."""
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (len(values),))
    return spc.ControlChart(chart="test", values=tuple(float(v) for v in values), centre=(0.0,) * len(values),
                            lower=tuple((-3 * sigma).tolist()), upper=tuple((3 * sigma).tolist()),
                            sigma=tuple(sigma.tolist()))


def fired(signals, rule_id):
    return [signal for signal in signals if signal.rule.id == rule_id]


# Reference values


@given(st.integers(0, 2**32 - 1))
def test_p_chart_reference_any_split_of_347_in_30_subgroups_of_50(seed):
    # Montgomery's ch. 7 example figures: 347 nonconforming in 1,500 units, 30 subgroups of 50.
    positions = np.random.default_rng(seed).choice(1500, size=347, replace=False)
    nonconforming = np.bincount(positions // 50, minlength=30)
    chart = spc.p_chart(nonconforming=nonconforming.tolist(), sizes=[50] * 30)
    assert {round(c, 5) for c in chart.centre} == {0.23133}
    assert {round(u, 5) for u in chart.upper} == {0.41024}
    assert {round(lo, 5) for lo in chart.lower} == {0.05243}


def test_xmr_reference():
    chart = spc.xmr_chart(observations=[10, 12, 11, 14, 13])
    assert chart.individuals.centre == (12.0,) * 5
    assert round(chart.individuals.upper[0], 3) == 16.654
    assert round(chart.individuals.lower[0], 3) == 7.346
    # Moving ranges 2, 1, 3, 1: MR̄ 1.75, upper D4·MR̄ = 3.267 · 1.75.
    assert chart.moving_range.values == (2.0, 1.0, 3.0, 1.0)
    assert chart.moving_range.centre[0] == 1.75
    assert chart.moving_range.upper[0] == pytest.approx(5.71725)
    assert chart.moving_range.lower[0] == 0.0


def test_u_chart_by_hand():
    # ū = 48 / 16 = 3; limits 3 ± 3√(3/nᵢ).
    chart = spc.u_chart(nonconformities=[10, 14, 6, 18], units=[4, 4, 2, 6])
    assert chart.values == (2.5, 3.5, 3.0, 3.0)
    assert chart.centre == (3.0,) * 4
    assert chart.upper == pytest.approx([5.598076, 5.598076, 6.674235, 5.121320])
    assert chart.lower == pytest.approx([0.401924, 0.401924, 0.0, 0.878680])  # 3 − 3.674 is clipped at 0


def test_nps_chart_by_hand():
    # Pooled: 65 promoters and 40 detractors in 150 answers, so pP = 0.43333, pD = 0.26667 and NPS 16.667;
    # the trinomial variance per answer is 0.43333 + 0.26667 − 0.16667² = 0.672222.
    chart = spc.nps_chart(promoters=[50, 15], passives=[30, 15], detractors=[20, 20])
    assert chart.values == pytest.approx([30.0, -10.0])
    assert chart.centre == pytest.approx([16.666667] * 2)
    se = [100 * math.sqrt(0.672222 / 100), 100 * math.sqrt(0.672222 / 50)]  # 8.1989 and 11.5950
    assert chart.sigma == pytest.approx(se, rel=1e-5)
    assert chart.upper == pytest.approx([41.2634, 51.4518], rel=1e-5)
    assert chart.lower == pytest.approx([-7.9301, -18.1184], rel=1e-4)


def test_variable_limits_judge_each_point_by_its_own_size():
    # 0.30 in a subgroup of 100 is inside its wide limits; 0.25 in a subgroup of 1,000 is beyond its narrow ones.
    chart = spc.p_chart(nonconforming=[200] * 9 + [30, 250], sizes=[1000] * 9 + [100, 1000])
    assert chart.upper[9] > 0.30 and chart.upper[10] < 0.25
    assert [signal.points for signal in fired(spc.nelson_signals(chart=chart), "nelson-1")] == [(10,)]


def test_a_clipped_limit_keeps_the_unclipped_sigma():
    chart = spc.p_chart(nonconforming=[9, 9], sizes=[10, 10])
    assert chart.upper == (1.0, 1.0)
    assert chart.sigma[0] == pytest.approx(math.sqrt(0.9 * 0.1 / 10))


# Laney's p′ chart


def test_laney_matches_the_p_chart_on_binomial_data():
    rng = np.random.default_rng(7)
    sizes = [2000] * 40
    nonconforming = rng.binomial(sizes, 0.2).tolist()
    p, laney = (chart(nonconforming=nonconforming, sizes=sizes) for chart in (spc.p_chart, spc.laney_p_chart))
    sigma_z = spc.laney_sigma_z(nonconforming=nonconforming, sizes=sizes)
    assert 0.8 < sigma_z < 1.2
    assert laney.centre == p.centre
    assert np.subtract(laney.upper, laney.centre) == pytest.approx(sigma_z * np.subtract(p.upper, p.centre))
    assert not spc.laney_advisable(nonconforming=nonconforming, sizes=sizes)


def test_laney_widens_when_overdispersed():
    # The true share drifts between subgroups (sd 0.03) far more than binomial noise at n = 2000 (sd 0.009).
    rng = np.random.default_rng(7)
    sizes = [2000] * 40
    nonconforming = rng.binomial(sizes, rng.normal(0.2, 0.03, size=40)).tolist()
    p, laney = (chart(nonconforming=nonconforming, sizes=sizes) for chart in (spc.p_chart, spc.laney_p_chart))
    assert spc.laney_sigma_z(nonconforming=nonconforming, sizes=sizes) > 2
    assert all(wide > narrow for wide, narrow in zip(laney.upper, p.upper))
    assert spc.laney_advisable(nonconforming=nonconforming, sizes=sizes)
    assert len(fired(spc.nelson_signals(chart=p), "nelson-1")) > len(fired(spc.nelson_signals(chart=laney), "nelson-1"))


def test_laney_advice_rarely_fires_on_binomial_data():
    rng = np.random.default_rng(11)
    sizes = [500] * 30
    advised = [spc.laney_advisable(nonconforming=rng.binomial(sizes, 0.1).tolist(), sizes=sizes) for _ in range(300)]
    assert sum(advised) / len(advised) < 0.10


# Run rules: each fires on a minimal series and not on one that just misses it

RULE_CASES = [
    ("nelson-1", [3.5], [3.0], "up"),  # exactly 3σ is not beyond it
    ("nelson-2", [0.5] * 9, [-0.5] + [0.5] * 8 + [-0.5], "up"),
    ("nelson-3", [-1, -0.5, 0, 0.5, 1, 1.5], [-1, -0.5, 0, 0.5, 1, 1], "up"),  # a tie breaks the trend
    ("nelson-4", [0.5, -0.5] * 7, [0.5, -0.5] * 6 + [0.5], None),
    ("nelson-5", [2.5, 0, 2.5], [2.5, 0, 0, 2.5], "up"),
    ("nelson-6", [1.5, 1.5, 0, 1.5, 1.5], [1.5, 1.5, 0, 0, 1.5, 1.5], "up"),
    ("nelson-7", [0.5, -0.5] * 7 + [0.5], [0.5, -0.5] * 7 + [1.5], None),
    ("nelson-8", [1.5, -1.5] * 4, [1.5, -1.5] * 3 + [1.5, 0.5], None),
    ("we-1", [3.5], [3.0], "up"),
    ("we-2", [2.5, 0, 2.5], [2.5, 0, -2.5], "up"),  # opposite sides do not count together
    ("we-3", [1.5, 1.5, 0, 1.5, 1.5], [1.5, 1.5, 0, 0, 1.5, 1.5], "up"),
    ("we-4", [0.5] * 8, [0.5] * 7 + [0, 0.5], "up"),  # a point on the centre line is on neither side
]


def all_signals(chart):
    return spc.nelson_signals(chart=chart) + spc.western_electric_signals(chart=chart)


@pytest.mark.parametrize(("rule_id", "fires", "misses", "direction"), RULE_CASES)
def test_rule_fires_on_minimal_series_and_not_on_a_near_miss(rule_id, fires, misses, direction):
    signals = fired(all_signals(zone_chart(fires)), rule_id)
    assert [(signal.points, signal.direction) for signal in signals] == [(tuple(range(len(fires))), direction)]
    assert fired(all_signals(zone_chart(misses)), rule_id) == []


def test_every_rule_has_a_case():
    assert {rule.id for rule in spc.NELSON_RULES + spc.WESTERN_ELECTRIC_RULES} == {case[0] for case in RULE_CASES}


def test_a_falling_trend_points_down():
    [signal] = fired(spc.nelson_signals(chart=zone_chart([1.5, 1, 0.5, 0, -0.5, -1])), "nelson-3")
    assert signal.direction == "down" and signal.points == (0, 1, 2, 3, 4, 5)


def test_a_long_run_is_one_signal_and_separate_points_are_separate_signals():
    [run] = fired(spc.nelson_signals(chart=zone_chart([0.5] * 12)), "nelson-2")
    assert run.points == tuple(range(12))
    outliers = fired(spc.nelson_signals(chart=zone_chart([4, 0, -4])), "nelson-1")
    assert [(signal.points, signal.direction) for signal in outliers] == [((0,), "up"), ((2,), "down")]


def test_rules_scale_with_each_points_sigma():
    # 2.5 is beyond 2σ where σ = 1 but not where σ = 2.
    assert fired(spc.nelson_signals(chart=zone_chart([2.5, 0, 2.5], sigma=[1, 1, 1])), "nelson-5")
    assert not fired(spc.nelson_signals(chart=zone_chart([2.5, 0, 2.5], sigma=[1, 1, 2])), "nelson-5")


# Input errors users meet


@pytest.mark.parametrize(("call", "message"), [
    (lambda: spc.p_chart(nonconforming=[3, 60], sizes=[50, 50]), "subgroup 1 has 60 nonconforming out of 50"),
    (lambda: spc.p_chart(nonconforming=[0, 1], sizes=[50, 0]), "subgroup 1 has size 0"),
    (lambda: spc.p_chart(nonconforming=[1, 2], sizes=[50]), "same length"),
    (lambda: spc.u_chart(nonconformities=[-1], units=[2]), "subgroup 0 has -1 nonconformities"),
    (lambda: spc.laney_p_chart(nonconforming=[3], sizes=[50]), "at least 2 subgroups"),
    (lambda: spc.xmr_chart(observations=[1.0]), "at least 2 observations"),
    (lambda: spc.nps_chart(promoters=[1, 2], passives=[1], detractors=[1, 2]), "same length"),
    (lambda: spc.nps_chart(promoters=[0], passives=[0], detractors=[0]), "subgroup 0 has answers 0"),
])
def test_bad_input_is_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# Properties

subgroups = st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
periods = st.tuples(st.integers(0, 200), st.integers(0, 200), st.integers(0, 200)).filter(lambda c: sum(c) > 0)
observations = st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=30)


def brackets_centre(chart):
    return all(lo <= c <= up for lo, c, up in zip(chart.lower, chart.centre, chart.upper))


@given(st.lists(subgroups, min_size=2, max_size=30))
def test_p_limits_bracket_the_centre_within_0_and_1(groups):
    nonconforming, sizes = zip(*groups)
    for chart in (spc.p_chart(nonconforming=nonconforming, sizes=sizes),
                  spc.laney_p_chart(nonconforming=nonconforming, sizes=sizes)):
        assert brackets_centre(chart)
        assert all(0 <= lo and up <= 1 for lo, up in zip(chart.lower, chart.upper))


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(1, 100)), min_size=1, max_size=30),
       st.lists(periods, min_size=1, max_size=30), observations)
def test_u_nps_and_xmr_limits_bracket_the_centre(u_groups, nps_periods, xs):
    nonconformities, units = zip(*u_groups)
    promoters, passives, detractors = zip(*nps_periods)
    xmr = spc.xmr_chart(observations=xs)
    nps = spc.nps_chart(promoters=promoters, passives=passives, detractors=detractors)
    for chart in (spc.u_chart(nonconformities=nonconformities, units=units), nps, xmr.individuals, xmr.moving_range):
        assert brackets_centre(chart)
    assert all(-100 <= lo and up <= 100 for lo, up in zip(nps.lower, nps.upper))


@given(st.integers(0, 50), st.integers(50, 100), st.lists(st.integers(1, 20), min_size=2, max_size=20),
       st.floats(-1e6, 1e6, allow_nan=False), periods)
def test_identical_values_raise_no_rule_1_signal(x, n, multiples, value, period):
    # The same share in subgroups of different sizes, the same observation, the same NPS period after period.
    charts = [
        spc.p_chart(nonconforming=[x * k for k in multiples], sizes=[n * k for k in multiples]),
        spc.laney_p_chart(nonconforming=[x * k for k in multiples], sizes=[n * k for k in multiples]),
        spc.u_chart(nonconformities=[x * k for k in multiples], units=[n * k for k in multiples]),
        spc.xmr_chart(observations=[value] * len(multiples)).individuals,
        spc.nps_chart(**{name: [count * k for k in multiples]
                         for name, count in zip(("promoters", "passives", "detractors"), period)}),
    ]
    for chart in charts:
        assert not fired(all_signals(chart), "nelson-1") and not fired(all_signals(chart), "we-1")


@given(st.lists(st.tuples(st.integers(-8, 8), st.sampled_from([0.5, 1.0, 2.0])), min_size=1, max_size=40))
def test_rules_are_symmetric(points):
    deviations, sigma = zip(*points)
    flip = {"up": "down", "down": "up", None: None}
    forward = all_signals(zone_chart([d / 2 for d in deviations], sigma))
    mirrored = all_signals(zone_chart([-d / 2 for d in deviations], sigma))
    assert sorted((s.rule.id, s.points, flip[s.direction]) for s in forward) == \
        sorted((s.rule.id, s.points, s.direction) for s in mirrored)

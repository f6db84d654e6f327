"""sBG against Fader & Hardie (2007): fitted on years 1–7 of two cohorts, projected to year 12."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.core.clv import sbg
from voxpop.core.clv.sbg import ShiftedBetaGeometric

# Customers surviving at the start and after years 1–12 (Fader & Hardie 2007).
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.mark.parametrize(("survivors", "gamma", "delta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_years_1_to_7_give_the_published_parameters(survivors, gamma, delta):
    model = sbg.fit(survivors[:8])
    assert (round(model.gamma, 3), round(model.delta, 3), model.periods) == (gamma, delta, 7)


@pytest.mark.parametrize("survivors", [REGULAR, HIGH_END])
def test_the_projection_tracks_the_actual_years_8_to_12(survivors):
    projected = survivors[0] * sbg.survival(sbg.fit(survivors[:8]), 12)
    actual = np.array(survivors, dtype=float)
    assert projected[0] == actual[0]
    # within a few percent, five years past the data the model saw
    assert np.abs(projected[8:] / actual[8:] - 1).max() < 0.05


@given(gamma=st.floats(0.01, 50), delta=st.floats(0.01, 50), periods=st.integers(1, 200))
def test_survival_falls_from_one_as_the_product_of_retention_rates(gamma, delta, periods):
    model = ShiftedBetaGeometric(gamma=gamma, delta=delta, log_likelihood=float("nan"), periods=0)
    survival = sbg.survival(model, periods)
    rates = sbg.retention_rates(model, periods)
    assert survival[0] == 1 and (np.diff(survival) <= 0).all() and (survival > 0).all()
    assert np.allclose(survival[1:], np.cumprod(rates), rtol=1e-9)
    assert (np.diff(rates) >= 0).all()  # the likeliest cancellers leave first


def test_survivors_that_rise_are_refused():
    with pytest.raises(ValueError, match="cannot rise"):
        sbg.fit([1000, 600, 650])
    with pytest.raises(ValueError, match="at least two periods"):
        sbg.fit([1000, 600])

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.core import drivers
from voxpop.core.drivers import Quadrant

# R's mtcars (Henderson & Velleman 1981, "Building multiple regression models interactively", Biometrics 37),
# columns mpg, cyl, disp, hp, gear, in R's row order (Mazda RX4 ... Volvo 142E).
VARIABLES = ("mpg", "cyl", "disp", "hp", "gear")
MTCARS = np.array([
    (21.0, 6, 160.0, 110, 4), (21.0, 6, 160.0, 110, 4), (22.8, 4, 108.0, 93, 4), (21.4, 6, 258.0, 110, 3),
    (18.7, 8, 360.0, 175, 3), (18.1, 6, 225.0, 105, 3), (14.3, 8, 360.0, 245, 3), (24.4, 4, 146.7, 62, 4),
    (22.8, 4, 140.8, 95, 4), (19.2, 6, 167.6, 123, 4), (17.8, 6, 167.6, 123, 4), (16.4, 8, 275.8, 180, 3),
    (17.3, 8, 275.8, 180, 3), (15.2, 8, 275.8, 180, 3), (10.4, 8, 472.0, 205, 3), (10.4, 8, 460.0, 215, 3),
    (14.7, 8, 440.0, 230, 3), (32.4, 4, 78.7, 66, 4), (30.4, 4, 75.7, 52, 4), (33.9, 4, 71.1, 65, 4),
    (21.5, 4, 120.1, 97, 3), (15.5, 8, 318.0, 150, 3), (15.2, 8, 304.0, 150, 3), (13.3, 8, 350.0, 245, 3),
    (19.2, 8, 400.0, 175, 3), (27.3, 4, 79.0, 66, 4), (26.0, 4, 120.3, 91, 5), (30.4, 4, 95.1, 113, 5),
    (15.8, 8, 351.0, 264, 5), (19.7, 6, 145.0, 175, 5), (15.0, 8, 301.0, 335, 5), (21.4, 4, 121.0, 109, 4),
])
PREDICTORS = ("cyl", "disp", "hp", "gear")
# Reference: relative weights for mpg ~ cyl + disp + hp + gear, as published for R's mtcars.
REFERENCE_RAW = (0.2284797, 0.2221469, 0.2321744, 0.0963886)
REFERENCE_R_SQUARED = 0.7791896
REFERENCE_RESCALED = (29.32, 28.51, 29.80, 12.37)


def moments(rows, names):
    """What the engine hands over: n, Σx and Σxxᵀ, uncentred."""
    return drivers.correlation_from_moments(n=len(rows), sums=rows.sum(axis=0), cross_products=rows.T @ rows,
                                            variables=names)


def ols_r_squared(rows):
    design = np.column_stack([np.ones(len(rows)), rows[:, 1:]])
    coefficients = np.linalg.lstsq(design, rows[:, 0], rcond=None)[0]
    residuals = rows[:, 0] - design @ coefficients
    return 1 - residuals @ residuals / ((rows[:, 0] - rows[:, 0].mean()) ** 2).sum()


def mtcars_weights():
    correlations = moments(MTCARS, VARIABLES)
    return drivers.relative_weights(correlations=correlations, outcome="mpg", predictors=PREDICTORS)


def assert_reference(weights):
    assert weights.predictors == PREDICTORS and weights.n == 32
    assert weights.raw == pytest.approx(REFERENCE_RAW, abs=5e-8)
    assert weights.r_squared == pytest.approx(REFERENCE_R_SQUARED, abs=5e-8)
    assert [round(value, 2) for value in weights.rescaled] == list(REFERENCE_RESCALED)


def test_mtcars_reference_from_moments():
    assert_reference(mtcars_weights())


def test_mtcars_reference_from_rows_with_bootstrap_intervals_around_it():
    result = drivers.relative_weights_bootstrap(MTCARS, variables=VARIABLES, outcome="mpg",
                                                predictors=PREDICTORS, n_resamples=300, seed=7)
    assert_reference(result.estimate)
    assert result.confidence == 0.95 and 0 < result.n_resamples <= 300
    estimate = result.estimate
    for low, point, high in zip(result.raw_low, estimate.raw, result.raw_high):
        assert 0 <= low <= point <= high <= 1
    for low, point, high in zip(result.rescaled_low, estimate.rescaled, result.rescaled_high):
        assert 0 <= low <= point <= high <= 100


def test_bootstrap_is_reproducible_with_a_seed_and_drops_incomplete_rows():
    rows = np.vstack([MTCARS, [np.nan, 6, 160.0, 110, 4], [21.0, 6, np.nan, 110, 4]])
    first, second = (drivers.relative_weights_bootstrap(rows, variables=VARIABLES, outcome="mpg",
                                                        predictors=PREDICTORS, n_resamples=50, seed=11)
                     for _ in range(2))
    assert first == second
    assert_reference(first.estimate)


def test_r_squared_is_the_ols_r_squared():
    weights = mtcars_weights()
    assert weights.r_squared == pytest.approx(ols_r_squared(MTCARS), abs=1e-12)
    assert all(weight >= 0 for weight in weights.raw)
    assert sum(weights.raw) == pytest.approx(weights.r_squared, abs=1e-12)


def test_uncorrelated_predictors_weigh_their_squared_correlations():
    rng = np.random.default_rng(3)
    centred = rng.normal(size=(200, 4))
    centred -= centred.mean(axis=0)
    predictors = np.linalg.qr(centred)[0][:, :3]  # orthonormal, centred columns: exactly uncorrelated
    outcome = predictors @ [3.0, -1.0, 0.5] + rng.normal(size=200)
    rows = np.column_stack([outcome, predictors])
    weights = drivers.relative_weights(correlations=moments(rows, ("y", "a", "b", "c")), outcome="y",
                                       predictors=("a", "b", "c"))
    squared_correlations = np.corrcoef(rows.T)[0, 1:] ** 2
    assert weights.raw == pytest.approx(squared_correlations, abs=1e-12)


@st.composite
def survey_data(draw):
    """Correlated drivers and an outcome they partly explain, as in a ratings survey."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, k = draw(st.integers(10, 80)), draw(st.integers(1, 6))
    mixing = np.eye(k) + draw(st.floats(0, 3)) * rng.normal(size=(k, k))
    predictors = rng.normal(size=(n, k)) @ mixing + rng.normal(size=k) * 10
    outcome = predictors @ rng.normal(size=k) + draw(st.floats(0.1, 5)) * rng.normal(size=n)
    rows = np.column_stack([outcome, predictors])
    # Sums about a provisional origin, as the engine should take them: raw Σx² of a column whose mean is
    # 1000 sd away loses 1e-10 in its correlations, far more than the weights themselves lose.
    return rows - np.round(rows.mean(axis=0)), draw(st.permutations(range(k)))


@settings(deadline=None)
@given(survey_data())
def test_weights_are_non_negative_and_share_out_the_ols_r_squared(data):
    rows, _ = data
    names = ("y", *(f"x{j}" for j in range(rows.shape[1] - 1)))
    weights = drivers.relative_weights(correlations=moments(rows, names), outcome="y", predictors=names[1:])
    assert all(weight >= 0 for weight in weights.raw)
    assert abs(sum(weights.raw) - ols_r_squared(rows)) < 1e-9
    assert abs(sum(weights.rescaled) - 100) < 1e-9


@settings(deadline=None)
@given(survey_data())
def test_permuting_predictors_permutes_their_weights(data):
    rows, order = data
    names = ("y", *(f"x{j}" for j in range(rows.shape[1] - 1)))
    correlations = moments(rows, names)
    weights = drivers.relative_weights(correlations=correlations, outcome="y", predictors=names[1:])
    permuted = drivers.relative_weights(correlations=correlations, outcome="y",
                                        predictors=[names[1 + j] for j in order])
    assert permuted.raw == pytest.approx([weights.raw[j] for j in order], abs=1e-9)


def test_a_constant_column_is_named_in_the_error():
    rows = MTCARS.copy()
    rows[:, 4] = 4.0
    with pytest.raises(ValueError, match="'gear' has the same value in every complete row"):
        moments(rows, VARIABLES)
    with pytest.raises(ValueError, match="'gear' has the same value"):
        drivers.relative_weights_bootstrap(rows, variables=VARIABLES, outcome="mpg", predictors=PREDICTORS,
                                           n_resamples=10, seed=1)


def test_linearly_dependent_predictors_are_refused():
    rows = np.column_stack([MTCARS, MTCARS[:, 1] + MTCARS[:, 4]])
    with pytest.raises(ValueError, match="linearly dependent"):
        drivers.relative_weights(correlations=moments(rows, (*VARIABLES, "cyl_plus_gear")), outcome="mpg",
                                 predictors=("cyl", "gear", "cyl_plus_gear"))


def test_unknown_or_misused_variables_are_refused():
    correlations = moments(MTCARS, VARIABLES)
    with pytest.raises(ValueError, match="unknown variable"):
        drivers.relative_weights(correlations=correlations, outcome="mpg", predictors=("cyl", "wt"))
    with pytest.raises(ValueError, match="none of them the outcome"):
        drivers.relative_weights(correlations=correlations, outcome="mpg", predictors=("mpg", "cyl"))
    unrelated = drivers.Correlations(variables=("y", "a"), matrix=np.eye(2), n=50)
    with pytest.raises(ValueError, match="no explained variance"):
        drivers.relative_weights(correlations=unrelated, outcome="y", predictors=("a",))


def test_importance_performance_quadrants():
    weights = mtcars_weights()
    # importance 29.3, 28.5, 29.8, 12.4 around a mean of 25; performance around a mean of 60
    performance = {"cyl": 80.0, "disp": 40.0, "hp": 50.0, "gear": 70.0}
    grid = drivers.importance_performance(weights=weights, performance=performance)
    assert [(row.driver, row.quadrant) for row in grid] == [
        ("hp", Quadrant.FIX_FIRST), ("cyl", Quadrant.KEEP_UP), ("disp", Quadrant.FIX_FIRST),
        ("gear", Quadrant.POSSIBLE_OVERKILL),
    ]
    assert grid[1].importance == weights.rescaled[0] and grid[1].performance == 80.0
    low = drivers.importance_performance(weights=weights, performance={**performance, "gear": 10.0})
    assert low[-1].quadrant == Quadrant.SECONDARY == "secondary"
    with pytest.raises(ValueError, match="no performance given for the driver"):
        drivers.importance_performance(weights=weights, performance={"cyl": 80.0})

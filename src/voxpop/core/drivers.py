"""Key-driver analysis: how much of a score each driver explains, and where to act. Pure: moments in.

The engine supplies n, Σx_j and Σx_i·x_j over the outcome and drivers, listwise (rows with any missing
value dropped); everything here follows from the correlation matrix those moments give. Correlations do
not change when a column is shifted, so the engine should sum x − c for a provisional origin c near the
mean (a scale midpoint will do): raw Σx² of a column whose mean is 1000 sd from 0 loses ~1e-10 to rounding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

# A centred sum of squares this small next to Σx² is rounding noise around a constant column.
_CONSTANT = 1e-12
# Predictors whose smallest eigenvalue is this small next to the largest are linearly dependent.
_SINGULAR = 1e-10
# Bootstrap resamples are drawn in batches of about this many numbers, to bound memory.
_BATCH_NUMBERS = 4_000_000


@dataclass(frozen=True, eq=False)
class Correlations:
    variables: tuple[str, ...]
    matrix: np.ndarray
    n: int


@dataclass(frozen=True)
class RelativeWeights:
    outcome: str
    predictors: tuple[str, ...]
    raw: tuple[float, ...]  # share of the outcome's variance each predictor explains; sums to r_squared
    rescaled: tuple[float, ...]  # % of r_squared; sums to 100
    r_squared: float
    n: int


@dataclass(frozen=True)
class RelativeWeightsBootstrap:
    estimate: RelativeWeights
    raw_low: tuple[float, ...]
    raw_high: tuple[float, ...]
    rescaled_low: tuple[float, ...]
    rescaled_high: tuple[float, ...]
    confidence: float
    n_resamples: int  # resamples used: those where a column was constant or predictors collinear are left out


class Quadrant(StrEnum):
    FIX_FIRST = "fix first"  # above-average importance, below-average performance
    KEEP_UP = "keep up"  # above-average importance and performance
    SECONDARY = "secondary"  # below-average importance and performance
    POSSIBLE_OVERKILL = "possible overkill"  # below-average importance, above-average performance


@dataclass(frozen=True)
class DriverQuadrant:
    driver: str
    importance: float  # rescaled relative weight, % of R²
    performance: float
    quadrant: Quadrant


def correlation_from_moments(
    *, n: int, sums: Sequence[float], cross_products: np.ndarray, variables: Sequence[str]
) -> Correlations:
    """Pearson correlations from n, Σx and Σxxᵀ via centred cross-products Σxxᵀ − ΣxΣxᵀ/n (one-pass SSCP)."""
    sums, cross_products = np.asarray(sums, dtype=float), np.asarray(cross_products, dtype=float)
    size = len(variables)
    if sums.shape != (size,) or cross_products.shape != (size, size):
        raise ValueError(f"expected sums for {size} variables and a {size}×{size} cross-product matrix, "
                         f"got shapes {sums.shape} and {cross_products.shape}")
    if n < 3:
        raise ValueError(f"key-driver analysis needs at least 3 complete rows, got {n}")
    matrix, constant = _correlate(n, sums, cross_products)
    if constant.any():
        name = variables[int(np.argmax(constant))]
        raise ValueError(f"'{name}' has the same value in every complete row, so it explains nothing and "
                         "nothing explains it; leave it out of the driver analysis")
    return Correlations(variables=tuple(variables), matrix=matrix, n=int(n))


def relative_weights(
    *, correlations: Correlations, outcome: str, predictors: Sequence[str]
) -> RelativeWeights:
    """Johnson's relative weights from correlations alone (Johnson 2000, Multivariate Behav. Res. 35(1))."""
    columns = _columns(correlations.variables, outcome, predictors)
    matrix = correlations.matrix[np.ix_(columns, columns)]
    raw, independent = _raw_weights(matrix[1:, 1:], matrix[1:, 0])
    if not independent:
        raise ValueError(f"the predictors {', '.join(predictors)} are linearly dependent (one is a "
                         "combination of the others), so their weights are not defined; drop one of them")
    r_squared = float(raw.sum())
    if r_squared == 0:
        raise ValueError(f"none of {', '.join(predictors)} correlates with '{outcome}', so there is no "
                         "explained variance to share out")
    return RelativeWeights(outcome=outcome, predictors=tuple(predictors), raw=_floats(raw),
                           rescaled=_floats(100.0 * raw / r_squared), r_squared=r_squared, n=correlations.n)


def relative_weights_bootstrap(
    rows: np.ndarray, *, variables: Sequence[str], outcome: str, predictors: Sequence[str],
    n_resamples: int = 1000, confidence: float = 0.95, seed: int | None = None,
) -> RelativeWeightsBootstrap:
    """Weights from raw rows; percentile intervals from resampled rows (Efron & Tibshirani 1993, ch. 13)."""
    columns = _columns(tuple(variables), outcome, predictors)
    data = np.asarray(rows, dtype=float)[:, columns]
    data = data[~np.isnan(data).any(axis=1)]  # listwise, as the engine counts
    data -= data.mean(axis=0)  # moments about the mean lose nothing to rounding; correlations are unchanged
    n, width = data.shape
    correlations = correlation_from_moments(n=n, sums=data.sum(axis=0), cross_products=data.T @ data,
                                            variables=(outcome, *predictors))
    estimate = relative_weights(correlations=correlations, outcome=outcome, predictors=predictors)

    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_NUMBERS // (n * width))
    kept = []
    for start in range(0, n_resamples, batch):
        sample = data[rng.integers(0, n, size=(min(batch, n_resamples - start), n))]
        matrix, constant = _correlate(n, sample.sum(axis=1), sample.transpose(0, 2, 1) @ sample)
        raw, independent = _raw_weights(matrix[:, 1:, 1:], matrix[:, 1:, 0])
        kept.append(raw[independent & ~constant.any(axis=1)])
    raw = np.concatenate(kept)
    if not len(raw):
        raise ValueError("every bootstrap resample had a constant column or collinear predictors; "
                         "collect more responses before asking for intervals")
    tails = [(1 - confidence) / 2, (1 + confidence) / 2]
    raw_low, raw_high = np.quantile(raw, tails, axis=0)
    rescaled_low, rescaled_high = np.quantile(100.0 * raw / raw.sum(axis=1, keepdims=True), tails, axis=0)
    return RelativeWeightsBootstrap(
        estimate=estimate, raw_low=_floats(raw_low), raw_high=_floats(raw_high),
        rescaled_low=_floats(rescaled_low), rescaled_high=_floats(rescaled_high),
        confidence=confidence, n_resamples=len(raw),
    )


def importance_performance(
    *, weights: RelativeWeights, performance: Mapping[str, float]
) -> list[DriverQuadrant]:
    """Quadrants about mean importance and mean performance (Martilla & James 1977, J. Marketing 41(1))."""
    missing = [name for name in weights.predictors if name not in performance]
    if missing:
        raise ValueError(f"no performance given for the driver(s) {', '.join(missing)}")
    mean_importance = sum(weights.rescaled) / len(weights.rescaled)
    mean_performance = sum(performance[name] for name in weights.predictors) / len(weights.predictors)
    rows = []
    for name, importance in zip(weights.predictors, weights.rescaled):
        important, performing = importance >= mean_importance, performance[name] >= mean_performance
        quadrant = ((Quadrant.KEEP_UP if performing else Quadrant.FIX_FIRST) if important
                    else (Quadrant.POSSIBLE_OVERKILL if performing else Quadrant.SECONDARY))
        rows.append(DriverQuadrant(driver=name, importance=importance, performance=performance[name],
                                   quadrant=quadrant))
    return sorted(rows, key=lambda row: -row.importance)  # most important first


def _correlate(n: int, sums: np.ndarray, cross_products: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correlation matrices (stacked on leading axes) and a flag per variable that has no variance."""
    centred = cross_products - sums[..., :, None] * sums[..., None, :] / n
    variance = np.diagonal(centred, axis1=-2, axis2=-1)
    constant = variance <= _CONSTANT * np.diagonal(cross_products, axis1=-2, axis2=-1)
    scale = np.sqrt(np.where(constant, 1.0, variance))
    return np.clip(centred / (scale[..., :, None] * scale[..., None, :]), -1.0, 1.0), constant


def _raw_weights(predictors: np.ndarray, outcome: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ε_j = Σ_k Λ_jk² β_k², Λ = R_xx^½ = Q diag(√eigenvalues) Qᵀ, β = Λ⁻¹ r_xy (Johnson 2000); stacked."""
    eigenvalues, eigenvectors = np.linalg.eigh(predictors)
    independent = eigenvalues[..., 0] > _SINGULAR * eigenvalues[..., -1]
    root = np.sqrt(np.maximum(eigenvalues, _SINGULAR))[..., None, :]
    transposed = np.swapaxes(eigenvectors, -1, -2)
    square_root, inverse_root = (eigenvectors * root) @ transposed, (eigenvectors / root) @ transposed
    beta = (inverse_root @ outcome[..., None])[..., 0]
    return (square_root**2 @ (beta**2)[..., None])[..., 0], independent


def _columns(variables: tuple[str, ...], outcome: str, predictors: Sequence[str]) -> list[int]:
    unknown = [name for name in (outcome, *predictors) if name not in variables]
    if unknown:
        raise ValueError(f"unknown variable(s) {', '.join(unknown)}; the data has {', '.join(variables)}")
    if not predictors or outcome in predictors or len(set(predictors)) != len(predictors):
        raise ValueError("name one or more distinct predictors, none of them the outcome")
    return [variables.index(name) for name in (outcome, *predictors)]


def _floats(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(value) for value in values)

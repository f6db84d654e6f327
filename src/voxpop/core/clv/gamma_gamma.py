"""Gamma-Gamma: how much a customer spends per purchase, shrunk from their own mean towards everyone's.

Fader & Hardie (2013), "The Gamma-Gamma model of monetary value" (note, brucehardie.com/notes/025). A
customer's spends are Gamma(p, ν) with ν ~ Gamma(q, γ) across customers; the model reads only the number
of repeat purchases x and their mean spend z̄, and assumes spend does not depend on how often one buys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

from voxpop.core.clv import weighted_sum

# |ρ| below 0.3 is a weak correlation at most (Cohen 1988), too weak to bias the spend predictions much.
_WEAK_CORRELATION = 0.3


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma: per-purchase spend shape p, and ν ~ Gamma(q, γ) across customers."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    n_customers: int  # the repeat buyers with a positive mean spend the model was fitted on

    @property
    def population_mean_spend(self) -> float:
        """E(Z) = pγ/(q−1): the mean spend per purchase expected of a customer with no repeat purchase."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")


@dataclass(frozen=True)
class Independence:
    """Is mean spend unrelated to the number of repeat purchases, as the model assumes?"""

    correlation: float  # Pearson ρ of x and z̄ among repeat buyers
    p_value: float
    n_customers: int
    independent: bool
    verdict: str


def _repeat_buyers(x, mean_spend, weights=None):
    """x, z̄ and weights of the customers the model can learn from: x > 0 and z̄ > 0."""
    x, mean_spend = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float))
    weights = np.ones_like(x) if weights is None else np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
    if not (np.isfinite(x).all() and np.isfinite(mean_spend).all()):
        raise ValueError("frequency and mean spend must be finite numbers; drop or fix the customers with gaps")
    if (mean_spend < 0).any():
        raise ValueError("a mean spend is negative; net returns against their sales before summarising customers")
    keep = (x > 0) & (mean_spend > 0)
    return x[keep], mean_spend[keep], weights[keep]


def fit(x, mean_spend, *, weights=None) -> GammaGamma:
    """Maximum-likelihood p, q, γ (Fader & Hardie 2013) on the repeat buyers with a positive mean spend."""
    x, mean_spend, weights = _repeat_buyers(x, mean_spend, weights)
    total = weights.sum()
    if total < 2:
        raise ValueError("fitting Gamma-Gamma needs at least two customers who bought again and spent money")
    distinct_x, where = np.unique(x, return_inverse=True)
    weight_per_x = np.bincount(where, weights=weights, minlength=len(distinct_x))
    spent = x * mean_spend
    # The parts of Σ w ln f that the parameters do not touch: Σ w ln z̄ and Σ w x (ln z̄ + ln x)
    log_spend = weighted_sum(weights, np.log(mean_spend))
    x_log_terms = weighted_sum(weights, x * (np.log(mean_spend) + np.log(x)))

    def objective(log_params):
        p, q, gamma = np.exp(log_params)
        shape, log_rate = p * distinct_x, np.log(gamma + spent)  # ln of ν's posterior rate
        # Σ w ln f, its Γ and ψ terms evaluated once per distinct x
        value = (weight_per_x @ (gammaln(shape + q) - gammaln(shape)) - total * (gammaln(q) - q * np.log(gamma))
                 + p * x_log_terms - log_spend - weighted_sum(weights, (p * x + q) * log_rate))
        psi_total = digamma(shape + q)
        d_p = (weight_per_x @ (distinct_x * (psi_total - digamma(shape))) + x_log_terms
               - weighted_sum(weights, x * log_rate))
        d_q = weight_per_x @ psi_total - total * (digamma(q) - np.log(gamma)) - weighted_sum(weights, log_rate)
        d_gamma = total * q / gamma - weighted_sum(weights, (p * x + q) / (gamma + spent))
        # Mean per customer, so the tolerances mean the same at any size.
        return -value / total, -np.array([d_p, d_q, d_gamma]) * np.exp(log_params) / total

    found = minimize(objective, x0=np.zeros(3), jac=True, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
    p, q, gamma = np.exp(found.x)
    if not found.success and np.abs(found.jac).max() > 1e-6:
        raise ValueError(f"Gamma-Gamma did not converge ({found.message}); the spend data may be too few")
    return GammaGamma(p=float(p), q=float(q), gamma=float(gamma), log_likelihood=float(-found.fun * total),
                      n_customers=round(total))


def log_likelihood(model: GammaGamma, x, mean_spend) -> np.ndarray:
    """ln f(z̄ | p, q, γ; x) of each repeat buyer (Fader & Hardie 2013); x = 0 or z̄ = 0 are left out.

    f = Γ(px+q)/(Γ(px)Γ(q)) · γ^q · z̄^(px−1) · x^(px) / (γ + x z̄)^(px+q)."""
    x, mean_spend, _ = _repeat_buyers(x, mean_spend)
    p, q, gamma = model.p, model.q, model.gamma
    shape = p * x
    return (gammaln(shape + q) - gammaln(shape) - gammaln(q) + q * np.log(gamma) + (shape - 1) * np.log(mean_spend)
            + shape * np.log(x) - (shape + q) * np.log(gamma + x * mean_spend))


def expected_mean_spend(model: GammaGamma, x, mean_spend) -> np.ndarray:
    """E(M | p, q, γ, z̄, x) = (γ + x z̄) p / (px + q − 1) (Fader & Hardie 2013); pγ/(q−1) when x = 0."""
    x, mean_spend = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float))
    if model.q <= 1:
        raise ValueError(f"expected spend needs q > 1 and the fit gave q = {model.q:.3g}; spend is too "
                         "heavy-tailed for this model, so trim extreme spends or report the median instead")
    return (model.gamma + x * mean_spend) * model.p / (model.p * x + model.q - 1)


def independence(x, mean_spend) -> Independence:
    """Pearson correlation of repeat purchases and mean spend among repeat buyers, as Fader & Hardie (2013) check it."""
    x, mean_spend, _ = _repeat_buyers(x, mean_spend)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(mean_spend) == 0:
        raise ValueError("checking independence needs at least three repeat buyers who differ in frequency and spend")
    correlation, p_value = stats.pearsonr(x, mean_spend)
    independent = bool(abs(correlation) < _WEAK_CORRELATION)
    if independent:
        verdict = (f"frequency and mean spend are at most weakly correlated (r = {correlation:.2f}, "
                   f"p = {p_value:.2g}, n = {len(x)}), so the Gamma-Gamma assumption is reasonable")
    else:
        verdict = (f"frequency and mean spend are correlated (r = {correlation:.2f}, p = {p_value:.2g}, n = {len(x)}), "
                   "so Gamma-Gamma spend predictions are biased; read them, and the lifetime values, with care")
    return Independence(correlation=float(correlation), p_value=float(p_value), n_customers=len(x),
                        independent=independent, verdict=verdict)


def simulate(model: GammaGamma, x, rng: np.random.Generator) -> np.ndarray:
    """Mean spends z̄ of customers with x repeat purchases, drawn from the model (0 where x = 0): ν ~ Gamma(q, γ),
    and the mean of x spends Gamma(p, ν) is Gamma(px, xν)."""
    x = np.asarray(x, dtype=float)
    rate = rng.gamma(model.q, 1 / model.gamma, size=x.shape)  # ν, the rate of each customer's spends
    repeat = x > 0
    mean_spend = np.zeros_like(x)
    mean_spend[repeat] = rng.gamma(model.p * x[repeat], 1 / (x[repeat] * rate[repeat]))
    return mean_spend

"""Lifetime-value fitting: voxpop's BG/NBD + Gamma-Gamma against the `lifetimes` package, same data, same run.

Data:
  cdnow      voxpop's own summary of CDNOW_sample.txt (2,357 customers, 39 weeks to 1997-09-30), read in place
             from lifetimes/ in the real-data folder (VOXPOP_REAL_DATA); lifetimes' summariser on the same
             transactions must agree with it
  synthetic  --customers customers drawn from the models' own stories with the CDNOW parameters (BG/NBD r 0.243,
             α 4.414, a 0.793, b 2.426; Gamma-Gamma p 6.25, q 3.74, γ 15.44), each observed for 27–39 weeks
Runners, each a full fit of both models, timed as the median of --repeat rounds, interleaved round by round:
  voxpop     voxpop.core.clv: bgnbd.fit, gamma_gamma.fit (exact gradients, x-only terms once per distinct x)
  lifetimes  lifetimes 0.11.3: BetaGeoFitter().fit, GammaGammaFitter().fit (autograd gradients), defaults
Printed: times, the ratio lifetimes/voxpop, and each parameter's relative difference; on CDNOW also P(alive) and
the 39-week conditional expectation against lifetimes'. The exit status is 1 when a parameter differs by more
than 5e-4 (three significant figures) or the summaries differ; it never depends on timing.
Aims (issue 6): the same estimates to 3 significant figures; at least 3x faster than lifetimes at 1M customers.

    .venv/bin/pip install 'lifetimes==0.11.3'     # for this benchmark only
    .venv/bin/python benchmarks/clv.py [--customers 1000000] [--repeat 3] [--seed 6]

Run time on 2 cores with the defaults: 40 s to 1.5 min, depending on what else the machine runs; nearly all
of it is lifetimes at 1M (11–20 s a round, against 1–2 s for voxpop).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from voxpop.analysis.customer_summary import customer_summary
from voxpop.core.clv import bgnbd, gamma_gamma
from voxpop.core.clv.bgnbd import BgNbd
from voxpop.core.clv.gamma_gamma import GammaGamma
from voxpop.customers.transaction_files import read_transactions

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for the tests' one definition
from tests.helpers import real_data_dir  # noqa: E402  (where the real-data folder is: VOXPOP_REAL_DATA or its default)

CDNOW = real_data_dir() / "lifetimes"
PURCHASES = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=float("nan"), n_customers=0)
SPEND = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=float("nan"), n_customers=0)
SAME_TO = 5e-4  # relative difference within which two estimates agree to three significant figures
NAMES = ["r", "alpha", "a", "b", "p", "q", "gamma"]


def cdnow_summary() -> pd.DataFrame:
    """voxpop's summary of the CDNOW sample, checked against lifetimes' summariser on the same transactions."""
    from lifetimes.utils import summary_data_from_transaction_data

    transactions = read_transactions(CDNOW / "CDNOW_sample.txt").table
    ours = customer_summary(transactions, calibration_end=date(1997, 9, 30), time_unit="week").execute()
    theirs = summary_data_from_transaction_data(transactions.execute(), "customer", "date", "amount",
                                                observation_period_end="1997-09-30", freq="D", freq_multiplier=7)
    theirs = theirs.loc[ours.customer]
    differences = {name: float(np.abs(ours[name].to_numpy() - theirs[column].to_numpy()).max())
                   for name, column in [("frequency", "frequency"), ("recency", "recency"), ("T", "T"),
                                        ("monetary_value", "monetary_value")]}
    print(f"cdnow summary: {len(ours)} customers; largest difference from lifetimes' summariser: {differences}")
    if max(differences.values()) > 1e-9:
        print("FAIL: the summaries differ", file=sys.stderr)
        sys.exit(1)
    return ours.rename(columns={"frequency": "x", "recency": "t_x", "monetary_value": "mean_spend"})


def synthetic(customers: int, seed: int) -> pd.DataFrame:
    """Customers drawn from BG/NBD and Gamma-Gamma with the CDNOW parameters, first buying over 12 weeks."""
    rng = np.random.default_rng(seed)
    T = 39 - rng.uniform(0, 12, size=customers)
    x, t_x = bgnbd.simulate(PURCHASES, T, rng)
    return pd.DataFrame({"x": x, "t_x": t_x, "T": T, "mean_spend": gamma_gamma.simulate(SPEND, x, rng)})


def fit_voxpop(data: pd.DataFrame) -> dict[str, float]:
    purchases = bgnbd.fit(data.x, data.t_x, data["T"])
    spend = gamma_gamma.fit(data.x, data.mean_spend)
    return {"r": purchases.r, "alpha": purchases.alpha, "a": purchases.a, "b": purchases.b,
            "p": spend.p, "q": spend.q, "gamma": spend.gamma}


def fit_lifetimes(data: pd.DataFrame) -> dict[str, float]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    purchases = BetaGeoFitter().fit(data.x, data.t_x, data["T"])
    repeat = data[(data.x > 0) & (data.mean_spend > 0)]
    spend = GammaGammaFitter().fit(repeat.x, repeat.mean_spend)
    return {**purchases.params_.to_dict(), "p": spend.params_["p"], "q": spend.params_["q"],
            "gamma": spend.params_["v"]}


def compare(label: str, data: pd.DataFrame, repeat: int) -> bool:
    """Time both runners on the data and print the ratio and the parameter differences; True when they agree."""
    times: dict[str, list[float]] = {"voxpop": [], "lifetimes": []}
    estimates = {}
    for _ in range(repeat):
        for runner, fit in (("voxpop", fit_voxpop), ("lifetimes", fit_lifetimes)):
            start = time.perf_counter()
            estimates[runner] = fit(data)
            times[runner].append(time.perf_counter() - start)
    ours, theirs = (statistics.median(times[runner]) for runner in ("voxpop", "lifetimes"))
    differences = {name: abs(estimates["voxpop"][name] / estimates["lifetimes"][name] - 1) for name in NAMES}
    print(f"\n{label}: {len(data):,} customers, {int((data.x > 0).sum()):,} repeat buyers")
    print(f"  voxpop    {ours:8.3f} s   " + "  ".join(f"{n} {estimates['voxpop'][n]:.5g}" for n in NAMES))
    print(f"  lifetimes {theirs:8.3f} s   " + "  ".join(f"{n} {estimates['lifetimes'][n]:.5g}" for n in NAMES))
    print(f"  lifetimes/voxpop {theirs / ours:.1f}x; relative differences: "
          + "  ".join(f"{n} {differences[n]:.1e}" for n in NAMES))
    return max(differences.values()) <= SAME_TO


def compare_predictions(data: pd.DataFrame) -> None:
    """P(alive) and 39-week expected purchases of every CDNOW customer, voxpop against lifetimes."""
    from lifetimes import BetaGeoFitter

    theirs = BetaGeoFitter().fit(data.x, data.t_x, data["T"])
    ours = bgnbd.fit(data.x, data.t_x, data["T"])
    alive = np.abs(bgnbd.probability_alive(ours, data.x, data.t_x, data["T"])
                   - theirs.conditional_probability_alive(data.x, data.t_x, data["T"])).max()
    their_expected = theirs.conditional_expected_number_of_purchases_up_to_time(39, data.x, data.t_x, data["T"])
    expected = np.abs(bgnbd.expected_purchases(ours, 39, data.x, data.t_x, data["T"]) - their_expected).max()
    print(f"  largest difference from lifetimes: P(alive) {alive:.1e}, expected purchases in 39 weeks {expected:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=6)
    options = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)  # lifetimes on pandas 3
    cdnow = cdnow_summary()
    agree = compare("cdnow", cdnow, options.repeat)
    compare_predictions(cdnow)
    start = time.perf_counter()
    data = synthetic(options.customers, options.seed)
    print(f"\n(simulated {options.customers:,} customers in {time.perf_counter() - start:.2f} s)")
    agree &= compare("synthetic", data, options.repeat)
    if not agree:
        print(f"FAIL: an estimate differs from lifetimes' by more than {SAME_TO:.0e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

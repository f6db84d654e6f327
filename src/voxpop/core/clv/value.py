"""Customer lifetime value: expected purchases times expected spend, discounted month by month.

The convention is the one the `lifetimes` package uses, a monthly version of the discounted expected
transactions of Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves for customer base analysis",
Journal of Marketing Research 42(4): for each month m of the horizon, the BG/NBD expected purchases in that
month, times the Gamma-Gamma expected spend per purchase, discounted at the end of the month by (1 + d)^m for
a monthly discount rate d. Unlike `lifetimes` (30 days or 4.345 weeks), a month here is 365.25/12 days, the
same month the customer summary measures time in.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from voxpop.core.clv import bgnbd, gamma_gamma
from voxpop.core.clv.bgnbd import BgNbd
from voxpop.core.clv.gamma_gamma import GammaGamma

TimeUnit = Literal["day", "week", "month"]
DAYS_PER_UNIT: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}  # a Gregorian month on average


def customer_lifetime_value(purchases: BgNbd, spend: GammaGamma, x, t_x, T, mean_spend, *, months: int,
                            monthly_discount_rate: float, time_unit: TimeUnit) -> np.ndarray:
    """Σ_{m=1..months} E[spend] · (E[Y(m)] − E[Y(m−1)]) / (1 + d)^m per customer, with Y in months of the unit."""
    if time_unit not in DAYS_PER_UNIT:
        raise ValueError(f"the time unit must be day, week or month, not {time_unit!r}")
    if months < 0 or int(months) != months:
        raise ValueError(f"the horizon is a whole number of months, 0 or more, not {months!r}")
    if not 0 <= monthly_discount_rate < 1:
        raise ValueError(f"the monthly discount rate is a fraction such as 0.01 (1% a month), "
                         f"not {monthly_discount_rate!r}")
    periods_per_month = DAYS_PER_UNIT["month"] / DAYS_PER_UNIT[time_unit]
    value_per_purchase = gamma_gamma.expected_mean_spend(spend, x, mean_spend)
    value = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(t_x), np.shape(T), np.shape(mean_spend)))
    bought_so_far = np.zeros_like(value)
    for month in range(1, int(months) + 1):
        bought = bgnbd.expected_purchases(purchases, month * periods_per_month, x, t_x, T)
        value += value_per_purchase * (bought - bought_so_far) / (1 + monthly_discount_rate) ** month
        bought_so_far = bought
    return value

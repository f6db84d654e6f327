"""Loyalty against behaviour: do the customers who say they would recommend us stay, buy again, and spend more?

The store links a survey response to its customer (through an invitation, or an import's customer id or
e-mail) and a customer to their transactions. Each customer who answered an NPS question is grouped by their
latest answer (promoter 9–10, passive 7–8, detractor up to 6, the standard cuts on 0–10 and 1–10 alike), and
the groups are compared on what they did (respondents without transactions are left out): retention (a purchase after the answer), repeat purchase (two or more
purchase days), revenue, and predicted CLV when a model was fitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from voxpop.core import comparisons, estimates
from voxpop.core.comparisons import Difference
from voxpop.core.estimates import Estimate, NpsCuts

GROUPS = ("promoters", "passives", "detractors")
CUTS = NpsCuts()
DEFINITIONS = {
    "retention": "% who bought again after their latest NPS answer",
    "repeat_purchase": "% who bought on two or more days",
    "revenue": "mean net revenue per customer (sales less cancellations, postage and fees left out)",
    "clv": "mean predicted CLV per customer (BG/NBD and Gamma-Gamma on all the store's transactions)",
}


@dataclass(frozen=True)
class LoyaltyComparison:
    customers: int  # respondents with an NPS answer whose customer has transactions
    groups: dict[str, dict[str, Estimate]]  # group -> measure -> estimate
    differences: dict[str, Difference | None]  # measure -> promoters minus detractors
    definitions: dict[str, str]


def respondents(connection) -> ir.Table:
    """Each customer's latest NPS answer in the store: customer, score, answered_on (the response's UTC date)."""
    questions = connection.table("questions")
    nps = questions.filter(questions.kind == "nps").select(question_id="id")
    responses = connection.table("responses")
    responses = responses.filter(responses.customer_id.notnull()).select(
        response_id="id", customer_id="customer_id", submitted_at="submitted_at")
    customers = connection.table("customers").select(customer_id="id", customer="external_id")
    answers = connection.table("answers")
    scored = (answers.filter(answers.score.notnull()).select("question_id", "response_id", "score")
              .join(nps, "question_id").join(responses, "response_id").join(customers, "customer_id"))
    latest = ibis.row_number().over(group_by="customer", order_by=ibis.desc("submitted_at"))
    scored = scored.mutate(rank=latest)
    return scored.filter(scored["rank"] == 0).select("customer", "score", answered_on=scored.submitted_at.date())


def behaviour(connection) -> ir.Table:
    """Per customer with transactions: net revenue, purchase days and the last purchase day (sales only)."""
    lines = connection.table("transactions")
    lines = lines.filter(lines.kind != "non_product")
    customers = connection.table("customers").select(customer_id="id", customer="external_id")
    lines = lines.join(customers, "customer_id")
    sale = lines.kind == "sale"
    return lines.group_by("customer").aggregate(
        revenue=lines.amount.sum(),
        purchase_days=ibis.ifelse(sale, lines.day, ibis.null()).nunique(),
        last_purchase=ibis.ifelse(sale, lines.day, ibis.null()).max(),
    )


def compare_loyalty(connection, *, clv: pd.Series | None = None, min_base: int = 30,
                    confidence: float = 0.95) -> LoyaltyComparison:
    """Promoters, passives and detractors compared on what they did, with intervals and the difference
    promoters − detractors (two-proportion z for shares, Welch's t for means)."""
    # Only respondents who are in the transaction data: for the others there is no behaviour to compare.
    joined = respondents(connection).join(behaviour(connection), "customer")
    frame = joined.select("customer", "score", "answered_on", "revenue", "purchase_days", "last_purchase").execute()
    frame["group"] = np.select([frame.score >= CUTS.promoter_min, frame.score <= CUTS.detractor_max],
                               ["promoters", "detractors"], "passives")
    frame["revenue"] = frame.revenue.fillna(0.0).astype(float)
    frame["retained"] = pd.to_datetime(frame.last_purchase) > pd.to_datetime(frame.answered_on)
    frame["repeat"] = frame.purchase_days.fillna(0) >= 2
    if clv is not None:
        frame["clv"] = frame.customer.map(clv).astype(float)
    groups: dict[str, dict[str, Estimate]] = {}
    statistics: dict[str, dict[str, tuple]] = {}
    for group in GROUPS:
        part = frame[frame.group == group]
        n = len(part)
        measures = {
            "retention": (int(part.retained.sum()), n),
            "repeat_purchase": (int(part.repeat.sum()), n),
            "revenue": (n, float(part.revenue.sum()), float((part.revenue ** 2).sum())),
        }
        if clv is not None:
            valued = part.clv.dropna()
            measures["clv"] = (len(valued), float(valued.sum()), float((valued ** 2).sum()))
        statistics[group] = measures
        groups[group] = {
            name: (estimates.proportion(successes=value[0], n=value[1], min_base=min_base, confidence=confidence)
                   if len(value) == 2 else
                   estimates.mean(n=value[0], total=value[1], total_squares=value[2], min_base=min_base,
                                  confidence=confidence))
            for name, value in measures.items()
        }
    differences: dict[str, Difference | None] = {}
    for name in statistics["promoters"]:
        a, b = statistics["promoters"][name], statistics["detractors"][name]
        try:
            differences[name] = (comparisons.proportion_difference(a=a, b=b, confidence=confidence) if len(a) == 2
                                 else comparisons.mean_difference(a=a, b=b, confidence=confidence))
        except ValueError:  # a group too small to compare: shown as not tested, never as a difference
            differences[name] = None
    definitions = {name: text for name, text in DEFINITIONS.items() if name in statistics["promoters"]}
    return LoyaltyComparison(len(frame), groups, differences, definitions)


def as_json(comparison: LoyaltyComparison) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "customers": comparison.customers,
        "definitions": comparison.definitions,
        "groups": {group: {name: asdict(estimate) for name, estimate in measures.items()}
                   for group, measures in comparison.groups.items()},
        "promoters_minus_detractors": {name: asdict(difference) if difference else None
                                       for name, difference in comparison.differences.items()},
    }

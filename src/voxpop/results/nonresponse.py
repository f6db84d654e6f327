"""Who did not answer, and does it matter? The invited audience of a survey (customers with an invitation to it,
optionally of one send) against its respondents (those whose invitation has a response), on what the store knows
of them: each categorical customer attribute (chi-square test of independence, or Fisher's exact test for a small
2×2), tenure, and net revenue of the 365 days before the invitation (Welch's t and the standardized difference);
Holm's adjustment across the attributes. Then the respondents are raked to the audience's margins and every
figure is given weighted beside unweighted, with what changes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
from scipy import stats
from sqlalchemy import Connection, func, select

from voxpop.collection.models import Answer, Invitation, Response
from voxpop.core import comparisons, estimates
from voxpop.core.counts import CUTS
from voxpop.core.raking import RakingError, rake
from voxpop.customers.models import Customer, Transaction
from voxpop.distribution.models import Send, SendInvitation
from voxpop.results.analysis_schemas import EstimatePublic
from voxpop.results.crosstab import chi_square_test
from voxpop.results.nonresponse_schemas import (
    AttributeTestPublic,
    CategoryPublic,
    ComparisonFlagPublic,
    GroupMeansPublic,
    MetricPublic,
    NonresponsePublic,
    WeightingPublic,
)
from voxpop.results.questions import survey_questions
from voxpop.results.service import UnknownSurvey
from voxpop.surveys.models import Survey

NOT_RECORDED = "(not recorded)"
MAX_CATEGORIES = 12  # more distinct values than this is an identifier or free text, not a segment
SMALL_EXPECTED = 5  # Cochran's rule, as the crosstab applies it
IMBALANCE = 0.1  # |standardized difference| above this is a meaningful imbalance (Austin 2009, Stat. Med. 28)
NUMERIC = {"tenure_days": "tenure (days)", "spend_365d": "net revenue, last 365 days",
           "clv": "predicted CLV, next 12 months"}
METRICS = {"nps": "nps", "csat": "csat", "ces": "mean", "rating": "mean"}
TENURE = "tenure"  # raked on in bands: a weight per day of tenure would be noise
TENURE_BANDS = ((90, "under 90 days"), (365, "90 days to 1 year"), (730, "1 to 2 years"), (None, "2 years or more"))


class NonresponseError(ValueError):
    """A parameter the page cannot use (an unknown send or attribute), with the parameter's name."""

    def __init__(self, message: str, *, parameter: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass
class Member:
    """One invited customer: their attributes, when first invited, and their response if they answered."""

    customer_id: int
    attributes: dict[str, Any]
    invited_on: date
    created_on: date
    response_id: int | None = None
    numbers: dict[str, float] = field(default_factory=dict)


def diagnose(connection: Connection, *, survey_key: str, send: str | None = None, weight_by: list[str] | None = None,
             confidence: float = 0.95, min_base: int = 30, lifetime_value: bool = False) -> NonresponsePublic:
    """The page's figures: the audience against its respondents per attribute, then the weighting. With
    `lifetime_value`, predicted CLV is compared too (it fits the CLV models on every transaction: seconds)."""
    survey = connection.execute(select(Survey.id, Survey.title).where(Survey.key == survey_key)).first()
    if survey is None:
        raise UnknownSurvey(f"no survey has the key {survey_key!r}")
    invitations = _invitations(connection, survey_id=survey.id, send=send)
    members, unlinked, invited, responded = _members(connection, invitations)
    result = NonresponsePublic(survey=survey_key, title=survey.title, send=send, confidence=confidence,
                               invited=invited, responded=responded, unlinked=unlinked, summary="",
                               customers=len(members),
                               sends=survey_sends(connection, survey_id=survey.id))
    if not invited:
        result.summary = ("No one was invited to this survey, so its responses came through open links; "
                          "non-response needs an invited audience.")
        return result
    result.response_rate = EstimatePublic.of(estimates.proportion(successes=responded, n=invited,
                                                                  min_base=min_base, confidence=confidence))
    unavailable = _add_numbers(connection, members, invitations, lifetime_value)
    tests, result.skipped = _attribute_tests(members, confidence=confidence, min_base=min_base)
    result.weightable = weightable(members, [test.name for test in tests if test.kind == "categorical"])
    result.skipped += [f"predicted CLV: {unavailable}"] if unavailable else []
    result.attributes = tests
    if responded:
        result.weighting = _weighting(connection, survey.id, members, tests, weight_by, confidence, min_base)
    result.summary = _summary(result)
    return result


# The audience ------------------------------------------------------------------------------------------------------


def audience_members(connection: Connection, *, survey_key: str,
                     send: str | None = None) -> tuple[list[Member], dict[int, tuple[str, str]], list[str]]:
    """The invited customers (for `voxpop nonresponse weights`), each respondent's response id mapped to
    (customer external id, response public id), and the attributes one can weight by."""
    survey_id = connection.execute(select(Survey.id).where(Survey.key == survey_key)).scalar()
    if survey_id is None:
        raise UnknownSurvey(f"no survey has the key {survey_key!r}")
    invitations = _invitations(connection, survey_id=survey_id, send=send)
    members, _, _, _ = _members(connection, invitations)
    _add_numbers(connection, members, invitations, False)
    answered = [member.response_id for member in members if member.response_id is not None]
    responses = {row.id: (row.external_id, row.public_id) for row in connection.execute(
        select(Response.id, Response.public_id, Customer.external_id)
        .join(Invitation, Invitation.id == Response.invitation_id).join(Customer, Customer.id == Invitation.customer_id)
        .where(Response.id.in_(answered)))} if answered else {}
    categorical, _, _ = categorical_attributes(members)
    return members, responses, weightable(members, categorical)



def _invitations(connection: Connection, *, survey_id: int, send: str | None):
    """The invitations of the audience as a subquery of ids: all of the survey's, or one send's."""
    query = select(Invitation.id).where(Invitation.survey_id == survey_id)
    if send:
        found = connection.execute(select(Send.id, Send.survey_id).where(Send.key == send)).first()
        if found is None:
            raise NonresponseError(f"no send has the key {send!r}", parameter="send")
        if found.survey_id != survey_id:
            raise NonresponseError(f"the send {send!r} invites to another survey", parameter="send")
        query = query.where(Invitation.id.in_(select(SendInvitation.invitation_id)
                                              .where(SendInvitation.send_id == found.id)))
    return query.subquery()


def survey_sends(connection: Connection, *, survey_id: int) -> list[str]:
    """The keys of the survey's sends, newest first, to choose an audience from."""
    return list(connection.execute(select(Send.key).where(Send.survey_id == survey_id)
                                   .order_by(Send.created_at.desc(), Send.id.desc())).scalars())


def _members(connection: Connection, invitations) -> tuple[list[Member], int, int, int]:
    """Invited customers (each once: first invitation, first response), invitations without a customer, and the
    invitation counts: invited and answered."""
    rows = connection.execute(
        select(Invitation.id, Invitation.customer_id, Invitation.created_at, Customer.attributes,
               Customer.created_at.label("customer_created"), Response.id.label("response_id"))
        .outerjoin(Customer, Customer.id == Invitation.customer_id)
        .outerjoin(Response, Response.invitation_id == Invitation.id)
        .where(Invitation.id.in_(select(invitations.c.id)))
        .order_by(Invitation.created_at, Invitation.id))
    members: dict[int, Member] = {}
    unlinked = invited = responded = 0
    for row in rows:
        invited += 1
        responded += row.response_id is not None
        if row.customer_id is None:
            unlinked += 1
            continue
        member = members.get(row.customer_id)
        if member is None:
            member = members[row.customer_id] = Member(row.customer_id, dict(row.attributes or {}),
                                                       _day(row.created_at), _day(row.customer_created))
        if member.response_id is None and row.response_id is not None:
            member.response_id = row.response_id
    return list(members.values()), unlinked, invited, responded


def _day(moment: datetime | date | str | None) -> date:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if isinstance(moment, datetime):
        return moment.date()
    return moment or date.today()


def _add_numbers(connection: Connection, members: list[Member], invitations, lifetime_value: bool) -> str | None:
    """Tenure (days from the first purchase, or from the customer's record when there is none, to the first
    invitation), net revenue (sales less cancellations; postage and fees left out) of the 365 days before it and,
    if asked, predicted CLV; returns why CLV is unavailable when it was asked for and cannot be had."""
    if not members:
        return None
    audience = select(Invitation.customer_id).where(Invitation.id.in_(select(invitations.c.id)))
    first_sale = dict(connection.execute(
        select(Transaction.customer_id, func.min(Transaction.day))
        .where(Transaction.kind == "sale", Transaction.customer_id.in_(audience)).group_by(Transaction.customer_id)).all())
    earliest = min(member.invited_on for member in members) - timedelta(days=365)
    spend: dict[int, list[tuple[date, float]]] = defaultdict(list)
    for customer_id, day, amount in connection.execute(
            select(Transaction.customer_id, Transaction.day, func.sum(Transaction.amount))
            .where(Transaction.kind != "non_product", Transaction.customer_id.in_(audience),
                   Transaction.day >= earliest)
            .group_by(Transaction.customer_id, Transaction.day)):
        spend[customer_id].append((_day(day), float(amount or 0.0)))
    has_transactions = bool(first_sale) or bool(spend)
    lifetime_values, unavailable = {}, None
    if lifetime_value:
        lifetime_values, unavailable = _lifetime_values(connection) if first_sale else (
            {}, "the invited customers have no purchases in the store")
    external = dict(connection.execute(select(Customer.id, Customer.external_id)
                                       .where(Customer.id.in_(audience))).all()) if lifetime_values else {}
    for member in members:
        if member.customer_id in external and external[member.customer_id] in lifetime_values:
            member.numbers["clv"] = lifetime_values[external[member.customer_id]]
        start = _day(first_sale[member.customer_id]) if member.customer_id in first_sale else member.created_on
        member.numbers["tenure_days"] = float(max((member.invited_on - start).days, 0))
        if has_transactions:
            year_before = member.invited_on - timedelta(days=365)
            member.numbers["spend_365d"] = sum(amount for day, amount in spend.get(member.customer_id, [])
                                               if year_before <= day < member.invited_on)
    return unavailable


def _lifetime_values(connection: Connection) -> tuple[dict[str, float], str | None]:
    """Each customer's predicted 12-month CLV by external id, from the models the customers page fits
    (customers.service: BG/NBD and Gamma-Gamma on all the store's sales, weekly), or why they cannot be fitted
    (no repeat buyer, too few to model spend, no optimum): CLV is then left untested rather than guessed."""
    from voxpop.analysis import sources
    from voxpop.analysis.customer_summary import customer_summary
    from voxpop.core.clv.value import customer_lifetime_value
    from voxpop.customers.service import fit_lifetime_value

    engine = sources.store_connection(connection.engine.url)
    try:
        table = sources.store_transactions(engine)
        summary = customer_summary(table.filter(table.kind == "sale"), time_unit="week").execute()
    finally:
        engine.disconnect()
    try:
        models = fit_lifetime_value(summary)
    except ValueError as exc:  # no repeat buyer, or no optimum
        return {}, str(exc)
    if models.spend is None:
        return {}, models.spend_unavailable
    values = customer_lifetime_value(models.purchases, models.spend, summary.frequency, summary.recency, summary["T"],
                                     summary.monetary_value, months=12, monthly_discount_rate=0.01, time_unit="week")
    return {str(customer): float(value) for customer, value in zip(summary.customer, values)}, None


# The tests ---------------------------------------------------------------------------------------------------------


def categorical_attributes(members: list[Member]) -> tuple[list[str], list[str], list[str]]:
    """Names of the customers' categorical attributes, of their numeric ones, and why others are left out."""
    values: dict[str, set] = defaultdict(set)
    numeric: dict[str, bool] = defaultdict(lambda: True)
    for member in members:
        for name, value in member.attributes.items():
            if value is None or value == "":
                continue
            values[name].add(str(value))
            numeric[name] = numeric[name] and isinstance(value, int | float) and not isinstance(value, bool)
    categorical, numbers, skipped = [], [], []
    for name in sorted(values):
        if numeric[name] and len(values[name]) > MAX_CATEGORIES:
            numbers.append(name)
        elif len(values[name]) > MAX_CATEGORIES:
            skipped.append(f"{name}: {len(values[name]):,} distinct values, too many to be segments")
        else:
            categorical.append(name)
    return categorical, numbers, skipped


def category_of(member: Member, name: str) -> str:
    """The member's category on an attribute, or on the tenure bands when `name` is "tenure" and no customer
    attribute has that name."""
    if name == TENURE and TENURE not in member.attributes:
        days = member.numbers["tenure_days"]
        return next(label for limit, label in TENURE_BANDS if limit is None or days < limit)
    value = member.attributes.get(name)
    return NOT_RECORDED if value is None or value == "" else str(value)


def weightable(members: list[Member], categorical: list[str]) -> list[str]:
    """The attributes one can rake on: the categorical ones, and tenure in bands when its bands differ."""
    bands = {category_of(member, TENURE) for member in members if "tenure_days" in member.numbers}
    return [*categorical, TENURE] if TENURE not in categorical and len(bands) > 1 else list(categorical)


def _attribute_tests(members: list[Member], *, confidence: float,
                     min_base: int) -> tuple[list[AttributeTestPublic], list[str]]:
    categorical, numeric_attributes, skipped = categorical_attributes(members)
    tests = [_categorical_test(members, name, confidence, min_base) for name in categorical]
    for name in [*numeric_attributes, *NUMERIC]:
        values = [(member.response_id is not None, member.attributes.get(name) if name not in NUMERIC
                   else member.numbers.get(name)) for member in members]
        values = [(answered, float(value)) for answered, value in values if value is not None]
        if not values:
            continue
        tests.append(_numeric_test(name, values, confidence))
    tested = [index for index, test in enumerate(tests) if test.p_value is not None]
    for index, adjusted in zip(tested, comparisons.holm([tests[index].p_value for index in tested])):
        tests[index].p_holm = adjusted
        tests[index].differs = adjusted < 1 - confidence
    for test in tests:
        test.verdict = _verdict(test, confidence)
    return tests, skipped


def _categorical_test(members: list[Member], name: str, confidence: float, min_base: int) -> AttributeTestPublic:
    invited: dict[str, int] = defaultdict(int)
    answered: dict[str, int] = defaultdict(int)
    for member in members:
        category = category_of(member, name)
        invited[category] += 1
        answered[category] += member.response_id is not None
    total_invited, total_answered = sum(invited.values()), sum(answered.values())
    categories = [CategoryPublic(
        value=value, invited=invited[value], responded=answered[value],
        rate=EstimatePublic.of(estimates.proportion(successes=answered[value], n=invited[value], min_base=min_base,
                                                    confidence=confidence)),
        audience_share=100.0 * invited[value] / total_invited,
        respondent_share=100.0 * answered[value] / total_answered if total_answered else 0.0,
    ) for value in sorted(invited, key=lambda value: (value == NOT_RECORDED, value))]
    test = AttributeTestPublic(name=name, kind="categorical", test="none", categories=categories, verdict="")
    table = [[category.responded, category.invited - category.responded] for category in categories]
    chi = chi_square_test(table)
    if chi is None:
        test.note = "only one category, or everyone (or no one) answered: nothing to test"
        return test
    test.test, test.statistic, test.dof, test.p_value = "chi-square", chi.statistic, chi.dof, chi.p_value
    if chi.smallest_expected < SMALL_EXPECTED and len(table) == 2:
        test.test, test.p_value = "fisher-exact", float(stats.fisher_exact(table).pvalue)
        test.note = (f"a category expects fewer than {SMALL_EXPECTED} respondents (the smallest "
                     f"{chi.smallest_expected:.1f}), so Fisher's exact test replaces the chi-square")
    elif chi.cells_expected_below_5:
        test.note = (f"{chi.cells_expected_below_5} of the {2 * len(table)} cells expect fewer than "
                     f"{SMALL_EXPECTED} customers (the smallest {chi.smallest_expected:.1f}), so the p-value is only "
                     "approximate; merge small categories")
    return test


def _numeric_test(name: str, values: list[tuple[bool, float]], confidence: float) -> AttributeTestPublic:
    answered = np.array([value for responded, value in values if responded])
    silent = np.array([value for responded, value in values if not responded])
    means = GroupMeansPublic(respondents=float(answered.mean()) if answered.size else None,
                             non_respondents=float(silent.mean()) if silent.size else None,
                             respondents_n=int(answered.size), non_respondents_n=int(silent.size))
    test = AttributeTestPublic(name=NUMERIC.get(name, name), kind="numeric", test="none", means=means, verdict="")
    if answered.size < 2 or silent.size < 2:
        test.note = "Welch's t needs at least two respondents and two non-respondents with a value"
        return test
    if answered.std() == 0 and silent.std() == 0 and answered[0] == silent[0]:
        test.note = "every customer has the same value: nothing to test"
        return test
    difference = comparisons.mean_difference(
        a=(answered.size, float(answered.sum()), float((answered ** 2).sum())),
        b=(silent.size, float(silent.sum()), float((silent ** 2).sum())), confidence=confidence)
    test.test, test.statistic, test.p_value = "welch-t", difference.statistic, difference.p_value
    pooled = math.sqrt((answered.var(ddof=1) + silent.var(ddof=1)) / 2)
    test.standardized_difference = difference.difference / pooled if pooled else None
    return test


def _verdict(test: AttributeTestPublic, confidence: float) -> str:
    level = f"{round(confidence * 100)}%"
    if test.p_value is None:
        return f"{test.name[:1].upper()}{test.name[1:]}: not tested ({test.note})."
    p = _p_words(test.p_holm)
    if test.kind == "numeric":
        means = test.means
        direction = "higher" if means.respondents > means.non_respondents else "lower"
        size = test.standardized_difference
        sized = f", a standardized difference of {size:+.2f}" if size is not None else ""
        if test.differs:
            return (f"Respondents' {test.name} is {direction} than non-respondents' ({means.respondents:,.1f} against "
                    f"{means.non_respondents:,.1f}{sized}; adjusted p {p}).")
        return (f"No evidence at {level} confidence that respondents' {test.name} differs from non-respondents' "
                f"({means.respondents:,.1f} against {means.non_respondents:,.1f}; adjusted p {p}).")
    rated = [category for category in test.categories if category.invited]
    low = min(rated, key=lambda category: category.rate.value)
    high = max(rated, key=lambda category: category.rate.value)
    if test.differs:
        return (f"Response differs by {test.name}: {low.value} answered least ({low.rate.value:.0f}% of "
                f"{low.invited:,}), {high.value} most ({high.rate.value:.0f}% of {high.invited:,}); adjusted p {p}. "
                f"Unweighted results over-represent {high.value}.")
    return (f"No evidence at {level} confidence that response differs by {test.name} "
            f"({low.rate.value:.0f}% to {high.rate.value:.0f}%; adjusted p {p}).")


def _p_words(p: float | None) -> str:
    if p is None:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# Weighting ---------------------------------------------------------------------------------------------------------


def raked_weights(members: list[Member], by: list[str], *, cap: float | None = None) -> tuple[list[Member], Any]:
    """The respondents and their raking weights to the audience's counts on each attribute of `by` (each
    respondent stands for that many invited customers), trimmed at `cap` × the mean weight if given;
    RakingError when the margins cannot be met."""
    respondents = [member for member in members if member.response_id is not None]
    targets = {}
    for name in by:
        counts: dict[str, float] = defaultdict(float)
        for member in members:
            counts[category_of(member, name)] += 1
        targets[name] = dict(counts)
    categories = {name: [category_of(member, name) for member in respondents] for name in by}
    return respondents, rake(categories, targets, cap=cap)


def _weighting(connection: Connection, survey_id: int, members: list[Member], tests: list[AttributeTestPublic],
               weight_by: list[str] | None, confidence: float, min_base: int) -> WeightingPublic:
    categorical = {test.name for test in tests if test.kind == "categorical"}
    offered = weightable(members, sorted(categorical))
    if weight_by:
        unknown = [name for name in weight_by if name not in offered]
        if unknown:
            raise NonresponseError(f"the audience has no categorical attribute {unknown[0]!r} to weight by "
                                   f"(offered: {', '.join(offered) or 'none'})", parameter="weight")
        by, chosen_by = list(dict.fromkeys(weight_by)), "asked"
    else:
        tenure = next((test for test in tests if test.name == NUMERIC["tenure_days"]), None)
        by = [test.name for test in tests if test.kind == "categorical" and test.differs]
        by += [TENURE] if TENURE in offered and tenure is not None and tenure.differs else []
        chosen_by = "tests"
    weighting = WeightingPublic(by=by, chosen_by=chosen_by)
    if not by:
        return weighting
    try:
        respondents, raked = raked_weights(members, by)
    except RakingError as exc:
        weighting.error = str(exc)
        return weighting
    weights = raked.weights
    weighting.respondents, weighting.iterations = len(respondents), raked.iterations
    weighting.effective_n, weighting.design_effect = raked.effective_n, raked.design_effect
    weighting.largest_weight, weighting.smallest_weight = float(weights.max()), float(weights.min())
    by_response = {member.response_id: weight for member, weight in zip(respondents, weights)}
    scores = _scores(connection, survey_id, by_response)
    for (key, text, metric), answers in scores.items():
        weighting.metrics.append(_metric(key, text, metric, answers, confidence, min_base))
    segments = {member.response_id: {name: category_of(member, name) for name in categorical}
                for member in respondents}
    weighting.comparisons = _comparison_flags(scores, segments, confidence, min_base)
    weighting.findings = _findings(weighting)
    return weighting


def _scores(connection: Connection, survey_id: int, weights: dict[int, float]) -> dict[tuple, list[tuple]]:
    """Per scored question (key, text, metric): each respondent's (response id, score mapped to the metric's
    unit, weight). NPS answers become +1/0/−1, CSAT 1 for the top two boxes, means the score."""
    found: dict[tuple, list[tuple]] = {}
    for variant in survey_questions(connection, survey_id=survey_id):
        metric = METRICS.get(variant.kind)
        if metric is None:
            continue
        rows = connection.execute(select(Answer.response_id, Answer.score).where(
            Answer.question_id.in_(variant.ids), Answer.score.is_not(None),
            Answer.response_id.in_(select(Response.id).where(Response.survey_id == survey_id,
                                                             Response.invitation_id.is_not(None)))))
        answers = [(response_id, _unit(metric, score, variant.scale_max), weights[response_id])
                   for response_id, score in rows if response_id in weights]
        if answers:
            found[(variant.key, variant.text("en"), metric)] = answers
    return found


def _unit(metric: str, score: int, scale_max: int | None) -> float:
    if metric == "nps":
        return 1.0 if score >= CUTS.promoter_min else (-1.0 if score <= CUTS.detractor_max else 0.0)
    if metric == "csat":
        return 1.0 if score >= (scale_max or 5) - 1 else 0.0
    return float(score)


def _estimate(metric: str, answers: list[tuple], weighted: bool, confidence: float, min_base: int):
    values = np.array([value for _, value, _ in answers])
    weights = np.array([weight for _, _, weight in answers]) if weighted else np.ones(len(answers))
    n, total = len(values), float(weights.sum())
    effective = total * total / float(np.dot(weights, weights))
    common = {"n": n, "effective_n": effective, "min_base": min_base, "confidence": confidence}
    if metric == "nps":
        return estimates.weighted_nps(promoters=float(weights[values > 0].sum()),
                                      passives=float(weights[values == 0].sum()),
                                      detractors=float(weights[values < 0].sum()), **common), effective
    if metric == "csat":
        return estimates.weighted_top_box(top=float(weights[values > 0].sum()), total=total, **common), effective
    return estimates.weighted_mean(total_weight=total, weighted_total=float(np.dot(weights, values)),
                                   weighted_squares=float(np.dot(weights, values * values)), **common), effective


def _metric(key: str, text: str, metric: str, answers: list[tuple], confidence: float,
            min_base: int) -> MetricPublic:
    plain, _ = _estimate(metric, answers, False, confidence, min_base)
    weighted, effective = _estimate(metric, answers, True, confidence, min_base)
    changes = (not plain.low_base and plain.ci_low is not None and weighted.value is not None
               and not plain.ci_low <= weighted.value <= plain.ci_high)
    return MetricPublic(question=key, text=text, metric=metric, unweighted=EstimatePublic.of(plain),
                        weighted=EstimatePublic.of(weighted), effective_n=effective, changes=changes)


def _comparison_flags(scores: dict[tuple, list[tuple]], segments: dict[int, dict[str, str]], confidence: float,
                      min_base: int) -> list[ComparisonFlagPublic]:
    """Each segment against the rest, per NPS and CSAT question and categorical attribute, unweighted and weighted
    (effective counts at Kish's n_eff of each side), Holm-adjusted within each; kept where the conclusion changes:
    significant on one side only, or the sign flips."""
    rows = []
    for (key, _, metric), answers in scores.items():
        if metric == "mean":
            continue
        names = sorted({name for found in segments.values() for name in found})
        for name in names:
            values = sorted({segments[response][name] for response, _, _ in answers})
            if len(values) < 2:
                continue
            for value in values:
                inside = [answer for answer in answers if segments[answer[0]][name] == value]
                outside = [answer for answer in answers if segments[answer[0]][name] != value]
                if len(inside) < min_base or len(outside) < min_base:
                    continue
                plain = _difference(metric, inside, outside, False, confidence)
                weighted = _difference(metric, inside, outside, True, confidence)
                rows.append((key, metric, name, value, plain, weighted))
    if not rows:
        return []
    plain_holm = comparisons.holm([row[4].p_value for row in rows])
    weighted_holm = comparisons.holm([row[5].p_value for row in rows])
    flags = []
    alpha = 1 - confidence
    for (key, metric, name, value, plain, weighted), p_plain, p_weighted in zip(rows, plain_holm, weighted_holm):
        flipped = plain.difference * weighted.difference < 0 and (p_plain < alpha or p_weighted < alpha)
        if (p_plain < alpha) == (p_weighted < alpha) and not flipped:
            continue
        label = "NPS" if metric == "nps" else "CSAT"
        if flipped:
            finding = (f"{label} of {name} {value} against the rest changes sign when weighted "
                       f"({plain.difference:+.1f} unweighted, {weighted.difference:+.1f} weighted).")
        elif p_plain < alpha:
            finding = (f"{label} of {name} {value} differs from the rest unweighted ({plain.difference:+.1f}, adjusted "
                       f"p {_p_words(p_plain)}) but not once weighted ({weighted.difference:+.1f}, adjusted p "
                       f"{_p_words(p_weighted)}).")
        else:
            finding = (f"{label} of {name} {value} differs from the rest only once weighted ({weighted.difference:+.1f}, "
                       f"adjusted p {_p_words(p_weighted)}; unweighted {plain.difference:+.1f}, adjusted p "
                       f"{_p_words(p_plain)}).")
        flags.append(ComparisonFlagPublic(question=key, metric=metric, attribute=name, segment=value,
                                          unweighted_difference=plain.difference,
                                          weighted_difference=weighted.difference, unweighted_p_holm=p_plain,
                                          weighted_p_holm=p_weighted, finding=finding))
    return flags


def _difference(metric: str, inside: list[tuple], outside: list[tuple], weighted: bool, confidence: float):
    """A segment against the rest from effective counts: each side's weighted shares times its Kish n_eff (the
    plain counts when unweighted)."""
    def effective_counts(answers):
        values = np.array([value for _, value, _ in answers])
        weights = np.array([weight for _, _, weight in answers]) if weighted else np.ones(len(answers))
        total = float(weights.sum())
        effective = total * total / float(np.dot(weights, weights))
        shares = [float(weights[values > 0].sum()) / total, float(weights[values == 0].sum()) / total,
                  float(weights[values < 0].sum()) / total]
        return [share * effective for share in shares], effective

    (a, n_a), (b, n_b) = effective_counts(inside), effective_counts(outside)
    if metric == "nps":
        return comparisons.nps_difference(a=tuple(a), b=tuple(b), confidence=confidence)
    return comparisons.proportion_difference(a=(a[0], n_a), b=(b[0], n_b), confidence=confidence)


def _findings(weighting: WeightingPublic) -> list[str]:
    findings = []
    for metric in weighting.metrics:
        if metric.changes:
            unit = "%" if metric.metric == "csat" else ""
            digits = 2 if metric.metric == "mean" else 1
            findings.append(
                f"{_label(metric)} moves from {metric.unweighted.value:.{digits}f}{unit} unweighted to "
                f"{metric.weighted.value:.{digits}f}{unit} weighted, outside the unweighted interval "
                f"({metric.unweighted.ci_low:.{digits}f} to {metric.unweighted.ci_high:.{digits}f}{unit}): the "
                "non-response changes this figure; report the weighted one.")
    findings += [flag.finding for flag in weighting.comparisons]
    return findings


def _label(metric: MetricPublic) -> str:
    name = {"nps": "NPS", "csat": "CSAT", "mean": "The mean"}[metric.metric]
    return f"{name} of “{metric.text}”"


def _summary(result: NonresponsePublic) -> str:
    rate = result.response_rate
    opening = (f"{result.responded:,} of {result.invited:,} invitations were answered ({rate.value:.0f}%, "
               f"{round(result.confidence * 100)}% CI {rate.ci_low:.0f} to {rate.ci_high:.0f}%).")
    differing = [test.name for test in result.attributes if test.differs]
    if not result.attributes:
        return opening + " The invited customers carry no attributes to compare respondents on."
    if not differing:
        return opening + " Respondents do not differ detectably from the invited audience on any known attribute."
    said = opening + f" Respondents differ from the invited audience on {', '.join(differing)}."
    weighting = result.weighting
    if weighting is None or not weighting.by:
        return said
    if weighting.error:
        return said + f" Weighting by {', '.join(weighting.by)} is not possible: {weighting.error}."
    if weighting.findings:
        return said + f" Weighted to the audience, {len(weighting.findings)} conclusion(s) change; see below."
    return said + " Weighted to the audience, no figure's conclusion changes."

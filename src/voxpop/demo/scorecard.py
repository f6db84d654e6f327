"""The demo's balanced scorecard: Northwind's scorecard and its Customer Service department's, applied from their
files through the same checks as `voxpop scorecard apply`; the monthly employee pulse behind employee NPS; the
values people entered (one still awaiting approval); the last month's commentary and an action item; the app
call-back initiative linked to its objective; and a monthly delivery of the PDF to the manager.

The files' periods are written as of a load on 1 November 2026 (the last ended month 2026-10); the demo shifts them
by the months between that and the load, so the targets that change in the last quarter always do.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.analysis.periods import period_days, period_kind, period_label, period_shift
from voxpop.cases.models import Initiative
from voxpop.scorecard import delivery, entries, review
from voxpop.scorecard.definition import load_definition
from voxpop.scorecard.evaluation import review_period
from voxpop.scorecard.models import Measure
from voxpop.scorecard.service import apply_definition, get_scorecard

HERE = Path(__file__).parent
PULSE = "employee-pulse"
FILES = ("northwind-scorecard.yaml", "service-scorecard.yaml")  # the parent first: the department's names it
WRITTEN_AS_OF = "2026-10"  # the last ended month the files' periods are written for
INITIATIVE = "Call back app users within a day"  # demo.cases' initiative that serves the loyalty objective

# About 150 staff answer a monthly pulse, 60 to 120 of them a month. Their mood differs a little by department and
# slowly improves; it follows neither the customers' seasons nor service quality (the strategy map must say so).
STAFF_MOOD = {"Customer Service": -0.2, "Digital": 0.4, "Logistics": -0.5, "Product": 0.3, "Finance": 0.1}
STAFF_WEIGHTS = {"Customer Service": 45, "Digital": 30, "Logistics": 40, "Product": 20, "Finance": 15}
STAFF_COMMENTS = [
    "Fewer systems to log into: I copy the same order number into three tools.",
    "More time with the team leads to learn from hard cases.",
    "The new returns process saves me a lot of time.",
    "December staffing needs planning earlier.",
    "Clearer priorities between the warehouse and customer service.",
    "Training on the app before it is released, not after.",
    "I like that customer comments are shared with us every week.",
    "A quieter place to take difficult calls.",
    "Recognition when a hard case goes well.",
    "Better handover notes between shifts.",
]

# Staff trained on customer practices (% of customer-facing staff), month by month from the first month of data:
# a programme that started slowly and picked up. The last month is entered but not yet approved.
TRAINED = [38, 40, 41, 41, 44, 47, 49, 50, 52, 55, 57, 58, 61, 63, 64, 66, 68, 70]
TRAINING_HOURS = [6.5, 7.0, 9.5, 12.0, 11.0, 8.5, 10.0, 13.5, 12.5, 11.0, 9.0, 14.5, 17.5, 12.0, 10.5, 11.5, 13.0, 12.0]

COMMENTARY = {  # measure key -> (analysis, recommendation) for the last ended month, written by its owner
    "nps": ("NPS is steady against last month; the December rush is still ahead, when late parcels cost us most.",
            "Book extra carrier capacity for December now and tell customers the real delivery date at checkout."),
    "nps_premium": ("Premium's NPS is below its new target, but the target lies inside the interval: with about "
                    "sixty answers a month this is within noise, not a fall.",
                    "Do not act on one month; look again when the quarter closes."),
    "csat": ("Support CSAT moved with service quality, as it has all year; phone is still ahead of e-mail.",
             "Move e-mail contacts that wait over a day to the phone team's call-back list."),
    "first_contact": ("First contact within target held up; the Digital team's call-backs help.",
                      "Keep the call-back rota through December."),
    "staff_trained": ("Two thirds of customer-facing staff have done the customer practices course.",
                      "Approve this month's figure once HR confirms the last two sessions."),
}
ACTION = "Plan December carrier capacity and agree the delivery promise shown at checkout"


def employee_pulse(rng: random.Random, *, start: datetime, now: datetime, departments: list[str]) -> list[tuple]:
    """The monthly pulse's responses, anonymous and in time order: (moment, answers, attributes, None, "en")."""
    weights = [STAFF_WEIGHTS.get(name, 10) for name in departments]
    span = (now - start).total_seconds()
    responses = []
    month = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while month < now:
        following = (month + timedelta(days=32)).replace(day=1)
        first, last = max(month, start), min(following, now)
        share = (last - first).total_seconds() / (following - month).total_seconds()
        for _ in range(round(rng.randint(60, 120) * share)):
            moment = first + timedelta(seconds=rng.uniform(0, (last - first).total_seconds()))
            department = rng.choices(departments, weights=weights)[0]
            mood = STAFF_MOOD.get(department, 0.0) + 0.5 * (moment - start).total_seconds() / span
            answers: dict[str, int | str] = {"enps": max(0, min(10, round(rng.gauss(7.2 + mood, 1.9))))}
            if rng.random() < 0.2:
                answers["comment"] = rng.choice(STAFF_COMMENTS)
            responses.append((moment, answers, {"department": department}, None, "en"))
        month = following
    return sorted(responses, key=lambda response: response[0])


def _shifted(label: str, months: int) -> str:
    """A period of the files moved by `months` months (a quarter by the months of its first day)."""
    if period_kind(label) == "month":
        return period_shift(label, months)
    first = period_label(period_days(label)[0], "month")
    return period_label(period_days(period_shift(first, months))[0], "quarter")


def _document(name: str, *, months: int, initiatives: dict[str, list[int]]) -> dict:
    """A scorecard file, checked on its own, with its periods shifted and the objectives' initiatives filled in."""
    document = load_definition((HERE / name).read_text(encoding="utf-8"), source=f"demo/{name}")
    for measure in document.get("measures", []):
        for row in measure.get("targets", []):
            row["from"] = _shifted(row["from"], months)
    for objective in document.get("objectives", []):
        if objective["key"] in initiatives:
            objective["initiatives"] = initiatives[objective["key"]]
    return document


def _months_between(earlier: str, later: str) -> int:
    (a_year, a_month), (b_year, b_month) = (map(int, earlier.split("-")), map(int, later.split("-")))
    return (b_year - a_year) * 12 + b_month - a_month


def add_scorecards(db_session: Session, *, now: datetime, zone: str) -> None:
    """Northwind's and Customer Service's scorecards with a month's review under way and a monthly delivery."""
    people = {user.email: user for user in db_session.scalars(select(User))}
    admin, manager = people["admin@northwind.example"], people["manager@northwind.example"]
    month = review_period(now, zone, "month")
    months = _months_between(WRITTEN_AS_OF, month)
    callback = db_session.scalar(select(Initiative.id).where(Initiative.title == INITIATIVE))
    for name in FILES:
        document = _document(name, months=months, initiatives={"loyal-customers": [callback]} if callback else {})
        apply_definition(db_session=db_session, document=document, actor=admin, source=f"demo/{name}", now=now)
    northwind = get_scorecard(db_session=db_session, key="northwind")
    measures = {measure.key: measure for measure in db_session.scalars(
        select(Measure).where(Measure.scorecard_id == northwind.id))}
    _enter_values(db_session, measures, people, last=month)
    for key, (analysis, recommendation) in COMMENTARY.items():
        measure = measures[key]
        author = db_session.get(User, measure.owner_id) if measure.owner_id else manager
        review.write_commentary(db_session=db_session, measure=measure, period=month, analysis=analysis,
                                recommendation=recommendation, actor=author)
    review.add_action(db_session=db_session, scorecard=northwind, period=month, text=ACTION,
                      owner_id=people["lena.logistics@northwind.example"].id,
                      due=now.date() + timedelta(days=14), measure_id=measures["nps"].id,
                      actor=manager)
    delivery.create_schedule(db_session=db_session, scorecard=northwind, frequency="monthly", recipients=[manager.id],
                             actor=manager, now=now, zone=zone)


def _enter_values(db_session: Session, measures: dict[str, Measure], people: dict[str, User], *, last: str) -> None:
    """The manual measures' monthly values as their owners entered them: every month approved but the last, whose
    staff-trained figure awaits its owner's approval."""
    for key, series in (("staff_trained", TRAINED), ("training_hours", TRAINING_HOURS)):
        measure = measures[key]
        owner = db_session.get(User, measure.owner_id)
        for step, value in enumerate(series):
            period = period_shift(last, step - len(series) + 1)
            entered = entries.enter_value(db_session=db_session, measure=measure, period=period, value=value,
                                          comment="from the HR learning system", actor=owner)
            if not (key == "staff_trained" and period == last):
                entries.approve_value(db_session=db_session, value=entered, actor=owner)

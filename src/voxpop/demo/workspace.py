"""The demo workspace: Northwind Outfitters, a fictional outdoor retailer, with 18 months of feedback.

Three customer surveys (post-purchase NPS, support CSAT, onboarding CES 2.0), ~21,000 responses with seasonality
(a busy, late-shipping December), real differences between segments and channels (a buggy app release in
one quarter), comments whose tone follows the score (demo.comments), customers, departments and a user of every
role; and the closed loop (demo.cases): rules, 18 months of cases from these responses, a holdout, root causes,
a case team in three departments, two improvement initiatives and an alert rule; and the balanced scorecard
(demo.scorecard): a monthly employee pulse, the Northwind and Customer Service scorecards, people's values, the
last month's review and a monthly delivery. One cause and effect is planted for the strategy map to find: a
month's service quality for business customers moves their support CSAT that month and their post-purchase NPS
the month after.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select
from sqlalchemy import text as sql_text

from voxpop.accounts import service as accounts
from voxpop.analysis.questions import QuestionRef
from voxpop.collection.layout import BATCH, BatchLayout, ResponseBatch
from voxpop.collection.models import Response
from voxpop.collection.writer import Target, insert_batch
from voxpop.customers.models import Customer, Transaction
from voxpop.demo import cases, comments, scorecard
from voxpop.demo import contacts as demo_contacts
from voxpop.demo import qualitative as demo_qualitative
from voxpop.demo import sends as demo_sends
from voxpop.demo import trust as demo_trust
from voxpop.store.database import Database
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Survey
from voxpop.text.pipeline import cyclic_gc_paused

HERE = Path(__file__).parent
DEMO_PASSWORD = "voxpop-demo"
DEMO_USERS = [
    ("admin@northwind.example", "admin"),
    ("manager@northwind.example", "manager"),
    ("analyst@northwind.example", "analyst"),
    ("agent@northwind.example", "agent"),
    ("viewer@northwind.example", "viewer"),
]
DEPARTMENTS = ["Customer Service", "Digital", "Logistics", "Product", "Finance"]
USER_DEPARTMENTS = {"admin": "Digital", "manager": "Customer Service", "analyst": "Product", "agent": "Customer Service",
                    "viewer": "Finance"}
DAYS = 548  # 18 months
VOLUMES = {"post-purchase": 11_500, "support-csat": 6_200, "onboarding-ces": 3_600}
OWNERS = {"post-purchase": "manager@northwind.example", "support-csat": "manager@northwind.example",
          "onboarding-ces": "analyst@northwind.example", scorecard.PULSE: "admin@northwind.example"}

SEGMENTS = {"consumer": 0.0, "business": -0.6, "premium": 0.8}
REGIONS = ["UK", "DACH", "Nordics", "Benelux"]
PURCHASE_CHANNELS = {"web": 0.0, "store": 0.5, "app": -0.2}
SUPPORT_CHANNELS = {"phone": 0.2, "chat": 0.0, "email": -0.5}
TEAMS = ["orders", "returns", "technical"]
PLANS = {"free": -0.3, "plus": 0.2, "pro": 0.3}
# The post-purchase survey's follow-up question for each NPS group, and the share who answer it.
REASONS = {"detractor": ("reason", 0.6), "passive": ("reason_passive", 0.4), "promoter": ("reason_promoter", 0.45)}


class DemoAlreadyLoaded(ValueError):
    """Loading the demo twice would mix two copies of the same fictional history."""


def _seasonal_volume(day: datetime) -> float:
    return 1.0 + (0.9 if day.month in (11, 12) else 0.0) + (0.3 if day.month in (6, 7) else 0.0)


def _seasonal_mood(day: datetime) -> float:
    # December's rush makes deliveries late, so scores dip.
    return -0.9 if day.month == 12 else (-0.3 if day.month == 1 else 0.0)


def _score(rng: random.Random, mood: float, low: int, high: int, centre: float, spread: float) -> int:
    value = rng.gauss(centre + mood * spread / 2, spread)
    return max(low, min(high, int(round(value))))


def _group(score: int, detractor_max: int, promoter_min: int) -> str:
    return "detractor" if score <= detractor_max else "promoter" if score >= promoter_min else "passive"


def _comment(rng: random.Random, chance: float, survey: str, group: str, *, language: str = "en",
             focus: str | None = None) -> str | None:
    """A comment from `chance` of the customers who answer."""
    if rng.random() > chance:
        return None
    return comments.comment(rng, survey=survey, group=group, language=language, focus=focus)


# How the demo's customers behave after what they said: promoters buy more often and stay longer.
BEHAVIOUR = {"promoter": (1.4, 0.06), "passive": (1.0, 0.12), "detractor": (0.7, 0.25), None: (1.0, 0.12)}
# From the "call back app users" initiative's change date on, app buyers are happier (demo.cases dates it).
APP_CALLBACK_UPLIFT = 0.8
# The strategy map's one real link: business accounts judge Northwind by its support, so each month's service
# quality for them moves their support CSAT that month (about ±11 points of top box) and their post-purchase NPS a
# month later (about ±18 points, as they order again and recommend us, or not). Business customers are a fifth of
# the answers, so the surveys' overall charts move far less. Drawn from its own random stream, so the rest of the
# history keeps its draws.
SERVICE_SEGMENT = "business"
SERVICE_SPREAD = 0.6  # mood units
SERVICE_TO_NPS = 0.9


def _service_quality(seed: int, start: datetime, now: datetime) -> dict[tuple[int, int], float]:
    """(year, month) -> that month's service quality for business customers, in mood units."""
    rng = random.Random(f"service-quality:{seed}")
    quality, month = {}, (start.year, start.month)
    while month <= (now.year, now.month):
        quality[month] = rng.gauss(0.0, SERVICE_SPREAD)
        month = (month[0] + month[1] // 12, month[1] % 12 + 1)
    return quality


def _month_before(day: datetime) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


def _moments(rng: random.Random, start: datetime, now: datetime, weights: list[float], volume: int) -> list[datetime]:
    """When a survey's responses came in, in time order (so a case can change what its customer says later)."""
    moments = []
    for offset in rng.choices(range(DAYS), weights=weights, k=volume):
        day = start + timedelta(days=offset, seconds=rng.randint(7 * 3600, 22 * 3600))
        moments.append(day if day <= now else now - timedelta(minutes=rng.randint(1, 600)))
    return sorted(moments)


def _transactions(rng: random.Random, customers: list[dict], customer_ids: dict[str, int],
                  said: dict[str, tuple[datetime, int]], start: datetime, now: datetime,
                  contacted: set[str] = frozenset()) -> list[dict]:
    """Purchase lines for every demo customer: a purchase rate and a chance of lapsing after each purchase that
    differ between customers (the BG/NBD story) and follow their latest NPS; a post-purchase survey answer
    comes with the purchase it was about. Detractors a case reached (`contacted`) stay a little more often."""
    rows = []
    for customer in customers:
        answered = said.get(customer["external_id"])
        group = None if answered is None else ("promoter" if answered[1] >= 9 else
                                               "detractor" if answered[1] <= 6 else "passive")
        speed, lapse = BEHAVIOUR[group]
        if group == "detractor" and customer["external_id"] in contacted:
            speed, lapse = cases.CONTACTED_BEHAVIOUR
        rate = rng.gammavariate(2.0, 1 / 70) * speed  # purchases per day
        typical = rng.gammavariate(4.0, 15.0) * (1.6 if customer["attributes"]["segment"] == "business" else 1.0)
        days = {round(rng.uniform(0, 60))}
        if answered is not None:  # half of them first bought on the day they answered about
            days = {(answered[0] - start).days} if rng.random() < 0.5 else days | {(answered[0] - start).days}
        day = min(days)
        while True:
            day += 1 + round(rng.expovariate(rate))
            if day >= (now - start).days or rng.random() < lapse * (0.4 if answered and day < (answered[0] - start).days
                                                                   else 1.0):
                break
            days.add(day)
        for offset in sorted(days):
            rows.append({"customer_id": customer_ids[customer["external_id"]],
                         "source_key": f"demo:{customer['external_id']}:{offset}",
                         "day": (start + timedelta(days=offset)).date(),
                         "amount": round(rng.gammavariate(6.0, typical / 6.0), 2), "quantity": None, "cost": None,
                         "kind": "sale", "invoice": None, "product": None, "imported_at": now})
    return rows


def load_demo(db: Database, *, seed: int = 7, if_empty: bool = False, progress=None, now: datetime | None = None,
              zone: str = "UTC") -> int | None:
    """Load the workspace; returns the number of responses, or None when `if_empty` and surveys exist."""
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    start = now - timedelta(days=DAYS)
    # Tens of thousands of rows pile up in memory with no cycles among them: the cycle collector only slows it.
    with db.write() as db_session, cyclic_gc_paused():
        if if_empty and db_session.scalar(select(func.count()).select_from(Survey)):
            return None
        if db_session.scalar(select(func.count()).select_from(Survey).where(Survey.key.in_(list(VOLUMES)))):
            raise DemoAlreadyLoaded("the demo workspace is already in this database; load it into a fresh one "
                                    "(set VOXPOP_DATA_DIR or VOXPOP_DATABASE_URL)")
        for name in DEPARTMENTS:
            accounts.get_or_create_department(db_session=db_session, name=name)
        password_hash = accounts.hash_password(DEMO_PASSWORD)  # once: argon2 takes a tenth of a second a hash
        for email, role in DEMO_USERS:
            if db_session.scalar(select(func.count()).select_from(accounts.User).where(accounts.User.email == email)) == 0:
                user = accounts.create_user(db_session=db_session, email=email, password=None, role=role,
                                            name=role.capitalize() + " (demo)", department=USER_DEPARTMENTS[role])
                user.password_hash = password_hash
        cases.add_case_team(db_session, password_hash=password_hash)
        versions = {}
        for name in [*VOLUMES, scorecard.PULSE]:
            definition = surveys.read_definition(HERE / f"{name}.yaml")
            result = surveys.apply(db_session=db_session, definition=definition)
            surveys.set_owner(db_session=db_session, survey=result.survey, owner=db_session.scalar(
                select(accounts.User).where(accounts.User.email == OWNERS[name])))
            questions = {q.key: QuestionRef(q.key, q.kind, q.scale_min, q.scale_max, q.ces_version, q.id)
                         for q in result.version.questions}
            versions[name] = Target(result.survey.id, result.version.id, questions, channel="web")
        history = cases.History(cases.apply_case_rules(db_session, now=now, zone=zone), seed=seed, now=now)
        app_callback = now - timedelta(days=cases.APP_CALLBACK_DAYS_AGO)

        customers = []
        for number in range(1, 9001):
            segment = rng.choices(list(SEGMENTS), weights=[70, 20, 10])[0]
            customers.append({"external_id": f"NW-{number:06d}", "email": f"customer{number}@example.com",
                              "attributes": {"segment": segment, "region": rng.choice(REGIONS)},
                              "created_at": start})
        existing = set(db_session.scalars(select(Customer.external_id)))
        fresh = [row for row in customers if row["external_id"] not in existing]
        if fresh:
            db_session.execute(insert(Customer.__table__), fresh)
        customer_ids = dict(db_session.execute(select(Customer.external_id, Customer.id)).all())

        quality = _service_quality(seed, start, now)
        day_weights = [_seasonal_volume(start + timedelta(days=offset)) for offset in range(DAYS)]
        total = 0
        said: dict[str, tuple[datetime, int]] = {}  # customer -> their latest post-purchase NPS
        response_ids: dict[tuple[str, int], int] = {}  # (survey, position in its batch) -> response id
        connection = db_session.connection()
        for name, volume in VOLUMES.items():
            responses = []
            for number, day in enumerate(_moments(rng, start, now, day_weights, volume), start=1):
                offset = (day - start).days
                customer = rng.choice(customers)
                segment = customer["attributes"]["segment"]
                region = customer["attributes"]["region"]
                mood = _seasonal_mood(day) + SEGMENTS[segment]
                row_answers: dict[str, int | str | list[str]] = {}
                row_attributes = {"segment": segment}
                language = "en"
                if name == "post-purchase":
                    channel = rng.choices(list(PURCHASE_CHANNELS), weights=[55, 25, 20])[0]
                    # The app release of the fifth month was buggy for a quarter.
                    app_bug = channel == "app" and 120 <= offset < 210
                    mood += PURCHASE_CHANNELS[channel] - (1.5 if app_bug else 0.0)
                    if channel == "app" and day >= app_callback:
                        mood += APP_CALLBACK_UPLIFT
                    mood += history.mood(customer["external_id"], day)
                    if segment == SERVICE_SEGMENT:
                        mood += SERVICE_TO_NPS * quality.get(_month_before(day), 0.0)
                    language = "de" if region == "DACH" and rng.random() < 0.8 else "en"
                    nps = _score(rng, mood, 0, 10, 8.1, 2.0)
                    row_answers["nps"] = nps
                    if customer["external_id"] not in said or said[customer["external_id"]][0] < day:
                        said[customer["external_id"]] = (day, nps)
                    group = _group(nps, 6, 9)
                    key, chance = REASONS[group]
                    focus = None  # what unhappy customers write about then: the buggy app, December's late parcels
                    if group != "promoter" and app_bug and rng.random() < 0.6:
                        focus = "app"
                    elif group != "promoter" and day.month == 12 and rng.random() < 0.5:
                        focus = "delivery"
                    text = _comment(rng, chance, name, group, language=language, focus=focus)
                    if text:
                        row_answers[key] = text
                    if rng.random() < 0.85:
                        row_answers["delivery"] = _score(rng, mood + _seasonal_mood(day), 1, 5, 4.0, 1.0)
                    row_answers["bought"] = rng.sample(["apparel", "footwear", "camping", "accessories"],
                                                       k=rng.choice([1, 1, 2, 3]))
                    row_attributes |= {"channel": channel, "region": region}
                    if group == "detractor":
                        consent = history.rng.random() < cases.CONSENT
                        row_answers["may_contact"] = "yes" if consent else "no"
                        history.consider("nps-detractor", survey=name, number=number, customer=customer["external_id"],
                                         submitted_at=day, attributes=row_attributes, score=nps, consent=consent,
                                         comment=text)
                    elif group == "passive" and cases.complains_about_delivery(text, language):
                        history.consider("delivery-complaint", survey=name, number=number,
                                         customer=customer["external_id"], submitted_at=day,
                                         attributes=row_attributes, score=nps, consent=None, comment=text)
                elif name == "support-csat":
                    channel = rng.choices(list(SUPPORT_CHANNELS), weights=[35, 40, 25])[0]
                    mood += SUPPORT_CHANNELS[channel]
                    if segment == SERVICE_SEGMENT:
                        mood += quality[(day.year, day.month)]
                    csat = _score(rng, mood, 1, 5, 3.9, 1.05)
                    row_answers["csat"] = csat
                    row_answers["resolved"] = "yes" if csat >= 4 else rng.choice(["partly", "no"])
                    text = _comment(rng, 0.35, name, _group(csat, 2, 4))
                    if text:
                        row_answers["comment"] = text
                    row_attributes |= {"channel": channel, "team": rng.choice(TEAMS)}
                    if csat <= 2:
                        consent = history.rng.random() < cases.CONSENT
                        row_answers["may_contact"] = "yes" if consent else "no"
                        history.consider("support-unhappy", survey=name, number=number,
                                         customer=customer["external_id"], submitted_at=day,
                                         attributes=row_attributes, score=csat, consent=consent, comment=text)
                else:
                    plan = rng.choices(list(PLANS), weights=[50, 35, 15])[0]
                    mood += PLANS[plan]
                    ces = _score(rng, mood, 1, 7, 5.3, 1.4)
                    row_answers["ces"] = ces
                    focus = None
                    if ces <= 4:
                        row_answers["hardest"] = rng.choice(["signup", "payment", "payment", "profile", "app"])
                        focus = "app" if row_answers["hardest"] == "app" else "signup"
                    text = _comment(rng, 0.3, name, _group(ces, 3, 5), focus=focus)
                    if text:
                        row_answers["comment"] = text
                    row_attributes["plan"] = plan
                responses.append((day, row_answers, row_attributes, customer, language))
            stored = _store(connection, versions[name], sorted(responses, key=lambda response: response[0]), zone)
            total += stored
            response_ids.update(((name, int(key.removeprefix("demo:"))), response_id) for key, response_id in
                                db_session.execute(select(Response.idempotency_key, Response.id)
                                                   .where(Response.survey_id == versions[name].survey_id)))
            if progress is not None:
                progress.print(f"  {name}: {stored:,} responses")
        pulse = scorecard.employee_pulse(random.Random(f"employee-pulse:{seed}"), start=start, now=now,
                                         departments=DEPARTMENTS)
        total += _store(connection, versions[scorecard.PULSE], pulse, zone)
        cases.write_history(db_session, history, response_ids=response_ids, customer_ids=customer_ids, seed=seed)
        cases.add_improvement(db_session, now=now)
        purchases = _transactions(rng, customers, customer_ids, said, start, now, history.contacted)
        db_session.execute(insert(Transaction.__table__), purchases)
        if progress is not None:
            progress.print(f"  cases: {len(history.stories):,} opened by rules, {len(history.held_out):,} held out")
            progress.print("  case team (same password): " + ", ".join(email for email, *_ in cases.CASE_TEAM))
            progress.print(f"  transactions: {len(purchases):,} purchase lines")
        scorecard.add_scorecards(db_session, now=now, zone=zone)
        # Issue 16: contacts (consent, language, suppression), the e-mail sends with their log, focus groups.
        for line in (demo_contacts.add_contacts(db_session, now=now, seed=seed),
                     demo_sends.add_sends(db_session, now=now, zone=zone, seed=seed),
                     demo_qualitative.add_sources(db_session, now=now, zone=zone, seed=seed),
                     # Issue 17: a month of staff log-ins (and a stranger's guesses) in the audit log, one erasure.
                     demo_trust.add_trust(db_session, now=now, zone=zone, seed=seed)):
            if line and progress is not None:
                progress.print(f"  {line}")
        if connection.dialect.name == "postgresql":
            # Without statistics after a bulk load (autovacuum may be off, or not yet round), PostgreSQL plans the
            # loop metrics' per-case subqueries as if the tables were empty: the scorecard takes minutes, not seconds.
            db_session.execute(sql_text("ANALYZE"))
        if progress is not None:
            progress.print(f"  employee pulse: {len(pulse):,} responses; scorecards: northwind, customer-service")
    return total


def _store(connection, target: Target, responses: list[tuple], zone: str) -> int:
    """Write one survey's responses, in time order, through the bulk writer that imports use."""
    layout = BatchLayout(target.questions, zone=zone, dialect=type(connection.dialect))
    stored = 0
    for first in range(0, len(responses), BATCH):
        batch = ResponseBatch()
        for number, (day, answers, attributes, customer, language) in enumerate(
                responses[first:first + BATCH], start=first + 1):
            # The employee pulse is anonymous: its responses have no customer.
            layout.add(batch, f"demo:{number}", day, answers, attributes,
                       customer=customer["external_id"] if customer else None,
                       email=customer["email"] if customer else None, language=language)
        stored += insert_batch(connection, layout.finished(batch), target)
    return stored

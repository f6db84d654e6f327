"""The demo workspace: Northwind Outfitters, a fictional outdoor retailer, with 18 months of feedback.

Three surveys (post-purchase NPS, support CSAT, onboarding CES 2.0), ~21,000 responses with seasonality
(a busy, late-shipping December), real differences between segments and channels (a buggy app release in
one quarter), comments whose tone follows the score, customers, departments and a user of every role.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

from voxpop.accounts import service as accounts
from voxpop.collection.layout import BATCH, BatchLayout, ResponseBatch
from voxpop.collection.writer import Target, insert_batch
from voxpop.customers.models import Customer, Transaction
from voxpop.store.database import Database
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Survey

HERE = Path(__file__).parent
DEMO_PASSWORD = "voxpop-demo"
DEMO_USERS = [
    ("admin@northwind.example", "admin"),
    ("manager@northwind.example", "manager"),
    ("analyst@northwind.example", "analyst"),
    ("agent@northwind.example", "agent"),
    ("viewer@northwind.example", "viewer"),
]
DEPARTMENTS = {"admin": "Customer Experience", "manager": "Customer Experience", "analyst": "Customer Experience",
               "agent": "Customer Service", "viewer": "Stores"}
DAYS = 548  # 18 months
VOLUMES = {"post-purchase": 11_500, "support-csat": 6_200, "onboarding-ces": 3_600}

SEGMENTS = {"consumer": 0.0, "business": -0.6, "premium": 0.8}
REGIONS = ["UK", "DACH", "Nordics", "Benelux"]
PURCHASE_CHANNELS = {"web": 0.0, "store": 0.5, "app": -0.2}
SUPPORT_CHANNELS = {"phone": 0.2, "chat": 0.0, "email": -0.5}
TEAMS = ["orders", "returns", "technical"]
PLANS = {"free": -0.3, "plus": 0.2, "pro": 0.3}

NEGATIVE = {
    "en": ["The parcel arrived {d} days late and nobody told me why.", "Sizing was way off and the return took weeks.",
           "I emailed twice and never got an answer.", "The app crashed at checkout, twice.",
           "The tent arrived with a broken pole.", "Too expensive for the quality you get.",
           "Refund still not processed after a month.", "The delivery driver left it in the rain."],
    "de": ["Das Paket kam {d} Tage zu spät.", "Die Größe passte nicht und die Rücksendung dauerte Wochen.",
           "Zweimal geschrieben, nie eine Antwort bekommen.", "Die App ist beim Bezahlen abgestürzt."],
}
PASSIVE = {
    "en": ["Good products, but delivery could be faster.", "Fine overall; the website is a bit confusing.",
           "Decent quality, prices a little high.", "OK, though tracking updates were patchy.",
           "Nice jacket, but the packaging was wasteful."],
    "de": ["Gute Produkte, aber die Lieferung könnte schneller sein.", "Insgesamt gut, die Website ist etwas unübersichtlich."],
}
POSITIVE = {
    "en": ["Fast delivery and great quality!", "The staff in the store were really helpful.",
           "Love the jacket, fits perfectly.", "Easy returns, no questions asked.", "Best hiking boots I have owned.",
           "Ordered on Monday, camping with it on Friday. Brilliant."],
    "de": ["Schnelle Lieferung und tolle Qualität!", "Sehr freundliche Beratung im Laden.", "Die Jacke passt perfekt."],
}
SUPPORT_NEGATIVE = ["I was passed between three agents.", "Waited 40 minutes on hold.", "The answer did not solve anything.",
                    "Chat closed before my question was answered."]
SUPPORT_POSITIVE = ["Sorted in five minutes, thank you!", "Very friendly and knew exactly what to do.",
                    "Replacement sent the same day.", "Clear answer, no fuss."]
ONBOARDING_NEGATIVE = ["The payment step kept rejecting my card.", "Too many fields in the profile.",
                       "Verification e-mail took an hour to arrive.", "The app would not log me in after sign-up."]
ONBOARDING_POSITIVE = ["Took two minutes.", "Very smooth, well done.", "Easy, clear steps."]


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


def _comment(rng: random.Random, fraction: float, bank: list[str]) -> str | None:
    if rng.random() > fraction:
        return None
    return rng.choice(bank).format(d=rng.randint(2, 9))


# How the demo's customers behave after what they said: promoters buy more often and stay longer.
BEHAVIOUR = {"promoter": (1.4, 0.06), "passive": (1.0, 0.12), "detractor": (0.7, 0.25), None: (1.0, 0.12)}


def _transactions(rng: random.Random, customers: list[dict], customer_ids: dict[str, int],
                  said: dict[str, tuple[datetime, int]], start: datetime, now: datetime) -> list[dict]:
    """Purchase lines for every demo customer: a purchase rate and a chance of lapsing after each purchase that
    differ between customers (the BG/NBD story) and follow their latest NPS; a post-purchase survey answer
    comes with the purchase it was about."""
    rows = []
    for customer in customers:
        answered = said.get(customer["external_id"])
        group = None if answered is None else ("promoter" if answered[1] >= 9 else
                                               "detractor" if answered[1] <= 6 else "passive")
        speed, lapse = BEHAVIOUR[group]
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
    with db.write() as db_session:
        if if_empty and db_session.scalar(select(func.count()).select_from(Survey)):
            return None
        if db_session.scalar(select(func.count()).select_from(Survey).where(Survey.key.in_(list(VOLUMES)))):
            raise DemoAlreadyLoaded("the demo workspace is already in this database; load it into a fresh one "
                                    "(set VOXPOP_DATA_DIR or VOXPOP_DATABASE_URL)")
        for email, role in DEMO_USERS:
            if db_session.scalar(select(func.count()).select_from(accounts.User).where(accounts.User.email == email)) == 0:
                accounts.create_user(db_session=db_session, email=email, password=DEMO_PASSWORD, role=role,
                                     name=role.capitalize() + " (demo)", department=DEPARTMENTS[role])
        versions = {}
        for name in VOLUMES:
            definition = surveys.read_definition(HERE / f"{name}.yaml")
            result = surveys.apply(db_session=db_session, definition=definition)
            versions[name] = Target(result.survey.id, result.version.id,
                                    {q.key: (q.id, q.kind, q.scale_max) for q in result.version.questions}, channel="web")

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

        day_weights = [_seasonal_volume(start + timedelta(days=offset)) for offset in range(DAYS)]
        total = 0
        said: dict[str, tuple[datetime, int]] = {}  # customer -> their latest post-purchase NPS
        connection = db_session.connection()
        for name, volume in VOLUMES.items():
            responses = []
            for offset in rng.choices(range(DAYS), weights=day_weights, k=volume):
                day = start + timedelta(days=offset, seconds=rng.randint(7 * 3600, 22 * 3600))
                if day > now:
                    day = now - timedelta(minutes=rng.randint(1, 600))
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
                    language = "de" if region == "DACH" and rng.random() < 0.8 else "en"
                    nps = _score(rng, mood, 0, 10, 8.1, 2.0)
                    row_answers["nps"] = nps
                    if customer["external_id"] not in said or said[customer["external_id"]][0] < day:
                        said[customer["external_id"]] = (day, nps)
                    if nps <= 6:
                        text = _comment(rng, 0.6, NEGATIVE[language])
                        if app_bug and text and rng.random() < 0.6:
                            text = "The app crashed at checkout, twice." if language == "en" else "Die App ist beim Bezahlen abgestürzt."
                        key = "reason"
                    elif nps <= 8:
                        text, key = _comment(rng, 0.4, PASSIVE[language]), "reason_passive"
                    else:
                        text, key = _comment(rng, 0.45, POSITIVE[language]), "reason_promoter"
                    if text:
                        row_answers[key] = text
                    if rng.random() < 0.85:
                        row_answers["delivery"] = _score(rng, mood + _seasonal_mood(day), 1, 5, 4.0, 1.0)
                    row_answers["bought"] = rng.sample(["apparel", "footwear", "camping", "accessories"],
                                                       k=rng.choice([1, 1, 2, 3]))
                    row_attributes |= {"channel": channel, "region": region}
                elif name == "support-csat":
                    channel = rng.choices(list(SUPPORT_CHANNELS), weights=[35, 40, 25])[0]
                    mood += SUPPORT_CHANNELS[channel]
                    csat = _score(rng, mood, 1, 5, 3.9, 1.05)
                    row_answers["csat"] = csat
                    row_answers["resolved"] = "yes" if csat >= 4 else rng.choice(["partly", "no"])
                    text = _comment(rng, 0.35, SUPPORT_POSITIVE if csat >= 4 else SUPPORT_NEGATIVE)
                    if text:
                        row_answers["comment"] = text
                    row_attributes |= {"channel": channel, "team": rng.choice(TEAMS)}
                else:
                    plan = rng.choices(list(PLANS), weights=[50, 35, 15])[0]
                    mood += PLANS[plan]
                    ces = _score(rng, mood, 1, 7, 5.3, 1.4)
                    row_answers["ces"] = ces
                    if ces <= 4:
                        row_answers["hardest"] = rng.choice(["signup", "payment", "payment", "profile", "app"])
                    text = _comment(rng, 0.3, ONBOARDING_POSITIVE if ces >= 5 else ONBOARDING_NEGATIVE)
                    if text:
                        row_answers["comment"] = text
                    row_attributes["plan"] = plan
                responses.append((day, row_answers, row_attributes, customer, language))
            stored = _store(connection, versions[name], sorted(responses, key=lambda response: response[0]), zone)
            total += stored
            if progress is not None:
                progress.print(f"  {name}: {stored:,} responses")
        purchases = _transactions(rng, customers, customer_ids, said, start, now)
        db_session.execute(insert(Transaction.__table__), purchases)
        if progress is not None:
            progress.print(f"  transactions: {len(purchases):,} purchase lines")
    return total


def _store(connection, target: Target, responses: list[tuple], zone: str) -> int:
    """Write one survey's responses, in time order, through the bulk writer that imports use."""
    layout = BatchLayout(target.questions, zone=zone, dialect=type(connection.dialect))
    stored = 0
    for first in range(0, len(responses), BATCH):
        batch = ResponseBatch()
        for number, (day, answers, attributes, customer, language) in enumerate(
                responses[first:first + BATCH], start=first + 1):
            layout.add(batch, f"demo:{number}", day, answers, attributes, customer=customer["external_id"],
                       email=customer["email"], language=language)
        stored += insert_batch(connection, layout.finished(batch), target)
    return stored

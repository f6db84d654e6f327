"""An e-mail invitation send (issue 16) to N reachable contacts through voxpop's send path, against the same rows
written by plain SQLAlchemy Core bulk inserts, on the same store.

The store: N reachable contacts (Customer rows bulk-inserted with an e-mail, a language among en, de, de-CH, fr
and none, consent yes or unknown, a name and a segment), plus about 6% of N who may not be invited: addresses put
on the suppression list by voxpop.customers.contacts.suppress (unsubscribed, bounced, complaint; some written in
capitals in the customer row), consent "no", no e-mail address, and customers the global contact rule (at most 2
invitations per 90 days, at least 30 days apart) refuses because of invitations seeded 10, 40 and 60 days ago.
A further 3% of the reachable contacts were invited 60 days ago, which the rule allows. A live survey with an NPS
question, applied with voxpop.surveys.service; a send saved by voxpop.distribution.definitions.save_send whose
audience is every contact, with templates in en and de and the NPS question embedded as score links.

Runners, timed end to end, interleaved round by round (median of --repeat; the store is put back between them,
untimed):
  plan     voxpop.distribution.planning.plan_send over the whole audience in a read session: the dry run the
           send's page shows (the gate: consent and suppression, the rule over each contact's history, templates)
  send     voxpop.distribution.worker.run_batch until the send is done, as the send worker runs it: batches of
           worker.BATCH audience members, one write transaction each, each invitation with its token, its row in
           the send, its `queued` event and its rendered e-mail in the outbox; a `skipped` event for the others
  bare     the same invitations, send_invitations, invitation_events and outgoing_mail rows (captured from the
           first send, ids included, bodies already rendered) written by Core executemany, in the same batches
           of worker.BATCH audience members, one transaction each: the cost of the writes alone
So send/bare is what planning, the gate, the rule and rendering add to the writes.

After every send, the store must hold exactly one invitation and one queued invitation e-mail for each contact
the benchmark itself expects to be invited (worked out from how it built them, not by voxpop), none for anyone
else and none to a suppressed address, and a `skipped` event for each other audience member; the plan must
invite exactly the same contacts, and the bare writes must leave the same number of rows. Otherwise the exit
status is 1; it never depends on timing.

    nice -n 19 .venv/bin/python benchmarks/sends.py [--contacts 20000] [--repeat 3] [--database-url URL]

Without --database-url the store is SQLite in a temporary folder. A PostgreSQL URL must name a database made for
this (its name holding "test" or "bench"): its public schema is dropped and rebuilt.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import make_url

from voxpop.collection.models import Invitation
from voxpop.customers.contacts import normalised_email, suppress
from voxpop.customers.models import Customer
from voxpop.distribution import worker
from voxpop.distribution.definitions import save_rule, save_send
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.distribution.planning import plan_send
from voxpop.notify.models import OutgoingMail
from voxpop.settings import Settings
from voxpop.store.base import utcnow
from voxpop.store.database import Database
from voxpop.store.ids import token_hash
from voxpop.store.migrate import upgrade
from voxpop.surveys import service as surveys

SURVEY_YAML = """
key: pulse
title: {en: "How did we do?", de: "Wie war es?"}
status: live
languages: [en, de]
attributes: [segment]
questions:
  - key: nps
    kind: nps
    required: true
    text: {en: "How likely are you to recommend us?", de: "Wie wahrscheinlich empfehlen Sie uns?"}
  - key: why
    kind: text
    text: {en: "What is the main reason for your score?", de: "Was ist der Hauptgrund für Ihre Bewertung?"}
"""
SEND = {
    "key": "december-wave", "name": "December wave", "survey": "pulse", "audience": {"filter": {}},
    "templates": {
        "en": {"subject": "{% if reminder %}Reminder: {% endif %}{{ survey_title }}: a minute for us, "
                          "{{ customer.name }}?",
               "body": "Hello {{ customer.name }},\n\nyou are one of our {{ customer.attributes.segment }} "
                       "customers.\n\n{{ question }}\n\n{{ score_buttons }}\n\nOr answer here: {{ link }}\n"
                       "The link works until {{ expires_on }}."},
        "de": {"subject": "{% if reminder %}Erinnerung: {% endif %}Eine Minute für uns, {{ customer.name }}?",
               "body": "Hallo {{ customer.name }},\n\n{{ question }}\n\n{{ score_buttons }}\n\n"
                       "Oder hier antworten: {{ link }}\nDer Link gilt bis {{ expires_on }}."},
    },
    "default_language": "en", "embed_question": "nps", "max_reminders": 2, "reminder_gap_days": 3,
    "expires_after_days": 14,
}
RULE = {"max_invitations": 2, "per_days": 90, "min_gap_days": 30}  # global: every survey's invitations count
LANGUAGES, LANGUAGE_WEIGHTS = ["en", "de", "de-CH", "fr", None], [50, 30, 5, 5, 10]
SEGMENTS = ["Consumer", "SMB", "Enterprise"]
# The contacts who may not be invited, per 1,000 reachable ones, and why.
UNREACHABLE = {"unsubscribed": 10, "bounced": 6, "complaint": 4, "no consent": 10, "no e-mail": 10,
               "invited 10 days ago": 10, "invited twice lately": 10}
OLD_INVITATION = 30  # per 1,000 reachable contacts: invited 60 days ago, which the rule allows
TABLES = (Invitation.__table__, OutgoingMail.__table__, SendInvitation.__table__, InvitationEvent.__table__)


class Store:
    """The store and what the benchmark knows about it: whom the send must invite, whom it must not."""

    def __init__(self, database: Database, settings: Settings):
        self.database, self.settings = database, settings
        self.send_key = SEND["key"]
        self.expected: dict[int, str] = {}  # customer id -> e-mail, the contacts the send must invite
        self.audience = 0
        self.suppressed: set[str] = set()  # normalised addresses
        self.seeded_invitations = 0  # the highest invitation id of the seeded history


def open_store(url: str | None, workdir: Path) -> Database:
    if url is None:
        url = f"sqlite:///{workdir / 'voxpop.db'}"
    else:
        name = make_url(url).database or ""
        if "test" not in name and "bench" not in name:
            sys.exit(f"--database-url must name a database made for this (with 'test' or 'bench' in its name), not "
                     f"{name!r}: its schema is dropped")
        database = Database(url)
        with database.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        database.dispose()
    database = Database(url)
    upgrade(database.write_engine)
    return database


def build(database: Database, settings: Settings, size: int, seed: int) -> Store:
    """The contacts (bulk), the survey, the rule, the suppressions, the seeded history and the send."""
    store, rng, now = Store(database, settings), random.Random(seed), utcnow()
    extra = {reason: max(1, size * per_mille // 1000) for reason, per_mille in UNREACHABLE.items()}
    kinds = ["reachable"] * size + [reason for reason, count in extra.items() for _ in range(count)]
    rng.shuffle(kinds)
    rows = []
    for number, kind in enumerate(kinds, start=1):
        email = f"customer{number}@example.com" if kind != "no e-mail" else None
        if kind in ("unsubscribed", "bounced", "complaint") and number % 2:
            email = f"Customer{number}@Example.COM"  # suppressed as written in lower case: the gate normalises
        rows.append({"external_id": f"C-{number:07d}", "email": email, "consent":
                     "no" if kind == "no consent" else rng.choice(("yes", "yes", "unknown")),
                     "language": rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0], "created_at": now,
                     "attributes": {"name": f"Customer {number}", "segment": rng.choice(SEGMENTS)}})
    with database.write() as db_session:
        surveys.apply(db_session=db_session, definition=surveys.parse_definition(SURVEY_YAML, source="bench"))
        for start in range(0, len(rows), 5000):
            db_session.execute(insert(Customer), rows[start:start + 5000])
        ids = dict(db_session.execute(select(Customer.external_id, Customer.id)).all())
        survey_id = surveys.get_by_key(db_session=db_session, key="pulse").id
        save_rule(db_session, RULE, now=now)
        history, reachable = [], [number for number, kind in enumerate(kinds, start=1) if kind == "reachable"]
        old = set(rng.sample(reachable, len(reachable) * OLD_INVITATION // 1000))
        for number, kind in enumerate(kinds, start=1):
            customer_id, email = ids[f"C-{number:07d}"], rows[number - 1]["email"]
            days = {"invited 10 days ago": [10], "invited twice lately": [40, 60]}.get(kind, [])
            days = [60] if number in old else days
            history += [{"survey_id": survey_id, "customer_id": customer_id, "created_at": now - timedelta(days=ago),
                         "token_hash": token_hash(f"history:{number}:{ago}")} for ago in days]
            if kind in ("unsubscribed", "bounced", "complaint"):
                store.suppressed.add(suppress(db_session, email.lower(), reason=kind, source="benchmarks/sends.py",
                                              now=now).email)
            elif kind == "reachable":
                store.expected[customer_id] = email
        db_session.execute(insert(Invitation), history)
        store.seeded_invitations = db_session.scalar(select(func.max(Invitation.id)))
        save_send(db_session, SEND | {"scheduled_for": now - timedelta(minutes=1)}, actor_id=None, now=now)
    store.audience = len(kinds)
    return store


def reset(store: Store) -> None:
    """The store as before the send (untimed): its rows gone, the send scheduled again."""
    with store.database.write() as db_session:
        for table in reversed(TABLES):
            where = [table.c.id > store.seeded_invitations] if table is Invitation.__table__ else []
            db_session.execute(delete(table).where(*where))
        db_session.execute(update(Send).where(Send.key == store.send_key)
                           .values(status="scheduled", started_at=None, finished_at=None))


# --- the runners ------------------------------------------------------------------------------------------------

def run_plan(store: Store) -> dict:
    """voxpop's dry run over the whole audience, as the send's page shows it."""
    with store.database.read() as db_session:
        send = db_session.scalar(select(Send).where(Send.key == store.send_key))
        plan = plan_send(db_session, send, utcnow())
    return {"invited": {entry.customer_id for entry in plan.invited}, "reasons": dict(plan.reasons())}


def run_send(store: Store) -> int:
    """voxpop's send, batch by batch, as the send worker runs it."""
    batches = 1
    while worker.run_batch(store.database, store.settings, store.send_key):
        batches += 1
    return batches


def capture(store: Store) -> list[dict]:
    """The rows the send wrote, grouped in the send's batches of audience members (for the bare writes)."""
    by_customer: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    with store.database.read_connection() as connection:
        mails = {row.id: row._asdict() for row in connection.execute(select(OutgoingMail.__table__))}
        for table in TABLES:
            if table is OutgoingMail.__table__:
                continue
            where = [table.c.id > store.seeded_invitations] if table is Invitation.__table__ else []
            for row in connection.execute(select(table).where(*where).order_by(table.c.id)):
                by_customer[row.customer_id][table.name].append(row._asdict())
                if table is SendInvitation.__table__:
                    by_customer[row.customer_id][OutgoingMail.__tablename__].append(mails[row.last_mail_id])
        audience = list(connection.scalars(select(Customer.id).order_by(Customer.id)))
    batches = []
    for start in range(0, len(audience), worker.BATCH):
        batch: dict[str, list[dict]] = defaultdict(list)
        for customer_id in audience[start:start + worker.BATCH]:
            for name, rows in by_customer[customer_id].items():
                batch[name] += rows
        batches.append(batch)
    return batches


def run_bare(store: Store, batches: list[dict]) -> int:
    """The same rows by Core executemany, a transaction per batch, in the order the foreign keys need."""
    for number, batch in enumerate(batches, start=1):
        with store.database.write_connection() as connection:
            for table in TABLES:
                if batch.get(table.name):
                    connection.execute(insert(table), batch[table.name])
            if number == len(batches):
                connection.execute(update(Send).where(Send.key == store.send_key).values(status="done"))
    return len(batches)


# --- the check --------------------------------------------------------------------------------------------------

def counts(store: Store) -> dict[str, int]:
    with store.database.read_connection() as connection:
        return {table.name: connection.scalar(select(func.count()).select_from(table).where(
            *([table.c.id > store.seeded_invitations] if table is Invitation.__table__ else []))) for table in TABLES}


def problems_after_send(store: Store) -> list[str]:
    """Exactly one invitation and one queued e-mail per expected contact, none for anyone else, none to a
    suppressed address, a skip logged for everyone else: counted from the tables, not from voxpop's reports."""
    problems = []
    with store.database.read_connection() as connection:
        send_id, status = connection.execute(select(Send.id, Send.status).where(Send.key == store.send_key)).one()
        invited = defaultdict(int)
        for customer_id, in connection.execute(
                select(Invitation.customer_id).join(SendInvitation, SendInvitation.invitation_id == Invitation.id)
                .where(SendInvitation.send_id == send_id, SendInvitation.customer_id == Invitation.customer_id)):
            invited[customer_id] += 1
        mails = defaultdict(list)
        for recipient, mail_status, kind in connection.execute(
                select(OutgoingMail.recipient, OutgoingMail.status, OutgoingMail.kind)):
            mails[normalised_email(recipient)].append((mail_status, kind))
        events = dict(connection.execute(select(InvitationEvent.kind, func.count()).where(
            InvitationEvent.send_id == send_id).group_by(InvitationEvent.kind)).all())
    if status != "done":
        problems.append(f"the send is {status}, not done")
    twice = [id_ for id_, times in invited.items() if times != 1]
    missing = set(store.expected) - set(invited)
    unexpected = set(invited) - set(store.expected)
    problems += [f"{len(ids)} contacts {what}, e.g. customer {sorted(ids)[0]}" for ids, what in (
        (twice, "invited more than once"), (missing, "reachable but not invited"),
        (unexpected, "invited though not reachable")) if ids]
    wrong_mail = [email for email in store.expected.values() if mails.get(email) != [("queued", "invitation")]]
    if wrong_mail:
        problems.append(f"{len(wrong_mail)} reachable contacts without exactly one queued invitation e-mail, e.g. "
                        f"{wrong_mail[0]}: {mails.get(wrong_mail[0])}")
    to_suppressed = store.suppressed & set(mails)
    if to_suppressed:
        problems.append(f"{len(to_suppressed)} e-mails to suppressed addresses, e.g. {sorted(to_suppressed)[0]}")
    if sum(len(found) for found in mails.values()) != len(store.expected):
        problems.append(f"{sum(len(found) for found in mails.values())} e-mails in the outbox for "
                        f"{len(store.expected)} reachable contacts")
    skips = store.audience - len(store.expected)
    if events != {"queued": len(store.expected), "skipped": skips}:
        problems.append(f"send log {events}, expected {len(store.expected)} queued and {skips} skipped")
    return problems


def problems_in_plan(store: Store, plan: dict) -> list[str]:
    problems = []
    if plan["invited"] != set(store.expected):
        problems.append(f"the plan invites {len(plan['invited'])} contacts, {len(plan['invited'] ^ set(store.expected))}"
                        f" of them differing from the {len(store.expected)} expected")
    wanted = {"over the contact-frequency limit", "invited too recently", "no consent", "no e-mail address"}
    if not wanted <= set(plan["reasons"]) or not any(reason.startswith("suppressed") for reason in plan["reasons"]):
        problems.append(f"the plan's skip reasons lack some of the store's: {plan['reasons']}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000, help="reachable contacts (the audience is ~6%% more)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--database-url", help="a PostgreSQL database made for this (default: SQLite in a temp dir)")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-sends-"))
    try:
        return bench(workdir, args.contacts, args.repeat, args.seed, args.database_url)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench(workdir: Path, size: int, repeat: int, seed: int, url: str | None) -> int:
    started = time.perf_counter()
    database = open_store(url, workdir)
    settings = Settings(database_url=str(database.url), data_dir=workdir / "app", secret_key=secrets.token_urlsafe(48),
                        public_url="https://feedback.example.com", timezone="Europe/Berlin")
    store = build(database, settings, size, seed)
    backend = database.url.get_backend_name()
    print(f"== {backend}: {len(store.expected):,} reachable contacts in an audience of {store.audience:,}, "
          f"{len(store.suppressed)} suppressed addresses; built in {time.perf_counter() - started:.1f} s", flush=True)
    runners = {"plan": lambda: run_plan(store), "send": lambda: run_send(store), "bare": lambda: run_bare(store, rows)}
    times: dict[str, list[float]] = {label: [] for label in runners}
    cpu: dict[str, list[float]] = {label: [] for label in runners}
    problems: list[str] = []
    rows, written = None, None
    for round_ in range(repeat):  # interleaved, so drift on a shared machine hits them all alike
        for label, run in runners.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            result = run()
            times[label].append(time.perf_counter() - began)
            cpu[label].append(time.process_time() - began_cpu)
            print(f"  round {round_ + 1}: {label} {times[label][-1]:.2f} s (CPU {cpu[label][-1]:.2f} s)", flush=True)
            if label == "plan":
                problems += [f"PLAN (round {round_ + 1}): {problem}" for problem in problems_in_plan(store, result)]
            elif label == "send":
                problems += [f"SEND (round {round_ + 1}): {problem}" for problem in problems_after_send(store)]
                written = counts(store)
                rows = rows or capture(store)
                reset(store)
            else:
                if counts(store) != written:
                    problems.append(f"BARE (round {round_ + 1}): wrote {counts(store)}, the send {written}")
                reset(store)
    database.dispose()
    print("\n".join(problems), end="\n" if problems else "")
    median = {label: statistics.median(values) for label, values in times.items()}
    invited = len(store.expected)
    print(f"\n{backend}; {invited:,} invited and {store.audience - invited:,} skipped of {store.audience:,} contacts "
          f"(rows written: {written}); batches of {worker.BATCH}; median of {repeat}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'runner':<6} {'median s':>9} {'us/contact':>11} {'x bare':>8} {'median CPU s':>13}")
    for label in runners:
        print(f"{label:<6} {median[label]:>9.2f} {1e6 * median[label] / invited:>11.0f} "
              f"{median[label] / median['bare']:>7.1f}x {statistics.median(cpu[label]):>13.2f}")
    print("us/contact: per invited (reachable) contact; the audience's skipped contacts are in the same time")
    print("correctness: ok" if not problems else "FAILED: the send or the plan is wrong")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

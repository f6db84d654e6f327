"""Scheduled delivery of the scorecard PDF: when runs fall (Monday / the 1st, 07:00 local, across summer time), a due
run queues one e-mail per recipient with the PDF attached and moves on in one transaction (a crash before the commit
sends nothing and loses nothing; a second look sends nothing twice), pause, resume, run now, the audit, and the
whole way to a real SMTP server with the real PDF."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select

from tests.helpers import make_user
from voxpop.accounts.models import AuditEntry, User
from voxpop.notify.models import OutgoingMail
from voxpop.scorecard import delivery
from voxpop.scorecard.models import (
    Measure,
    MeasureTarget,
    MeasureValue,
    Objective,
    Perspective,
    ReportSchedule,
    Scorecard,
)

ZONE = "Europe/Berlin"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)  # Monday 07:00 in Berlin
FAKE_PDF = b"%PDF-1.7\nnot really a report\n%%EOF\n"


class Renders:
    """A stand-in for report.scorecard_pdf that says what it was asked for."""

    def __init__(self, fail_for: str | None = None):
        self.asked: list[tuple[str, str]] = []
        self.fail_for = fail_for

    def __call__(self, db_session, *, scorecard, period, zone, min_base, now) -> bytes:
        self.asked.append((scorecard.key, period))
        if scorecard.key == self.fail_for:
            raise RuntimeError("the render fell over")
        return FAKE_PDF + scorecard.key.encode()


def add_scorecard(db, key: str = "org", name: str = "Northwind scorecard") -> int:
    with db.write() as db_session:
        card = Scorecard(key=key, name=name)
        db_session.add(card)
        db_session.flush()
        return card.id


def user_ids(db, *emails: str) -> list[int]:
    with db.read() as db_session:
        found = dict(db_session.execute(select(User.email, User.id).where(User.email.in_(emails))).all())
    return [found[email] for email in emails]


def schedule(db, card_id: int, recipients: list[int], *, frequency: str = "monthly", now: datetime,
             actor_email: str | None = None) -> int:
    with db.write() as db_session:
        actor = db_session.scalar(select(User).where(User.email == actor_email)) if actor_email else None
        made = delivery.create_schedule(db_session=db_session, scorecard=db_session.get(Scorecard, card_id),
                                        frequency=frequency, recipients=recipients, actor=actor, now=now, zone=ZONE)
        return made.id


def run(db, now: datetime, render=None, **more):
    with db.write() as db_session:
        return delivery.run_due_deliveries(db_session=db_session, now=now, zone=ZONE, min_base=30,
                                           render=render or Renders(), **more)


def mails(db) -> list[OutgoingMail]:
    with db.read() as db_session:
        rows = db_session.scalars(select(OutgoingMail).order_by(OutgoingMail.id)).all()
        for row in rows:
            db_session.expunge(row)
        return rows


def stored(db, schedule_id: int) -> ReportSchedule:
    with db.read() as db_session:
        row = db_session.get(ReportSchedule, schedule_id)
        db_session.expunge(row)
        return row


def local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(ZONE))


# --- when runs fall -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("after", "frequency", "expected"), [
    (datetime(2026, 12, 9, 12, 0), "weekly", datetime(2026, 12, 14, 7, 0)),  # a Wednesday: the next Monday
    (datetime(2026, 12, 7, 6, 59), "weekly", datetime(2026, 12, 7, 7, 0)),  # Monday before seven: today
    (datetime(2026, 12, 7, 7, 0), "weekly", datetime(2026, 12, 14, 7, 0)),  # at seven: strictly after
    (datetime(2026, 12, 7, 12, 0), "monthly", datetime(2027, 1, 1, 7, 0)),
    (datetime(2026, 12, 1, 6, 0), "monthly", datetime(2026, 12, 1, 7, 0)),
    (datetime(2027, 3, 24, 9, 0), "weekly", datetime(2027, 3, 29, 7, 0)),  # summer time began on the 28th
    (datetime(2027, 10, 20, 9, 0), "monthly", datetime(2027, 11, 1, 7, 0)),  # and ended on 31 October
])
def test_runs_fall_on_monday_or_the_first_at_seven_local_time(after, frequency, expected):
    zone = ZoneInfo(ZONE)
    found = delivery.next_run(after.replace(tzinfo=zone), frequency=frequency, zone=ZONE)
    assert found.tzinfo is not None and found.astimezone(zone).replace(tzinfo=None) == expected


@examples(max_examples=300, deadline=None)
@given(after=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC)),
       frequency=st.sampled_from(delivery.FREQUENCIES),
       zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kathmandu"]))
def test_the_next_run_is_the_first_seven_oclock_monday_or_first_after_now(after, frequency, zone):
    found = delivery.next_run(after, frequency=frequency, zone=zone)
    at = found.astimezone(ZoneInfo(zone))
    assert found > after
    assert (at.hour, at.minute) == (7, 0)
    assert at.weekday() == 0 if frequency == "weekly" else at.day == 1
    # None skipped: the run before it was not after `after`.
    gap = timedelta(days=7) if frequency == "weekly" else timedelta(days=31)
    assert found - after <= gap + timedelta(hours=2)


# --- schedules ----------------------------------------------------------------------------------------------------

def test_a_schedule_names_what_is_wrong_and_records_who_made_it(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    make_user(db, "viewer", "gone@example.com")
    with db.write() as db_session:
        db_session.scalar(select(User).where(User.email == "gone@example.com")).is_active = False
    boss, gone = user_ids(db, "boss@example.com", "gone@example.com")
    for frequency, recipients, field, words in [("daily", [boss], "frequency", "weekly or monthly"),
                                                ("weekly", [], "recipients", "at least one"),
                                                ("weekly", [boss, gone], "recipients", f"id {gone}"),
                                                ("weekly", [987654], "recipients", "id 987654")]:
        with pytest.raises(delivery.DeliveryError, match=words) as raised:
            schedule(db, card_id, recipients, frequency=frequency, now=NOW)
        assert raised.value.field == field
    made = schedule(db, card_id, [boss, boss], frequency="weekly", now=NOW, actor_email="boss@example.com")
    row = stored(db, made)
    assert row.recipients == [boss] and not row.paused and row.last_run_at is None
    assert local(row.next_run_at) == datetime(2026, 12, 14, 7, 0, tzinfo=ZoneInfo(ZONE))
    with db.read() as db_session:
        [entry] = db_session.scalars(select(AuditEntry)).all()
        assert (entry.action, entry.target, entry.actor_id) == ("scorecard.schedule.create", "org", boss)


# --- runs ---------------------------------------------------------------------------------------------------------

def test_a_due_run_queues_the_pdf_to_each_recipient_and_moves_on(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    make_user(db, "viewer", "ceo@example.com")
    boss, ceo = user_ids(db, "boss@example.com", "ceo@example.com")
    made = schedule(db, card_id, [boss, ceo], now=NOW - timedelta(days=10))  # next run: 1 December, 07:00
    render = Renders()
    assert run(db, NOW - timedelta(days=5), render) != []
    assert render.asked == [("org", "2026-11")]  # the last month that had ended
    queued = mails(db)
    assert [mail.recipient for mail in queued] == ["boss@example.com", "ceo@example.com"]
    for mail in queued:
        assert mail.kind == "scorecard.report" and mail.related == f"scorecard:{card_id}"
        assert mail.subject == "Northwind scorecard, 2026-11" and mail.status == "queued"
        assert (mail.attachment, mail.attachment_name, mail.attachment_type) == (
            FAKE_PDF + b"org", "org-2026-11.pdf", "application/pdf")
        assert "/scorecards/org/schedules" in mail.body_text and "1st of every month" in mail.body_text
    row = stored(db, made)
    assert row.last_run_at == NOW - timedelta(days=5)
    assert local(row.next_run_at) == datetime(2027, 1, 1, 7, 0, tzinfo=ZoneInfo(ZONE))
    # Looked at again, the run is done: nothing is sent twice.
    assert run(db, NOW - timedelta(days=5)) == [] and run(db, NOW) == []
    assert len(mails(db)) == 2


def test_paused_and_not_yet_due_schedules_send_nothing_and_resuming_skips_what_was_missed(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = schedule(db, card_id, [boss], frequency="weekly", now=NOW - timedelta(days=20))
    assert run(db, NOW - timedelta(days=20)) == []  # not due yet
    with db.write() as db_session:
        card = db_session.get(Scorecard, card_id)
        delivery.set_paused(db_session=db_session, scorecard=card, schedule=db_session.get(ReportSchedule, made),
                            paused=True, actor=None, now=NOW - timedelta(days=19), zone=ZONE)
    assert run(db, NOW) == [] and mails(db) == []
    with db.write() as db_session:
        card = db_session.get(Scorecard, card_id)
        delivery.set_paused(db_session=db_session, scorecard=card, schedule=db_session.get(ReportSchedule, made),
                            paused=False, actor=None, now=NOW + timedelta(hours=1), zone=ZONE)
    # Resumed after its Monday had passed: the next run is next week's, not the missed one at once.
    assert local(stored(db, made).next_run_at) == datetime(2026, 12, 14, 7, 0, tzinfo=ZoneInfo(ZONE))
    assert run(db, NOW + timedelta(hours=2)) == [] and mails(db) == []
    with db.read() as db_session:
        assert [entry.action for entry in db_session.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [
            "scorecard.schedule.create", "scorecard.schedule.pause", "scorecard.schedule.resume"]


def test_runs_missed_while_the_server_was_down_are_sent_once(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = schedule(db, card_id, [boss], frequency="weekly", now=NOW - timedelta(days=30))
    assert len(run(db, NOW)) == 1 and len(mails(db)) == 1
    assert stored(db, made).next_run_at > NOW


def test_a_crash_before_the_commit_sends_nothing_and_loses_nothing(db):
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    first, second = add_scorecard(db, "first"), add_scorecard(db, "second")
    made = [schedule(db, card_id, [boss], now=NOW - timedelta(days=10)) for card_id in (first, second)]
    with pytest.raises(RuntimeError, match="fell over"):
        run(db, NOW, Renders(fail_for="second"))
    assert mails(db) == []  # the first schedule's mail went with the transaction
    assert all(stored(db, schedule_id).next_run_at < NOW and stored(db, schedule_id).last_run_at is None
               for schedule_id in made)
    # Fixed, the next look sends each once.
    assert [sent.scorecard_key for sent in run(db, NOW)] == ["first", "second"]
    assert [mail.attachment_name for mail in mails(db)] == ["first-2026-11.pdf", "second-2026-11.pdf"]


def test_one_schedule_can_be_run_alone(db):
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = [schedule(db, add_scorecard(db, key), [boss], now=NOW - timedelta(days=10)) for key in ("a", "b")]
    with db.read() as db_session:
        assert delivery.due_schedules(db_session=db_session, now=NOW) == made
    assert [sent.scorecard_key for sent in run(db, NOW, schedule_id=made[1])] == ["b"]
    with db.read() as db_session:
        assert delivery.due_schedules(db_session=db_session, now=NOW) == made[:1]


def test_a_deactivated_recipient_is_no_longer_sent_to(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    make_user(db, "viewer", "left@example.com")
    ids = user_ids(db, "boss@example.com", "left@example.com")
    schedule(db, card_id, ids, now=NOW - timedelta(days=10))
    with db.write() as db_session:
        db_session.scalar(select(User).where(User.email == "left@example.com")).is_active = False
    [sent] = run(db, NOW)
    assert sent.recipients == ("boss@example.com",) and [mail.recipient for mail in mails(db)] == ["boss@example.com"]


def test_run_now_sends_at_once_keeps_the_schedule_and_is_audited(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = schedule(db, card_id, [boss], frequency="weekly", now=NOW)
    before = stored(db, made).next_run_at
    with db.write() as db_session:
        actor = db_session.get(User, boss)
        card = db_session.get(Scorecard, card_id)
        sent = delivery.run_now(db_session=db_session, scorecard=card, schedule=db_session.get(ReportSchedule, made),
                                now=NOW + timedelta(hours=3), zone=ZONE, min_base=30, render=Renders(), actor=actor)
    assert sent.period == "2026-11" and sent.recipients == ("boss@example.com",)
    row = stored(db, made)
    assert row.next_run_at == before and row.last_run_at == NOW + timedelta(hours=3)
    with db.read() as db_session:
        entry = db_session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert (entry.action, entry.actor_id, entry.details["period"]) == ("scorecard.schedule.run", boss, "2026-11")
        log = delivery.send_log(db_session=db_session, scorecard=db_session.get(Scorecard, card_id))
        assert [mail.recipient for mail in log] == ["boss@example.com"]


def test_deleting_a_schedule_keeps_its_send_log(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = schedule(db, card_id, [boss], now=NOW - timedelta(days=10))
    run(db, NOW)
    with db.write() as db_session:
        card = db_session.get(Scorecard, card_id)
        delivery.delete_schedule(db_session=db_session, scorecard=card, schedule=db_session.get(ReportSchedule, made),
                                 actor=None)
    with db.read() as db_session:
        assert db_session.get(ReportSchedule, made) is None
        assert len(delivery.send_log(db_session=db_session, scorecard=db_session.get(Scorecard, card_id))) == 1


# --- the whole way ------------------------------------------------------------------------------------------------

def northwind(db) -> int:
    """A small scorecard with a manual measure and its approved values: what the real PDF shows."""
    with db.write() as db_session:
        card = Scorecard(key="northwind", name="Northwind scorecard")
        db_session.add(card)
        db_session.flush()
        customer = Perspective(scorecard_id=card.id, key="customer", name="Customer", position=0)
        db_session.add(customer)
        db_session.flush()
        loyal = Objective(scorecard_id=card.id, perspective_id=customer.id, key="loyal",
                          name="Customers recommend us")
        db_session.add(loyal)
        db_session.flush()
        trained = Measure(scorecard_id=card.id, objective_id=loyal.id, key="trained", name="Staff trained on care",
                          unit="%", source={"kind": "manual"})
        db_session.add(trained)
        db_session.flush()
        db_session.add(MeasureTarget(measure_id=trained.id, from_period="2026-01", target=80.0, minimum=0.0,
                                     maximum=100.0))
        for month, value in ((10, 70.0), (11, 85.0)):
            db_session.add(MeasureValue(measure_id=trained.id, period=f"2026-{month:02d}", value=value,
                                        approved_at=NOW))
        return card.id


def test_the_report_reaches_a_real_smtp_server_as_the_pdf(db, settings, tmp_path):
    from tests.scorecard.test_report import pdf_text
    from tests.smtp import running_smtp_server
    from voxpop.notify.mail import send_due_mail
    from voxpop.scorecard.worker import deliver_due

    card_id = northwind(db)
    make_user(db, "viewer", "ceo@example.com")
    schedule(db, card_id, user_ids(db, "ceo@example.com"), now=datetime(2026, 11, 15, tzinfo=UTC))
    with running_smtp_server() as smtp_server:
        configured = settings.model_copy(update=smtp_server.settings() | {"timezone": ZONE})
        assert deliver_due(db, configured) == 1  # the 1st of December has passed
        assert send_due_mail(db, settings=configured, now=datetime.now(UTC)) == 1
    [message] = smtp_server.messages
    assert message["To"] == "ceo@example.com"
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    period = delivery.evaluation.review_period(datetime.now(UTC), ZONE, "month")
    assert part.get_filename() == f"northwind-{period}.pdf"
    [row] = mails(db)
    assert part.get_content() == row.attachment and row.status == "sent" and row.smtp_reply.startswith("250")
    words = " ".join(pdf_text(part.get_content(), tmp_path).split())
    assert "Northwind scorecard" in words and "Staff trained on care" in words


def test_the_pdf_is_rendered_ahead_so_the_write_that_queues_it_is_short(db):
    card_id = add_scorecard(db)
    make_user(db, "manager", "boss@example.com")
    made = schedule(db, card_id, user_ids(db, "boss@example.com"), now=NOW - timedelta(days=10))
    underlying = Renders()
    render = delivery.render_ahead(db, schedule_id=made, now=NOW, zone=ZONE, min_base=30, render=underlying)
    assert underlying.asked == [("org", "2026-11")]
    [sent] = run(db, NOW, render)
    assert underlying.asked == [("org", "2026-11")]  # the write used the bytes rendered ahead
    assert sent.period == "2026-11" and mails(db)[0].attachment == FAKE_PDF + b"org"
    with db.read() as db_session:  # the month turned in between: rendered again, for the new period
        render(db_session, scorecard=db_session.get(Scorecard, card_id), period="2026-12", zone=ZONE, min_base=30,
               now=NOW)
    assert underlying.asked[-1] == ("org", "2026-12")
    assert delivery.render_ahead(db, schedule_id=987654, now=NOW, zone=ZONE, min_base=30,
                                 render=underlying) is underlying  # no such schedule: nothing rendered


# --- the worker ---------------------------------------------------------------------------------------------------

def test_the_worker_sends_each_schedule_in_its_own_transaction_so_one_failure_holds_back_no_other(db, settings,
                                                                                                  monkeypatch):
    from voxpop.scorecard import worker

    make_user(db, "manager", "boss@example.com")
    [boss] = user_ids(db, "boss@example.com")
    made = [schedule(db, add_scorecard(db, key), [boss], now=datetime(2026, 11, 15, tzinfo=UTC))
            for key in ("broken", "fine")]
    monkeypatch.setattr(worker, "scorecard_pdf", Renders(fail_for="broken"))
    assert worker.deliver_due(db, settings) == 1
    assert [mail.attachment_name.split("-")[0] for mail in mails(db)] == ["fine"]
    with db.read() as db_session:
        assert delivery.due_schedules(db_session=db_session, now=datetime.now(UTC)) == made[:1]  # tried again later
    assert worker.deliver_due(db, settings, should_stop=lambda: True) == 0  # a stopping server starts no run


def test_the_app_runs_the_delivery_worker_beside_the_case_worker(db, settings):
    import threading

    from fastapi.testclient import TestClient

    from voxpop.web.app import create_app

    def running() -> bool:
        return any(thread.name == "voxpop-scorecard-delivery" and thread.is_alive() for thread in threading.enumerate())

    with TestClient(create_app(settings.model_copy(update={"case_worker": True}), db)):
        assert running()
    assert not running()
    with TestClient(create_app(settings, db)):  # VOXPOP_CASE_WORKER off: no background sending at all
        assert not running()

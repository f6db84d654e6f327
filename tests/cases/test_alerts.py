"""Alert rules tell their owner once per signal, by e-mail and webhook, on a controlled clock."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey, make_user
from voxpop.accounts.models import User
from voxpop.cases.alerts import draft_from_signal, save_alert, set_active, watch_alerts
from voxpop.cases.initiatives import InitiativeError, parse_target
from voxpop.cases.models import AlertRule, AlertSignal, Initiative
from voxpop.notify.models import OutgoingMail, WebhookDelivery, WebhookEndpoint

STEADY = {10: 20, 8: 12, 3: 8}  # NPS 30 on 40 answers
DROP = {2: 32, 10: 8}  # NPS −60
JANUARY_2027 = datetime(2027, 1, 5, 9, 0, tzinfo=timezone.utc)
MADE = datetime(2026, 1, 2, tzinfo=timezone.utc)  # the alert was made before the months it watches


def setup_alert(db, *, months: dict[int, dict[int, int]]) -> int:
    apply_survey(db)
    add_answers(db, [pair for month, scores in months.items() for pair in month_of(2026, month, scores)])
    make_user(db, "manager", "owner@example.com")
    with db.write() as db_session:
        db_session.add(WebhookEndpoint(url="https://hooks.example.com/voxpop", secret="whsec_dGVzdA==", events=[]))
        owner = db_session.scalar(select(User).where(User.email == "owner@example.com"))
        target = parse_target(db_session=db_session, survey="feedback", metric="nps", question="nps")
        alert = save_alert(db_session=db_session, actor=None, name="Relationship NPS", owner_id=owner.id,
                           target=target)
        alert.created_at = MADE
        return alert.id


def count(db, model) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(model))


def test_a_signal_is_told_once_by_mail_and_webhook(db):
    alert_id = setup_alert(db, months={month: DROP if month == 9 else STEADY for month in range(3, 13)})
    found = watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="https://voxpop.example.com")
    assert found >= 1
    with db.read() as db_session:
        signal = db_session.scalar(select(AlertSignal).where(AlertSignal.rule == "nelson-1"))
        mail = db_session.scalar(select(OutgoingMail).where(OutgoingMail.kind == "alert.signal"))
        delivery = db_session.scalar(select(WebhookDelivery))
        db_session.expunge_all()  # read below, after the session
    assert (signal.alert_id, signal.period) == (alert_id, "2026-09-01")
    assert signal.message == ("September 2026 is unusually low: NPS more than 3 standard errors below its usual level "
                              "(Nelson rule 1)")
    assert mail.recipient == "owner@example.com" and signal.message in mail.body_text
    assert f"https://voxpop.example.com/improvement/alerts/{alert_id}" in mail.body_text
    assert json.loads(delivery.payload)["type"] == "alert.signal"
    assert count(db, OutgoingMail) == found and count(db, WebhookDelivery) == found
    # Run again, and a month later: the same signals are not told again.
    assert watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="https://voxpop.example.com") == 0
    assert watch_alerts(db, now=datetime(2027, 2, 3, tzinfo=timezone.utc), zone="UTC", public_url="") == 0
    assert count(db, OutgoingMail) == found and count(db, AlertSignal) == found


def test_the_month_that_has_not_ended_raises_no_alert(db):
    setup_alert(db, months={month: DROP if month == 12 else STEADY for month in range(3, 13)})
    assert watch_alerts(db, now=datetime(2026, 12, 20, tzinfo=timezone.utc), zone="UTC", public_url="") == 0
    assert watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="") >= 1  # once December has ended


def test_a_paused_alert_is_quiet(db):
    alert_id = setup_alert(db, months={month: DROP if month == 9 else STEADY for month in range(3, 13)})
    with db.write() as db_session:
        set_active(db_session=db_session, alert=db_session.get(AlertRule, alert_id), active=False, actor=None)
    assert watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="") == 0


def test_a_draft_initiative_opens_from_a_signal_once(db):
    alert_id = setup_alert(db, months={month: DROP if month == 9 else STEADY for month in range(3, 13)})
    watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="")
    with db.write() as db_session:
        alert = db_session.get(AlertRule, alert_id)
        signal = db_session.get(AlertSignal, (alert_id, "2026-09-01", "nelson-1"))
        first = draft_from_signal(db_session=db_session, alert=alert, signal=signal, actor=None)
        again = draft_from_signal(db_session=db_session, alert=alert, signal=signal, actor=None)
        assert first.id == again.id and first.draft and first.stage == "plan"
        assert first.title == "Relationship NPS: September 2026 is unusually low"
        assert first.target == alert.target and first.owner_id == alert.owner_id
    assert count(db, Initiative) == 1


def test_an_alert_needs_a_name_an_owner_and_a_charted_metric(db):
    apply_survey(db)
    with db.write() as db_session:
        target = parse_target(db_session=db_session, survey="feedback", metric="mean", question="nps")
        with pytest.raises(InitiativeError, match="give the alert a name"):
            save_alert(db_session=db_session, actor=None, name=" ", owner_id=None, target=target)
        with pytest.raises(InitiativeError, match="an alert watches nps, csat, ces"):
            save_alert(db_session=db_session, actor=None, name="x", owner_id=None, target=target)


def test_an_alert_whose_target_no_longer_reads_is_skipped(db):
    alert_id = setup_alert(db, months={month: DROP if month == 9 else STEADY for month in range(3, 13)})
    with db.write() as db_session:
        broken = AlertRule(name="Broken", owner_id=db_session.get(AlertRule, alert_id).owner_id,
                           target={"survey": "feedback", "metric": "nps", "question": "nps",
                                   "filter": [["attribute", "no equals sign"]]})
        db_session.add(broken)
    assert watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="") >= 1  # the good alert still tells


def test_a_new_alert_records_its_charts_history_without_telling_it(db):
    alert_id = setup_alert(db, months={month: DROP if month == 9 else STEADY for month in range(3, 13)})
    with db.write() as db_session:
        db_session.get(AlertRule, alert_id).created_at = datetime(2026, 12, 20, tzinfo=timezone.utc)
    assert watch_alerts(db, now=JANUARY_2027, zone="UTC", public_url="") >= 1
    assert count(db, AlertSignal) >= 1 and count(db, OutgoingMail) == 0 and count(db, WebhookDelivery) == 0

"""The send worker's tick: a scheduled send runs to its end in batches; a step run again sends nothing twice."""

from __future__ import annotations

from datetime import timedelta

from tests.distribution.conftest import add_contacts, make_send
from voxpop.distribution import worker
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.notify.mail import send_due_mail
from voxpop.store.base import utcnow


def test_a_due_scheduled_send_runs_to_its_end_and_a_second_tick_adds_nothing(db, feedback, settings, smtp_server,
                                                                               monkeypatch):
    monkeypatch.setattr(worker, "BATCH", 2)
    add_contacts(db, [(f"C-{n}", f"c{n}@example.com", "en", {"name": f"N{n}"}) for n in range(5)])
    send_id = make_send(db, status="scheduled", scheduled_for=utcnow() - timedelta(minutes=1))
    later = make_send(db, key="later", status="scheduled", scheduled_for=utcnow() + timedelta(days=1))
    worker.send_step(db, settings)
    worker.send_step(db, settings)
    with db.read() as db_session:
        assert db_session.get(Send, send_id).status == "done"
        assert db_session.get(Send, later).status == "scheduled"
        assert db_session.query(SendInvitation).count() == 5
    mail_settings = settings.model_copy(update=smtp_server.settings())
    assert send_due_mail(db, settings=mail_settings, now=utcnow()) == 5
    assert sorted(message["To"] for message in smtp_server.messages) == [f"c{n}@example.com" for n in range(5)]
    for _ in range(3):  # the send log catches up with the outbox, a batch (of 2 here) a tick
        worker.send_step(db, settings)
    with db.read() as db_session:
        assert db_session.query(InvitationEvent).filter_by(send_id=send_id, kind="sent").count() == 5


def test_the_worker_is_a_periodic_worker_named_sends(db, settings):
    made = worker.send_worker(db, settings)
    assert made.name == "sends" and made.interval == settings.case_worker_interval

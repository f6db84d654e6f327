"""The demo's sends on a small workspace of their own (the full demo is too slow for a unit test): the wave's log
tells a whole story, responses are linked to invitations, and business and DACH customers answer less."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from voxpop.collection.models import Invitation, Response
from voxpop.customers import contacts
from voxpop.customers.models import Customer, Transaction
from voxpop.demo.sends import add_sends
from voxpop.demo.workspace import HERE
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation, TriggerEvent
from voxpop.surveys import service as surveys

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _workspace(db) -> None:
    rng = random.Random(3)
    with db.write() as db_session:
        for name in ("post-purchase", "support-csat"):
            surveys.apply(db_session=db_session, definition=surveys.read_definition(HERE / f"{name}.yaml"))
        people = [Customer(external_id=f"C{n}", email=f"c{n}@example.com", consent="yes",
                           language="de" if n % 4 == 1 else "en",
                           attributes={"segment": rng.choice(["consumer", "consumer", "business", "premium"]),
                                       "region": ["UK", "DACH", "Nordics", "Benelux"][n % 4]}) for n in range(700)]
        db_session.add_all(people)
        db_session.flush()
        db_session.add_all(Transaction(customer_id=person.id, source_key=f"t{person.id}", amount=20.0, kind="sale",
                                       day=date(2026, 12, 3), invoice=f"I{person.id}") for person in people[:40])
        contacts.draw_sample(db_session, name="December NPS wave", size=600, method="stratified",
                             stratify_by="segment", where={}, seed=7, user=None, now=NOW - timedelta(days=2))


def test_the_demo_wave_has_a_log_linked_responses_and_differential_non_response(db):
    _workspace(db)
    with db.write() as db_session:
        line = add_sends(db_session, now=NOW, zone="Europe/Berlin", seed=7)
    assert line.startswith("sends: December NPS wave ") and "60 asked by support lately" in line
    with db.read() as db_session:
        wave = db_session.scalar(select(Send).where(Send.key == "december-nps-wave"))
        kinds = dict(db_session.execute(select(InvitationEvent.kind, func.count()).where(
            InvitationEvent.send_id == wave.id).group_by(InvitationEvent.kind)).all())
        assert {"queued", "sent", "failed", "bounced", "reminded", "started", "completed", "skipped"} <= set(kinds)
        completed = db_session.scalar(select(func.count()).where(SendInvitation.status == "completed",
                                                                 SendInvitation.send_id == wave.id))
        linked = db_session.scalar(select(func.count()).select_from(Response).where(Response.invitation_id.is_not(None)))
        assert completed == linked == kinds["completed"] > 60
        # The funnel reads "started" from the opened link: those who opened and left count there too.
        opened = db_session.scalar(select(func.count()).select_from(Invitation).where(Invitation.opened_at.is_not(None)))
        assert opened == kinds["started"] > completed

        def rate(attribute: str, value: str) -> float:
            rows = db_session.execute(select(SendInvitation.status, Customer.attributes).join(
                Customer, Customer.id == SendInvitation.customer_id).where(SendInvitation.send_id == wave.id)).all()
            chosen = [status for status, attributes in rows if attributes[attribute] == value]
            return sum(status == "completed" for status in chosen) / len(chosen)

        assert rate("segment", "business") < rate("segment", "consumer") - 0.1
        assert rate("region", "DACH") < rate("region", "UK") - 0.1
        assert db_session.scalar(select(func.count()).select_from(TriggerEvent)) == 40
    with db.write() as db_session:
        assert add_sends(db_session, now=NOW, zone="Europe/Berlin", seed=7) == ""  # loading again adds nothing

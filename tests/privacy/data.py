"""A customer with every kind of data voxpop holds, and a neighbour whose data an erasure must not touch."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from tests.helpers import apply_survey
from voxpop.accounts import service as accounts
from voxpop.cases import service as cases
from voxpop.collection import flows
from voxpop.collection.models import Invitation, Response
from voxpop.collection.service import create_invitation
from voxpop.customers.models import Customer, Sample, SampleMember, Suppression, Transaction
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation, TriggerEvent
from voxpop.imports.models import ImportRun
from voxpop.notify.outbox import queue_mail
from voxpop.qualitative.models import Participant, QualitativeSource, Turn
from voxpop.surveys.models import Survey
from voxpop.text.service import analyse_pending

EMAIL = "Erika.Mustermann@example.org"
NAME = "Erika Mustermann"
EXTERNAL_ID = "CUST-7788"
COMMENT = "The courier Erika Mustermann waited for never came, call me on +49 30 1234567"
NOTE = "Called Erika Mustermann, she wants a refund"
TURN = "Honestly the parcel lockers near Mustermannstrasse are always full"


def make_customer(db, *, external_id=EXTERNAL_ID, email=EMAIL, name=NAME, comment=COMMENT, scores=(3, 9), note=NOTE,
                  turn=TURN) -> int:
    """A customer with responses (a comment analysed, with its original), a transaction, an invitation in a send
    with its log and mail, a trigger event, a sample, a case with a note, a focus-group turn and an audit entry
    naming their address; returns the customer's number."""
    apply_survey_once(db)
    now = datetime.now(timezone.utc)
    with db.write() as db_session:
        customer = Customer(external_id=external_id, email=email, attributes={"name": name, "segment": "SMB"},
                            language="en", consent="yes", consent_source="import:contacts.csv")
        db_session.add(customer)
        db_session.flush()
        survey = db_session.scalar(select(Survey).where(Survey.key == "feedback"))
        tokens = [create_invitation(db_session=db_session, survey=survey, customer=customer) for _ in scores]
        unanswered = create_invitation(db_session=db_session, survey=survey, customer=customer)  # noqa: F841
        customer_id = customer.id
    survey = flows.load_survey(db, "feedback")
    for index, (token, score) in enumerate(zip(tokens, scores, strict=True)):
        answers = {"nps": score, "csat": 1 + index % 5, "ease": 5}
        answers["why_low" if score <= 6 else "why_high"] = comment if index == 0 else f"{name} was lovely"
        flows.record_response(db, survey, flows.Submission(answers=answers, channel="api", invitation_token=token,
                                                           attributes={"segment": "smb"}), max_text_length=5000)
    analyse_pending(db, keep_original=True)
    with db.write() as db_session:
        response_id = db_session.scalar(select(Response.id).where(Response.customer_id == customer_id)
                                        .order_by(Response.id))
        invitation_id = db_session.scalar(select(Invitation.id).where(Invitation.customer_id == customer_id))
        survey_id = db_session.scalar(select(Survey.id).where(Survey.key == "feedback"))
        db_session.add(Transaction(customer_id=customer_id, source_key=f"{external_id}-1", day=date(2026, 11, 2),
                                   amount=59.9, kind="sale", invoice="INV-1", product="tent"))
        send = db_session.scalar(select(Send).where(Send.key == "wave")) or Send(
            key="wave", name="Wave", survey_id=survey_id, audience={"filter": {}}, templates={})
        db_session.add(send)
        db_session.flush()
        mail = queue_mail(db_session=db_session, kind="invitation", recipient=email,
                          subject=f"{name}, how did we do?", body_text=f"Dear {name}, tell us.")
        db_session.flush()
        db_session.add(SendInvitation(invitation_id=invitation_id, send_id=send.id, customer_id=customer_id,
                                      language="en", status="completed", last_mail_id=mail.id,
                                      next_reminder_at=now + timedelta(days=2)))
        db_session.add(InvitationEvent(send_id=send.id, invitation_id=invitation_id, customer_id=customer_id,
                                       kind="sent", detail=f"250 OK queued for <{email}>", mail_id=mail.id))
        db_session.add(TriggerEvent(name="purchase", external_id=external_id, customer_id=customer_id,
                                    occurred_at=now, dedupe_key=f"{external_id}-1", source="api"))
        sample = db_session.scalar(select(Sample).where(Sample.name == "spring")) or Sample(
            name="spring", method="random", size_asked=10, size_drawn=1, seed=1, audience_size=10)
        db_session.add(sample)
        db_session.flush()
        db_session.add(SampleMember(sample_id=sample.id, customer_id=customer_id))
        case = cases.open_case(db_session=db_session, title="Detractor on feedback", response_id=response_id,
                               customer_id=customer_id, notify=False)
        db_session.flush()
        cases.add_event(db_session=db_session, case=case, kind="note", note=note)
        cases.add_event(db_session=db_session, case=case, kind="email", note=f"Wrote to {email}", to=email)
        case.action_taken = f"Refunded {name}"
        source = db_session.scalar(select(QualitativeSource).where(QualitativeSource.key == "group")) or \
            QualitativeSource(key="group", kind="focus_group", title="Delivery group", held_on=date(2026, 10, 1),
                              file_name="group.txt", file_format="txt")
        db_session.add(source)
        db_session.flush()
        participant = Participant(source_id=source.id, label=name, customer_id=customer_id)
        db_session.add(participant)
        db_session.flush()
        position = len(list(db_session.scalars(select(Turn.id).where(Turn.source_id == source.id)))) + 1
        db_session.add(Turn(source_id=source.id, participant_id=participant.id, position=position, text=turn,
                            pipeline_version=1))
        db_session.add(ImportRun(status="failed", file="contacts.csv", zone="UTC",
                                 error=f"row 7: column 'email' has the value {email.upper()}, not an address"))
        accounts.audit(db_session=db_session, actor=None, action="contacts.suppress", target=email.lower(),
                       reason="manual", note=f"asked by {email}")
    return customer_id


def suppress(db, email: str = EMAIL) -> None:
    with db.write() as db_session:
        db_session.add(Suppression(email=email.lower(), reason="unsubscribed", source="unsubscribe link",
                                   detail=f"{NAME} asked by phone"))


def apply_survey_once(db) -> None:
    with db.read() as db_session:
        present = db_session.scalar(select(Survey.id).where(Survey.key == "feedback"))
    if present is None:
        apply_survey(db)

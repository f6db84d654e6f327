"""Export (GDPR articles 15 and 20): everything voxpop holds about one customer, as one JSON document in a ZIP
with a README of its fields (templates/export_README.md), so the customer can read it and take it elsewhere."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.cases.models import Case, CaseEvent, RootCause
from voxpop.collection.models import Answer, AttributeSetValue, Invitation, Response
from voxpop.customers.contacts import normalised_email
from voxpop.customers.models import Customer, Sample, SampleMember, Suppression, Transaction
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation, TriggerEvent
from voxpop.notify.models import OutgoingMail
from voxpop.qualitative.models import Participant, QualitativeSource, Turn
from voxpop.surveys.models import Question, Survey
from voxpop.text.models import CommentAnalysis, CommentTheme

FORMAT = "voxpop-customer-export"
VERSION = 1
README = Path(__file__).parent / "templates" / "export_README.md"
SECTIONS = ("responses", "transactions", "invitations", "sends", "send_log", "trigger_events", "samples",
            "suppressions", "mails", "cases", "focus_groups")


def customer_document(db_session: Session, customer: Customer, *, now: datetime) -> dict:
    """Everything held about the customer, one section per kind of data (described in export_README.md)."""
    return {
        "format": FORMAT, "version": VERSION, "exported_at": now,
        "customer": {"id": customer.id, "external_id": customer.external_id, "email": customer.email,
                     "language": customer.language, "consent": customer.consent, "consent_at": customer.consent_at,
                     "consent_source": customer.consent_source, "attributes": customer.attributes or {},
                     "created_at": customer.created_at, "erased_at": customer.erased_at},
        "responses": _responses(db_session, customer.id),
        "transactions": [
            {"day": row.day, "amount": row.amount, "quantity": row.quantity, "cost": row.cost, "kind": row.kind,
             "invoice": row.invoice, "product": row.product, "source_key": row.source_key,
             "imported_at": row.imported_at}
            for row in db_session.scalars(select(Transaction).where(Transaction.customer_id == customer.id)
                                          .order_by(Transaction.day, Transaction.id))],
        "invitations": _invitations(db_session, customer.id),
        "sends": [
            {"send": key, "occasion": row.occasion, "language": row.language, "status": row.status,
             "reminders_sent": row.reminders_sent, "created_at": row.created_at}
            for row, key in db_session.execute(select(SendInvitation, Send.key).join(Send, Send.id == SendInvitation.send_id)
                                               .where(SendInvitation.customer_id == customer.id)
                                               .order_by(SendInvitation.id))],
        "send_log": [
            {"send": key, "kind": row.kind, "at": row.at, "detail": row.detail}
            for row, key in db_session.execute(select(InvitationEvent, Send.key).join(Send, Send.id == InvitationEvent.send_id)
                                               .where(InvitationEvent.customer_id == customer.id)
                                               .order_by(InvitationEvent.at, InvitationEvent.id))],
        "trigger_events": [
            {"name": row.name, "external_id": row.external_id, "occurred_at": row.occurred_at, "source": row.source,
             "received_at": row.received_at, "processed_at": row.processed_at, "result": row.result}
            for row in db_session.scalars(select(TriggerEvent).where(TriggerEvent.customer_id == customer.id)
                                          .order_by(TriggerEvent.occurred_at, TriggerEvent.id))],
        "samples": [
            {"sample": name, "stratum": stratum, "drawn_at": created_at}
            for name, stratum, created_at in db_session.execute(
                select(Sample.name, SampleMember.stratum, Sample.created_at).join(Sample, Sample.id == SampleMember.sample_id)
                .where(SampleMember.customer_id == customer.id).order_by(Sample.created_at, Sample.id))],
        "suppressions": _suppressions(db_session, customer.email),
        "mails": _mails(db_session, customer.email),
        "cases": _cases(db_session, customer.id),
        "focus_groups": _focus_groups(db_session, customer.id),
    }


def held_counts(document: dict) -> dict[str, int]:
    """How many items of each kind the document holds: what the page shows before an export or an erasure."""
    return {section: len(document[section]) for section in SECTIONS}


def _responses(db_session: Session, customer_id: int) -> list[dict]:
    responses = list(db_session.execute(
        select(Response, Survey.key, Survey.title).join(Survey, Survey.id == Response.survey_id)
        .where(Response.customer_id == customer_id).order_by(Response.submitted_at, Response.id)))
    response_ids = [response.id for response, _, _ in responses]
    answers: dict[int, list[dict]] = {}
    rows = db_session.execute(select(Answer, Question.key, Question.kind, CommentAnalysis)
                              .join(Question, Question.id == Answer.question_id)
                              .outerjoin(CommentAnalysis, CommentAnalysis.answer_id == Answer.id)
                              .where(Answer.response_id.in_(response_ids)).order_by(Question.position, Answer.id))
    themes = _themes(db_session, response_ids)
    for answer, key, kind, analysis in rows:
        answers.setdefault(answer.response_id, []).append({
            "question": key, "kind": kind, "score": answer.score, "choice": answer.choice, "text": answer.text,
            "analysis": None if analysis is None else {
                "text": analysis.text, "original": analysis.original, "personal_data": analysis.personal_data,
                "language": analysis.language, "sentiment_score": analysis.sentiment_score,
                "sentiment_label": analysis.sentiment_label, "themes": themes.get(answer.id, []),
                "analysed_at": analysis.analysed_at}})
    attributes: dict[int, dict[str, str]] = {}
    set_ids = {response.attribute_set_id for response, _, _ in responses if response.attribute_set_id}
    for set_id, name, value in db_session.execute(select(AttributeSetValue.set_id, AttributeSetValue.name,
                                                         AttributeSetValue.value)
                                                  .where(AttributeSetValue.set_id.in_(set_ids))):
        attributes.setdefault(set_id, {})[name] = value
    return [{"id": response.public_id, "survey": key, "survey_title": title, "submitted_at": response.submitted_at,
             "language": response.language, "channel": response.channel,
             "attributes": attributes.get(response.attribute_set_id, {}), "answers": answers.get(response.id, [])}
            for response, key, title in responses]


def _themes(db_session: Session, response_ids: list[int]) -> dict[int, list[str]]:
    """The themes of each comment as the workspace counts them: the codebook's, less those a person removed."""
    found: dict[int, set[str]] = {}
    removed: set[tuple[int, str]] = set()
    for theme in db_session.scalars(select(CommentTheme).join(Answer, Answer.id == CommentTheme.answer_id)
                                    .where(Answer.response_id.in_(response_ids))):
        if theme.removed:
            removed.add((theme.answer_id, theme.theme))
        else:
            found.setdefault(theme.answer_id, set()).add(theme.theme)
    return {answer_id: sorted(name for name in names if (answer_id, name) not in removed)
            for answer_id, names in found.items()}


def _invitations(db_session: Session, customer_id: int) -> list[dict]:
    answered = set(db_session.scalars(select(Response.invitation_id).join(
        Invitation, Invitation.id == Response.invitation_id).where(Invitation.customer_id == customer_id)))
    return [{"survey": key, "created_at": row.created_at, "expires_at": row.expires_at, "opened_at": row.opened_at,
             "clicked_question": row.clicked_question, "clicked_score": row.clicked_score,
             "clicked_at": row.clicked_at, "answered": row.id in answered}
            for row, key in db_session.execute(select(Invitation, Survey.key).join(Survey, Survey.id == Invitation.survey_id)
                                               .where(Invitation.customer_id == customer_id).order_by(Invitation.id))]


def _suppressions(db_session: Session, email: str | None) -> list[dict]:
    if not email:
        return []
    return [{"email": row.email, "reason": row.reason, "source": row.source, "detail": row.detail,
             "created_at": row.created_at}
            for row in db_session.scalars(select(Suppression).where(Suppression.email == normalised_email(email)))]


def _mails(db_session: Session, email: str | None) -> list[dict]:
    if not email:
        return []
    return [{"kind": row.kind, "recipient": row.recipient, "subject": row.subject, "body_text": row.body_text,
             "status": row.status, "created_at": row.created_at, "sent_at": row.sent_at}
            for row in db_session.scalars(select(OutgoingMail).where(
                func.lower(func.trim(OutgoingMail.recipient)) == normalised_email(email)).order_by(OutgoingMail.id))]


def _cases(db_session: Session, customer_id: int) -> list[dict]:
    cases = list(db_session.execute(select(Case, RootCause.name).outerjoin(RootCause, RootCause.id == Case.root_cause_id)
                                    .where(Case.customer_id == customer_id).order_by(Case.opened_at, Case.id)))
    events: dict[int, list[dict]] = {}
    for event in db_session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_([case.id for case, _ in cases]))
                                    .order_by(CaseEvent.at, CaseEvent.id)):
        events.setdefault(event.case_id, []).append({"at": event.at, "kind": event.kind, "from_status": event.from_status,
                                                     "to_status": event.to_status, "note": event.note})
    return [{"id": case.id, "title": case.title, "status": case.status, "priority": case.priority,
             "opened_at": case.opened_at, "first_contact_at": case.first_contact_at, "resolved_at": case.resolved_at,
             "closed_at": case.closed_at, "root_cause": root_cause, "action_taken": case.action_taken,
             "issue_resolved": case.issue_resolved, "contact_consent": case.contact_consent,
             "timeline": events.get(case.id, [])}
            for case, root_cause in cases]


def _focus_groups(db_session: Session, customer_id: int) -> list[dict]:
    participants = list(db_session.execute(
        select(Participant, QualitativeSource).join(QualitativeSource, QualitativeSource.id == Participant.source_id)
        .where(Participant.customer_id == customer_id).order_by(QualitativeSource.held_on, Participant.id)))
    turns: dict[int, list[dict]] = {}
    for turn in db_session.scalars(select(Turn).where(Turn.participant_id.in_([p.id for p, _ in participants]))
                                   .order_by(Turn.position)):
        turns.setdefault(turn.participant_id, []).append({
            "position": turn.position, "start_seconds": turn.start_seconds, "text": turn.text,
            "sentiment_label": turn.sentiment_label})
    return [{"source": source.title, "kind": source.kind, "held_on": source.held_on, "label": participant.label,
             "segment": participant.segment, "turns": turns.get(participant.id, [])}
            for participant, source in participants]


def _plain(value):
    """JSON for what the document holds beside plain values: dates and times as ISO 8601 text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def document_json(document: dict) -> str:
    """The document as indented JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(document, default=_plain, ensure_ascii=False, indent=2)


def export_zip(document: dict) -> bytes:
    """The ZIP a customer receives: customer-<id>.json and README.md describing its fields."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"customer-{document['customer']['id']}.json", document_json(document))
        archive.writestr("README.md", README.read_text(encoding="utf-8"))
    return buffer.getvalue()


def export_name(customer_id: int, now: datetime) -> str:
    """The ZIP's file name: voxpop-customer-12-2026-12-07.zip."""
    return f"voxpop-customer-{customer_id}-{now.date().isoformat()}.zip"

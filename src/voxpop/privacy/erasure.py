"""Erasure (GDPR article 17): a customer's personal data and free text deleted in one transaction, scores kept.

What happens to each table is written down in docs/privacy.md. In short: the customer's row stays as an empty
tombstone (no id of the organisation's, no address, no attributes, consent "no"), so the invitations, sends, samples
and cases that point to it keep counting; their responses are unlinked from it and lose their free text, but keep
their scores, so NPS, CSAT and the rollups do not move; transactions, mails to the address and the person's words
in focus groups are deleted. The audit entry records the customer's number and counts per table, never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, delete, func, literal, or_, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import AuditEntry, User
from voxpop.accounts.service import audit
from voxpop.cases.models import Case, CaseEvent
from voxpop.cases.service import KINDS_OF_CONTACT
from voxpop.collection.models import Answer, Invitation, Response
from voxpop.customers.contacts import normalised_email
from voxpop.customers.models import Customer, Suppression, Transaction
from voxpop.distribution.models import InvitationEvent, SendInvitation, TriggerEvent
from voxpop.imports.merges import survey_merges
from voxpop.imports.models import ImportRun
from voxpop.notify.models import OutgoingMail
from voxpop.privacy.customers import PrivacyError
from voxpop.qualitative.models import Participant, Turn
from voxpop.surveys.models import Question, SurveyVersion
from voxpop.surveys.schemas import CHOICE_KINDS, OTHER
from voxpop.text.models import CommentAnalysis

ERASED = "[erased]"  # what an audit entry says instead of an erased address


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: the customer's number and how many rows of each table it changed or deleted."""

    customer_id: int
    counts: dict[str, int]

    def sentence(self) -> str:
        """The erasure in words, for the page and the command line."""
        done = ", ".join(f"{label} {self.counts[key]:,}" for key, label in COUNT_LABELS if self.counts.get(key))
        return (f"Customer {self.customer_id} is erased ({done or 'nothing was held but the customer row'}). "
                f"Their {self.counts.get('responses_unlinked', 0):,} responses keep their scores, anonymised, so the "
                "metrics do not change")


COUNT_LABELS = (
    ("responses_unlinked", "responses unlinked:"),
    ("text_answers_deleted", "free-text answers deleted:"),
    ("comment_analyses_deleted", "comment analyses deleted:"),
    ("transactions_deleted", "transactions deleted:"),
    ("invitations_closed", "invitations closed:"),
    ("send_log_details_cleared", "send log details cleared:"),
    ("trigger_events_unlinked", "trigger events cleared:"),
    ("mails_deleted", "e-mails deleted:"),
    ("case_notes_cleared", "case notes cleared:"),
    ("turns_deleted", "focus-group turns deleted:"),
    ("suppressions_kept", "suppression entries kept:"),
    ("audit_entries_redacted", "audit entries redacted:"),
    ("import_errors_redacted", "import errors redacted:"),
)


def erase_customer(db_session: Session, customer: Customer, *, now: datetime, actor: User | None,
                   client: str = "", via: str = "web") -> Erasure:
    """Erase the customer's personal data and free text, keep their scores anonymised, and audit it (counts only),
    all in the caller's transaction."""
    db_session.refresh(customer, with_for_update=True)  # two admins erasing at once: the second waits, then is told
    if customer.erased_at is not None:
        raise PrivacyError(f"customer {customer.id} was already erased on {customer.erased_at.date().isoformat()}",
                           status=409)
    address = normalised_email(customer.email) if customer.email else None
    external_id = customer.external_id
    counts = _erase_answers_and_responses(db_session, customer.id)
    counts["transactions_deleted"] = _rows(db_session.execute(
        delete(Transaction).where(Transaction.customer_id == customer.id)))
    counts |= _erase_contact_history(db_session, customer.id, external_id, address, now)
    counts |= _erase_case_words(db_session, customer.id)
    counts["turns_deleted"] = _erase_turns(db_session, customer.id)
    counts["suppressions_kept"] = _rows(db_session.execute(
        update(Suppression).where(Suppression.email == address).values(detail=""))) if address else 0
    counts["audit_entries_redacted"] = redact_audit_log(db_session, [value for value in (address, external_id) if value])
    counts["import_errors_redacted"] = _redact_import_errors(db_session, address) if address else 0
    _make_tombstone(customer, now)
    audit(db_session=db_session, actor=actor, action="customer.erase", target=f"customer:{customer.id}",
          client=client, via=via, counts=counts)
    return Erasure(customer_id=customer.id, counts=counts)


def _rows(result) -> int:
    return max(result.rowcount or 0, 0)


def remove_free_text(db_session: Session, response_ids) -> tuple[int, int]:
    """Delete the free-text answers of these responses (`free_text`), and with them their analyses, originals and
    themes; returns (answers, analyses) deleted. Scores and listed choices stay, so the rollups (scores only) and
    the metrics do not move."""
    text_answers = select(Answer.id).where(Answer.response_id.in_(response_ids), free_text(db_session))
    analyses = db_session.scalar(select(func.count()).select_from(CommentAnalysis)
                                 .where(CommentAnalysis.answer_id.in_(text_answers))) or 0
    # comment_analyses and comment_themes go with their answer (ON DELETE CASCADE)
    answers = _rows(db_session.execute(delete(Answer).where(Answer.id.in_(text_answers))
                                       .execution_options(synchronize_session=False)))
    return answers, analyses


def free_text(db_session: Session):
    """The condition on an answer that it holds a person's words: a text, or a choice outside its question
    version's options (and OTHER, when it adds one) that is not a misspelt option merged into a listed one
    (imports.merges). An import stores what a respondent typed under "Other" as the choice itself
    (surveys.schemas), and the results list such choices as Other texts."""
    questions = db_session.execute(select(Question.id, Question.key, Question.spec, SurveyVersion.survey_id)
                                   .join(SurveyVersion, SurveyVersion.id == Question.version_id)
                                   .where(Question.kind.in_(CHOICE_KINDS))).all()
    merges = {survey_id: survey_merges(db_session=db_session, survey_id=survey_id)
              for survey_id in {question.survey_id for question in questions}}
    alike: dict[tuple[str, ...], list[int]] = {}  # the versions of a question mostly share their options
    for question in questions:
        listed = [option["value"] for option in question.spec.get("options") or []]
        listed += [OTHER] if question.spec.get("other") is not None else []
        merged = merges[question.survey_id].get(question.key, {})
        listed += [answered_as for answered_as, counted_as in merged.items() if counted_as in listed]
        alike.setdefault(tuple(sorted(set(listed))), []).append(question.id)
    return or_(Answer.text.is_not(None), *(
        and_(Answer.question_id.in_(ids), Answer.choice.is_not(None), Answer.choice.not_in(listed))
        for listed, ids in alike.items()))


def _erase_answers_and_responses(db_session: Session, customer_id: int) -> dict[str, int]:
    responses = select(Response.id).where(Response.customer_id == customer_id)
    text_answers, analyses = remove_free_text(db_session, responses)
    unlinked = _rows(db_session.execute(update(Response).where(Response.customer_id == customer_id)
                                        .values(customer_id=None).execution_options(synchronize_session=False)))
    return {"responses_unlinked": unlinked, "text_answers_deleted": text_answers, "comment_analyses_deleted": analyses}


def _erase_contact_history(db_session: Session, customer_id: int, external_id: str, address: str | None,
                           now: datetime) -> dict[str, int]:
    """Every invitation closed, answered or not (their links answer no more), reminders stopped, the send log's replies and the trigger
    events' ids cleared, and every e-mail to the address deleted, queued ones too."""
    closed = _rows(db_session.execute(
        # Answered ones too: retention later unlinks their responses, and a link no response carries would answer.
        update(Invitation).where(Invitation.customer_id == customer_id,
                                 or_(Invitation.expires_at.is_(None), Invitation.expires_at > now))
        .values(expires_at=now).execution_options(synchronize_session=False)))
    db_session.execute(update(SendInvitation).where(SendInvitation.customer_id == customer_id)
                       .values(next_reminder_at=None).execution_options(synchronize_session=False))
    log = _rows(db_session.execute(update(InvitationEvent).where(InvitationEvent.customer_id == customer_id,
                                                                 InvitationEvent.detail.is_not(None))
                                   .values(detail=None).execution_options(synchronize_session=False)))
    triggers = _rows(db_session.execute(
        update(TriggerEvent).where(or_(TriggerEvent.customer_id == customer_id, TriggerEvent.external_id == external_id))
        .values(external_id=None, dedupe_key=literal("erased-") + cast(TriggerEvent.id, String))  # keys may hold the id
        .execution_options(synchronize_session=False)))
    mails = 0
    if address:
        mails = _rows(db_session.execute(delete(OutgoingMail).where(func.lower(func.trim(OutgoingMail.recipient)) == address)
                                         .execution_options(synchronize_session=False)))
    return {"invitations_closed": closed, "send_log_details_cleared": log, "trigger_events_unlinked": triggers,
            "mails_deleted": mails}


def _erase_case_words(db_session: Session, customer_id: int) -> dict[str, int]:
    """A case keeps its status, times, department and root cause (the loop's metrics), not what was written about
    the customer: its action taken, its timeline's notes and the details of its contacts."""
    cases = select(Case.id).where(Case.customer_id == customer_id)
    db_session.execute(update(Case).where(Case.customer_id == customer_id).values(action_taken=None)
                       .execution_options(synchronize_session=False))
    notes = _rows(db_session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(cases), CaseEvent.note.is_not(None))
                                     .values(note=None).execution_options(synchronize_session=False)))
    db_session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(cases), CaseEvent.kind.in_(KINDS_OF_CONTACT))
                       .values(details={}).execution_options(synchronize_session=False))
    return {"case_notes_cleared": notes}


def _erase_turns(db_session: Session, customer_id: int) -> int:
    """What the customer said in focus groups and interviews is deleted; the speaker keeps a neutral label."""
    participants = list(db_session.scalars(select(Participant).where(Participant.customer_id == customer_id)))
    if not participants:
        return 0
    for participant in participants:
        participant.label = f"erased participant {participant.id}"
    return _rows(db_session.execute(delete(Turn).where(Turn.participant_id.in_([p.id for p in participants]))
                                    .execution_options(synchronize_session=False)))


def redact_audit_log(db_session: Session, values: list[str]) -> int:
    """Replace the erased values in audit entries (a target or a detail naming the address or the external id)
    with [erased]; returns how many entries changed."""
    found = 0
    for value in sorted(set(values), key=len, reverse=True):
        is_address = "@" in value
        target_names = AuditEntry.target.contains(value, autoescape=True) if is_address else AuditEntry.target == value
        entries = db_session.scalars(select(AuditEntry).where(
            or_(target_names, cast(AuditEntry.details, String).contains(value, autoescape=True))))
        for entry in entries:
            if is_address:
                target = entry.target.replace(value, ERASED)
            else:
                target = ERASED if entry.target == value else entry.target
            details = _redacted(entry.details, value)
            if target != entry.target or details != entry.details:
                entry.target, entry.details = target, details
                found += 1
    return found


def _redact_import_errors(db_session: Session, address: str) -> int:
    """An import run's error may quote the row it refused, address and all: the address becomes [erased]."""
    runs = list(db_session.scalars(select(ImportRun).where(func.lower(ImportRun.error).contains(address,
                                                                                              autoescape=True))))
    for run in runs:
        run.error = re.sub(re.escape(address), ERASED, run.error, flags=re.IGNORECASE)
    return len(runs)


def _redacted(document, value: str):
    """The JSON document with every string equal to `value` (or, for an address, containing it) redacted."""
    if isinstance(document, dict):
        return {key: _redacted(item, value) for key, item in document.items()}
    if isinstance(document, list):
        return [_redacted(item, value) for item in document]
    if isinstance(document, str) and (document == value or ("@" in value and value in document.lower())):
        return ERASED if document == value else document.lower().replace(value, ERASED)
    return document


def _make_tombstone(customer: Customer, now: datetime) -> None:
    """The customer's row, emptied: what points to it keeps counting, and nothing in it names anyone."""
    customer.external_id = f"erased-{customer.id}"
    customer.email = None
    customer.attributes = {}
    customer.language = None
    customer.consent, customer.consent_at, customer.consent_source = "no", now, "erasure"
    customer.erased_at = now

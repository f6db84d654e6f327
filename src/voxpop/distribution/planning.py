"""Who a send invites and who it skips, and the run that invites them.

`plan_send` is the dry run: every audience member with "will invite" or the reason they are skipped (not
reachable per the contacts' consent and suppression list, over a contact-frequency rule, already invited by this
send, or a template that needs what the contact lacks). `run_send` does the same for a batch of members not yet
handled and, in the caller's one transaction, creates each invitation, its row in the send, the `queued` event and
the e-mail in the outbox: a crash leaves all of a batch or none, and a re-run carries on where it stopped (a member
is handled once invited or once their skip is logged; the database refuses a second invitation).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.collection.models import Invitation
from voxpop.customers import contacts
from voxpop.customers.models import Customer
from voxpop.distribution import links
from voxpop.distribution.models import InvitationEvent, Send, SendInvitation
from voxpop.distribution.rules import CHUNK, Limits, active_limits, first_problem, invitation_history
from voxpop.distribution.service import record_event
from voxpop.distribution.templates import MailContext, Scores, TemplateProblem, customer_variables, render_mail
from voxpop.notify.outbox import queue_mail
from voxpop.settings import Settings
from voxpop.store.ids import token_hash
from voxpop.surveys.models import Question, Survey
from voxpop.surveys.schemas import text_in

EMBEDDABLE_KINDS = ("nps", "csat")
ALREADY_INVITED = "already invited by this send"


@dataclass(frozen=True)
class Member:
    customer_id: int
    external_id: str
    email: str | None
    language: str | None
    attributes: dict


@dataclass(frozen=True)
class PlanEntry:
    """One audience member: invited (reason empty) or skipped with the reason; `note` says what was adapted."""

    customer_id: int
    external_id: str
    email: str | None
    language: str
    reason: str = ""
    note: str = ""

    @property
    def invite(self) -> bool:
        return not self.reason


@dataclass
class Plan:
    send_key: str
    entries: list[PlanEntry] = field(default_factory=list)
    pending: int = 0  # with pending_only: members not handled yet, before the limit

    @property
    def invited(self) -> list[PlanEntry]:
        return [entry for entry in self.entries if entry.invite]

    @property
    def skipped(self) -> list[PlanEntry]:
        return [entry for entry in self.entries if not entry.invite]

    def reasons(self) -> list[tuple[str, int]]:
        """Skip reasons grouped by their kind ("invited twice in the last 90 days (limit 2)" counts as a limit),
        most common first."""
        return Counter(reason_group(entry.reason) for entry in self.skipped).most_common()

    def languages(self) -> list[tuple[str, int]]:
        return sorted(Counter(entry.language for entry in self.invited).items())


def reason_group(reason: str) -> str:
    """A skip reason without its numbers, to count alike reasons together."""
    if reason.startswith("invited ") and "limit" in reason:
        return "over the contact-frequency limit"
    if reason.startswith("last invited"):
        return "invited too recently"
    if reason.startswith("the ") and "template" in reason:
        return "template needs a value the contact lacks"
    return reason


def choose_language(customer_language: str | None, templates: dict, default: str) -> tuple[str, str]:
    """The template language for a customer and, when it is not theirs, a note saying so."""
    if customer_language:
        if customer_language in templates:
            return customer_language, ""
        base = customer_language.split("-")[0]
        if base in templates:
            return base, ""
        return default, f"no {customer_language} template; written in {default} (the send's default)"
    return default, ""


def audience_members(db_session: Session, send: Send) -> list[Member]:
    """The send's audience: a recorded sample's members, or the contacts matching an attribute filter."""
    audience = send.audience or {}
    if "sample_id" in audience:
        return _members(db_session, contacts.sample_members(db_session, audience["sample_id"]))
    if "filter" in audience:
        wanted = {name: {str(value) for value in values} for name, values in (audience["filter"] or {}).items()}
        rows = db_session.execute(select(Customer.id, Customer.external_id, Customer.email, Customer.language,
                                         Customer.attributes)
                                  .where(Customer.erased_at.is_(None))  # an erased customer is no one to ask
                                  .order_by(Customer.id))
        return [Member(*row[:4], row[4] or {}) for row in rows if matches(wanted, row.language, row.attributes or {})]
    return []  # a trigger's send: its members come from the events


def matches(wanted: dict[str, set[str]], language: str | None, attributes: dict) -> bool:
    """Whether a contact has one of the wanted values of every filtered attribute (`language` is the contact's)."""
    for name, values in wanted.items():
        value = language if name == "language" else attributes.get(name)
        if value is None or str(value) not in values:
            return False
    return True


def _members(db_session: Session, customer_ids: list[int]) -> list[Member]:
    members = []
    ids = list(dict.fromkeys(customer_ids))
    for start in range(0, len(ids), CHUNK):
        rows = db_session.execute(select(Customer.id, Customer.external_id, Customer.email, Customer.language,
                                         Customer.attributes).where(Customer.id.in_(ids[start:start + CHUNK])))
        members.extend(Member(*row[:4], row[4] or {}) for row in rows)
    order = {customer_id: position for position, customer_id in enumerate(ids)}
    return sorted(members, key=lambda member: order[member.customer_id])


def handled_customers(db_session: Session, send_id: int) -> tuple[set[int], set[int]]:
    """The customers this send invited (as a wave), and those whose skip it logged."""
    invited = set(db_session.scalars(select(SendInvitation.customer_id).where(
        SendInvitation.send_id == send_id, SendInvitation.occasion == "")))
    skipped = set(db_session.scalars(select(InvitationEvent.customer_id).where(
        InvitationEvent.send_id == send_id, InvitationEvent.kind == "skipped", InvitationEvent.invitation_id.is_(None))))
    return invited, skipped


class Gate:
    """Everything that decides whether one customer may be invited now: the contacts' gate (consent,
    suppression), the frequency rules over their history, and the templates."""

    def __init__(self, db_session: Session, *, survey_id: int, customer_ids: list[int], now: datetime):
        self.now = now
        self.rules: list[Limits] = active_limits(db_session, survey_id=survey_id)
        window = max((limits.window_days for limits in self.rules), default=0)
        self.history = (invitation_history(db_session, customer_ids, since=now - timedelta(days=window))
                        if self.rules else {})
        self.unreachable = contacts.reachable(db_session, customer_ids)

    def problem(self, member: Member) -> str:
        """Why this member may not be invited now ("" when they may)."""
        reason = self.unreachable.get(member.customer_id)
        if reason:
            return reason
        if not member.email:
            return "no e-mail address"
        return first_problem(self.rules, self.history.get(member.customer_id, []), self.now) or ""


def plan_send(db_session: Session, send: Send, now: datetime, *, pending_only: bool = False,
              limit: int | None = None) -> Plan:
    """The dry run: each audience member with "will invite" or the reason they are skipped. With `pending_only`,
    only members the send has not handled yet (what a run would do next), at most `limit` of them."""
    members = audience_members(db_session, send)
    invited, skipped = handled_customers(db_session, send.id)
    if pending_only:
        members = [member for member in members if member.customer_id not in invited | skipped]
    plan = Plan(send.key, pending=len(members))
    members = members[:limit] if limit is not None else members
    gate = Gate(db_session, survey_id=send.survey_id, customer_ids=[member.customer_id for member in members],
                now=now)
    for member in members:
        language, note = choose_language(member.language, send.templates, send.default_language)
        reason = ALREADY_INVITED if member.customer_id in invited else gate.problem(member)
        if not reason:
            reason = template_problem(send, member, language)
        plan.entries.append(PlanEntry(member.customer_id, member.external_id, member.email, language, reason, note))
    return plan


def template_problem(send: Send, member: Member, language: str) -> str:
    """Why the send's template cannot be written for this member (an attribute it uses that they lack), or ""."""
    example = "https://example.invalid/"
    scores = Scores("", [(0, example)]) if send.embed_question else None
    context = MailContext(customer=customer_variables(external_id=member.external_id, email=member.email,
                                                      language=language, attributes=member.attributes),
                          survey_title="", link=example, unsubscribe_link=example, expires_on=None, scores=scores)
    try:
        render_mail(send.templates.get(language) or send.templates[send.default_language], context, language=language)
    except TemplateProblem as exc:
        return str(exc)
    return ""


@dataclass
class RunReport:
    invited: int = 0
    skipped: int = 0
    remaining: int = 0  # audience members not handled yet
    problems: list[str] = field(default_factory=list)


def run_send(db_session: Session, send: Send, settings: Settings, now: datetime, limit: int = 200) -> RunReport:
    """Invite (or log the skip of) the next `limit` members of the send, in the caller's transaction."""
    if send.status in ("done", "cancelled"):
        return RunReport()
    survey = db_session.get(Survey, send.survey_id)
    if survey.status != "live":
        return RunReport(problems=[f"the survey {survey.key} is {survey.status}, not live; nothing was sent"])
    if send.status != "sending":
        send.status, send.started_at = "sending", send.started_at or now
    plan = plan_send(db_session, send, now, pending_only=True, limit=limit)
    report = RunReport()
    for entry in plan.entries:
        if entry.invite:
            invite(db_session, send=send, survey=survey, settings=settings, now=now, customer_id=entry.customer_id,
                   language=entry.language, note=entry.note)
            report.invited += 1
        else:
            record_event(db_session, send_id=send.id, invitation_id=None, customer_id=entry.customer_id,
                         kind="skipped", detail=entry.reason, at=now)
            report.skipped += 1
    report.remaining = plan.pending - len(plan.entries)
    if report.remaining == 0:
        send.status, send.finished_at = "done", now
    return report


def invite(db_session: Session, *, send: Send, survey: Survey, settings: Settings, now: datetime, customer_id: int,
           language: str, note: str = "", occasion: str = "") -> SendInvitation:
    """One invitation: the collection invitation (its token's hash), its row in the send, the e-mail in the outbox
    and the `queued` event, all in the caller's transaction."""
    customer = db_session.get(Customer, customer_id)
    token = links.invitation_token(settings, send_id=send.id, customer_id=customer_id, occasion=occasion)
    expires_at = now + timedelta(days=send.expires_after_days) if send.expires_after_days else None
    invitation = Invitation(survey_id=survey.id, customer_id=customer_id, token_hash=token_hash(token),
                            created_at=now, expires_at=expires_at)
    db_session.add(invitation)
    db_session.flush()
    mail = compose(db_session, send=send, survey=survey, settings=settings, customer=customer, language=language,
                   token=token, invitation=invitation, reminder=0)
    queued = queue_mail(db_session=db_session, kind="invitation", recipient=customer.email, subject=mail.subject,
                        body_text=mail.body_text, body_html=mail.body_html, related=f"invitation:{invitation.id}",
                        headers=links.unsubscribe_headers(settings, invitation.id))
    queued.created_at = queued.next_attempt_at = now
    db_session.flush()
    row = SendInvitation(invitation_id=invitation.id, send_id=send.id, customer_id=customer_id, occasion=occasion,
                         language=language, status="queued", reminders_sent=0, last_mail_id=queued.id, created_at=now,
                         next_reminder_at=now + timedelta(days=send.reminder_gap_days) if send.max_reminders else None)
    db_session.add(row)
    record_event(db_session, send_id=send.id, invitation_id=invitation.id, customer_id=customer_id, kind="queued",
                 detail=note or None, at=now, mail_id=queued.id)
    return row


def compose(db_session: Session, *, send: Send, survey: Survey, settings: Settings, customer: Customer, language: str,
            token: str, invitation: Invitation, reminder: int):
    """The invitation (or reminder) e-mail for one customer, in their template language."""
    template = send.templates.get(language) or send.templates[send.default_language]
    context = MailContext(
        customer=customer_variables(external_id=customer.external_id, email=customer.email, language=language,
                                    attributes=customer.attributes or {}),
        survey_title=survey.title, link=links.survey_url(settings, survey.key, token, language),
        unsubscribe_link=links.unsubscribe_url(settings, invitation.id),
        expires_on=local_day(invitation.expires_at, settings), reminder=reminder,
        scores=embedded_scores(db_session, send=send, survey=survey, settings=settings, token=token,
                               language=language))
    return render_mail(template, context, language=language)


def local_day(moment: datetime | None, settings: Settings) -> date | None:
    """The day `moment` falls on in the workspace's time zone: the expiry date a customer reads in the e-mail."""
    return moment.astimezone(ZoneInfo(settings.timezone)).date() if moment else None


def embedded_question(db_session: Session, *, survey: Survey, key: str) -> Question | None:
    """The survey's current nps or csat question with this key."""
    version = survey.current_version
    if version is None:
        return None
    return next((question for question in version.questions
                 if question.key == key and question.kind in EMBEDDABLE_KINDS), None)


def embedded_scores(db_session: Session, *, send: Send, survey: Survey, settings: Settings, token: str,
                    language: str) -> Scores | None:
    if not send.embed_question:
        return None
    question = embedded_question(db_session, survey=survey, key=send.embed_question)
    if question is None:
        return None
    low, high = question.scale_min, question.scale_max
    if low is None or high is None:
        low, high = (0, 10) if question.kind == "nps" else (1, 5)
    wording = text_in(question.spec.get("text"), language, survey.default_language)
    return Scores(wording, [(score, links.score_url(settings, survey.key, token, language, question.key, score))
                            for score in range(low, high + 1)])

"""The demo's e-mail invitation runs: a send with reminders and its log, a contact-frequency rule and a
triggered send after purchases.

The December NPS wave goes to the contacts' recorded sample, planned by the real `plan_send` (so its skips are the
gate's and the rule's own words), then written in bulk: invitations, their e-mails as sent (a few failed at the
server, a few bounced later), two reminders to those who had not answered, and responses linked to their
invitations. Business customers and the DACH region answer less often, as B2B buyers and a German-speaking list
do in practice: the non-response pages have a real gap to find and the weighting a real correction to make.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from voxpop.analysis.questions import QuestionRef
from voxpop.collection.layout import BatchLayout, ResponseBatch
from voxpop.collection.models import Invitation, Response
from voxpop.collection.writer import Target, insert_batch
from voxpop.customers.contacts import sample_members, suppress
from voxpop.customers.models import Customer, Sample, Transaction
from voxpop.distribution.models import ContactRule, InvitationEvent, Send, SendInvitation, Trigger, TriggerEvent
from voxpop.distribution.planning import Gate, Member, plan_send
from voxpop.distribution.templates import MailContext, Scores, customer_variables, render_mail
from voxpop.distribution.triggers import PURCHASE, purchase_key
from voxpop.notify.models import OutgoingMail
from voxpop.store.ids import token_hash
from voxpop.surveys.models import Survey

SAMPLE_NAME = "December NPS wave"
WAVE_DAYS_AGO = 6
GAP_DAYS = 2  # reminders two and four days after the invitation
RESPONSE_RATE = 0.42  # of a consumer outside DACH, over the invitation and both reminders
# Who answers less: business buyers (a shared inbox, a purchasing department) and the DACH region.
SEGMENT_PROPENSITY = {"consumer": 1.0, "premium": 1.15, "business": 0.45}
REGION_PROPENSITY = {"DACH": 0.55}
NPS_CENTRE = {"consumer": 7.9, "premium": 8.8, "business": 6.4}  # business customers are harder to please
FAILED = "550 5.1.1 <{email}>: Recipient address rejected: User unknown in virtual mailbox table"
BOUNCE = "Delivery Status Notification: 5.2.2 mailbox full (remote server mx.{domain})"
PUBLIC_URL = "http://127.0.0.1:8000"
TRIGGER_DAYS = 4  # purchases of the last few days become trigger events: the older due, the newest waiting
TEMPLATES = {
    "en": {"subject": "{% if reminder %}Reminder: {% endif %}How was your order, {{ customer.name or 'there' }}?",
           "body": "Hello {{ customer.name or 'there' }},\n\nthank you for shopping with Northwind Outfitters. "
                   "One click tells us how we did:\n\n{{ score_buttons }}\n\nOr open the survey: {{ link }}\n"
                   "It takes two minutes and works until {{ expires_on }}.\n\nNorthwind Outfitters customer team"},
    "de": {"subject": "{% if reminder %}Erinnerung: {% endif %}Wie war Ihre Bestellung?",
           "body": "Guten Tag {{ customer.name }},\n\nvielen Dank für Ihren Einkauf bei Northwind Outfitters. "
                   "Ein Klick sagt uns, wie zufrieden Sie waren:\n\n{{ score_buttons }}\n\n"
                   "Oder öffnen Sie die Umfrage: {{ link }}\nSie dauert zwei Minuten und ist bis {{ expires_on }} "
                   "offen.\n\nIhr Kundenteam von Northwind Outfitters"},
}


def add_sends(db_session: Session, *, now: datetime, zone: str, seed: int) -> str:
    """Add the demo's sends (after its contacts, responses and transactions); returns a progress line."""
    survey = db_session.scalar(select(Survey).where(Survey.key == "post-purchase"))
    if survey is None or db_session.scalar(select(Send.id).where(Send.key == "december-nps-wave")) is not None:
        return ""
    rng = random.Random(f"{seed}:sends")
    # The wave went out six days ago, but never before this month began: its responses must not change the
    # last ended month, which the scorecard's review reads (and whose planted "red within noise" it shows).
    local = now.astimezone(ZoneInfo(zone))
    wave_day = max((now - timedelta(days=WAVE_DAYS_AGO)).astimezone(ZoneInfo(zone)).date(), local.date().replace(day=1))
    wave_at = min(datetime.combine(wave_day, time(9), ZoneInfo(zone)), local - timedelta(hours=1)).astimezone(now.tzinfo)
    db_session.add(ContactRule(survey_id=None, max_invitations=2, per_days=90, min_gap_days=30, active=True,
                               created_at=now - timedelta(days=200)))
    support_invited = _earlier_invitations(db_session, rng, wave_at)
    send = _wave(db_session, survey, wave_at)
    wave = _write_wave(db_session, rng, send, survey, wave_at, now, zone)
    triggered = _purchase_trigger(db_session, rng, survey, now)
    return (f"sends: December NPS wave {wave['invited']:,} invited, {wave['skipped']:,} skipped "
            f"({support_invited} asked by support lately), {wave['responded']:,} answered; purchase trigger "
            f"{triggered} invited; rule: at most 2 per 90 days, 30 days apart")


def _earlier_invitations(db_session: Session, rng: random.Random, wave_at: datetime) -> int:
    """Support-survey invitations (`voxpop survey invite`) to some of the sample in the weeks before the wave, so
    the contact rule has someone to hold back."""
    support = db_session.scalar(select(Survey.id).where(Survey.key == "support-csat"))
    sample_id = db_session.scalar(select(Sample.id).where(Sample.name == SAMPLE_NAME))
    if support is None or sample_id is None:
        return 0
    members = sample_members(db_session, sample_id)
    chosen = sorted(rng.sample(members, min(len(members), 60)))
    rows = [{"survey_id": support, "customer_id": customer_id, "token_hash": token_hash(f"demo-support:{customer_id}"),
             "created_at": wave_at - timedelta(days=rng.randint(3, 28), hours=rng.randint(0, 8)),
             "expires_at": wave_at + timedelta(days=10)} for customer_id in chosen]
    db_session.execute(insert(Invitation.__table__), rows)
    return len(rows)


def _wave(db_session: Session, survey: Survey, wave_at: datetime) -> Send:
    sample_id = db_session.scalar(select(Sample.id).where(Sample.name == SAMPLE_NAME))
    audience = ({"sample_id": sample_id, "sample": SAMPLE_NAME} if sample_id is not None
                else {"filter": {"region": ["UK", "Benelux"]}})
    send = Send(key="december-nps-wave", name="December NPS wave", survey_id=survey.id, status="done",
                audience=audience, templates=TEMPLATES, default_language="en", embed_question="nps",
                max_reminders=2, reminder_gap_days=GAP_DAYS, expires_after_days=14, scheduled_for=wave_at,
                created_at=wave_at - timedelta(days=2), started_at=wave_at)
    db_session.add(send)
    db_session.flush()
    return send


def _write_wave(db_session: Session, rng: random.Random, send: Send, survey: Survey, wave_at: datetime,
                now: datetime, zone: str) -> dict[str, int]:
    plan = plan_send(db_session, send, wave_at)
    invited = plan.invited
    people = {row.id: row for row in db_session.execute(select(Customer.id, Customer.email, Customer.attributes)
                                                        .where(Customer.id.in_([e.customer_id for e in invited])))}
    expires_at = wave_at + timedelta(days=send.expires_after_days)
    db_session.execute(insert(Invitation.__table__), [
        {"survey_id": survey.id, "customer_id": entry.customer_id, "created_at": wave_at, "expires_at": expires_at,
         "token_hash": token_hash(f"demo-wave:{entry.customer_id}")} for entry in invited])
    invitation_ids = dict(db_session.execute(select(Invitation.customer_id, Invitation.id).where(
        Invitation.survey_id == survey.id, Invitation.created_at == wave_at)).all())
    question = next(q for q in survey.current_version.questions if q.key == "nps")
    events: list[dict] = [{"send_id": send.id, "invitation_id": None, "customer_id": entry.customer_id,
                           "kind": "skipped", "at": wave_at, "detail": entry.reason, "mail_id": None}
                          for entry in plan.skipped]
    mails, outcomes = [], []
    for entry in invited:
        person = people[entry.customer_id]
        outcome = _outcome(rng, person.attributes or {}, wave_at, now)
        outcomes.append((entry, person, outcome))
        for number, at in enumerate([wave_at, *outcome["reminders"]]):
            mails.append(_mail(external_id=entry.external_id, email=person.email, language=entry.language,
                               attributes=person.attributes or {}, invitation_id=invitation_ids[entry.customer_id],
                               survey=survey, question=question, number=number, at=at, expires_at=expires_at,
                               failed=outcome["status"] == "failed", rng=rng))
    db_session.execute(insert(OutgoingMail.__table__), mails)
    mail_ids = {(row.related, row.created_at): row.id for row in db_session.execute(
        select(OutgoingMail.id, OutgoingMail.related, OutgoingMail.created_at).where(
            OutgoingMail.kind.like("invitation%"), OutgoingMail.created_at >= wave_at))}
    rows, responses = [], []
    for entry, person, outcome in outcomes:
        invitation_id = invitation_ids[entry.customer_id]
        related = f"invitation:{invitation_id}"
        sent_mails = [mail_ids[(related, at)] for at in [wave_at, *outcome["reminders"]]]
        rows.append({"invitation_id": invitation_id, "send_id": send.id, "customer_id": entry.customer_id,
                     "occasion": "", "language": entry.language, "status": outcome["status"],
                     "reminders_sent": len(outcome["reminders"]), "next_reminder_at": None,
                     "last_mail_id": sent_mails[-1], "created_at": wave_at})
        events.extend(_log(send.id, invitation_id, entry, person, wave_at, outcome, sent_mails))
        if outcome["status"] == "completed":
            responses.append((invitation_id, entry, person, outcome))
    db_session.execute(insert(SendInvitation.__table__), rows)
    db_session.execute(insert(InvitationEvent.__table__), events)
    for _, person, outcome in outcomes:  # an unsubscribe puts the address on the suppression list, as the link does
        if outcome["status"] == "unsubscribed":
            suppress(db_session, person.email, reason="unsubscribed", source="unsubscribe link", now=outcome["at"])
    _responses(db_session, rng, survey, responses, zone)
    # Those who opened the link and left without answering: the funnel's "started" counts them from the link.
    opened = [{"b_id": invitation_ids[entry.customer_id], "opened_at": outcome["at"] - timedelta(minutes=2)}
              for entry, _, outcome in outcomes if outcome["status"] == "started"]
    if opened:
        table = Invitation.__table__
        db_session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
            opened_at=bindparam("opened_at")), opened)
    return {"invited": len(invited), "skipped": len(plan.skipped), "responded": len(responses)}


def _outcome(rng: random.Random, attributes: dict, wave_at: datetime, now: datetime) -> dict:
    """What happened to one invitation: delivery, the reminders it got, whether and when the customer answered."""
    if rng.random() < 0.012:
        return {"status": "failed", "reminders": [], "at": wave_at + timedelta(minutes=rng.randint(1, 40))}
    if rng.random() < 0.02:
        return {"status": "bounced", "reminders": [], "at": wave_at + timedelta(hours=rng.randint(1, 20))}
    if rng.random() < 0.006:
        return {"status": "unsubscribed", "reminders": [], "at": wave_at + timedelta(hours=rng.randint(1, 40))}
    propensity = (RESPONSE_RATE * SEGMENT_PROPENSITY.get(attributes.get("segment"), 1.0)
                  * REGION_PROPENSITY.get(attributes.get("region"), 1.0))
    # Half of those who answer do so after the invitation, the rest after the first or second reminder.
    answers = rng.random() < propensity
    wave = rng.choices([0, 1, 2], weights=[50, 32, 18])[0] if answers else 3
    reminders = [wave_at + timedelta(days=GAP_DAYS * n) for n in (1, 2) if n <= wave]
    if not answers:
        reminders = [wave_at + timedelta(days=GAP_DAYS * n) for n in (1, 2)]
        opened = rng.random() < 0.07  # opened the survey, never finished
        at = wave_at + timedelta(days=rng.uniform(0.1, WAVE_DAYS_AGO - 0.5))
        return {"status": "started" if opened else "sent", "reminders": reminders, "at": min(at, now)}
    at = wave_at + timedelta(days=GAP_DAYS * wave, hours=rng.uniform(0.2, 30))
    return {"status": "completed", "reminders": reminders, "at": min(at, now - timedelta(minutes=5)),
            "clicked": rng.random() < 0.6}


def _mail(*, external_id: str, email: str, language: str, attributes: dict, invitation_id: int, survey: Survey,
          question, number: int, at: datetime, expires_at: datetime, failed: bool, rng: random.Random) -> dict:
    """One e-mail as the outbox keeps it after sending (the demo's links carry no real token)."""
    link = f"{PUBLIC_URL}/s/{survey.key}?t=demo&lang={language}"
    scores = Scores(question.spec["text"].get(language) or question.spec["text"]["en"],
                    [(score, f"{link}&q=nps&score={score}") for score in range(11)])
    context = MailContext(customer=customer_variables(external_id=external_id, email=email, language=language,
                                                      attributes=attributes),
                          survey_title=survey.title, link=link, unsubscribe_link=f"{PUBLIC_URL}/u/demo",
                          expires_on=expires_at.date(), reminder=number, scores=scores)
    rendered = render_mail(TEMPLATES[language], context, language=language)
    return {"message_id": f"<demo-{invitation_id}-{number}@voxpop>",
            "kind": "invitation.reminder" if number else "invitation", "recipient": email,
            "subject": rendered.subject, "body_text": rendered.body_text, "body_html": rendered.body_html,
            "headers": {"List-Unsubscribe": f"<{PUBLIC_URL}/u/demo>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            "status": "failed" if failed else "sent", "attempts": 1, "next_attempt_at": at,
            "smtp_reply": FAILED.format(email=email) if failed else
            f"250 2.0.0 Ok: queued as {rng.getrandbits(40):010X}",
            "related": f"invitation:{invitation_id}", "created_at": at,
            "sent_at": None if failed else at + timedelta(seconds=rng.randint(2, 90))}


def _log(send_id: int, invitation_id: int, entry, person, wave_at: datetime, outcome: dict,
         mail_ids: list[int]) -> list[dict]:
    """The send log of one invitation, in the order things happened."""
    def event(kind: str, at: datetime, detail: str | None = None, mail_id: int | None = None) -> dict:
        return {"send_id": send_id, "invitation_id": invitation_id, "customer_id": entry.customer_id, "kind": kind,
                "at": at, "detail": detail, "mail_id": mail_id}

    log = [event("queued", wave_at, entry.note or None, mail_ids[0])]
    status = outcome["status"]
    if status == "failed":
        return log + [event("failed", outcome["at"], FAILED.format(email=person.email), mail_ids[0])]
    log.append(event("sent", wave_at + timedelta(seconds=30), "250 2.0.0 Ok", mail_ids[0]))
    if status == "bounced":
        return log + [event("bounced", outcome["at"], BOUNCE.format(domain=person.email.split("@")[-1]),
                            mail_ids[0])]
    for number, (at, mail_id) in enumerate(zip(outcome["reminders"], mail_ids[1:]), start=1):
        log.append(event("reminded", at, f"reminder {number} of 2", mail_id))
    if status == "unsubscribed":
        log.append(event("unsubscribed", outcome["at"], "one-click unsubscribe (RFC 8058)"))
    elif status in ("started", "completed"):
        log.append(event("started", outcome["at"] - timedelta(minutes=2)))
        if status == "completed":
            log.append(event("completed", outcome["at"]))
    return sorted(log, key=lambda item: item["at"])


def _responses(db_session: Session, rng: random.Random, survey: Survey, responses: list, zone: str) -> None:
    """The wave's answers through the bulk writer the demo uses, then linked to their invitations."""
    if not responses:
        return
    version = survey.current_version
    questions = {q.key: QuestionRef(q.key, q.kind, q.scale_min, q.scale_max, q.ces_version, q.id)
                 for q in version.questions}
    connection = db_session.connection()
    layout = BatchLayout(questions, zone=zone, dialect=type(connection.dialect))
    batch = ResponseBatch()
    clicks = []
    for invitation_id, entry, person, outcome in responses:
        attributes = person.attributes or {}
        segment = attributes.get("segment", "consumer")
        score = max(0, min(10, round(rng.gauss(NPS_CENTRE.get(segment, 7.9), 2.0))))
        layout.add(batch, f"wave:{invitation_id}", outcome["at"], {"nps": score},
                   {"segment": segment, "region": attributes.get("region", ""), "channel": "email"},
                   customer=entry.external_id, email=person.email, language=entry.language)
        opened = outcome["at"] - timedelta(minutes=2)
        clicked = outcome.get("clicked")
        clicks.append({"b_id": invitation_id, "opened_at": opened, "clicked_question": "nps" if clicked else None,
                       "clicked_score": score if clicked else None, "clicked_at": opened if clicked else None})
    insert_batch(connection, layout.finished(batch), Target(survey.id, version.id, questions, channel="email"))
    db_session.execute(update(Response.__table__).where(Response.__table__.c.idempotency_key == bindparam("key"),
                                                        Response.__table__.c.survey_id == survey.id)
                       .values(invitation_id=bindparam("invitation")),
                       [{"key": f"wave:{invitation_id}", "invitation": invitation_id}
                        for invitation_id, *_ in responses])
    table = Invitation.__table__
    db_session.execute(update(table).where(table.c.id == bindparam("b_id")).values(
        opened_at=bindparam("opened_at"), clicked_question=bindparam("clicked_question"),
        clicked_score=bindparam("clicked_score"), clicked_at=bindparam("clicked_at")), clicks)


def _purchase_trigger(db_session: Session, rng: random.Random, survey: Survey, now: datetime) -> int:
    """A send without an audience for the trigger "purchase + 3 days", with the events of the last week's
    purchases: the due ones handled through the real gate and rules (most wave invitees are held back by the
    30-day gap), the newest still waiting for their delay."""
    send = Send(key="after-purchase", name="After a purchase (triggered)", survey_id=survey.id, status="sending",
                audience={"trigger": True}, templates=TEMPLATES, default_language="en", embed_question="nps",
                max_reminders=1, reminder_gap_days=3, expires_after_days=10, created_at=now - timedelta(days=30))
    db_session.add(send)
    db_session.flush()
    db_session.add(Trigger(key="purchase-3-days", survey_id=survey.id, event_name=PURCHASE, delay_days=3,
                           send_id=send.id, active=True, created_at=now - timedelta(days=30)))
    question = next(q for q in survey.current_version.questions if q.key == "nps")
    rows = db_session.execute(
        select(Transaction.id, Transaction.customer_id, Transaction.day, Transaction.invoice, Customer.external_id,
               Customer.email, Customer.language, Customer.attributes)
        .join(Customer, Customer.id == Transaction.customer_id)
        .where(Transaction.kind == "sale", Transaction.day >= (now - timedelta(days=TRIGGER_DAYS)).date())
        .order_by(Transaction.day, Transaction.id)).all()
    seen, count = set(), 0
    for row in rows:
        key = purchase_key(row.invoice, row.id)
        if key in seen:
            continue
        seen.add(key)
        occurred = datetime.combine(row.day, time(12), now.tzinfo)
        due = occurred + timedelta(days=3)
        event = TriggerEvent(name=PURCHASE, external_id=row.external_id, customer_id=row.customer_id,
                             occurred_at=occurred, dedupe_key=key, source=PURCHASE, received_at=occurred, result={})
        db_session.add(event)
        if due > now:
            continue  # still waiting for its delay: the worker handles it when due
        db_session.flush()
        event.processed_at = due
        language = row.language if row.language in TEMPLATES else "en"
        member = Member(row.customer_id, row.external_id, row.email, row.language, row.attributes or {})
        reason = Gate(db_session, survey_id=survey.id, customer_ids=[row.customer_id], now=due).problem(member)
        if reason:
            event.result = {"purchase-3-days": f"skipped: {reason}"}
            db_session.add(InvitationEvent(send_id=send.id, invitation_id=None, customer_id=row.customer_id,
                                           kind="skipped", at=due, detail=f"purchase ({key}): {reason}"))
            continue
        invitation = Invitation(survey_id=survey.id, customer_id=row.customer_id, created_at=due,
                                expires_at=due + timedelta(days=10), token_hash=token_hash(f"demo-trigger:{event.id}"))
        db_session.add(invitation)
        db_session.flush()
        mail = OutgoingMail(**_mail(external_id=row.external_id, email=row.email, language=language,
                                    attributes=row.attributes or {}, invitation_id=invitation.id, survey=survey,
                                    question=question, number=0, at=due, expires_at=invitation.expires_at,
                                    failed=False, rng=rng))
        db_session.add(mail)
        db_session.flush()
        db_session.add(SendInvitation(invitation_id=invitation.id, send_id=send.id, customer_id=row.customer_id,
                                      occasion=f"event:{event.id}", language=language, status="sent", reminders_sent=0,
                                      next_reminder_at=None, last_mail_id=mail.id, created_at=due))
        db_session.add_all([
            InvitationEvent(send_id=send.id, invitation_id=invitation.id, customer_id=row.customer_id,
                            kind="queued", at=due, detail=None, mail_id=mail.id),
            InvitationEvent(send_id=send.id, invitation_id=invitation.id, customer_id=row.customer_id, kind="sent",
                            at=mail.sent_at, detail=mail.smtp_reply, mail_id=mail.id)])
        event.result = {"purchase-3-days": f"invited (invitation {invitation.id})"}
        count += 1
    return count

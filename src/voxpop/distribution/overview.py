"""What the send pages, their JSON twins and the CLI show: sends with their counts, rules and triggers in words."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from voxpop.distribution.definitions import as_definition
from voxpop.distribution.models import ContactRule, InvitationEvent, Send, SendInvitation, Trigger, TriggerEvent
from voxpop.distribution.schemas import (
    RulePublic,
    SendDetail,
    SendSummary,
    TriggerEventPublic,
    TriggerPublic,
)
from voxpop.surveys.models import Survey


class SendError(ValueError):
    """Something asked of a send (or rule) that cannot be done, in words."""


def audience_in_words(audience: dict) -> str:
    if "sample_id" in audience:
        return f"sample {audience.get('sample') or audience['sample_id']}"
    if "filter" in audience:
        wanted = audience["filter"] or {}
        if not wanted:
            return "every contact"
        return "contacts with " + " and ".join(f"{name} {' or '.join(values)}" for name, values in wanted.items())
    return "triggered by events"


def _event_counts(db_session: Session, send_ids: list[int]) -> dict[tuple[int, str], int]:
    if not send_ids:
        return {}
    rows = db_session.execute(select(InvitationEvent.send_id, InvitationEvent.kind, func.count())
                              .where(InvitationEvent.send_id.in_(send_ids))
                              .group_by(InvitationEvent.send_id, InvitationEvent.kind))
    return {(send_id, kind): count for send_id, kind, count in rows}


def _summary(send: Send, survey_key: str, counts: dict[tuple[int, str], int]) -> SendSummary:
    return SendSummary(key=send.key, name=send.name, survey=survey_key, status=send.status,
                       audience=audience_in_words(send.audience or {}), invited=counts.get((send.id, "queued"), 0),
                       skipped=counts.get((send.id, "skipped"), 0), reminded=counts.get((send.id, "reminded"), 0),
                       scheduled_for=send.scheduled_for, created_at=send.created_at, started_at=send.started_at,
                       finished_at=send.finished_at)


def list_sends(db_session: Session) -> list[SendSummary]:
    """Every send, newest first, with how many it invited, skipped and reminded."""
    rows = db_session.execute(select(Send, Survey.key).join(Survey, Survey.id == Send.survey_id)
                              .order_by(Send.created_at.desc(), Send.id.desc())).all()
    counts = _event_counts(db_session, [send.id for send, _ in rows])
    return [_summary(send, survey_key, counts) for send, survey_key in rows]


def send_detail(db_session: Session, send: Send) -> SendDetail:
    survey_key = db_session.scalar(select(Survey.key).where(Survey.id == send.survey_id))
    counts = _event_counts(db_session, [send.id])
    statuses = dict(db_session.execute(select(SendInvitation.status, func.count()).where(
        SendInvitation.send_id == send.id).group_by(SendInvitation.status)).all())
    return SendDetail(send=_summary(send, survey_key, counts), definition=as_definition(db_session, send),
                      statuses=statuses, events={kind: count for (_, kind), count in sorted(counts.items())})


def cancel_send(db_session: Session, *, key: str) -> Send:
    """Stop a send: no further invitations or reminders."""
    send = db_session.scalar(select(Send).where(Send.key == key))
    if send is None:
        raise SendError(f"there is no send {key!r}")
    if send.status in ("done", "cancelled") and not _has_open_reminders(db_session, send.id):
        raise SendError(f"the send {key!r} is {send.status}; there is nothing left to stop")
    send.status = "cancelled"
    db_session.query(SendInvitation).filter(SendInvitation.send_id == send.id).update(
        {SendInvitation.next_reminder_at: None}, synchronize_session=False)
    return send


def _has_open_reminders(db_session: Session, send_id: int) -> bool:
    return db_session.scalar(select(func.count()).where(SendInvitation.send_id == send_id,
                                                        SendInvitation.next_reminder_at.is_not(None))) > 0


def rule_in_words(rule: ContactRule) -> str:
    parts = []
    if rule.max_invitations is not None:
        times = "once" if rule.max_invitations == 1 else f"{rule.max_invitations} times"
        parts.append(f"at most {times} per {rule.per_days} days")
    if rule.min_gap_days:
        parts.append(f"at least {rule.min_gap_days} days apart")
    return " and ".join(parts)


def list_rules(db_session: Session) -> list[RulePublic]:
    rows = db_session.execute(select(ContactRule, Survey.key).outerjoin(Survey, Survey.id == ContactRule.survey_id)
                              .order_by(ContactRule.survey_id.is_not(None), ContactRule.id)).all()
    return [RulePublic(id=rule.id, survey=survey_key, max_invitations=rule.max_invitations, per_days=rule.per_days,
                       min_gap_days=rule.min_gap_days, active=rule.active, in_words=rule_in_words(rule))
            for rule, survey_key in rows]


def remove_rule(db_session: Session, *, rule_id: int) -> None:
    rule = db_session.get(ContactRule, rule_id)
    if rule is None:
        raise SendError(f"there is no rule {rule_id}")
    db_session.delete(rule)


def list_triggers(db_session: Session) -> list[TriggerPublic]:
    rows = db_session.execute(select(Trigger, Survey.key, Send.key).join(Survey, Survey.id == Trigger.survey_id)
                              .join(Send, Send.id == Trigger.send_id).order_by(Trigger.key)).all()
    pending = dict(db_session.execute(select(TriggerEvent.name, func.count()).where(
        TriggerEvent.processed_at.is_(None)).group_by(TriggerEvent.name)).all())
    invited = dict(db_session.execute(select(SendInvitation.send_id, func.count()).where(
        SendInvitation.occasion.like("event:%")).group_by(SendInvitation.send_id)).all())
    return [TriggerPublic(key=trigger.key, survey=survey_key, send=send_key, event_name=trigger.event_name,
                          delay_days=trigger.delay_days, active=trigger.active,
                          events_pending=pending.get(trigger.event_name, 0), invited=invited.get(trigger.send_id, 0))
            for trigger, survey_key, send_key in rows]


def recent_events(db_session: Session, limit: int = 50) -> list[TriggerEventPublic]:
    rows = db_session.scalars(select(TriggerEvent).order_by(TriggerEvent.received_at.desc(), TriggerEvent.id.desc())
                              .limit(limit)).all()
    return [event_public(event) for event in rows]


def event_public(event: TriggerEvent) -> TriggerEventPublic:
    return TriggerEventPublic(id=event.id, name=event.name, customer_id=event.external_id,
                              occurred_at=event.occurred_at, dedupe_key=event.dedupe_key, source=event.source,
                              received_at=event.received_at, processed_at=event.processed_at,
                              result=event.result or {})


def set_trigger_active(db_session: Session, *, key: str, active: bool) -> None:
    trigger = db_session.scalar(select(Trigger).where(Trigger.key == key))
    if trigger is None:
        raise SendError(f"there is no trigger {key!r}")
    trigger.active = active

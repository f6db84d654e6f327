"""The scorecard PDF e-mailed to chosen staff every week or month: schedules, the runs that are due, run now, pause.

A run renders the PDF of the last period that has ended, queues one e-mail per recipient with the PDF attached
(notify.outbox), and moves the schedule's next run on, all in the caller's transaction: if the process dies before
the commit nothing was queued and the run is still due, so a crash neither sends twice nor loses a run. The worker
and Run now render ahead, in a read transaction (render_ahead), so that transaction is short. The queued
mail is sent by the sending thread (notify.mail), which claims each message before it talks to the server; the
send log is those outgoing_mail rows, related "scorecard:{id}".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from voxpop.accounts.models import User
from voxpop.accounts.service import audit
from voxpop.notify.models import OutgoingMail
from voxpop.notify.outbox import Attachment, queue_mail
from voxpop.scorecard import evaluation
from voxpop.scorecard.models import ReportSchedule, Scorecard
from voxpop.scorecard.report import report_name
from voxpop.scorecard.views import scorecard_kind
from voxpop.store.database import Database

FREQUENCIES = ("weekly", "monthly")
SEND_AT = time(7, 0)  # local time of a run: the report waits in the inbox when the week or month starts
KIND = "scorecard.report"
MAX_RECIPIENTS = 200
# The PDF of a scorecard for a period: report.scorecard_pdf, or a stand-in in tests.
Render = Callable[..., bytes]


class DeliveryError(ValueError):
    """A schedule that cannot be made as asked; `field` names the form field at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Run:
    """What one run did: the period it sent and to whom."""

    schedule_id: int
    scorecard_key: str
    period: str
    recipients: tuple[str, ...]


def next_run(after: datetime, *, frequency: str, zone: str) -> datetime:
    """The first run strictly after `after`: the next Monday (weekly) or 1st of a month (monthly), 07:00 local."""
    local = after.astimezone(ZoneInfo(zone)).date()
    if frequency == "weekly":
        days = [local + timedelta(days=(7 - local.weekday()) % 7 + 7 * step) for step in (0, 1)]
    else:
        following = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        days = [local.replace(day=1), following]
    # Built from the local day, so 07:00 stays 07:00 across a change of summer time.
    runs = [datetime.combine(day, SEND_AT, ZoneInfo(zone)).astimezone(UTC) for day in days]
    return runs[0] if runs[0] > after else runs[1]


def report_period(db_session: Session, *, scorecard: Scorecard, now: datetime, zone: str) -> str:
    """The last period that has ended (a quarter when every measure is quarterly): the one a delivery sends."""
    return evaluation.review_period(now, zone, scorecard_kind(db_session, scorecard))


def related(scorecard: Scorecard) -> str:
    """How the outbox ties a sent report to its scorecard (the send log)."""
    return f"scorecard:{scorecard.id}"


def staff_recipients(db_session: Session, user_ids: Sequence[int]) -> list[User]:
    """The active staff among `user_ids`, in that order: someone deactivated since is no longer sent to."""
    found = {user.id: user for user in db_session.scalars(select(User).where(User.id.in_(list(user_ids)),
                                                                            User.is_active.is_(True)))}
    return [found[user_id] for user_id in user_ids if user_id in found]


def create_schedule(*, db_session: Session, scorecard: Scorecard, frequency: str, recipients: Sequence[int],
                    actor: User | None, now: datetime, zone: str, client: str = "") -> ReportSchedule:
    """A new delivery of the scorecard to staff users (their ids); DeliveryError naming the field at fault."""
    if frequency not in FREQUENCIES:
        raise DeliveryError(f"Frequency must be weekly or monthly, not '{frequency}'.", field="frequency")
    chosen = list(dict.fromkeys(recipients))
    if not chosen:
        raise DeliveryError("Choose at least one recipient: the staff who get the PDF.", field="recipients")
    if len(chosen) > MAX_RECIPIENTS:
        raise DeliveryError(f"Choose at most {MAX_RECIPIENTS} recipients; {len(chosen)} were chosen.",
                            field="recipients")
    known = {user.id for user in staff_recipients(db_session, chosen)}
    missing = [str(user_id) for user_id in chosen if user_id not in known]
    if missing:
        raise DeliveryError(f"No active staff user has the id {', '.join(missing)}; choose recipients from the "
                            "list of staff.", field="recipients")
    schedule = ReportSchedule(scorecard_id=scorecard.id, frequency=frequency, recipients=chosen, paused=False,
                              next_run_at=next_run(now, frequency=frequency, zone=zone),
                              created_by_id=actor.id if actor else None, created_at=now)
    db_session.add(schedule)
    db_session.flush()
    audit(db_session=db_session, actor=actor, action="scorecard.schedule.create", target=scorecard.key,
          client=client, schedule_id=schedule.id, frequency=frequency, recipients=chosen)
    return schedule


def get_schedule(*, db_session: Session, scorecard: Scorecard, schedule_id: int) -> ReportSchedule | None:
    """The scorecard's schedule with this id, if there is one."""
    schedule = db_session.get(ReportSchedule, schedule_id)
    return schedule if schedule is not None and schedule.scorecard_id == scorecard.id else None


def set_paused(*, db_session: Session, scorecard: Scorecard, schedule: ReportSchedule, paused: bool,
               actor: User | None, now: datetime, zone: str, client: str = "") -> None:
    """Pause or resume a schedule; resumed, its next run is the next one to come, not one missed while paused."""
    schedule.paused = paused
    if not paused and schedule.next_run_at <= now:
        schedule.next_run_at = next_run(now, frequency=schedule.frequency, zone=zone)
    audit(db_session=db_session, actor=actor, action="scorecard.schedule." + ("pause" if paused else "resume"),
          target=scorecard.key, client=client, schedule_id=schedule.id)


def delete_schedule(*, db_session: Session, scorecard: Scorecard, schedule: ReportSchedule, actor: User | None,
                    client: str = "") -> None:
    """Stop a delivery for good; what it sent stays in the send log."""
    audit(db_session=db_session, actor=actor, action="scorecard.schedule.delete", target=scorecard.key,
          client=client, schedule_id=schedule.id, frequency=schedule.frequency, recipients=list(schedule.recipients))
    db_session.delete(schedule)


def mail_text(*, scorecard: Scorecard, period: str, filename: str, frequency: str, public_url: str) -> str:
    """The e-mail's body: what is attached, why the recipient gets it, and where to stop it."""
    every = "every Monday" if frequency == "weekly" else "on the 1st of every month"
    where = f"{public_url.rstrip('/')}/scorecards/{scorecard.key}" if public_url else f"/scorecards/{scorecard.key}"
    return (f"The {scorecard.name} for {period} is attached as a PDF ({filename}).\n\n"
            f"It shows each measure's value with its interval, its target, score and status, and the strategy map "
            f"with its tested links. The scorecard itself: {where}\n\n"
            f"You get this {every} because you are on the scorecard's delivery list. An admin or a manager can take "
            f"you off it, or pause it, on the scorecard's Schedules page: {where}/schedules\n")


def deliver(*, db_session: Session, scorecard: Scorecard, schedule: ReportSchedule, now: datetime, zone: str,
            min_base: int, render: Render, public_url: str = "") -> Run:
    """Render the last ended period's PDF and queue it to each recipient (in the caller's transaction)."""
    period = report_period(db_session, scorecard=scorecard, now=now, zone=zone)
    pdf = render(db_session, scorecard=scorecard, period=period, zone=zone, min_base=min_base, now=now)
    filename = f"{report_name(scorecard.key, period)}.pdf"
    attachment = Attachment(filename, "application/pdf", pdf)
    body = mail_text(scorecard=scorecard, period=period, filename=filename, frequency=schedule.frequency,
                     public_url=public_url)
    sent_to = []
    for user in staff_recipients(db_session, schedule.recipients):
        queue_mail(db_session=db_session, kind=KIND, recipient=user.email, subject=f"{scorecard.name}, {period}",
                   body_text=body, related=related(scorecard), headers={"Auto-Submitted": "auto-generated"},
                   attachment=attachment)
        sent_to.append(user.email)
    schedule.last_run_at = now
    return Run(schedule.id, scorecard.key, period, tuple(sent_to))


def _due(now: datetime) -> tuple:
    return ReportSchedule.paused.is_(False), ReportSchedule.next_run_at <= now


def due_schedules(*, db_session: Session, now: datetime) -> list[int]:
    """The ids of the unpaused schedules whose next run has come, the longest waiting first."""
    return list(db_session.scalars(select(ReportSchedule.id).where(*_due(now))
                                   .order_by(ReportSchedule.next_run_at, ReportSchedule.id)))


def render_ahead(db: Database, *, schedule_id: int, now: datetime, zone: str, min_base: int,
                 render: Render) -> Render:
    """Render a schedule's PDF in a read transaction and return a render that hands those bytes over: the write
    that queues them then holds SQLite's one writer for milliseconds, not for the whole evaluation. Should the
    period have turned in between, it renders again."""
    with db.read() as db_session:
        schedule = db_session.get(ReportSchedule, schedule_id)
        if schedule is None:
            return render
        scorecard = db_session.get(Scorecard, schedule.scorecard_id)
        period = report_period(db_session, scorecard=scorecard, now=now, zone=zone)
        pdf = render(db_session, scorecard=scorecard, period=period, zone=zone, min_base=min_base, now=now)
        rendered_for = (scorecard.id, period)

    def rendered(db_session: Session, *, scorecard: Scorecard, period: str, **options) -> bytes:
        if (scorecard.id, period) == rendered_for:
            return pdf
        return render(db_session, scorecard=scorecard, period=period, **options)

    return rendered


def run_due_deliveries(*, db_session: Session, now: datetime, zone: str, min_base: int, render: Render,
                       public_url: str = "", schedule_id: int | None = None) -> list[Run]:
    """Send each unpaused schedule whose next run has come (or only `schedule_id`, if it is due), and move its next
    run on, in the caller's transaction. A run missed while the server was down is sent once, not once per missed
    week. PostgreSQL skips a schedule another server is sending; SQLite has one writer anyway."""
    query = select(ReportSchedule).where(*_due(now)).order_by(ReportSchedule.next_run_at, ReportSchedule.id)
    if schedule_id is not None:
        query = query.where(ReportSchedule.id == schedule_id)
    runs = []
    for schedule in db_session.scalars(query.with_for_update(skip_locked=True)).all():
        scorecard = db_session.get(Scorecard, schedule.scorecard_id)
        runs.append(deliver(db_session=db_session, scorecard=scorecard, schedule=schedule, now=now, zone=zone,
                            min_base=min_base, render=render, public_url=public_url))
        schedule.next_run_at = next_run(now, frequency=schedule.frequency, zone=zone)
    return runs


def run_now(*, db_session: Session, scorecard: Scorecard, schedule: ReportSchedule, now: datetime, zone: str,
            min_base: int, render: Render, actor: User | None, public_url: str = "", client: str = "") -> Run:
    """Send the schedule's report now (paused or not); its next scheduled run stays as it was."""
    run = deliver(db_session=db_session, scorecard=scorecard, schedule=schedule, now=now, zone=zone,
                  min_base=min_base, render=render, public_url=public_url)
    audit(db_session=db_session, actor=actor, action="scorecard.schedule.run", target=scorecard.key, client=client,
          schedule_id=schedule.id, period=run.period, recipients=list(run.recipients))
    return run


def send_log(*, db_session: Session, scorecard: Scorecard, limit: int = 100) -> list[OutgoingMail]:
    """The scorecard's sent reports, newest first: each queued e-mail with its status and the server's reply."""
    return list(db_session.scalars(select(OutgoingMail).where(OutgoingMail.related == related(scorecard))
                                   .options(defer(OutgoingMail.attachment))  # the PDFs stay in the store
                                   .order_by(OutgoingMail.id.desc()).limit(limit)))

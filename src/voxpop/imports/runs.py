"""Import runs: an import writes in short transactions, and this is what keeps it all-or-nothing.

Every response a run writes carries the run's id (responses.import_run_id). When the run ends well it is marked
done; when it fails (an exception in the writing phase) it is taken back at once: its responses are removed a
chunk at a time, each chunk's rollup counts subtracted in the chunk's own transaction (the same counting rules as
the writer's, core.counts), and a survey the run created goes with them. A run whose process was killed stays
"running" with a heartbeat that no longer moves; the next import finds it (after STALE_AFTER without a heartbeat)
and takes it back before it starts. A take-back that is itself interrupted leaves the run "running", so the next
one finishes it.

A killed run and a live one look alike until STALE_AFTER has passed, so one survey takes one import at a time: a
new import into a survey with a running run whose heartbeat is fresh is refused (ImportBusy), with when to try
again. A batch that finds keys already stored by a run not done (a stale run nobody has taken back yet) adopts
those responses onto its own run, and with them the run's claim to the survey it created: otherwise that run's
take-back would later delete responses the new run counted as present, and the survey with them.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, exists, func, select, update
from sqlalchemy.orm import Session

from voxpop.analysis import rollups
from voxpop.analysis.models import ScoreRollup
from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.core.counts import COUNTS, counted_rows
from voxpop.imports.models import ImportRun
from voxpop.imports.reading import ImportFileError
from voxpop.store.base import utcnow
from voxpop.surveys.models import Question, Survey
from voxpop.surveys.schemas import SCORED_KINDS

# Each batch's commit moves the heartbeat, a few times a second; ten minutes without one is a stopped process
# (a machine slower than that per batch would need it longer).
STALE_AFTER = timedelta(minutes=10)
CHUNK = 2000  # responses taken back per transaction: short, like the writing's
# After each WRITE_SECONDS of holding SQLite's writer, an import gives it up for YIELD_SECONDS (longer than SQLite's
# longest sleep between two tries of a waiting writer, 100 ms), and for as long as it held it if another writer
# used the pause; with nobody else writing it holds it for IDLE_WRITE_SECONDS between pauses (Pauses).
WRITE_SECONDS = 0.2
IDLE_WRITE_SECONDS = 1.0
YIELD_SECONDS = 0.11
RUNNING, DONE, FAILED = "running", "done", "failed"


class RunTakenBack(RuntimeError):
    """The run was taken back by another process (it looked stopped) while this one was still writing."""


class ImportBusy(ImportFileError):
    """Another import is writing into the survey, or was killed too recently to be told from one that is."""


def refuse_if_busy(db_session: Session | Connection, survey_id: int, survey_key: str, *, lock: bool = True,
                   now: datetime | None = None) -> None:
    """ImportBusy when a run into the survey is running with a heartbeat fresher than STALE_AFTER. With `lock` (in
    the transaction that starts a run) the survey's row is locked first on PostgreSQL, so that two imports starting
    at once into it see each other's run."""
    if lock:
        db_session.execute(select(Survey.id).where(Survey.id == survey_id).with_for_update())
    since = (now or utcnow()) - STALE_AFTER
    running = db_session.execute(select(ImportRun.file, ImportRun.heartbeat_at).where(
        ImportRun.survey_id == survey_id, ImportRun.status == RUNNING, ImportRun.heartbeat_at >= since)
        .order_by(ImportRun.heartbeat_at.desc()).limit(1)).first()
    if running is not None:
        raise ImportBusy(
            f"another import into survey {survey_key!r} is running (file {running.file!r}, last wrote at "
            f"{running.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC); import this file again when it has finished. If that "
            "import's process was stopped, it is taken back by the first import from "
            f"{running.heartbeat_at + STALE_AFTER:%H:%M:%S} UTC on, and importing the file then adds what is missing")


def others_unfinished(connection: Connection, run_id: int, survey_id: int) -> bool:
    """Whether another run into the survey is not done (a stale run not yet taken back): a batch must then adopt
    what it finds of that run's."""
    return bool(connection.scalar(select(exists().where(ImportRun.survey_id == survey_id, ImportRun.id != run_id,
                                                        ImportRun.status == RUNNING))))


def adopt(connection: Connection, run_id: int, survey_id: int, keys: list[str]) -> int:
    """Move the responses of `keys` that belong to a run not done onto `run_id`, in the batch's transaction, with
    the claim to the survey when one of those runs created it: they are this run's to keep or take back from now
    on. Run before the batch's insert, so that on PostgreSQL a take-back that has locked them first (take_back)
    deletes them and the insert writes them again. Returns how many moved."""
    # Running: a failed run has no responses left (it is marked failed once they are all taken back).
    unfinished = select(ImportRun.id).where(ImportRun.status == RUNNING, ImportRun.id != run_id)
    moved = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        owned = (Response.survey_id == survey_id, Response.idempotency_key.in_(chunk),
                 Response.import_run_id.in_(unfinished))
        owners = connection.scalars(select(Response.import_run_id).where(*owned).distinct()).all()
        if not owners:
            continue
        moved += connection.execute(update(Response).where(*owned).values(import_run_id=run_id)).rowcount
        if connection.execute(update(ImportRun).where(ImportRun.id.in_(owners), ImportRun.survey_id == survey_id,
                                                      ImportRun.survey_created.is_(True))
                              .values(survey_created=False)).rowcount:
            connection.execute(update(ImportRun).where(ImportRun.id == run_id).values(survey_created=True))
    return moved


def start(db_session: Session, *, survey_id: int, survey_created: bool, file: str, zone: str) -> int:
    """Record a new running run; returns its id."""
    run = ImportRun(survey_id=survey_id, survey_created=survey_created, status=RUNNING, file=file[:300], zone=zone,
                    new=0, present=0)
    db_session.add(run)
    db_session.flush()
    return run.id


def beat(connection: Connection, run_id: int, *, new: int, present: int) -> None:
    """Count a batch into its run and move the heartbeat, in the batch's transaction; RunTakenBack when the run is
    no longer running."""
    moved = connection.execute(update(ImportRun).where(ImportRun.id == run_id, ImportRun.status == RUNNING).values(
        heartbeat_at=utcnow(), new=ImportRun.new + new, present=ImportRun.present + present))
    if moved.rowcount != 1:
        raise RunTakenBack(f"import run {run_id} was taken back while it was writing (it looked stopped); "
                           "import the file again")


def finish(connection: Connection, run_id: int) -> None:
    """Mark a run done: its responses stay."""
    moved = connection.execute(update(ImportRun).where(ImportRun.id == run_id, ImportRun.status == RUNNING)
                               .values(status=DONE, finished_at=utcnow(), heartbeat_at=utcnow()))
    if moved.rowcount != 1:
        raise RunTakenBack(f"import run {run_id} was taken back before it finished; import the file again")


class Pauses:
    """Live writers' turns during an import, or its take-back, on SQLite. A writer in another process (the server
    taking live answers) waits for the lock in sleeps of up to 100 ms, so a batch committed and the next begun at
    once would rarely leave it a chance. So once the import's transactions have held the lock WRITE_SECONDS in
    all, it pauses for YIELD_SECONDS, long enough for every waiting writer to find the lock free. If another
    writer committed during that time (SQLite's data_version moved), live answers are coming in: the pause goes
    on for as long as the import held the lock, so they get half of it or more even on a machine so busy that a
    batch takes a second, and the server clears its queue. If nobody did, the import holds the lock for
    IDLE_WRITE_SECONDS before the next pause: alone, it loses a tenth of its time, not half.

    The pause begins with a checkpoint of the write-ahead log, which needs no lock: otherwise a live answer's
    commit would find the log grown by the import's pages and copy them into the database itself, while the
    answers behind it wait. PostgreSQL locks rows, not the database: no pause."""

    def __init__(self, db):
        self.db = db
        self.pausing = db.is_sqlite
        self.held = 0.0
        self.window = WRITE_SECONDS

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Count the time of a transaction that holds the writer."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.held += time.monotonic() - started

    def after_batch(self) -> None:
        """Pause, if the writer was held long enough since the last pause."""
        if not (self.pausing and self.held >= self.window):
            return
        started = time.monotonic()
        with self.db.read_connection() as connection:  # one connection: data_version counts others' commits
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            version = connection.exec_driver_sql("PRAGMA data_version").scalar()
            time.sleep(YIELD_SECONDS)
            busy = connection.exec_driver_sql("PRAGMA data_version").scalar() != version
        if busy:
            time.sleep(max(0.0, self.held - (time.monotonic() - started)))
        self.window = WRITE_SECONDS if busy else IDLE_WRITE_SECONDS
        self.held = 0.0


def take_back(db, run_id: int, *, reason: str) -> int:
    """Undo a running run: remove its responses and their rollup counts chunk by chunk, then the survey it created
    (when no response is in it and no other run, running or done, wrote into it); the run is then marked failed
    with `reason`. Returns the responses removed. Responses another run adopted (adopt) are its, not this run's."""
    removed = 0
    pause = Pauses(db)
    while True:
        pause.after_batch()
        with pause.holding(), db.write_connection() as connection:
            run = connection.execute(select(ImportRun.status, ImportRun.zone, ImportRun.survey_id,
                                            ImportRun.survey_created).where(ImportRun.id == run_id)
                                     .with_for_update()).first()  # PostgreSQL: one take-back of a run at a time
            if run is None or run.status != RUNNING:
                return removed
            # Locked (PostgreSQL): a batch adopting one meanwhile waits, or this one skips it once it is adopted.
            ids = connection.scalars(select(Response.id).where(Response.import_run_id == run_id)
                                     .order_by(Response.id).limit(CHUNK).with_for_update()).all()
            if ids:
                _remove(connection, list(ids), run.zone)
                connection.execute(update(ImportRun).where(ImportRun.id == run_id).values(heartbeat_at=utcnow()))
                removed += len(ids)
                continue
            if run.survey_created and run.survey_id is not None and not connection.scalar(
                    select(func.count()).select_from(Response).where(Response.survey_id == run.survey_id)) \
                    and not connection.scalar(select(exists().where(
                        ImportRun.survey_id == run.survey_id, ImportRun.id != run_id, ImportRun.status != FAILED))):
                connection.execute(delete(Survey).where(Survey.id == run.survey_id))
            connection.execute(update(ImportRun).where(ImportRun.id == run_id).values(
                status=FAILED, finished_at=utcnow(), error=reason[:2000]))
            return removed


def take_back_stale(db, *, now: datetime | None = None) -> list[int]:
    """Take back every run still running whose heartbeat stopped STALE_AFTER ago or more (its process was killed);
    returns their ids."""
    since = (now or utcnow()) - STALE_AFTER
    with db.read() as db_session:
        stale = db_session.execute(select(ImportRun.id, ImportRun.heartbeat_at)
                                   .where(ImportRun.status == RUNNING, ImportRun.heartbeat_at < since)).all()
    for run_id, heartbeat in stale:
        take_back(db, run_id, reason=f"its process stopped: no sign of life since {heartbeat:%Y-%m-%d %H:%M:%S} UTC; "
                                     "taken back by the next import")
    return [run_id for run_id, _ in stale]


def _remove(connection: Connection, ids: list[int], zone: str) -> None:
    """Delete responses, their answers (and, by cascade, what hangs on them) and their rollup counts."""
    _subtract_rollups(connection, ids, zone)
    connection.execute(delete(Answer.__table__).where(Answer.response_id.in_(ids)))
    connection.execute(delete(Response.__table__).where(Response.id.in_(ids)))


def _subtract_rollups(connection: Connection, ids: list[int], zone: str) -> None:
    """Take the responses' scored answers out of the daily rollups: counted as the writer counted them (the local
    day in the run's zone, the day's totals and each attribute value), added with the opposite sign; rows left
    with no answer go, as a rebuild would not make them."""
    local = ZoneInfo(zone)
    scored = connection.execute(
        select(Answer.question_id, Response.submitted_at, Answer.score, Response.attribute_set_id, Question.scale_max)
        .join(Response, Response.id == Answer.response_id).join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id.in_(ids), Answer.score.is_not(None), Question.kind.in_(SCORED_KINDS))).all()
    if not scored:
        return
    set_ids = {row.attribute_set_id for row in scored if row.attribute_set_id is not None}
    slices: dict[int | None, tuple] = {None: ()}
    for set_id, name, value in connection.execute(
            select(AttributeSetValue.set_id, AttributeSetValue.name, AttributeSetValue.value)
            .where(AttributeSetValue.set_id.in_(set_ids))):
        slices[set_id] = (*slices.get(set_id, ()), (name, value))
    counted = Counter((row.question_id, row.submitted_at.astimezone(local).toordinal(), row.score,
                       slices.get(row.attribute_set_id, ())) for row in scored)
    highs = {row.question_id: row.scale_max for row in scored}
    negated = [row | {name: -row[name] for name in COUNTS} for row in counted_rows(counted, highs)]
    rollups.add(connection, negated)
    connection.execute(delete(ScoreRollup.__table__).where(ScoreRollup.n == 0,
                                                           ScoreRollup.question_id.in_(set(highs))))

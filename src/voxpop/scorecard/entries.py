"""Values from people: a manual measure's value per period, typed in with a comment or brought by a CSV, counted
once the measure's owner (or an admin) approves it.

Only measures whose source is `{kind: manual}` take entered values: a measure bound to live data is never
overridden by hand, so its number is always the engine's. Changing an approved value withdraws the approval, and
the owner approves it again. The command line imports values as the admin who runs it, approved at once (there is
no approver to record, so `approved_by_id` stays empty and `approved_at` says when).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.accounts.service import audit
from voxpop.scorecard import periods
from voxpop.scorecard.models import Measure, MeasureValue, Scorecard
from voxpop.store.base import utcnow

COLUMNS = ("measure", "period", "value", "comment")  # and an optional n
MAX_COMMENT = 5000
MAX_ROWS = 10_000
MAX_N = 2**31 - 1
EDITORS = ("admin", "manager")  # besides the measure's owner, who may enter a value


class EntryError(ValueError):
    """A value that cannot be entered or approved, said so the user can fix it; `field` names the form field."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


def _state(entered: MeasureValue) -> dict:
    return {"period": entered.period, "value": entered.value, "n": entered.n, "comment": entered.comment,
            "approved": entered.approved_at is not None}


def check_period(measure: Measure, period: str) -> str:
    """The period label, if it is one of the measure's kind and the scorecard can show it; EntryError if not."""
    try:
        return periods.check_period(period, kind=measure.period, subject=f"{measure.key} is")
    except periods.PeriodError as exc:
        raise EntryError(str(exc), field="period") from None


def check_value(value, *, n=None) -> tuple[float, int | None]:
    """A finite number, and n a whole number of at least 0 (or none); EntryError naming the field."""
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise EntryError(f"value {value!r} is not a number; write it as 42 or 42.5", field="value") from None
    if not math.isfinite(number):
        raise EntryError(f"value {value!r} is not a finite number; write it as 42 or 42.5", field="value")
    if n is None or (isinstance(n, str) and not n.strip()):
        return number, None
    try:
        count = int(str(n).strip())
    except ValueError:
        raise EntryError(f"n {n!r} is not a whole number; write how many were counted, such as 120, or leave it "
                         "empty", field="n") from None
    if count < 0:
        raise EntryError(f"n is {count}; a count is 0 or more", field="n")
    if count > MAX_N:  # the column is a 32-bit integer
        raise EntryError(f"n is {count:,}; a count is at most {MAX_N:,}", field="n")
    return number, count


def _unlocked(db_session: Session, measure: Measure, period: str, what: str) -> None:
    """EntryError when the scorecard's review has locked the period: its values stay as reviewed."""
    from voxpop.scorecard.review import ReviewError, refuse_if_locked

    try:
        refuse_if_locked(db_session=db_session, scorecard_id=measure.scorecard_id, period=period, what=what)
    except ReviewError as exc:
        raise EntryError(str(exc), field="period") from None


def enter_value(*, db_session: Session, measure: Measure, period: str, value, comment: str, actor: User | None,
                n=None, origin: str = "manual") -> MeasureValue:
    """Enter (or change) a manual measure's value for a period; it counts once approved again."""
    if (measure.source or {}).get("kind", "manual") != "manual":
        raise EntryError(f"{measure.key} takes its value from the data; only a manual measure takes a value "
                         "typed in", field="measure")
    if actor is not None and actor.role not in EDITORS and actor.id != measure.owner_id:
        raise EntryError(f"only {measure.key}'s owner, a manager or an admin enters its values", field="measure")
    period = check_period(measure, period)
    _unlocked(db_session, measure, period, "values")
    number, count = check_value(value, n=n)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise EntryError(f"the comment is at most {MAX_COMMENT:,} characters long", field="comment")
    entered = db_session.scalar(select(MeasureValue).where(MeasureValue.measure_id == measure.id,
                                                           MeasureValue.period == period))
    before = None if entered is None else _state(entered)
    if entered is None:
        entered = MeasureValue(measure_id=measure.id, period=period)
        db_session.add(entered)
    changed = before is None or (before["value"], before["n"], before["comment"]) != (number, count, comment)
    entered.value, entered.n, entered.comment, entered.origin = number, count, comment, origin
    if changed:  # an approval holds for the value approved, not for a new one
        entered.entered_by_id, entered.entered_at = actor.id if actor else None, utcnow()
        entered.approved_by_id, entered.approved_at = None, None
    db_session.flush()
    audit(db_session=db_session, actor=actor, action="scorecard.value.enter", target=f"measure:{measure.id}",
          before=before, after=_state(entered), **({} if actor else {"via": "cli"}))
    return entered


def approve_value(*, db_session: Session, value: MeasureValue, actor: User | None) -> MeasureValue:
    """Approve an entered value: the measure's owner or an admin (None: the command line, run by the admin)."""
    measure = db_session.get(Measure, value.measure_id)
    if actor is not None and actor.role != "admin" and actor.id != measure.owner_id:
        raise EntryError(f"only {measure.key}'s owner or an admin approves its values", field="approval")
    _unlocked(db_session, measure, value.period, "approvals")
    if value.approved_at is None:
        value.approved_by_id, value.approved_at = actor.id if actor else None, utcnow()
        db_session.flush()
        audit(db_session=db_session, actor=actor, action="scorecard.value.approve", target=f"measure:{measure.id}",
              period=value.period, value=value.value, **({} if actor else {"via": "cli"}))
    return value


@dataclass
class ImportReport:
    """What an import of values did: rows read, values entered or changed, and those approved at once."""

    rows: int = 0
    entered: int = 0
    unchanged: int = 0
    approved: int = 0
    measures: list[str] = field(default_factory=list)

    def sentence(self) -> str:
        return (f"{self.rows:,} rows read: {self.entered:,} values entered or changed, {self.unchanged:,} unchanged, "
                f"{self.approved:,} approved")


def _measures(db_session: Session, scorecard: Scorecard | None) -> dict[str, list[Measure]]:
    statement = select(Measure)
    if scorecard is not None:
        statement = statement.where(Measure.scorecard_id == scorecard.id)
    found: dict[str, list[Measure]] = {}
    for measure in db_session.scalars(statement):
        found.setdefault(measure.key, []).append(measure)
    return found


def _read_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise EntryError(f"row 1: the header lacks the column {missing[0]!r}; write measure,period,value,comment "
                         "(and n, if you count)", field="file")
    reader.fieldnames = header
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        raise EntryError(f"the file has {len(rows):,} rows; import at most {MAX_ROWS:,} at a time", field="file")
    return rows


def import_values(*, db_session: Session, scorecard: Scorecard | None, text: str, actor: User | None,
                  approve: bool = False) -> ImportReport:
    """Values from a CSV (measure,period,value,comment[,n]), all or nothing; `approve` approves each as `actor`
    (the command line does). EntryError lists the rows at fault, numbered as a spreadsheet does (header: row 1)."""
    rows = _read_rows(text)
    measures = _measures(db_session, scorecard)
    problems, checked, seen = [], [], {}
    for number, row in enumerate(rows, start=2):
        key = (row.get("measure") or "").strip()
        try:
            found = measures.get(key, [])
            if not found:
                where = f" in the scorecard {scorecard.key}" if scorecard else ""
                raise EntryError(f"measure {key!r} is no measure{where}; give a measure's key", field="measure")
            if len(found) > 1:
                raise EntryError(f"measure {key!r} is in {len(found)} scorecards; name one with --scorecard",
                                 field="measure")
            measure = found[0]
            if (measure.source or {}).get("kind", "manual") != "manual":
                raise EntryError(f"measure {key!r} takes its value from the data; only manual measures are imported",
                                 field="measure")
            period = check_period(measure, row.get("period") or "")
            value, n = check_value(row.get("value") or "", n=row.get("n"))
            if (measure.id, period) in seen:
                raise EntryError(f"{key} {period} is also on row {seen[measure.id, period]}; keep one",
                                 field="period")
            seen[measure.id, period] = number
            checked.append((measure, period, value, n, (row.get("comment") or "").strip()))
        except EntryError as exc:
            problems.append(f"row {number}: {exc} (column {exc.field})" if exc.field not in ("period", "value")
                            else f"row {number}: {exc}")
        if len(problems) >= 20:
            break
    if problems:
        raise EntryError("; ".join(problems) + ". Nothing was imported; correct the file and import it again",
                         field="file")
    report = ImportReport(rows=len(rows))
    for measure, period, value, n, comment in checked:
        existing = db_session.scalar(select(MeasureValue).where(MeasureValue.measure_id == measure.id,
                                                                MeasureValue.period == period))
        same = existing is not None and (existing.value, existing.n, existing.comment) == (value, n, comment)
        try:
            entered = enter_value(db_session=db_session, measure=measure, period=period, value=value, comment=comment,
                                  actor=actor, n=n, origin="csv")
            if approve and entered.approved_at is None:
                approve_value(db_session=db_session, value=entered, actor=actor)
                report.approved += 1
        except EntryError as exc:
            raise EntryError(f"row {checked.index((measure, period, value, n, comment)) + 2}: {exc}. Nothing was "
                             "imported", field="file") from None
        report.unchanged += same
        report.entered += not same
        if measure.key not in report.measures:
            report.measures.append(measure.key)
    return report

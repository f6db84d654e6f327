"""Paretos of the cases: by root cause (closed cases) and by theme (the themes of the comments the cases came
from), for a department and the days the cases were opened in, with the cumulative share: the vital few (Juran).

The database counts, one grouped query each; the ranking and the cumulative share are pure (`ranked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from voxpop.analysis.periods import within_days
from voxpop.cases.models import Case, RootCause
from voxpop.collection.models import Answer
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import theme_labels
from voxpop.text.metrics import effective_themes

NO_ROOT_CAUSE = "no-root-cause"


@dataclass(frozen=True)
class ParetoRow:
    key: str
    label: str
    cases: int
    share: float  # % of all the Pareto's cases
    cumulative_share: float  # % of the cases in this row and the rows before it


def ranked(counts: dict[str, int], labels: dict[str, str] | None = None) -> list[ParetoRow]:
    """Rows largest first (ties by key), each with its share and the cumulative share, which ends at 100."""
    total = sum(counts.values())
    rows, running = [], 0
    for key, count in sorted(((key, count) for key, count in counts.items() if count > 0),
                             key=lambda item: (-item[1], item[0])):
        running += count
        rows.append(ParetoRow(key, (labels or {}).get(key, key), count, 100 * count / total, 100 * running / total))
    return rows


def root_cause_pareto(db_session: Session, *, zone: str, since: date | None = None, until: date | None = None,
                      department_id: int | None = None) -> list[ParetoRow]:
    """Closed cases per root cause, opened since..until (days in the workspace zone), of one department or all."""
    conditions = [Case.status == "closed", *within_days(Case.opened_at, since, until, zone)]
    if department_id is not None:
        conditions.append(Case.department_id == department_id)
    counts, labels = {}, {}
    for key, name, count in db_session.execute(
            select(RootCause.key, RootCause.name, func.count()).select_from(Case)
            .outerjoin(RootCause, RootCause.id == Case.root_cause_id).where(*conditions)
            .group_by(RootCause.key, RootCause.name)):
        counts[key or NO_ROOT_CAUSE] = count
        labels[key or NO_ROOT_CAUSE] = name or "No root cause recorded"
    return ranked(counts, labels)


def theme_pareto(db_session: Session, *, zone: str, since: date | None = None, until: date | None = None,
                 department_id: int | None = None) -> list[ParetoRow]:
    """Cases per top-level theme of their response's comments (a case counts once per theme), opened since..until,
    of one department or all."""
    connection = db_session.connection()
    codebook = current_codebook(connection).codebook
    keys = [key for key in codebook.keys() if "." not in key]
    themes = effective_themes(keys)
    conditions = within_days(Case.opened_at, since, until, zone)
    if department_id is not None:
        conditions.append(Case.department_id == department_id)
    counts = dict(db_session.execute(
        select(themes.c.theme, func.count(distinct(Case.id)))
        .select_from(Case).join(Answer, Answer.response_id == Case.response_id)
        .join(themes, themes.c.answer_id == Answer.id).where(*conditions).group_by(themes.c.theme)).all())
    return ranked(counts, theme_labels(codebook))

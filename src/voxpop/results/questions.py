"""A survey's questions as its results show them: by key across the survey's versions, the current version's in
its order, then retired ones. A key asked on another kind or scale in some versions is a separate section (one
variant per kind and scale), because answers on unlike scales are never pooled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from voxpop.dashboard.metrics import VARIANT
from voxpop.surveys.models import Question, SurveyVersion
from voxpop.surveys.schemas import text_in


@dataclass
class QuestionVariant:
    """One question key asked on one kind and scale, with the rows of every version that asked it so."""

    key: str
    kind: str
    scale_min: int | None
    scale_max: int | None
    ces_version: str | None
    spec: dict[str, Any]  # the newest version's definition of it
    position: int  # in the newest version that asked it
    last_version: int
    ids: list[int] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)
    retired: bool = False  # the survey's current version no longer asks it so

    @property
    def variant(self) -> tuple:
        return self.kind, self.scale_min, self.scale_max, self.ces_version

    def text(self, language: str) -> str:
        """The question's newest wording in `language`, else its key."""
        return text_in(self.spec.get("text"), language, "en") or self.key

    def options(self, language: str) -> list[tuple[str, str]]:
        """A choice question's options in their defined order, as (value, label)."""
        return [(option["value"], text_in(option.get("label"), language, "en") or option["value"])
                for option in self.spec.get("options") or []]


def survey_questions(connection: Connection, *, survey_id: int) -> list[QuestionVariant]:
    """Every question of the survey by key and variant: the current version's in its order, then retired ones
    (most recently asked first)."""
    rows = connection.execute(
        select(Question.id, Question.key, *(getattr(Question, name) for name in VARIANT), Question.position,
               Question.spec, SurveyVersion.number)
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == survey_id)
        .order_by(SurveyVersion.number, Question.position)
    ).all()
    variants: dict[tuple, QuestionVariant] = {}
    for row in rows:  # oldest version first, so the newest wording and position win
        found = variants.setdefault((row.key, row.kind, row.scale_min, row.scale_max, row.ces_version),
                                    QuestionVariant(row.key, row.kind, row.scale_min, row.scale_max, row.ces_version,
                                                    row.spec, row.position, row.number))
        found.spec, found.position, found.last_version = row.spec, row.position, row.number
        found.ids.append(row.id)
        found.versions.append(row.number)
    current = max((row.number for row in rows), default=0)
    for question in variants.values():
        question.retired = question.last_version != current
    return sorted(variants.values(), key=lambda question: (question.retired, -question.last_version, question.position))

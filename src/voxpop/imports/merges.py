"""Merging a misspelt option of an imported choice question into the option it means.

A merge is read, never written into the answers: the answers keep the file's text ("Disgree"), and results
count them under the option merged into ("Disagree") through `merged_choice_counts`. Undoing a merge deletes
its row, so it is reversible; the audit log records who made or undid each merge, and when. Scored questions
are not choice questions, so their figures never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.accounts import service as accounts
from voxpop.accounts.models import User
from voxpop.collection.models import Answer
from voxpop.imports.models import OptionMerge
from voxpop.imports.scales import agreement_scale
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Question, Survey, SurveyVersion

OPTION_LENGTH = 200


class MergeError(ValueError):
    """A merge that cannot be made or undone; the message says why and what to do, `field` names the input."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass
class MergeableQuestion:
    """A single-choice question of a survey, its options in order, the answered texts that are not among them,
    and its merges (option written in the answers -> option it is counted as)."""

    key: str
    text: str
    options: list[str]
    ordered: bool
    unlisted: list[str] = field(default_factory=list)
    merges: dict[str, str] = field(default_factory=dict)
    suggested: dict[str, str] = field(default_factory=dict)  # options that look misspelt, not merged yet


def merged_choice_counts(counts: Mapping[str, int], merges: Mapping[str, str]) -> dict[str, int]:
    """Choice counts with each merged option's answers added to the option it is merged into, in the order of
    `counts` (an option merged into one that is not counted takes its place)."""
    merged = {merges.get(option, option): 0 for option in counts}
    for option, count in counts.items():
        merged[merges.get(option, option)] += count
    return merged


def survey_merges(*, db_session: Session, survey_id: int) -> dict[str, dict[str, str]]:
    """A survey's merges: question key -> {option written in the answers: option it is counted as}."""
    merges: dict[str, dict[str, str]] = {}
    for merge in db_session.scalars(select(OptionMerge).where(OptionMerge.survey_id == survey_id)
                                    .order_by(OptionMerge.id)):
        merges.setdefault(merge.question, {})[merge.from_option] = merge.to_option
    return merges


def mergeable_questions(*, db_session: Session, survey: Survey) -> list[MergeableQuestion]:
    """The survey's single-choice questions (current version) with their options, unlisted answers and merges."""
    merges = survey_merges(db_session=db_session, survey_id=survey.id)
    questions = []
    for question in survey.current_version.questions:
        if question.kind != "single_choice":
            continue
        options = [option["value"] for option in question.spec.get("options") or []]
        answered = _answered(db_session, survey.id, question.key)
        merged = merges.get(question.key, {})
        scale = agreement_scale(options)
        suggested = {found: meant for found, meant in (scale.misspelt if scale else {}).items() if found not in merged}
        questions.append(MergeableQuestion(
            question.key, _text(question.spec.get("text"), question.key), options, bool(question.spec.get("ordered")),
            [value for value in answered if value not in options], merged, suggested))
    return questions


def merge_option(*, db_session: Session, survey_key: str, question: str, from_option: str, to_option: str,
                 actor: User | None, client: str = "") -> OptionMerge:
    """Count a question's answers of `from_option` as `to_option` from now on, recorded in the audit log."""
    survey = _survey(db_session, survey_key)
    found = _question(db_session, survey, question)
    options = [option.value for option in found.options]
    if to_option not in options:
        raise MergeError(f"{to_option!r} is not an option of question {question!r}; merge into one of: "
                         f"{', '.join(map(repr, options))}", field="to_option")
    if len(from_option) > OPTION_LENGTH:
        raise MergeError(f"only options of up to {OPTION_LENGTH} characters can be merged; {from_option[:40]!r}… is "
                         f"{len(from_option):,} characters long", field="from_option")
    if from_option == to_option:
        raise MergeError(f"an option cannot be merged into itself; choose the option {from_option!r} means",
                         field="to_option")
    if from_option not in options and from_option not in _answered(db_session, survey.id, question):
        raise MergeError(f"no answer to question {question!r} chose {from_option!r}, and it is not one of its "
                         "options; give the text exactly as the answers have it", field="from_option")
    merges = survey_merges(db_session=db_session, survey_id=survey.id).get(question, {})
    if from_option in merges:
        raise MergeError(f"{from_option!r} is already merged into {merges[from_option]!r}; undo that merge first",
                         field="from_option")
    if to_option in merges:
        raise MergeError(f"{to_option!r} is itself merged into {merges[to_option]!r}; merge into that option instead",
                         field="to_option")
    if from_option in merges.values():
        raise MergeError(f"other options are merged into {from_option!r}; undo those merges first, or merge them "
                         f"into {to_option!r} one by one", field="from_option")
    merge = OptionMerge(survey_id=survey.id, question=question, from_option=from_option, to_option=to_option,
                        created_by=actor.id if actor else None)
    db_session.add(merge)
    accounts.audit(db_session=db_session, actor=actor, action="import.merge_option", target=survey_key, client=client,
                   question=question, from_option=from_option, to_option=to_option)
    return merge


def undo_merge(*, db_session: Session, survey_key: str, question: str, from_option: str, actor: User | None,
               client: str = "") -> OptionMerge:
    """Count `from_option` as itself again, recorded in the audit log."""
    survey = _survey(db_session, survey_key)
    merge = db_session.scalar(select(OptionMerge).where(OptionMerge.survey_id == survey.id,
                                                        OptionMerge.question == question,
                                                        OptionMerge.from_option == from_option))
    if merge is None:
        raise MergeError(f"{from_option!r} of question {question!r} in survey {survey_key!r} is not merged, so there "
                         "is nothing to undo", field="from_option")
    db_session.delete(merge)
    accounts.audit(db_session=db_session, actor=actor, action="import.unmerge_option", target=survey_key,
                   client=client, question=question, from_option=from_option, to_option=merge.to_option)
    return merge


def _survey(db_session: Session, key: str) -> Survey:
    survey = surveys.get_by_key(db_session=db_session, key=key)
    if survey is None or survey.current_version is None:
        raise MergeError(f"there is no survey {key!r}; give the key of an imported survey", field="survey")
    return survey


def _question(db_session: Session, survey: Survey, key: str):
    """The question's current definition; only a single choice can have an option merged."""
    definition = surveys.definition_of(survey.current_version)
    found = next((question for question in definition.questions if question.key == key), None)
    if found is None:
        keys = [question.key for question in definition.questions if question.kind == "single_choice"]
        raise MergeError(f"survey {survey.key!r} has no question {key!r}; its single-choice questions are: "
                         f"{', '.join(keys) or 'none'}", field="question")
    if found.kind != "single_choice":
        raise MergeError(f"question {key!r} is {found.kind.replace('_', ' ')}; options can be merged only in a single "
                         "choice, where each answer is one option", field="question")
    return found


def _answered(db_session: Session, survey_id: int, question: str) -> list[str]:
    """The distinct texts the answers to a question (in any version of the survey) chose, in first-seen order."""
    return list(db_session.scalars(
        select(Answer.choice).join(Question, Question.id == Answer.question_id)
        .join(SurveyVersion, SurveyVersion.id == Question.version_id)
        .where(SurveyVersion.survey_id == survey_id, Question.key == question, Answer.choice.is_not(None))
        .group_by(Answer.choice).order_by(Answer.choice)))


def _text(text, fallback: str) -> str:
    """A question's text in its default language (a definition holds one text or one per language)."""
    if isinstance(text, dict):
        return next(iter(text.values()), fallback)
    return text or fallback

"""Which questions a respondent sees, and whether their answers are valid. Pure: no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voxpop.surveys.schemas import CHOICE_KINDS, OTHER, SCORED_KINDS, QuestionDefinition, SurveyDefinition

Answers = dict[str, Any]
# What a respondent typed under "Other" travels beside the choice, at the question's key plus this suffix
# ("bought.other"), in the form, the API and the cleaned answers; a question key has no dot, so it names no question.
OTHER_TEXT = ".other"


@dataclass(frozen=True)
class AnswerError:
    """A problem with one answer: `code` names a message in collection.i18n, `params` fill it in."""

    question: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def english(self) -> str:
        from voxpop.collection.i18n import message

        return message("en", self.code, **self.params)


def pages(definition: SurveyDefinition) -> list[list[QuestionDefinition]]:
    """Split the questions into pages: at each `page_break`, and where a question's condition looks at an answer
    on the same page, so that conditions work without JavaScript."""
    result: list[list[QuestionDefinition]] = [[]]
    for question in definition.questions:
        on_page = {earlier.key for earlier in result[-1]}
        if result[-1] and (question.page_break or (question.show_if is not None and question.show_if.question in on_page)):
            result.append([])
        result[-1].append(question)
    return result


def is_shown(question: QuestionDefinition, answers: Answers) -> bool:
    """Whether the question is asked, given the answers so far."""
    return question.show_if is None or question.show_if.holds(answers.get(question.show_if.question))


def storable(text: str) -> bool:
    """Whether the text can be stored as given: no NUL byte (PostgreSQL refuses it) and no lone surrogate
    (not encodable as UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def clean_answer(question: QuestionDefinition, value: Any, *, max_text_length: int) -> tuple[Any, AnswerError | None]:
    """The stored form of one answer, or the reason it is refused."""
    if _blank(value):
        return None, (AnswerError(question.key, "error.required") if question.required else None)
    if question.kind in SCORED_KINDS:
        low, high = question.bounds  # type: ignore[misc]
        if isinstance(value, bool):
            return None, AnswerError(question.key, "error.not_a_number", {"low": low, "high": high})
        if isinstance(value, str):
            value = value.strip()
            # isascii: "²" and "٣" are digits to isdigit() but not numbers to int().
            if not (value.isascii() and value.lstrip("-").isdigit()) or len(value) > 6:
                return None, AnswerError(question.key, "error.not_a_number", {"low": low, "high": high})
            value = int(value)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int):
            return None, AnswerError(question.key, "error.not_a_number", {"low": low, "high": high})
        if not low <= value <= high:
            return None, AnswerError(question.key, "error.out_of_range", {"value": value, "low": low, "high": high})
        return value, None
    if question.kind in CHOICE_KINDS:
        allowed = question.choice_values
        chosen = value if isinstance(value, list) else [value]
        if question.kind == "single_choice" and len(chosen) != 1:
            return None, AnswerError(question.key, "error.unknown_option")
        if not all(isinstance(item, str) and item in allowed for item in chosen):
            return None, AnswerError(question.key, "error.unknown_option")
        # Keep the order of the options, and each option once.
        kept = [option for option in allowed if option in chosen]
        return (kept[0] if question.kind == "single_choice" else kept), None
    return _clean_text(question.key, value, min(question.max_length or max_text_length, max_text_length))


def _clean_text(key: str, value: Any, limit: int) -> tuple[str | None, AnswerError | None]:
    if not isinstance(value, str):
        return None, AnswerError(key, "error.not_text")
    if not storable(value):
        return None, AnswerError(key, "error.bad_characters")
    text = value.replace("\r\n", "\n").strip()
    if len(text) > limit:
        return None, AnswerError(key, "error.too_long", {"length": len(text), "limit": limit})
    return text, None


def chose_other(value: Any) -> bool:
    """Whether a choice answer (one value, or a list of them) includes the Other option."""
    return value == OTHER or (isinstance(value, list) and OTHER in value)


def clean_other_text(question: QuestionDefinition, chosen: Any, value: Any, *,
                     max_text_length: int) -> tuple[str | None, AnswerError | None]:
    """The words typed under "Other", or the reason they are refused: they are asked for when Other is chosen,
    and refused without it (the survey page reads the box only when Other is chosen, so only the API meets that)."""
    if not chose_other(chosen):
        return None, (None if _blank(value) else AnswerError(question.key, "error.other_not_chosen"))
    if _blank(value):
        return None, AnswerError(question.key, "error.other_text_required")
    return _clean_text(question.key, value, max_text_length)


def validate(
    definition: SurveyDefinition,
    answers: Answers,
    *,
    max_text_length: int,
    through_page: int | None = None,
) -> tuple[Answers, list[AnswerError]]:
    """Check the answers to the questions shown on pages up to `through_page` (default: all).

    Conditions only look at earlier questions, so each is decided on answers already cleaned. Answers to
    questions that end up hidden are dropped, never stored."""
    questions = definition.questions
    if through_page is not None:
        questions = [question for page in pages(definition)[: through_page + 1] for question in page]
    cleaned: Answers = {}
    errors: list[AnswerError] = []
    for question in questions:
        if not is_shown(question, cleaned):
            continue
        value, error = clean_answer(question, answers.get(question.key), max_text_length=max_text_length)
        if error is None and question.other is not None:
            other_key = question.key + OTHER_TEXT
            other, error = clean_other_text(question, value, answers.get(other_key), max_text_length=max_text_length)
            if other is not None:
                cleaned[other_key] = other
        if error is not None:
            errors.append(error)
        elif value is not None:
            cleaned[question.key] = value
    return cleaned, errors


def unknown_keys(definition: SurveyDefinition, answers: Answers) -> list[str]:
    """Answer keys that name no question of the survey."""
    known = {question.key for question in definition.questions}
    known |= {question.key + OTHER_TEXT for question in definition.questions if question.other is not None}
    return [key for key in answers if key not in known]

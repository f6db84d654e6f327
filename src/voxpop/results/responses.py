"""One response with everything about it: every answer as worded in the version it was given on, its attributes,
the customer (their other responses and purchases) and each comment's analysis. The one-response page and
GET /api/v1/responses/{public_id} both show what `response_detail` returns."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection, func, select

from voxpop.collection.models import Answer, AttributeSetValue, Response
from voxpop.customers.models import Customer, Transaction
from voxpop.results.comments import newest_comments
from voxpop.results.schemas import (
    CustomerPublic,
    CustomerResponsePublic,
    PurchasePublic,
    ResponseAnswerPublic,
    ResponseDetailPublic,
)
from voxpop.surveys.models import Question, Survey, SurveyVersion
from voxpop.surveys.schemas import OTHER, text_in
from voxpop.text.codebooks import current_codebook
from voxpop.text.labels import theme_labels
from voxpop.text.redaction import redact

LISTED = 20  # a customer's other responses and purchases shown, newest first


class UnknownResponse(LookupError):
    """A public id that names no response."""


def response_detail(connection: Connection, *, public_id: str) -> ResponseDetailPublic:
    """The response with this public id, answer by answer; raises UnknownResponse."""
    found = connection.execute(
        select(Response.id, Response.public_id, Survey.key, Survey.title, Survey.default_language,
               SurveyVersion.number, Response.version_id, Response.submitted_at, Response.language, Response.channel,
               Response.customer_id, Response.attribute_set_id)
        .join(Survey, Survey.id == Response.survey_id).join(SurveyVersion, SurveyVersion.id == Response.version_id)
        .where(Response.public_id == public_id)).first()
    if found is None:
        raise UnknownResponse(f"There is no response {public_id!r}; check the link.")
    attributes = dict(connection.execute(select(AttributeSetValue.name, AttributeSetValue.value)
                                         .where(AttributeSetValue.set_id == found.attribute_set_id)
                                         .order_by(AttributeSetValue.name)).all()) \
        if found.attribute_set_id is not None else {}
    return ResponseDetailPublic(
        public_id=found.public_id, survey=found.key, survey_title=found.title, version=found.number,
        submitted_at=found.submitted_at, language=found.language, channel=found.channel, attributes=attributes,
        answers=answers_of(connection, response_id=found.id, version_id=found.version_id,
                           language=found.default_language, fallback=found.language),
        customer=None if found.customer_id is None else customer_of(connection, customer_id=found.customer_id,
                                                                    response_id=found.id))


def answers_of(connection: Connection, *, response_id: int, version_id: int, language: str,
               fallback: str) -> list[ResponseAnswerPublic]:
    """The response's answers in the version's question order, worded as that version asked them in `language`
    (the survey's default, which staff read; the respondent's own words stay as written)."""
    rows = connection.execute(
        select(Question.id, Question.key, Question.kind, Question.spec, Question.scale_min, Question.scale_max,
               Answer.score, Answer.choice, Answer.text)
        .join(Answer, Answer.question_id == Question.id)
        .where(Answer.response_id == response_id, Question.version_id == version_id)
        .order_by(Question.position, Answer.id)).all()
    by_question: dict[int, list] = defaultdict(list)
    for row in rows:
        by_question[row.id].append(row)
    labels = theme_labels(current_codebook(connection).codebook)
    comments = {comment.question: comment for comment in newest_comments(
        connection, question_ids=list(by_question), kept=[Response.id == response_id], limit=len(by_question) or 1,
        labels=labels)}
    return [_answer(given, language, fallback, comments.get(given[0].key)) for given in by_question.values()]


def _answer(given: list, language: str, fallback: str, comment) -> ResponseAnswerPublic:
    first = given[0]
    spec = first.spec
    options = {option["value"]: text_in(option.get("label"), language, fallback) or option["value"]
               for option in spec.get("options") or []}
    choices = [row.choice for row in given if row.choice is not None]
    if first.score is not None:
        words = f"{first.score} (on {first.scale_min}–{first.scale_max})"
    elif choices:
        words = "; ".join(_choice_words(row.choice, row.text, options, spec, language, fallback) for row in given
                          if row.choice is not None)
    elif comment is not None:
        words = comment.text
    else:  # not analysed yet: redacted here, as the dashboard's latest comments are
        words = redact(first.text or "").text
    return ResponseAnswerPublic(question=first.key, kind=first.kind,
                                text=text_in(spec.get("text"), language, fallback) or first.key, answer=words,
                                score=first.score, choices=choices, comment=comment,
                                pending=first.kind == "text" and comment is None)


def _choice_words(choice: str, typed: str | None, options: dict[str, str], spec: dict, language: str,
                  fallback: str) -> str:
    if choice in options:
        return options[choice]
    other = spec.get("other")
    label = text_in(other, language, fallback) if other and other is not True else "Other"
    words = typed if choice == OTHER and typed else choice
    return f"{label}: {redact(words).text}"


def customer_of(connection: Connection, *, customer_id: int, response_id: int) -> CustomerPublic:
    """The customer with their other responses and their newest purchases."""
    external_id = connection.execute(select(Customer.external_id).where(Customer.id == customer_id)).scalar_one()
    others = connection.execute(
        select(Response.public_id, Survey.key, Survey.title, Response.submitted_at)
        .join(Survey, Survey.id == Response.survey_id)
        .where(Response.customer_id == customer_id, Response.id != response_id)
        .order_by(Response.submitted_at.desc()).limit(LISTED)).all()
    purchases = connection.execute(
        select(Transaction.day, Transaction.amount, Transaction.kind, Transaction.product)
        .where(Transaction.customer_id == customer_id)
        .order_by(Transaction.day.desc(), Transaction.id.desc()).limit(LISTED)).all()
    count, total = connection.execute(select(func.count(), func.coalesce(func.sum(Transaction.amount), 0.0))
                                      .where(Transaction.customer_id == customer_id)).one()
    return CustomerPublic(
        external_id=external_id,
        other_responses=[CustomerResponsePublic(public_id=row.public_id, survey=row.key, survey_title=row.title,
                                                submitted_at=row.submitted_at) for row in others],
        purchases=[PurchasePublic(day=row.day, amount=row.amount, kind=row.kind, product=row.product)
                   for row in purchases],
        purchase_count=count, purchase_total=float(total))

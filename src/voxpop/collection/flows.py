"""Recording a response: validate, then store it atomically exactly once.

A response is acknowledged only after its transaction commits. The database's unique constraints
(one response per invitation, one per idempotency key) make retries and double submits harmless even
when two arrive at the same moment; the loser of such a race is answered as its twin was.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError

from voxpop.collection import service
from voxpop.collection.answers import (
    AnswerError,
    Answers,
    storable,
    unknown_keys,
    validate,
)
from voxpop.collection.attributes import drop_unlisted
from voxpop.collection.layout import Questions
from voxpop.collection.writer import insert_response
from voxpop.store.database import Database
from voxpop.surveys.models import Survey, SurveyVersion
from voxpop.surveys.schemas import KEY, SurveyDefinition

MAX_ATTRIBUTE_LENGTH = 200
SURVEY_KEY = re.compile(KEY)


class SubmissionRefused(Exception):
    """A submission that is not recorded; `code` is stable, `detail` says what to do."""

    status = 422
    code = "invalid"

    def __init__(self, detail: str, errors: list[AnswerError] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []


class SurveyNotFound(SubmissionRefused):
    status, code = 404, "survey-not-found"


class SurveyClosed(SubmissionRefused):
    status, code = 409, "survey-closed"


class InvalidInvitation(SubmissionRefused):
    status, code = 403, "invalid-invitation"


class AlreadyAnswered(SubmissionRefused):
    status, code = 409, "already-answered"


class IdempotencyKeyReused(SubmissionRefused):
    status, code = 422, "idempotency-key-reused"


class InvalidAnswers(SubmissionRefused):
    status, code = 422, "invalid-answers"


class SurveyChanged(SubmissionRefused):
    status, code = 409, "survey-changed"


@dataclass(frozen=True)
class OpenSurvey:
    """What a submission needs to know about a survey, read once per request."""

    id: int
    key: str
    title: str
    status: str
    languages: list[str]
    version_id: int
    version_number: int
    definition: SurveyDefinition
    questions: Questions


@dataclass(frozen=True)
class Submission:
    answers: Answers
    channel: str
    language: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    invitation_token: str | None = None
    idempotency_key: str | None = None
    # The web form re-sends the same key when a page is reloaded with changed answers; keeping the first
    # response is right there. API clients must not reuse a key for a different body.
    strict_idempotency: bool = True
    # The version the respondent saw (the web form signs it); None means "whatever is current" (API).
    version_id: int | None = None


@dataclass(frozen=True)
class Recorded:
    public_id: str
    survey_key: str
    version: int
    submitted_at: datetime
    replayed: bool


# A version's questions never change, so each version is parsed once per process. Keyed by database too:
# one process may serve several (the tests do), and ids repeat across them.
_VERSIONS: dict[tuple[str, int, str], tuple[SurveyDefinition, Questions]] = {}


# Built once: constructing a statement costs more than running it on this, the hottest read path.
_NEWEST_VERSION = (
    select(Survey.id, Survey.title, Survey.status, Survey.languages, Survey.default_language,
           SurveyVersion.id, SurveyVersion.number, SurveyVersion.fingerprint)
    .join(SurveyVersion, SurveyVersion.survey_id == Survey.id)
    .where(Survey.key == bindparam("key"))
    .order_by(SurveyVersion.number.desc())
    .limit(1)
)


def load_survey(db: Database, key: str) -> OpenSurvey:
    """The survey with this key and its newest version, or SurveyNotFound. One indexed query when the
    version is already known; the status is always read afresh, so closing a survey takes effect at once."""
    if not SURVEY_KEY.match(key):
        raise SurveyNotFound(f"There is no survey with key {key!r}.")
    with db.read_connection() as db_session:
        row = db_session.execute(_NEWEST_VERSION, {"key": key}).first()
        if row is None:
            raise SurveyNotFound(f"There is no survey with key {key!r}.")
        survey_id, title, status, languages, default_language, version_id, number, digest = row
        cache_key = (str(db.url), version_id, digest)
        cached = _VERSIONS.get(cache_key)
        if cached is None:
            if len(_VERSIONS) > 1024:
                _VERSIONS.clear()
            definition = SurveyDefinition.model_validate(
                db_session.scalar(select(SurveyVersion.definition).where(SurveyVersion.id == version_id))
            )
            questions = service.version_questions(db_session=db_session, version_id=version_id)
            cached = (definition, questions)
            _VERSIONS[cache_key] = cached
        definition, questions = cached
    return OpenSurvey(
        id=survey_id,
        key=key,
        title=title,
        status=status,
        languages=list(languages or [default_language]),
        version_id=version_id,
        version_number=number,
        definition=definition,
        questions=questions,
    )


def fingerprint(submission: Submission) -> str:
    """A hash of the request as sent, so a retry is recognised before (and whatever) validation says."""
    content = {
        "answers": submission.answers,
        "attributes": submission.attributes,
        "invitation": submission.invitation_token,
        "language": submission.language,
    }
    encoded = json.dumps(content, sort_keys=True, default=str, ensure_ascii=True)
    return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


def check(survey: OpenSurvey, submission: Submission, *, max_text_length: int) -> tuple[Answers, dict[str, str], str]:
    """The cleaned answers, attributes and language of a submission, or InvalidAnswers saying why."""
    if survey.status == "closed":
        raise SurveyClosed(f"The survey {survey.key!r} is closed and no longer accepts responses.")
    if survey.status != "live":
        raise SurveyNotFound(f"The survey {survey.key!r} is not open yet.")
    errors = [AnswerError(key, "error.unknown_question") for key in unknown_keys(survey.definition, submission.answers)]
    answers, answer_errors = validate(survey.definition, submission.answers, max_text_length=max_text_length)
    errors += answer_errors
    attributes: dict[str, str] = {}
    declared = set(survey.definition.attributes)
    for name, value in submission.attributes.items():
        if name not in declared:
            listed = ", ".join(sorted(declared)) or "none"
            errors.append(AnswerError(f"attributes.{name}", "error.unknown_attribute", {"name": name, "declared": listed}))
        elif (not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > MAX_ATTRIBUTE_LENGTH
              or not storable(str(value))):
            errors.append(AnswerError(f"attributes.{name}", "error.bad_attribute", {"limit": MAX_ATTRIBUTE_LENGTH}))
        elif str(value).strip():
            attributes[name] = str(value).strip()
    if errors:
        raise InvalidAnswers("Some answers are not valid; see errors.", errors)
    language = submission.language if submission.language in survey.languages else survey.languages[0]
    return answers, attributes, language


def record_response(
    db: Database, survey: OpenSurvey, submission: Submission, *, max_text_length: int, zone: str = "UTC"
) -> Recorded:
    """Store one response exactly once, or raise SubmissionRefused saying why.

    A retry is answered with the first response before anything else is checked: the survey may have
    closed or changed since, but what was acknowledged stays acknowledged."""
    digest = fingerprint(submission)
    with db.read_connection() as db_session:
        replay = _earlier_twin(db_session, survey, submission, digest)
    if replay is not None:
        return replay
    if submission.version_id is not None and submission.version_id != survey.version_id:
        raise SurveyChanged("The survey was updated while it was being answered. Check the answers and send again.")
    answers, attributes, language = check(survey, submission, max_text_length=max_text_length)
    try:
        with db.write_connection() as db_session:
            # A twin committed since the check above is caught by the unique constraint (below) or, for an
            # invitation, just here; either way it is answered as a replay.
            invitation_id = customer_id = None
            if submission.invitation_token:
                invitation = service.find_invitation(db_session=db_session, survey_id=survey.id,
                                                     token=submission.invitation_token)
                if invitation is None:
                    raise InvalidInvitation("This invitation token is not valid for this survey, or it has expired.")
                if service.response_to_invitation(db_session=db_session, invitation_id=invitation.id) is not None:
                    # On PostgreSQL each statement sees fresh commits: the twin may have landed just now.
                    replay = _earlier_twin(db_session, survey, submission, digest)
                    if replay is not None:
                        return replay
                    raise AlreadyAnswered("This invitation has already been answered; the first response is kept.")
                invitation_id, customer_id = invitation.id, invitation.customer_id
            if submission.channel == "web":
                # A public link's values outside the survey's list are left out and counted, never refused:
                # the customer did not write the link.
                attributes = drop_unlisted(db_session, survey_id=survey.id, definition=survey.definition,
                                           attributes=attributes)
            stored = insert_response(
                db_session=db_session,
                survey_id=survey.id,
                version_id=survey.version_id,
                questions=survey.questions,
                answers=answers,
                language=language,
                channel=submission.channel,
                attributes=attributes,
                customer_id=customer_id,
                invitation_id=invitation_id,
                idempotency_key=submission.idempotency_key,
                request_fingerprint=digest,
                zone=zone,
            )
        return Recorded(stored.public_id, survey.key, survey.version_number, stored.submitted_at, False)
    except IntegrityError:
        # A concurrent twin committed between our check and our insert: answer as it was answered.
        with db.read_connection() as db_session:
            replay = _earlier_twin(db_session, survey, submission, digest)
        if replay is not None:
            return replay
        if submission.invitation_token:
            raise AlreadyAnswered("This invitation has already been answered; the first response is kept.") from None
        raise


def _earlier_twin(db_session, survey: OpenSurvey, submission: Submission, digest: str) -> Recorded | None:
    if not submission.idempotency_key:
        return None
    earlier = service.response_with_key(
        db_session=db_session, survey_id=survey.id, idempotency_key=submission.idempotency_key
    )
    if earlier is None:
        return None
    if submission.strict_idempotency and earlier.request_fingerprint != digest:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used for a different response; use a new key for a new response."
        )
    return Recorded(earlier.public_id, survey.key, earlier.version, earlier.submitted_at, True)

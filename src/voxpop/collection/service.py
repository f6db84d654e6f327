"""Invitations and responses in the store."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.orm import Session

from voxpop.analysis import rollups
from voxpop.collection.answers import Answers, storable
from voxpop.collection.attributes import attribute_set_ids
from voxpop.collection.models import Answer, Invitation, Response
from voxpop.customers.models import Customer
from voxpop.store.base import utcnow
from voxpop.store.ids import public_id
from voxpop.surveys.models import Question, Survey, SurveyVersion
from voxpop.surveys.schemas import SCORED_KINDS


class StoredResponse(NamedTuple):
    public_id: str
    submitted_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invitation(
    *, db_session: Session, survey: Survey, customer: Customer | None = None, valid_days: int | None = 30
) -> str:
    """Create a single-use invitation and return its token (only its hash is stored)."""
    token = secrets.token_urlsafe(24)
    expires_at = utcnow() + timedelta(days=valid_days) if valid_days else None
    db_session.add(
        Invitation(
            survey_id=survey.id,
            customer_id=customer.id if customer else None,
            token_hash=token_hash(token),
            expires_at=expires_at,
        )
    )
    return token


class OpenInvitation(NamedTuple):
    id: int
    customer_id: int | None


def find_invitation(
    *, db_session: Session | Connection, survey_id: int, token: str, now: datetime | None = None
) -> OpenInvitation | None:
    """The unexpired invitation to this survey carrying `token`, if any."""
    if not token or len(token) > 200 or not storable(token):
        return None
    row = db_session.execute(
        select(Invitation.id, Invitation.customer_id, Invitation.expires_at)
        .where(Invitation.token_hash == token_hash(token), Invitation.survey_id == survey_id)
    ).first()
    if row is None or (row.expires_at is not None and row.expires_at < (now or utcnow())):
        return None
    return OpenInvitation(row.id, row.customer_id)


def response_to_invitation(*, db_session: Session | Connection, invitation_id: int) -> int | None:
    """The id of the response already given with this invitation, if any."""
    return db_session.scalar(select(Response.id).where(Response.invitation_id == invitation_id))


class EarlierResponse(NamedTuple):
    public_id: str
    request_fingerprint: str | None
    submitted_at: datetime
    version: int


def response_with_key(
    *, db_session: Session | Connection, survey_id: int, idempotency_key: str
) -> EarlierResponse | None:
    """The response already recorded under this idempotency key, if any."""
    row = db_session.execute(_RESPONSE_WITH_KEY, {"survey_id": survey_id, "key": idempotency_key}).first()
    return EarlierResponse(*row) if row is not None else None


# Built once: every API submission runs it.
_RESPONSE_WITH_KEY = (
    select(Response.public_id, Response.request_fingerprint, Response.submitted_at, SurveyVersion.number)
    .join(SurveyVersion, Response.version_id == SurveyVersion.id)
    .where(Response.survey_id == bindparam("survey_id"), Response.idempotency_key == bindparam("key"))
)


def get_or_create_customer(*, db_session: Session, external_id: str, email: str | None = None) -> Customer:
    """The customer with this external id, created if new; a newly given e-mail is kept."""
    customer = db_session.scalar(select(Customer).where(Customer.external_id == external_id))
    if customer is None:
        customer = Customer(external_id=external_id, email=email, attributes={})
        db_session.add(customer)
        db_session.flush()
    elif email and not customer.email:
        customer.email = email
    return customer


def insert_response(
    *,
    db_session: Session | Connection,
    survey_id: int,
    version_id: int,
    questions: dict[str, tuple[int, str]],
    answers: Answers,
    language: str,
    channel: str,
    attributes: dict[str, str],
    customer_id: int | None = None,
    invitation_id: int | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    zone: str = "UTC",
) -> StoredResponse:
    """Insert one validated response with its answers and attributes (the caller owns the transaction).

    Core inserts, not the ORM: this is the hot path of every submission, and it runs inside the single
    writer on SQLite, so every statement saved is throughput gained."""
    stored = StoredResponse(public_id(), utcnow())
    combination = tuple(attributes.items())
    response_id = db_session.execute(
        _INSERT_RESPONSE,
        [{
            "public_id": stored.public_id,
            "survey_id": survey_id,
            "version_id": version_id,
            "customer_id": customer_id,
            "invitation_id": invitation_id,
            "idempotency_key": idempotency_key,
            "request_fingerprint": request_fingerprint,
            "language": language,
            "channel": channel,
            "submitted_at": stored.submitted_at,
            "attribute_set_id": attribute_set_ids(db_session, [combination])[combination],
        }],
    ).scalar_one()
    rows, scores = [], []
    for key, value in answers.items():
        question_id, kind, scale_max = questions[key]
        row = {"response_id": response_id, "question_id": question_id, "score": None, "choice": None, "text": None}
        if kind in SCORED_KINDS:
            rows.append(row | {"score": value})
            scores.append((question_id, value, scale_max))
        elif kind in ("single_choice", "multiple_choice"):
            rows.extend(row | {"choice": item} for item in (value if isinstance(value, list) else [value]))
        else:
            rows.append(row | {"text": value})
    if rows:
        db_session.execute(_INSERT_ANSWERS, rows)
    # The dashboards' daily rollups move in the same transaction, so they never disagree with the answers.
    day = stored.submitted_at.astimezone(ZoneInfo(zone)).date()
    rollups.add(db_session, rollups.increments(scores=scores, attributes=attributes, day=day))
    return stored


_INSERT_RESPONSE = insert(Response.__table__).returning(Response.__table__.c.id)
_INSERT_ANSWERS = insert(Answer.__table__)


def version_questions(*, db_session: Session | Connection, version_id: int) -> dict[str, tuple[int, str, int | None]]:
    """Question key -> (question id, kind, scale maximum) for one survey version."""
    rows = db_session.execute(
        select(Question.key, Question.id, Question.kind, Question.scale_max).where(Question.version_id == version_id)
    )
    return {key: (question_id, kind, scale_max) for key, question_id, kind, scale_max in rows}

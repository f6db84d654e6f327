"""Invitations and responses in the store."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import Session

from voxpop.analysis.questions import QuestionRef
from voxpop.collection.answers import storable
from voxpop.collection.models import Invitation, Response
from voxpop.customers.models import Customer
from voxpop.store.base import utcnow
from voxpop.store.ids import token_hash
from voxpop.surveys.models import Question, Survey, SurveyVersion


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


def version_questions(*, db_session: Session | Connection, version_id: int) -> dict[str, QuestionRef]:
    """The questions of one survey version by key, each with its row id."""
    rows = db_session.execute(
        select(Question.key, Question.kind, Question.scale_min, Question.scale_max, Question.ces_version, Question.id)
        .where(Question.version_id == version_id)
    )
    return {row.key: QuestionRef(row.key, row.kind, row.scale_min, row.scale_max, row.ces_version, row.id)
            for row in rows}

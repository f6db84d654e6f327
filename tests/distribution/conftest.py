"""Sends' fixtures: the real SMTP server (tests/smtp.py), a live survey, contacts, and a send over them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tests.helpers import apply_survey
from tests.smtp import SmtpServer, running_smtp_server
from voxpop.customers.models import Customer
from voxpop.distribution.models import ContactRule, Send
from voxpop.surveys.models import Survey

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TEMPLATES = {
    "en": {"subject": "{{ survey_title }}: a minute for us, {{ customer.name }}?",
           "body": "Hello {{ customer.name }},\n\n{{ score_buttons }}\n\nOr answer here: {{ link }}\n"
                   "The link works until {{ expires_on }}."},
    "de": {"subject": "{% if reminder %}Erinnerung: {% endif %}Eine Minute für uns, {{ customer.name }}?",
           "body": "Hallo {{ customer.name }},\n\n{{ score_buttons }}\n\nOder hier antworten: {{ link }}"},
}


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with running_smtp_server() as server:
        yield server


def add_contacts(db, rows: list[tuple[str, str | None, str | None, dict]], consent: str = "yes") -> dict[str, int]:
    """Customers (external id, e-mail, language, attributes) by external id -> id."""
    with db.write() as db_session:
        customers = [Customer(external_id=external_id, email=email, language=language, attributes=attributes,
                              consent=consent) for external_id, email, language, attributes in rows]
        db_session.add_all(customers)
        db_session.flush()
        return {customer.external_id: customer.id for customer in customers}


def make_send(db, *, key: str = "wave", audience: dict | None = None, **changes) -> int:
    with db.write() as db_session:
        survey_id = db_session.query(Survey.id).filter_by(key="feedback").scalar()
        send = Send(key=key, name="December wave", survey_id=survey_id, audience=audience or {"filter": {}},
                    templates=TEMPLATES, default_language="en", embed_question="nps", max_reminders=2,
                    reminder_gap_days=3, expires_after_days=14, created_at=NOW)
        for name, value in changes.items():
            setattr(send, name, value)
        db_session.add(send)
        db_session.flush()
        return send.id


def add_rule(db, **numbers) -> None:
    with db.write() as db_session:
        db_session.add(ContactRule(**numbers))


@pytest.fixture
def feedback(db):
    return apply_survey(db).survey

"""A send that went out to a real SMTP server: the world the delivery, unsubscribe and funnel tests start from."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from tests.distribution.conftest import NOW, add_contacts, make_send
from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT
from voxpop.collection.models import Invitation, Response
from voxpop.distribution.models import Send, SendInvitation
from voxpop.distribution.planning import run_send
from voxpop.notify.mail import send_due_mail
from voxpop.settings import Settings
from voxpop.surveys.models import SurveyVersion

PEOPLE = [
    ("C-ann", "ann@example.com", "en", {"name": "Ann", "segment": "SMB"}),
    ("C-bernd", "bernd@example.com", "de", {"name": "Bernd", "segment": "Enterprise"}),
    ("C-gone", "gone@example.com", "en", {"name": "Gus", "segment": "SMB"}),
]


@dataclass
class World:
    settings: Settings
    send_id: int
    customers: dict[str, int]  # external id -> customer id
    invitations: dict[str, int]  # external id -> invitation id


def mail_settings(settings: Settings, smtp_server, public_url: str = "https://vox.example") -> Settings:
    return settings.model_copy(update=smtp_server.settings() | {"public_url": public_url,
                                                                "smtp_from": "cx@example.com"})


def send_wave(db, settings: Settings, smtp_server, people=PEOPLE, *, at: datetime = NOW, key: str = "wave",
              public_url: str = "https://vox.example") -> World:
    """Invite `people` and hand the e-mails to the server (gone@example.com answered 550 by it)."""
    smtp_server.unknown_recipients.add("gone@example.com")
    configured = mail_settings(settings, smtp_server, public_url)
    customers = add_contacts(db, people)
    send_id = make_send(db, key=key)
    with db.write() as db_session:
        run_send(db_session, db_session.get(Send, send_id), configured, at)
    send_due_mail(db, settings=configured, now=at)
    with db.read() as db_session:
        by_customer = {row.customer_id: row.invitation_id for row in db_session.scalars(
            select(SendInvitation).where(SendInvitation.send_id == send_id))}
    invitations = {external: by_customer[id_] for external, id_ in customers.items() if id_ in by_customer}
    return World(configured, send_id, customers, invitations)


def respond(db, invitation_id: int, at: datetime) -> None:
    """A response through the invitation (as the survey page would store it)."""
    with db.write() as db_session:
        invitation = db_session.get(Invitation, invitation_id)
        version_id = db_session.scalar(select(SurveyVersion.id).where(SurveyVersion.survey_id == invitation.survey_id)
                                       .order_by(SurveyVersion.number.desc()).limit(1))
        db_session.add(Response(public_id=str(uuid.uuid4()), survey_id=invitation.survey_id, version_id=version_id,
                                customer_id=invitation.customer_id, invitation_id=invitation_id, language="en",
                                channel="email", submitted_at=at))


def opened(db, invitation_id: int, at: datetime) -> None:
    with db.write() as db_session:
        db_session.get(Invitation, invitation_id).opened_at = at


def inline(html: str) -> bool:
    """Whether the page has what the CSP forbids (see tests/web/test_no_inline.py)."""
    return any(pattern.search(html) for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER))

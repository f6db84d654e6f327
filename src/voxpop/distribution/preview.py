"""A send's e-mail as one real contact would get it, for the send page (links marked as a preview: no token is made
and nothing is stored)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.collection.answers import storable
from voxpop.customers.models import Customer
from voxpop.distribution import links
from voxpop.distribution.models import Send
from voxpop.distribution.planning import audience_members, choose_language, embedded_scores, local_day
from voxpop.distribution.templates import MailContext, RenderedMail, TemplateProblem, customer_variables, render_mail
from voxpop.settings import Settings
from voxpop.surveys.models import Survey

PREVIEW_TOKEN = "PREVIEW"  # opens no survey: the page says the links are a preview


@dataclass(frozen=True)
class Preview:
    customer: str  # the contact's external id
    language: str
    note: str
    mail: RenderedMail | None
    problem: str  # why the template cannot be written for this contact


def preview(db_session: Session, send: Send, settings: Settings, *, now: datetime, customer: str = "") -> Preview | None:
    """The e-mail for `customer` (an external id), else for the audience's first member; None without anyone."""
    if customer and not storable(customer):
        return None
    if customer:
        found = db_session.scalar(select(Customer).where(Customer.external_id == customer))
    else:
        members = audience_members(db_session, send)
        found = db_session.get(Customer, members[0].customer_id) if members else db_session.scalar(
            select(Customer).where(Customer.email.is_not(None)).order_by(Customer.id).limit(1))
    if found is None:
        return None
    survey = db_session.get(Survey, send.survey_id)
    language, note = choose_language(found.language, send.templates, send.default_language)
    context = MailContext(
        customer=customer_variables(external_id=found.external_id, email=found.email, language=language,
                                    attributes=found.attributes or {}),
        survey_title=survey.title, link=links.survey_url(settings, survey.key, PREVIEW_TOKEN, language),
        unsubscribe_link=f"{settings.public_url}/u/{PREVIEW_TOKEN}",
        expires_on=local_day(now + timedelta(days=send.expires_after_days), settings) if send.expires_after_days
        else None, reminder=0,
        scores=embedded_scores(db_session, send=send, survey=survey, settings=settings, token=PREVIEW_TOKEN,
                               language=language))
    try:
        mail = render_mail(send.templates.get(language) or send.templates[send.default_language], context,
                           language=language)
    except TemplateProblem as exc:
        return Preview(found.external_id, language, note, None, str(exc))
    return Preview(found.external_id, language, note, mail, "")

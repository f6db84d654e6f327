"""E-mail to the customer from a case: a few built-in templates per language, rendered in a sandbox with only
the fields a customer may read, shown to the agent to edit, then queued in the outbox and kept on the timeline.

The template is rendered once, before the agent edits it; what the agent sends is plain text and is never rendered
again, so nothing typed into the form can reach the template engine."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sqlalchemy import select
from sqlalchemy.orm import Session

from voxpop.cases import service
from voxpop.cases.models import Case, CaseEvent
from voxpop.collection.models import Response
from voxpop.customers.models import Customer
from voxpop.notify.outbox import queue_mail
from voxpop.surveys.models import Survey

LANGUAGES = {"en": "English", "de": "Deutsch"}
# key: (label, {language: (subject, body)})
TEMPLATES: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "apology": ("Apology and call-back offer", {
        "en": ("We are sorry: your feedback on {{ survey_title }}",
               "Dear {{ customer_name }},\n\nThank you for your honest answer to our survey. We are sorry that we "
               "let you down.\n\nI would like to understand what happened and put it right. May I call you? Reply "
               "to this e-mail with a time that suits you and the best number to reach you.\n\n"
               "Kind regards,\n{{ agent_name }}\n\nReference: case {{ case_id }}"),
        "de": ("Es tut uns leid: Ihre Rückmeldung zu {{ survey_title }}",
               "Guten Tag {{ customer_name }},\n\nvielen Dank für Ihre offene Antwort auf unsere Umfrage. Es tut "
               "uns leid, dass wir Sie enttäuscht haben.\n\nIch möchte verstehen, was passiert ist, und es in Ordnung "
               "bringen. Darf ich Sie anrufen? Antworten Sie einfach auf diese E-Mail mit einer passenden Zeit und "
               "Ihrer Telefonnummer.\n\nMit freundlichen Grüßen\n{{ agent_name }}\n\nBezug: Fall {{ case_id }}"),
    }),
    "fixed": ("We fixed it", {
        "en": ("We have fixed what went wrong",
               "Dear {{ customer_name }},\n\nIn your answer to {{ survey_title }} you told us about a problem. We "
               "have looked into it and fixed it.\n\nIf anything is still not right, reply to this e-mail and I will "
               "take care of it.\n\nKind regards,\n{{ agent_name }}\n\nReference: case {{ case_id }}"),
        "de": ("Wir haben das Problem behoben",
               "Guten Tag {{ customer_name }},\n\nSie haben uns in unserer Umfrage ({{ survey_title }}) von einem "
               "Problem berichtet. Wir haben es untersucht und behoben.\n\nFalls noch etwas nicht stimmt, antworten "
               "Sie auf diese E-Mail; ich kümmere mich darum.\n\nMit freundlichen Grüßen\n{{ agent_name }}\n\n"
               "Bezug: Fall {{ case_id }}"),
    }),
    "details": ("Asking for details", {
        "en": ("Could you tell us more?",
               "Dear {{ customer_name }},\n\nThank you for your answer to {{ survey_title }}. To help you, we need "
               "a few more details: what happened, when, and (if there is one) your order number.\n\nReply to this "
               "e-mail and I will get back to you.\n\nKind regards,\n{{ agent_name }}\n\nReference: case "
               "{{ case_id }}"),
        "de": ("Können Sie uns mehr erzählen?",
               "Guten Tag {{ customer_name }},\n\nvielen Dank für Ihre Antwort auf {{ survey_title }}. Damit wir "
               "Ihnen helfen können, brauchen wir ein paar Einzelheiten: was passiert ist, wann, und (falls "
               "vorhanden) Ihre Bestellnummer.\n\nAntworten Sie auf diese E-Mail; ich melde mich bei Ihnen.\n\n"
               "Mit freundlichen Grüßen\n{{ agent_name }}\n\nBezug: Fall {{ case_id }}"),
    }),
}
# The fields a template may use, and nothing else: no customer answers, no attributes, no objects to walk.
FIELDS = ("customer_name", "customer_id", "case_id", "agent_name", "survey_title")
_SANDBOX = ImmutableSandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class Draft:
    """An e-mail ready for the agent to read and edit."""

    template: str
    language: str
    recipient: str | None
    subject: str
    body: str


def template_options() -> list[tuple[str, str]]:
    return [(key, label) for key, (label, _) in TEMPLATES.items()]


def render_template(template: str, language: str, fields: dict[str, str]) -> tuple[str, str]:
    """The subject and body of a built-in template in `language` (English when it has no such language)."""
    if template not in TEMPLATES:
        raise service.CaseError(f"there is no e-mail template {template!r}; choose one from the list", field="template")
    texts = TEMPLATES[template][1]
    subject, body = texts.get(language) or texts["en"]
    safe = {name: str(fields.get(name, "")) for name in FIELDS}
    return _SANDBOX.from_string(subject).render(safe), _SANDBOX.from_string(body).render(safe)


def contact_refusal(item: Case, customer: Customer | None) -> str | None:
    """Why this customer cannot be e-mailed from the case, or None."""
    if customer is None:
        return "this case has no customer to e-mail; log a call or meeting instead"
    if not customer.email:
        return f"customer {customer.external_id} has no e-mail address on record; log a call or meeting instead"
    if item.contact_consent is False:
        return f"customer {customer.external_id} did not agree to be contacted; do not e-mail them"
    if item.status == "closed":
        return "this case is closed; reopen it to contact the customer"
    return None


def draft(*, db_session: Session, case: Case, template: str, language: str | None, agent_name: str) -> Draft:
    """The template rendered for this case, in the language the customer answered in unless another is chosen."""
    customer = db_session.get(Customer, case.customer_id) if case.customer_id is not None else None
    answered = db_session.execute(select(Response.language, Survey.title).join(Survey, Survey.id == Response.survey_id)
                                  .where(Response.id == case.response_id)).first() if case.response_id else None
    language = language if language in LANGUAGES else (answered.language[:2] if answered else "en")
    language = language if language in LANGUAGES else "en"
    name = (customer.attributes or {}).get("name") if customer else None
    fields = {"customer_name": name or (customer.external_id if customer else "customer"),
              "customer_id": customer.external_id if customer else "", "case_id": str(case.id),
              "agent_name": agent_name, "survey_title": answered.title if answered else "our survey"}
    subject, body = render_template(template, language, fields)
    return Draft(template=template, language=language, recipient=customer.email if customer else None,
                 subject=subject, body=body)


def send_email(*, db_session: Session, case: Case, subject: str, body: str, actor, client: str = "",
               notify: bool = True) -> CaseEvent:
    """Queue the agent's e-mail to the customer and record it on the timeline as a contact."""
    customer = db_session.get(Customer, case.customer_id) if case.customer_id is not None else None
    refusal = contact_refusal(case, customer)
    if refusal:
        raise service.CaseError(refusal, field="subject")
    subject, body = subject.strip(), body.strip()
    if not subject:
        raise service.CaseError("write a subject for the e-mail", field="subject")
    if not body:
        raise service.CaseError("write the e-mail's text", field="body")
    if "\n" in subject or "\r" in subject:
        raise service.CaseError("the subject must be one line", field="subject")
    mail = queue_mail(db_session=db_session, kind="case.contact", recipient=customer.email, subject=subject,
                      body_text=body + "\n", related=f"case:{case.id}")
    db_session.flush()
    return service.log_contact(db_session=db_session, case=case, kind="email", note=subject, actor=actor,
                               client=client, notify=notify, mail_id=mail.id)

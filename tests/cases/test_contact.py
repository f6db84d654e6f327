"""Contact e-mail templates: every built-in renders in every language with only the safe fields, and the sandbox
keeps a template from reaching anything else."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError, UndefinedError

from voxpop.cases import contact
from voxpop.cases.models import Case
from voxpop.customers.models import Customer

FIELDS = {"customer_name": "Ana", "customer_id": "C-1", "case_id": "7", "agent_name": "Bo", "survey_title": "Shop"}


@pytest.mark.parametrize("template", list(contact.TEMPLATES))
@pytest.mark.parametrize("language", list(contact.LANGUAGES))
def test_every_template_renders_in_every_language(template, language):
    subject, body = contact.render_template(template, language, FIELDS)
    assert subject and "\n" not in subject and "{{" not in subject + body
    assert "Ana" in body and "Bo" in body and "7" in body


def test_an_unknown_template_or_language():
    with pytest.raises(contact.service.CaseError, match="no e-mail template 'nope'"):
        contact.render_template("nope", "en", FIELDS)
    assert contact.render_template("fixed", "fr", FIELDS) == contact.render_template("fixed", "en", FIELDS)


def test_the_sandbox_refuses_unsafe_templates():
    sandbox = contact._SANDBOX
    with pytest.raises(SecurityError):
        sandbox.from_string("{{ ''.__class__.__mro__ }}").render()
    with pytest.raises(UndefinedError):  # only the listed fields exist
        sandbox.from_string("{{ customer_email }}").render({name: "" for name in contact.FIELDS})
    with pytest.raises(SecurityError):  # immutable: a template cannot change what it is given
        sandbox.from_string("{{ items.append(1) }}").render(items=[])


def test_who_may_not_be_e_mailed():
    case = Case(id=1, status="new", contact_consent=None)
    assert "no customer" in contact.contact_refusal(case, None)
    assert "no e-mail address" in contact.contact_refusal(case, Customer(external_id="C-1", email=None))
    customer = Customer(external_id="C-1", email="c@example.com")
    assert contact.contact_refusal(case, customer) is None
    case.contact_consent = False
    assert "did not agree to be contacted" in contact.contact_refusal(case, customer)
    case.contact_consent, case.status = True, "closed"
    assert "reopen it" in contact.contact_refusal(case, customer)

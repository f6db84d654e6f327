"""Invitation templates: problems named by language and field, a sandbox that refuses escapes, strict variables,
and the HTML part escaped whatever the template or the customer holds, with no image or tracking pixel."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.distribution.templates import (
    MailContext,
    Scores,
    TemplateProblem,
    check_templates,
    customer_variables,
    render_mail,
)

GOOD = {"subject": "Hi {{ customer.name }}", "body": "{{ score_buttons }}\n\n{{ link }}"}


def _context(attributes: dict | None = None, *, scores: Scores | None = None, reminder: int = 0) -> MailContext:
    return MailContext(customer=customer_variables(external_id="C-1", email="a@example.com", language="en",
                                                   attributes={"name": "Ann"} if attributes is None else attributes),
                       survey_title="Your order", link="https://vox.example/s/k?t=abc&lang=en",
                       unsubscribe_link="https://vox.example/u/xyz", expires_on=date(2027, 1, 5),
                       reminder=reminder, scores=scores)


def test_problems_name_the_language_and_the_field():
    assert check_templates({"en": GOOD}) == []
    problems = check_templates({
        "de": {"subject": "Hallo {{ customer.name }", "body": "{{ link }}"},
        "fr": {"subject": "Bonjour", "body": "{{ lien }}"},
        "nl": {"subject": "Hoi", "body": "{{ ''.__class__.__mro__ }} {{ link }}"},
        "it": {"subject": "Ciao {{ link }}", "body": "Niente link"},
        "es": {"subject": "Hola", "body": "{{ link }}", "footer": "x"},
    })
    assert problems == [
        "de subject: unexpected '}'",
        "fr body: uses {{ lien }}, which is not a template variable; use customer, survey_title, link, expires_on, "
        "unsubscribe_link, reminder, question or score_buttons",
        "nl body: cannot be rendered: access to attribute '__class__' of 'str' object is unsafe.",
        "it subject: cannot hold a link; put {{ link }} in the body",
        "it body: has neither {{ link }} nor {{ score_buttons }}: the customer could not reach the survey",
        "es footer: unknown field; a template has a subject and a body",
    ]
    assert check_templates({}) == ["templates: give at least one language, e.g. en: {subject: ..., body: ...}"]
    assert check_templates({"en": {"subject": "", "body": "{{ link }}"}}) == [
        "en subject: is missing; write the subject line"]


def test_any_attribute_may_be_used_but_a_contact_without_it_cannot_be_written_to():
    template = {"subject": "Your {{ customer.attributes.store }} visit", "body": "{{ link }}"}
    assert check_templates({"en": template}) == []
    assert render_mail(template, _context({"store": "Bonn"}), language="en").subject == "Your Bonn visit"
    try:
        render_mail(template, _context({}), language="en")
    except TemplateProblem as exc:
        assert "store" in str(exc) and str(exc).startswith("the en template cannot be written for this contact")
    else:
        raise AssertionError("a missing attribute must not render as a gap")


def test_the_text_and_html_parts_say_the_same_with_the_links_and_the_scores():
    scores = Scores("How satisfied are you?", [(n, f"https://vox.example/s/k?t=abc&q=csat&score={n}")
                                               for n in range(1, 6)])
    mail = render_mail({"subject": "{% if reminder %}Reminder: {% endif %}Hi", "body": GOOD["body"]},
                       _context(scores=scores, reminder=1), language="en")
    assert mail.subject == "Reminder: Hi"
    assert "5: https://vox.example/s/k?t=abc&q=csat&score=5" in mail.body_text
    assert mail.body_text.rstrip().endswith("https://vox.example/u/xyz")  # added though the template left it out
    assert mail.body_html.count('&amp;q=csat&amp;score=') == 5 and ">&nbsp;5&nbsp;</a>" in mail.body_html
    assert '<a href="https://vox.example/u/xyz">' in mail.body_html and '<html lang="en">' in mail.body_html
    assert "<img" not in mail.body_html and "style=" not in mail.body_html and "<script" not in mail.body_html


@given(st.text(max_size=40), st.text(max_size=40))
def test_nothing_the_template_or_the_customer_writes_becomes_markup(words, name):
    template = {"subject": "Hi", "body": words.replace("{", "(").replace("}", ")").replace("%", "") + "\n{{ link }}"
                + " {{ customer.name }}"}
    html = render_mail(template, _context({"name": name}), language="en").body_html
    written = html.split("<body>")[1]
    tags = {part.split(">")[0].split()[0] for part in written.split("<")[1:] if part.split(">")[0].split()}
    assert tags <= {"table", "/table", "tr", "/tr", "td", "/td", "p", "/p", "br", "a", "/a", "/body", "/html"}


HUGE = ['{{ "x" * 300000000 }}', '{{ 300000000 * "x" }}', '{{ [1] * 300000000 }}', '{{ 2 ** 300000000 }}',
        '{{ "x".ljust(300000000) }}', '{{ "x"|center(300000000) }}', '{{ "x"|indent(300000000) }}',
        '{{ "{:>300000000}".format(1) }}', '{{ "%300000000s" % "x" }}', '{{ "%300000000d"|format(1) }}',
        '{{ ("x" * 90000).replace("", "yy") }}', '{{ ("x" * 90000)|replace("x", "yy") }}',
        '{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}']


def test_a_template_that_would_write_without_bound_is_refused_by_language_and_field():
    for source in HUGE:
        problems = check_templates({"en": GOOD, "de": GOOD | {"body": source + " {{ link }}"}})
        assert problems == ["de body: cannot be rendered: writes more than 100,000 characters"], source
    modest = ('{{ customer.name|center(30) }} {{ "{} points".format(250000) }} {{ 2 ** 10 }} {{ "ab" * 3 }} '
              '{{ 1000000|string }} {{ "x"|replace("x", "y") }} {{ link }}')
    assert check_templates({"en": GOOD | {"body": modest}}) == []
    with pytest.raises(TemplateProblem, match="writes more than 100,000 characters"):
        render_mail(GOOD | {"body": HUGE[0] + " {{ link }}"}, _context(), language="en")

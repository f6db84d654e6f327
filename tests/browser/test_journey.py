"""A respondent answers on a phone, a staff user sees the response counted; keyboard, no-JavaScript,
validation and language checks, in real Chromium on every backend."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import DESKTOP, PHONE
from tests.helpers import PASSWORD, apply_survey, make_user
from voxpop.collection.models import Response

pytestmark = pytest.mark.browser

COMMENT = "The parcel was <b>late</b> & slow"
# A radio or checkbox is drawn by the box next to it (the input is transparent): the ring must show there.
HAS_FOCUS_RING = """() => {
  let shown = document.activeElement;
  if (getComputedStyle(shown).opacity === '0') shown = shown.nextElementSibling;
  const style = getComputedStyle(shown);
  return (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
}"""


def question(page, text: str):
    """The question's fieldset, found by its legend."""
    return page.get_by_role("group", name=re.compile(re.escape(text)))


def choose(page, question_text: str, value: str):
    """Tap the visible box of one answer, as a respondent does."""
    group = question(page, question_text)
    group.locator("label").filter(has=page.locator(f'input[value="{value}"]')).click()
    expect(group.locator(f'input[value="{value}"]')).to_be_checked()


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth > document.scrollingElement.clientWidth")


def tab_to(page, target, presses: int = 40) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if target.evaluate_all("elements => elements.includes(document.activeElement)"):
            return
    pytest.fail(f"{presses} presses of Tab never reached {target}")


def responses_recorded(db) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def test_respondent_answers_on_phone_and_staff_sees_it_counted(db, open_context, screenshot):
    apply_survey(db)
    email = make_user(db, "viewer")

    phone = open_context(PHONE).new_page()
    phone.goto("/s/feedback")
    expect(phone.get_by_role("heading", name="How did we do?")).to_be_visible()
    assert not scrolls_sideways(phone)
    for box in question(phone, "How likely are you to recommend us?").locator("label").all():
        size = box.bounding_box()
        assert size["width"] >= 24 and size["height"] >= 24, f"NPS box too small to tap: {size}"
    screenshot(phone, "phone-1-start")

    choose(phone, "How likely are you to recommend us?", "3")
    screenshot(phone, "phone-2-nps-chosen")
    phone.get_by_role("button", name="Next").click()

    # The reason question depends on the NPS answer, so it comes on the next page: a detractor's.
    expect(phone.get_by_label("What disappointed you?")).to_be_visible()
    expect(phone.get_by_text("What did you like most?")).to_have_count(0)
    assert not scrolls_sideways(phone)
    phone.get_by_label("What disappointed you?").fill(COMMENT)
    choose(phone, "How satisfied are you?", "2")
    choose(phone, "It was easy to order.", "3")
    choose(phone, "What did you buy?", "tents")
    screenshot(phone, "phone-3-answered")
    phone.get_by_role("button", name="Send my answers").click()

    expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()
    screenshot(phone, "phone-4-thanks")

    desktop = open_context(DESKTOP).new_page()
    desktop.goto("/dashboard")
    expect(desktop).to_have_url(re.compile(r"/login\?next="))
    desktop.get_by_label("E-mail").fill(email)
    desktop.get_by_label("Password").fill(PASSWORD)
    screenshot(desktop, "desktop-1-login")
    desktop.get_by_role("button", name="Log in").click()

    expect(desktop).to_have_url(re.compile(r"/dashboard$"))
    expect(desktop.get_by_test_id("responses-feedback")).to_have_text("1")
    comments = desktop.get_by_role("region", name="Latest comments")
    expect(comments.get_by_text(COMMENT, exact=True)).to_be_visible()
    expect(comments.locator("b")).to_have_count(0)
    screenshot(desktop, "desktop-2-dashboard")


def test_keyboard_only_respondent_sees_where_the_focus_is(db, open_context, screenshot):
    apply_survey(db)
    page = open_context(PHONE).new_page()
    page.goto("/s/feedback")

    nps = question(page, "How likely are you to recommend us?").get_by_role("radio")
    tab_to(page, nps)
    page.keyboard.press("Space")
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    expect(nps.and_(page.get_by_role("radio", name="9", exact=True))).to_be_checked()
    assert page.evaluate(HAS_FOCUS_RING), "the focused NPS box shows no focus ring"
    screenshot(page, "phone-1-nps-focused")

    tab_to(page, page.get_by_role("button", name="Next"))
    assert page.evaluate(HAS_FOCUS_RING), "the focused Next button shows no focus ring"
    page.keyboard.press("Enter")

    comment = page.get_by_label("What did you like most?")
    expect(comment).to_be_visible()
    tab_to(page, comment)
    page.keyboard.type("Quick delivery")
    tab_to(page, page.get_by_role("button", name="Send my answers"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert responses_recorded(db) == 1


def test_survey_works_without_javascript(db, open_context, screenshot):
    apply_survey(db)
    page = open_context(PHONE, java_script_enabled=False).new_page()
    page.goto("/s/feedback")

    choose(page, "How likely are you to recommend us?", "10")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("What did you like most?").fill("Quick delivery")
    choose(page, "How satisfied are you?", "5")
    choose(page, "What did you buy?", "shoes")
    choose(page, "What did you buy?", "tents")
    screenshot(page, "phone-1-answered")
    page.get_by_role("button", name="Send my answers").click()

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert responses_recorded(db) == 1


def test_missing_answer_is_explained_in_the_respondents_language(db, open_context, screenshot):
    apply_survey(db)
    page = open_context(PHONE).new_page()
    page.goto("/s/feedback")
    with page.expect_response(lambda response: response.request.method == "POST") as sent:
        page.get_by_role("button", name="Next").click()

    assert sent.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Please answer this question.")
    expect(question(page, "How likely are you to recommend us?")).to_contain_text("Please answer this question.")
    assert not scrolls_sideways(page)
    screenshot(page, "phone-1-error-en")

    german = open_context(PHONE, locale="de-DE", extra_http_headers={"Accept-Language": "de"}).new_page()
    german.goto("/s/feedback")
    expect(question(german, "Wie wahrscheinlich empfehlen Sie uns?")).to_be_visible()
    german.get_by_role("button", name="Weiter").click()
    expect(german.get_by_role("alert")).to_contain_text("Bitte beantworten Sie diese Frage.")
    screenshot(german, "phone-2-error-de")
    assert responses_recorded(db) == 0


def test_pressing_enter_on_the_last_step_sends_the_answers_not_back(db, open_context):
    apply_survey(db)
    page = open_context(PHONE).new_page()
    page.goto("/s/feedback")
    choose(page, "How likely are you to recommend us?", "9")
    page.get_by_role("button", name="Next").click()
    choose(page, "How satisfied are you?", "4")
    question(page, "How satisfied are you?").locator('input[value="4"]').press("Enter")

    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert responses_recorded(db) == 1

"""The demo workspace's manager builds a CSAT survey in real Chromium: from the transactional CSAT starting point,
with a condition and two languages (en, de), publishes it, and every builder page fits a phone and a desktop with no
serious accessibility violation and nothing the Content-Security-Policy blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from voxpop.demo.workspace import DEMO_PASSWORD
from voxpop.surveys import service

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
# The German texts of the transactional CSAT starting point, by their path in the survey file.
GERMAN = {
    "title": "Nach Ihrer Reparatur",
    "intro": "Sie haben sich kürzlich an unseren Support gewandt. Wie ist es gelaufen? Es dauert eine Minute.",
    "thanks": "Vielen Dank. Wenn Ihr Anliegen nicht gelöst ist, melden wir uns.",
    "questions[0].text": "Wie zufrieden sind Sie insgesamt mit der Unterstützung?",
    "questions[0].anchors.low": "Sehr unzufrieden",
    "questions[0].anchors.high": "Sehr zufrieden",
    "questions[1].text": "Wurde Ihr Anliegen gelöst?",
    "questions[1].options[0].label": "Ja",
    "questions[1].options[1].label": "Teilweise",
    "questions[1].options[2].label": "Nein",
    "questions[2].text": "Was ist noch offen? Wir melden uns.",
    "questions[3].text": "Möchten Sie uns noch etwas sagen?",
}


@pytest.fixture
def demo(demo_server):
    """The shared demo workspace (tests/browser/conftest.py); these tests add surveys of their own keys to it."""
    return demo_server


def check_page(page, name: str, size: str, console: list[str]) -> None:
    """No sideways scrolling, no serious or critical axe violation, nothing the CSP blocked; a screenshot kept."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"builder-{name}-{size}.png", full_page=True)
    # A phone widens its layout viewport to fit what overflows, so the page is measured against the device's width.
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == SIZES[size]["width"], f"{name} at {size} is {widths[0]} px wide in a {SIZES[size]['width']} px viewport"
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(json.dumps(node["target"]) for node in violation["nodes"][:3])
        for violation in result["violations"] if violation["impact"] in ("serious", "critical")
    ]
    assert not serious, f"{name} at {size}: " + " | ".join(serious)
    blocked = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
    assert not blocked, f"{name} at {size}: the CSP blocked {blocked}"
    assert not console, f"{name} at {size}: errors in the browser's console: {console}"


def versions_of(db, key: str) -> list[int]:
    with db.read() as db_session:
        return [version.number for version in service.get_by_key(db_session=db_session, key=key).versions]


def open_as_manager(browser, base: str, size: str):
    context = browser.new_context(base_url=base, viewport=SIZES[size], is_mobile=size == "phone",
                                  has_touch=size == "phone")
    context.set_default_timeout(10_000)
    # An init script comes in through the DevTools protocol, so the page's CSP neither blocks nor sees it.
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console.append(str(error)))
    page.goto("/login")
    page.fill("#email", "manager@northwind.example")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")
    return context, page, console


def test_the_manager_builds_a_two_language_csat_survey_with_a_condition_and_publishes_it(browser, demo):
    base, db = demo
    context, page, console = open_as_manager(browser, base, "phone")

    page.goto("/surveys/new")
    check_page(page, "new", "phone", console)
    page.get_by_label("Transactional CSAT").check()
    page.get_by_label("Title").fill("After your repair")
    page.get_by_label("Key", exact=True).fill("repair-csat")
    page.get_by_label("Your organisation's name").fill("Northwind Outfitters")
    page.get_by_role("button", name="Create the draft and open it").click()
    page.wait_for_url("**/surveys/repair-csat/edit?version=1&new=1")
    expect(page.get_by_test_id("saved")).to_contain_text("Saved as version 1.")

    # The condition: the closing comment only for the dissatisfied (CSAT 3 or below).
    comment = page.get_by_role("group", name="Question 4: comment")
    comment.get_by_label("Shown").select_option("csat")
    comment.get_by_label("Test").select_option("lte")
    comment.get_by_label("Value").fill("3")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/surveys/repair-csat/edit?version=2&new=1")
    expect(page.get_by_test_id("saved")).to_contain_text("Question 'comment': always shown → shown when 'csat' is at most 3")
    check_page(page, "edit", "phone", console)

    # German, in the translation view: the missing texts are listed until every one is written.
    page.get_by_role("link", name="Translations").click()
    page.get_by_label("Add a language").fill("de")
    page.get_by_role("button", name="Add the language").click()
    expect(page.get_by_test_id("missing")).to_contain_text(f"{len(GERMAN)} texts missing")
    check_page(page, "translate", "phone", console)
    for path, text in GERMAN.items():
        page.locator(f'textarea[name="text|{path}|de"]').fill(text)
    page.get_by_role("button", name="Save the texts").click()
    page.wait_for_url("**/surveys/repair-csat/edit?version=3&new=1")
    expect(page.get_by_test_id("saved")).to_contain_text("Languages added: de.")

    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/surveys/repair-csat/edit?version=3&new=0")
    expect(page.get_by_text("Live", exact=True).first).to_be_visible()
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key="repair-csat")
        definition = service.definition_of(survey.current_version, status=survey.status)
    assert (definition.status, definition.languages) == ("live", ["en", "de"])
    assert definition.questions[3].show_if.model_dump(exclude_none=True) == {"question": "csat", "lte": 3}
    assert definition.questions[1].options[0].label == {"en": "Yes", "de": "Ja"}

    # A live survey: an edit shows what it changes before it makes version 4, and the form keeps working.
    page.get_by_label("Question (de)").first.fill("Wie zufrieden sind Sie mit unserer Hilfe?")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("confirm")).to_contain_text("Answers already given stay with version 3")
    check_page(page, "confirm", "phone", console)
    page.get_by_role("button", name="Save as version 4").click()
    page.wait_for_url("**/surveys/repair-csat/edit?version=4&new=1")

    # With JavaScript: a new kind redraws the question with its settings; the unsaved draft previews in a new tab.
    page.get_by_role("group", name="Question 4: comment").get_by_label("Kind").select_option("rating")
    expect(page.get_by_role("group", name="Question 4: comment").get_by_label("Lowest point", exact=True)).to_have_value("1")
    page.get_by_role("group", name="Question 1: csat").get_by_label("Question (en)").fill("How was the repair?")
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Preview this draft").click()
    preview = opened.value
    expect(preview.get_by_test_id("draft-preview")).to_be_visible()
    expect(preview.frame_locator('[data-testid="preview-en-phone"]').get_by_text("How was the repair?")).to_be_visible()
    assert versions_of(db, "repair-csat") == [1, 2, 3, 4]
    assert not console, f"errors in the browser's console: {console}"
    context.close()

    for size in SIZES:
        context, page, console = open_as_manager(browser, base, size)
        for name, path in [("edit", "/surveys/repair-csat/edit"), ("translate", "/surveys/repair-csat/translate"),
                           ("yaml", "/surveys/repair-csat/source?format=yaml"),
                           ("preview", "/surveys/repair-csat/edit/preview")]:
            page.goto(path)
            if name == "preview":
                frame = page.frame_locator('[data-testid="preview-de-phone"]')
                expect(frame.get_by_text("Wie zufrieden sind Sie mit unserer Hilfe?")).to_be_visible()
            check_page(page, name, size, console)
        context.close()


def test_without_javascript_the_form_adds_moves_and_saves_questions(browser, demo):
    base, db = demo
    context = browser.new_context(base_url=base, java_script_enabled=False, viewport=SIZES["desktop"])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", "manager@northwind.example")
    page.fill("#password", DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto("/surveys/new")
    page.get_by_label("A blank survey").check()
    page.get_by_label("Title").fill("Store visit")
    page.get_by_label("Key", exact=True).fill("store-visit")
    page.get_by_role("button", name="Create the draft and open it").click()
    page.wait_for_url("**/surveys/store-visit/edit?version=1&new=1")

    page.get_by_label("Kind of the new question").select_option("single_choice")
    page.get_by_role("button", name="Add a question").click()
    added = page.get_by_role("group", name="Question 2: q2")
    added.get_by_label("Key").fill("visit")
    added.get_by_label("Question", exact=True).fill("Which store did you visit?")
    added.get_by_role("textbox", name="Options").fill("north = North street\nharbour = Harbour")
    page.get_by_role("button", name="Move up question 2").click()
    expect(page.get_by_role("group", name="Question 1: visit")).to_be_visible()
    first_text = page.get_by_role("group", name="Question 2: q1")
    first_text.get_by_label("Question", exact=True).fill("What could we do better?")
    first_text.get_by_label("Shown").select_option("visit")
    first_text.get_by_label("Value").fill("harbour")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/surveys/store-visit/edit?version=2&new=1")
    with db.read() as db_session:
        survey = service.get_by_key(db_session=db_session, key="store-visit")
        definition = service.definition_of(survey.current_version)
    assert [question.key for question in definition.questions] == ["visit", "q1"]
    assert definition.questions[1].show_if.model_dump(exclude_none=True) == {"question": "visit", "eq": "harbour"}
    context.close()

"""A three-page survey with an ordered scale and "Other" boxes, answered in real Chromium at phone and desktop
width (no sideways scrolling, no serious axe-core violation), and the staff preview framed by this site only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_journey import choose, question, responses_recorded, scrolls_sideways
from tests.collection.shop import SHOP
from tests.helpers import PASSWORD, apply_survey, make_user
from voxpop.collection.models import Answer
from voxpop.surveys.models import Question

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"phone": PHONE, "desktop": DESKTOP | {"viewport": {"width": 1366, "height": 900}}}


def check_page(page, screenshot, step: str) -> None:
    """No sideways scrolling and no serious or critical axe-core violation on the page as it is now."""
    assert not scrolls_sideways(page), f"{step} scrolls sideways"
    screenshot(page, step)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{violation['id']}: {violation['help']} — {json.dumps(violation['nodes'][0]['target'])}"
               for violation in result["violations"] if violation["impact"] in ("serious", "critical")]
    assert not serious, f"{step}: " + " | ".join(serious)


def other_texts(db) -> list[tuple[str, str]]:
    with db.read() as db_session:
        return [tuple(row) for row in db_session.execute(
            select(Question.key, Answer.text).join(Question, Answer.question_id == Question.id)
            .where(Answer.choice == "other").order_by(Question.key))]


@pytest.mark.parametrize("size", SIZES)
def test_three_pages_with_other_boxes_and_back(db, open_context, screenshot, size):
    apply_survey(db, SHOP)
    context = open_context(SIZES[size])
    context.add_init_script(path=str(AXE))  # through DevTools: the page's CSP neither blocks nor sees it
    page = context.new_page()
    page.goto("/s/shop")
    expect(page.get_by_text("Step 1 of 3")).to_be_visible()
    options = question(page, "The staff were helpful.").locator("label").all_inner_texts()
    assert options == ["Disagree", "Neither", "Agree"]  # the ordered scale in its order
    choose(page, "The staff were helpful.", "agree")
    choose(page, "What did you buy?", "boots")
    choose(page, "What did you buy?", "other")
    page.get_by_label("Something else: Please specify").fill("Socks")
    check_page(page, screenshot, f"{size}-1-other")
    page.get_by_role("button", name="Next").click()

    # The condition on page 2 reads page 1's answer.
    expect(page.get_by_label("What else should we sell?")).to_be_visible()
    choose(page, "How did you find us?", "friend")
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_label("Something else: Please specify")).to_have_value("Socks")
    expect(question(page, "What did you buy?").locator('input[value="other"]')).to_be_checked()
    page.get_by_role("button", name="Next").click()
    expect(question(page, "How did you find us?").locator('input[value="friend"]')).to_be_checked()

    # Other chosen with its box left empty: named on the page, nothing sent on.
    choose(page, "How did you find us?", "other")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("alert")).to_contain_text("Please write your other answer in the box below it.")
    check_page(page, screenshot, f"{size}-2-other-missing")
    page.get_by_label("Other: Please specify").fill("A blog")
    page.get_by_label("What else should we sell?").fill("Umbrellas")
    page.get_by_role("button", name="Next").click()

    expect(page.get_by_text("Step 3 of 3")).to_be_visible()
    assert responses_recorded(db) == 0
    choose(page, "How likely are you to recommend us?", "9")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you!")).to_be_visible()
    assert responses_recorded(db) == 1 and other_texts(db) == [("bought", "Socks"), ("found", "A blog")]


def test_the_preview_shows_in_a_frame_of_this_site_and_nowhere_else(db, open_context, screenshot):
    apply_survey(db, SHOP)
    email = make_user(db, "manager")
    context = open_context(DESKTOP)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")

    page.goto("/surveys/shop/preview?language=de&page=1")
    expect(page.get_by_test_id("preview-banner")).to_contain_text("Preview — answers are not recorded.")
    expect(page.get_by_role("button", name="Weiter")).to_be_disabled()
    check_page(page, screenshot, "preview-page-2-de")

    # Framed by one of this site's pages at phone width, as the builder shows it; the frame's text, or None when the
    # browser refused to show the address there (its error page is another origin, so its document is shut).
    framed_text = """address => new Promise(resolve => {
        const frame = document.createElement('iframe');
        frame.addEventListener('load', () => resolve(frame.contentDocument && frame.contentDocument.body.innerText));
        frame.src = address; frame.width = 390; frame.height = 600; frame.title = 'Preview';
        document.body.prepend(frame);
    })"""
    page.goto("/dashboard")
    assert "Preview — answers are not recorded." in page.evaluate(framed_text, "/surveys/shop/preview")
    framed = next(frame for frame in page.frames if frame.url.endswith("/surveys/shop/preview"))
    assert framed.evaluate("document.scrollingElement.scrollWidth <= 390")
    screenshot(page, "preview-framed")
    page.goto("/dashboard")
    assert page.evaluate(framed_text, "/dashboard") is None

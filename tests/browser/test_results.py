"""The results pages on the demo workspace in real Chromium, at 390 and 1366 px: a survey's results (all and
filtered) and one response fit the screen, pass axe and the CSP (the staff pages' own check), and show what they
should."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_staff_pages import test_page_fits_a_phone_passes_axe_and_the_csp as fits_and_passes

pytestmark = pytest.mark.browser
RESULTS = [
    ("/surveys/post-purchase/results", "viewer"),
    ("/surveys/post-purchase/results?period=last-quarter&attribute=segment%3DSMB&answer=nps%3Adetractors", "analyst"),
    ("/surveys/support-csat/results", "agent"),
    ("/surveys/onboarding-ces/results", "admin"),
    ("/surveys/post-purchase/results?since=2026-13-01", "viewer"),
]


@pytest.mark.parametrize("path,role", RESULTS)
def test_the_results_fit_a_phone_pass_axe_and_the_csp(browser, demo_server, logins, path, role):
    fits_and_passes(browser, demo_server, logins, path, role)


def test_one_response_fits_a_phone_passes_axe_and_the_csp(browser, demo_server, logins):
    _, db = demo_server
    with db.read_connection() as connection:
        public_id = connection.execute(text(
            "SELECT r.public_id FROM responses r JOIN answers a ON a.response_id = r.id JOIN comment_analyses c "
            "ON c.answer_id = a.id WHERE r.customer_id IS NOT NULL ORDER BY r.id LIMIT 1")).scalar_one()
    fits_and_passes(browser, demo_server, logins, f"/responses/{public_id}", "viewer")


def test_a_comment_on_the_results_leads_to_its_response(browser, demo_server, logins):
    base, _ = demo_server
    context = browser.new_context(base_url=base, viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, storage_state=logins["viewer"])
    page = context.new_page()
    page.goto("/surveys/post-purchase/results?period=last-quarter")
    assert "This period" not in page.inner_text("[data-testid=results-scope]")  # a whole quarter has ended
    page.get_by_role("link", name="Compare").wait_for()
    page.locator("[data-testid=comments-reason] a").first.click()
    page.wait_for_url("**/responses/*")
    assert page.get_by_role("heading", name="Answers").is_visible()
    page.screenshot(path=SCREENSHOTS / "results-one-response-phone.png", full_page=True)
    context.close()

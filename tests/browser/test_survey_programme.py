"""Issue 13's whole journey in real Chromium, as the demo workspace's manager: build a two-language CSAT survey
with a condition, publish it, answer it on a phone, see the answer in its results; filter the post-purchase results
to one segment and last quarter, compare with the quarter before, and export the filtered responses as XLSX."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_builder import GERMAN
from voxpop.collection.filters import matching_responses, parse_response_filter

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page, step: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"programme-{step}.png", full_page=True)


def quarter_before(today: date) -> tuple[date, date]:
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    month = start.month - 3
    first = date(start.year - (month < 1), (month - 1) % 12 + 1, 1)
    return first, date.fromordinal(start.toordinal() - 1)


def test_a_cx_lead_runs_a_survey_programme_from_the_browser(browser, demo_server, logins, tmp_path):
    base, db = demo_server
    manager = browser.new_context(base_url=base, viewport=DESKTOP, storage_state=logins["manager"],
                                  accept_downloads=True)
    manager.set_default_timeout(15_000)
    page = manager.new_page()

    # Build: the transactional CSAT starting point, a condition, German beside English, published.
    page.goto("/surveys/new")
    page.get_by_label("Transactional CSAT").check()
    page.get_by_label("Title").fill("After your repair")
    page.get_by_label("Key", exact=True).fill("repair-visit")
    page.get_by_label("Your organisation's name").fill("Northwind Outfitters")
    page.get_by_role("button", name="Create the draft and open it").click()
    page.wait_for_url("**/surveys/repair-visit/edit?version=1&new=1")
    comment = page.get_by_role("group", name="Question 4: comment")
    comment.get_by_label("Shown").select_option("csat")
    comment.get_by_label("Test").select_option("lte")
    comment.get_by_label("Value").fill("3")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/surveys/repair-visit/edit?version=2&new=1")
    page.get_by_role("link", name="Translations").click()
    page.get_by_label("Add a language").fill("de")
    page.get_by_role("button", name="Add the language").click()
    for path, text in GERMAN.items():
        page.locator(f'textarea[name="text|{path}|de"]').fill(text)
    page.get_by_role("button", name="Save the texts").click()
    page.wait_for_url("**/surveys/repair-visit/edit?version=3&new=1")
    page.get_by_role("button", name="Publish").click()
    page.wait_for_url("**/surveys/repair-visit/edit?version=3&new=0")
    shot(page, "1-built")

    # Answer it on a phone, in German, as a customer (no login).
    customer = browser.new_context(base_url=base, viewport=PHONE, is_mobile=True, has_touch=True, locale="de-DE")
    customer.set_default_timeout(15_000)
    survey = customer.new_page()
    survey.goto("/s/repair-visit?lang=de")
    expect(survey.get_by_text("Wie zufrieden sind Sie insgesamt mit der Unterstützung?")).to_be_visible()
    # A tap lands on the point's label, which covers its radio button, as on a real phone.
    survey.locator("label", has=survey.locator('input[name="q_csat"][value="2"]')).tap()
    survey.locator("label", has=survey.locator('input[name="q_resolved"][value="no"]')).tap()
    expect(survey.locator('input[name="q_resolved"][value="no"]')).to_be_checked()
    shot(survey, "2-answering-on-a-phone")
    assert survey.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The questions asked on a condition of this page's answers come on the next page (no JavaScript needed).
    survey.locator('button[type="submit"]').first.click()
    survey.locator('textarea[name="q_unresolved"]').fill("Der Techniker ist nicht gekommen.")
    survey.locator('textarea[name="q_comment"]').fill("Bitte rufen Sie mich an.")
    shot(survey, "3-the-conditional-questions")
    assert survey.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    survey.locator('button[type="submit"]').first.click()
    survey.wait_for_url("**/s/repair-visit/thanks**")
    customer.close()

    # Its results show the answer.
    page.goto("/surveys/repair-visit/results")
    expect(page.get_by_test_id("question-csat")).to_contain_text("1 answered")
    expect(page.get_by_test_id("headline-csat-csat")).to_contain_text("n = 1")
    expect(page.get_by_test_id("question-resolved")).to_contain_text("No")
    shot(page, "4-results-of-the-new-survey")

    # The post-purchase results, filtered to one segment and last quarter, from the filter bar.
    page.goto("/surveys/post-purchase/results")
    page.select_option("#period", "last-quarter")
    page.get_by_label("Segment", exact=True).select_option("segment=business")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**period=last-quarter**")
    assert "attribute=segment%3Dbusiness" in page.url
    today = datetime.now(ZoneInfo("UTC")).date()
    chosen = parse_response_filter(today=today, period="last-quarter", attribute=["segment=business"])
    with db.read() as db_session:
        kept = len(db_session.scalars(matching_responses(chosen, zone="UTC", survey="post-purchase")).all())
    assert kept > 0
    expect(page.get_by_test_id("results-scope")).to_contain_text(f"{kept:,}")
    shot(page, "5-post-purchase-filtered")

    # Compared with the quarter before: the tab keeps the filter and says which days each side covers.
    page.get_by_role("link", name="Compare").click()
    page.wait_for_url("**/surveys/post-purchase/compare?**")
    first, last = quarter_before(chosen.since)
    expect(page.get_by_test_id("compare-days")).to_contain_text(
        f"This period: {chosen.since} to {chosen.until}. Compared with: {first} to {last}")
    shot(page, "6-compared-with-the-quarter-before")

    # Exported as XLSX with the same filter, and read back with openpyxl.
    page.get_by_role("link", name="Export").click()
    page.wait_for_url("**/surveys/post-purchase/export?**")
    expect(page.get_by_test_id("export-count")).to_have_text(f"{kept:,}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    shot(page, "7-export")
    rows = list(load_workbook(saved, read_only=True)["Responses"].values)
    header = rows[0]
    assert len(rows) - 1 == kept
    assert {row[header.index("segment")] for row in rows[1:]} == {"business"}
    days = {str(row[header.index("submitted_at")])[:10] for row in rows[1:]}
    assert str(chosen.since) <= min(days) and max(days) <= str(chosen.until)
    manager.close()

"""The filtered pages and the export page on the demo workspace in real Chromium, at phone and desktop size (no
sideways scrolling, no serious axe violation, nothing the CSP blocks), and a filtered XLSX export downloaded by the
browser and opened with openpyxl."""

from __future__ import annotations

import pytest
from openpyxl import load_workbook

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_staff_pages import AXE, SIZES, demo_server, logins  # noqa: F401 (the fixtures, shared)

pytestmark = pytest.mark.browser
FILTERED = [
    "/dashboard?period=last-quarter&attribute=segment%3Dbusiness&answer=nps%3Adetractors",
    "/comments?period=last-12-months&answer=nps%3Apromoters",
    "/themes?survey=post-purchase&attribute=segment%3Dpremium",
    "/surveys/post-purchase/export?period=last-quarter&attribute=segment%3Dbusiness",
    "/surveys/post-purchase/export?since=31.12.2026",
]


@pytest.mark.parametrize("path", FILTERED, ids=[f"filtered-{index}" for index in range(len(FILTERED))])
def test_a_filtered_page_fits_a_phone_passes_axe_and_the_csp(browser, demo_server, logins, path):  # noqa: F811
    base, _ = demo_server
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, viewport in SIZES.items():
        context = browser.new_context(base_url=base, viewport=viewport, storage_state=logins["admin"],
                                      is_mobile=size_name == "phone", has_touch=size_name == "phone")
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message, seen=console: seen.append(message.text) if message.type == "error" else None)
        response = page.goto(path)
        assert response is not None and response.status == (400 if "31.12" in path else 200), path
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=SCREENSHOTS / f"filtered-{FILTERED.index(path)}-{size_name}.png", full_page=True)
        assert widths[0] <= widths[1], f"{path} at {size_name} is {widths[0]} px wide in a {widths[1]} px viewport"
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [f"{violation['id']}: {violation['help']}" for violation in result["violations"]
                   if violation["impact"] in ("serious", "critical")]
        assert not serious, f"{path} at {size_name}: " + " | ".join(serious)
        assert not [text for text in console if "Content Security Policy" in text or "Refused to" in text]
        context.close()


def test_the_filtered_responses_download_as_xlsx(browser, demo_server, logins, tmp_path):  # noqa: F811
    base, _ = demo_server
    context = browser.new_context(base_url=base, storage_state=logins["admin"], accept_downloads=True)
    page = context.new_page()
    page.goto("/surveys/post-purchase/export")
    page.select_option("#period", "last-quarter")
    page.get_by_label("Segment", exact=True).select_option("segment=business")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**period=last-quarter**")
    kept = int(page.get_by_test_id("export-count").inner_text().replace(",", ""))
    with page.expect_download() as download:
        page.get_by_role("link", name="Excel (XLSX)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("post-purchase-responses-") and saved.suffix == ".xlsx"
    book = load_workbook(saved, read_only=True)
    rows = list(book["Responses"].values)
    header = rows[0]
    assert 0 < kept == len(rows) - 1
    assert {row[header.index("segment")] for row in rows[1:]} == {"business"}
    assert "nps" in header and any(row[0] == "nps" for row in book["Questions"].values)
    context.close()

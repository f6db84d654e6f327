"""The scorecard, a measure and the list in real Chromium at phone and desktop width: they fit without sideways
scrolling, pass axe-core without a serious or critical violation, break no Content-Security-Policy rule, and a
manager reads a status within noise and opens the measure behind it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE
from tests.cases.loop_data import add_answers, month_of
from tests.helpers import PASSWORD
from tests.scorecard import builders as build
from tests.scorecard.test_views import LATEST, NPS, build_scorecard
from voxpop.analysis.periods import period_days, period_series

pytestmark = pytest.mark.browser
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WIDE = DESKTOP | {"viewport": {"width": 1366, "height": 900}}


def add_live_nps(db) -> None:
    """A live NPS measure on the loyalty objective: six months of answers, the last within noise of its target."""
    from sqlalchemy import select

    from tests.helpers import apply_survey
    from voxpop.scorecard.models import Objective

    apply_survey(db)
    for step, month in enumerate(period_series(LATEST, 6)):
        first, _ = period_days(month)
        add_answers(db, month_of(first.year, first.month, {10: 40 + step, 8: 40, 3: 20}))
    with db.write() as s:
        loyalty = s.scalar(select(Objective).where(Objective.key == "loyalty"))
        measure = build.measure(s, loyalty, "nps", source=NPS, position=3)
        measure.name = "Net Promoter Score"
        build.target(s, measure, LATEST, target=25, minimum=0, maximum=100)


def check_page(page, path: str) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{path} is {widths[0]} px wide in a {widths[1]} px viewport"
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [f"{violation['id']}: {violation['help']} — {json.dumps(violation['nodes'][0]['target'])}"
               for violation in result["violations"] if violation["impact"] in ("serious", "critical")]
    assert not serious, f"{path}: " + " | ".join(serious)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_manager_reads_the_scorecard_and_a_measure(db, open_context, screenshot, size):
    build_scorecard(db)
    add_live_nps(db)
    context = open_context(PHONE if size == "phone" else WIDE)
    context.add_init_script(path=str(AXE))  # through DevTools: the page's CSP neither blocks nor sees it
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if message.type == "error" and ("Content Security Policy" in message.text or "Refused to" in message.text)
            else None)
    page.goto("/login")
    page.fill("#email", "owner@example.com")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")

    page.goto("/scorecards")
    organisation = page.get_by_test_id("scorecard-org").get_by_role("link", name="Northwind")
    expect(organisation).to_be_visible()
    check_page(page, "/scorecards")
    screenshot(page, f"list-{size}")

    organisation.click()
    page.wait_for_url("**/scorecards/org")
    nps = page.get_by_test_id("measure-nps")
    expect(nps.get_by_text("Within noise of target")).to_be_visible()
    expect(nps.get_by_text("95% CI")).to_be_visible()
    expect(page.get_by_test_id("measure-empty").get_by_text(f"No data for {LATEST}")).to_be_visible()
    check_page(page, "/scorecards/org")
    screenshot(page, f"scorecard-{size}")

    nps.get_by_role("link", name="Net Promoter Score").click()
    page.wait_for_url("**/scorecards/org/measures/nps?period=*")
    expect(page.get_by_test_id("within-noise")).to_be_visible()
    expect(page.locator("figure.chart")).to_be_visible()
    check_page(page, "/scorecards/org/measures/nps")
    screenshot(page, f"measure-{size}")

    page.goto("/scorecards/org/measures/csat")
    expect(page.get_by_test_id("commentary")).to_contain_text("Add a carrier.")
    check_page(page, "/scorecards/org/measures/csat")
    screenshot(page, f"measure-commentary-{size}")
    assert not blocked, blocked

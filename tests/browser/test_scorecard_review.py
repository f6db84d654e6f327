"""Issue 15's review of the month in real Chromium, on a phone and on a desktop: a manager opens the scorecard and
sees a measure that would be red but is within noise of its target, opens the strategy map and reads the link's
verdict, writes the commentary in the review, locks the period, and exports the PDF, whose pages are turned into
PNGs (pdftoppm) and checked to hold ink; the screenshots and pages are kept to look at."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS
from tests.browser.test_scorecard_pages import add_live_nps
from tests.helpers import PASSWORD
from tests.scorecard import builders as build
from tests.scorecard.test_views import LATEST, build_scorecard
from voxpop.analysis.periods import period_series
from voxpop.scorecard.models import Commentary, Link, Measure, Objective, Perspective, Review, Scorecard

pytestmark = pytest.mark.browser
WIDE = DESKTOP | {"viewport": {"width": 1366, "height": 900}}


def add_skills_and_a_link(db) -> None:
    """A learning-and-growth objective with 18 months of a manual measure, linked to customer loyalty."""
    with db.write() as s:
        card = s.scalar(select(Scorecard).where(Scorecard.key == "org"))
        learning = s.scalar(select(Perspective).where(Perspective.scorecard_id == card.id,
                                                      Perspective.key == "learning"))
        skills = build.objective(s, learning, "skills")
        trained = build.measure(s, skills, "trained", unit="%")
        months = period_series(LATEST, 18)
        build.target(s, trained, months[0], target=80, minimum=0, maximum=100)
        build.values(s, trained, {month: 60 + (step * 7) % 25 for step, month in enumerate(months)})
        loyalty = s.scalar(select(Objective).where(Objective.scorecard_id == card.id, Objective.key == "loyalty"))
        s.add(Link(scorecard_id=card.id, cause_id=skills.id, effect_id=loyalty.id, polarity=1, lag=1,
                   strength="moderate"))


def pdf_pages_hold_ink(pdf: bytes, stem: str) -> list:
    """The PDF's pages as PNGs (kept beside the screenshots), each checked to be more than a blank page."""
    from PIL import Image

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{stem}.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(SCREENSHOTS / stem)], check=True, timeout=120)
    pages = sorted(SCREENSHOTS.glob(f"{stem}-*.png"))
    assert pages, "pdftoppm made no page"
    for png in pages:
        with Image.open(png) as image:
            grey = image.convert("L")
            inked = sum(count for level, count in enumerate(grey.histogram()) if level < 200)
            assert inked > 0.002 * grey.width * grey.height, f"{png.name} is blank"
    return pages


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_manager_reviews_the_month(db, open_context, screenshot, size):
    if not shutil.which("pdftoppm"):
        pytest.skip("the PDF check needs pdftoppm (Debian: poppler-utils)")
    build_scorecard(db)
    add_live_nps(db)
    add_skills_and_a_link(db)
    context = open_context(PHONE if size == "phone" else WIDE, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", "owner@example.com")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/dashboard")

    # The scorecard: NPS is below its target of 25 (red by its score), but the target lies inside its interval.
    page.goto("/scorecards/org")
    nps = page.get_by_test_id("measure-nps")
    expect(nps.get_by_text("Within noise of target")).to_be_visible()
    expect(nps.get_by_text("95% CI")).to_be_visible()
    screenshot(page, f"scorecard-{size}")

    # The strategy map: the link from skills to loyalty is drawn and tested, with a verdict in words.
    page.get_by_role("link", name="Strategy map").click()
    page.wait_for_url("**/scorecards/org/map*")
    expect(page.get_by_test_id("strategy-map").locator("svg")).to_be_visible()
    links = page.get_by_test_id("map-links")
    expect(links).to_contain_text("Skills")
    expect(links).to_contain_text("Loyalty")
    expect(links.get_by_text("not enough periods", exact=False).first).to_be_visible()
    screenshot(page, f"map-{size}")

    # The review: the owner's commentary on NPS, then the period locked.
    page.goto(f"/scorecards/org/review?period={LATEST}")
    review = page.get_by_test_id("review-nps")
    review.get_by_label("Analysis: what happened and why").fill("Detractors in the app <b>doubled</b>.")
    review.get_by_label("Recommendation: what to do next").fill("Call back app users within a day.")
    review.get_by_role("button", name="Save the commentary").click()
    expect(page.get_by_test_id("saved")).to_contain_text("Commentary saved.")
    page.get_by_test_id("lock-button").click()
    expect(page.get_by_test_id("saved")).to_contain_text(f"{LATEST} is locked.")
    screenshot(page, f"review-locked-{size}")

    page.goto(f"/scorecards/org?period={LATEST}")
    expect(page.get_by_test_id("locked")).to_be_visible()

    # The PDF of the locked period, downloaded as a user would, and its pages looked at.
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = pdf_pages_hold_ink(pdf, f"review-{size}-{db.url.get_backend_name()}")
    assert len(pages) >= 2  # the scorecard, then the strategy map

    with db.read() as s:
        note = s.scalar(select(Commentary).join(Measure, Measure.id == Commentary.measure_id)
                        .where(Commentary.period == LATEST, Measure.key == "nps"))
        assert note.analysis == "Detractors in the app <b>doubled</b>."
        assert s.scalar(select(Review).where(Review.period == LATEST)).locked_at is not None

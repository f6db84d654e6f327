"""Every staff page on the demo workspace, at phone and desktop size in real Chromium: no sideways scrolling,
no serious or critical accessibility violation (axe-core), and nothing the Content-Security-Policy blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
# (address, role that opens it). The 403 page is the Import page opened by a viewer: it must keep the menu.
PAGES = [
    ("/dashboard", "admin"),
    ("/customers", "admin"),
    ("/comments", "admin"),
    ("/comments?sentiment=negative", "analyst"),
    ("/themes", "admin"),
    ("/codebook", "admin"),
    ("/codebook/proposals", "admin"),
    ("/imports", "admin"),
    ("/surveys", "viewer"),
    ("/surveys?status=live&q=order", "admin"),
    ("/surveys/new", "manager"),
    ("/surveys/post-purchase/edit", "manager"),
    ("/surveys/post-purchase/translate", "manager"),
    ("/surveys/post-purchase/preview", "analyst"),
    ("/surveys/post-purchase/results", "viewer"),
    ("/surveys/post-purchase/results?period=last-quarter&attribute=segment=business&answer=nps:detractors", "analyst"),
    ("/surveys/post-purchase/compare?period=last-quarter", "analyst"),
    ("/surveys/post-purchase/compare?mode=segment&segment_by=region", "viewer"),
    ("/surveys/post-purchase/crosstab", "analyst"),
    ("/surveys/post-purchase/crosstab?row=delivery&column=channel", "analyst"),
    ("/surveys/post-purchase/drivers", "analyst"),
    ("/surveys/post-purchase/export", "analyst"),
    ("/users", "admin"),
    ("/users/new", "admin"),
    ("/departments", "admin"),
    ("/imports/merges?survey=post-purchase", "admin"),
    # Filtered views of the other pages, and a filter that cannot be read (a 400 page with the menu).
    ("/dashboard?period=last-quarter&attribute=segment%3Dbusiness&answer=nps%3Adetractors", "admin"),
    ("/customers?period=last-year", "analyst"),
    ("/comments?period=last-12-months&answer=nps%3Apromoters", "admin"),
    ("/themes?survey=post-purchase&attribute=segment%3Dpremium", "admin"),
    ("/surveys/post-purchase/export?period=last-quarter&attribute=segment%3Dbusiness", "admin"),
    ("/surveys/post-purchase/export?since=31.12.2026", "admin"),
    ("/imports", "viewer"),
    ("/api-reference", "analyst"),
    ("/login", None),
    ("/no-such-page", "agent"),
    # the closed loop (issue 14)
    ("/cases", "agent"),
    ("/cases?scope=all&status=new&status=in_progress&overdue=1", "manager"),
    ("/cases/1", "manager"),
    ("/cases/root-causes", "manager"),
    ("/cases/rules", "analyst"),
    ("/cases/rules/nps-detractor", "manager"),
    ("/cases/rules/apply", "admin"),
    ("/improvement", "manager"),
    ("/improvement", "agent"),
    ("/improvement/initiatives", "viewer"),
    ("/improvement/initiatives/new", "manager"),
    ("/improvement/initiatives/1", "manager"),
    ("/improvement/initiatives/2", "analyst"),
    ("/improvement/alerts", "manager"),
    ("/improvement/alerts/1", "manager"),
    ("/admin/webhooks", "admin"),
    ("/admin/mail", "admin"),
    ("/admin/audit", "admin"),  # the audit log (issue 17), and with filters that keep nothing
    ("/admin/audit?action=case.&until=2000-01-01", "admin"),
    ("/scorecards", "viewer"),
    ("/scorecards/northwind", "manager"),
    ("/scorecards/northwind?period=2026-13", "analyst"),
    ("/scorecards/northwind/measures/nps", "analyst"),
    ("/scorecards/northwind/map", "viewer"),
    ("/scorecards/northwind/review", "manager"),
    ("/scorecards/northwind/values", "manager"),
    ("/scorecards/northwind/edit", "admin"),
    ("/scorecards/northwind/schedules", "manager"),
    ("/scorecards/new", "manager"),
    ("/scorecards/customer-service", "agent"),
    ("/scorecards/nowhere", "viewer"),
    # listening wider (issue 16): contacts, sends and their log, non-response, sharing, qualitative sources
    ("/contacts", "admin"),
    ("/contacts?consent=no&reach=unreachable", "viewer"),
    ("/contacts/import", "manager"),
    ("/contacts/suppressions", "admin"),
    ("/contacts/samples", "manager"),
    ("/contacts/samples/1", "analyst"),
    ("/sends", "viewer"),
    ("/sends/new", "manager"),
    ("/sends/december-nps-wave", "manager"),
    ("/sends/december-nps-wave/dry-run", "manager"),
    ("/sends/december-nps-wave/log", "analyst"),
    ("/sends/december-nps-wave/funnel", "viewer"),
    ("/sends/rules", "admin"),
    ("/sends/triggers", "manager"),
    ("/surveys/post-purchase/funnel", "analyst"),
    ("/surveys/post-purchase/nonresponse", "analyst"),
    ("/surveys/post-purchase/nonresponse?weight=segment&weight=region", "manager"),
    ("/surveys/post-purchase/share", "manager"),
    ("/sources", "analyst"),
    ("/sources/{source}", "viewer"),
    ("/sources/themes", "analyst"),
    ("/themes/delivery/voices", "manager"),
    # a customer's data on request (issue 17)
    ("/privacy?q=%40", "admin"),
    ("/privacy/customers/1", "admin"),
    # staff accounts (issue 17): one's own account, and the roles that must sign in with a second factor
    ("/account", "viewer"),
    ("/admin/security", "admin"),
]


def _slug(path: str, role: str | None) -> str:
    return (path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home") + f"-{role or 'anonymous'}"


@pytest.mark.parametrize("path,role", PAGES, ids=[_slug(path, role) for path, role in PAGES])
def test_page_fits_a_phone_passes_axe_and_the_csp(browser, demo_server, logins, path, role):
    base, db = demo_server
    if "{source}" in path:  # a source's key carries the date it was held, which the demo sets from today
        from sqlalchemy import select

        from voxpop.qualitative.models import QualitativeSource

        with db.read() as db_session:
            path = path.replace("{source}", db_session.scalar(select(QualitativeSource.key).order_by(QualitativeSource.id)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for size_name, viewport in SIZES.items():
        context = browser.new_context(base_url=base, viewport=viewport, storage_state=logins.get(role),
                                      is_mobile=size_name == "phone", has_touch=size_name == "phone")
        # An init script comes in through the DevTools protocol, so the page's CSP neither blocks nor sees it.
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message, seen=console: seen.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error, seen=console: seen.append(str(error)))
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{path} answered {response and response.status}"
        page.wait_for_load_state("load")
        if path == "/api-reference":  # drawn by the vendored Swagger UI after the OpenAPI document arrives
            page.wait_for_selector(".opblock")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        page.screenshot(path=SCREENSHOTS / f"pages-{_slug(path, role)}-{size_name}.png", full_page=True)
        # A phone widens its layout viewport to fit what overflows, so the page is measured against the device's width.
        assert widths[0] <= widths[1] == viewport["width"], \
            f"{path} at {size_name} is {widths[0]} px wide in a {viewport['width']} px viewport"
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} — "
            + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else json.dumps(node["target"])
                        for node in violation["nodes"][:3])
            for violation in result["violations"] if violation["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{path} at {size_name}: " + " | ".join(serious)
        blocked = [text for text in console if "Content Security Policy" in text or "Refused to" in text]
        assert not blocked, f"{path} at {size_name}: the CSP blocked {blocked}"
        context.close()

"""Every staff page on the demo workspace, at phone and desktop size in real Chromium: no sideways scrolling,
no serious or critical accessibility violation (axe-core), and nothing the Content-Security-Policy blocks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import SCREENSHOTS, serving
from voxpop.demo.workspace import DEMO_PASSWORD, load_demo
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.text.flows import catch_up
from voxpop.web.app import create_app

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
    ("/surveys/post-purchase/crosstab", "analyst"),
    ("/surveys/post-purchase/drivers", "analyst"),
    ("/surveys/post-purchase/export", "analyst"),
    ("/users", "admin"),
    ("/users/new", "admin"),
    ("/departments", "admin"),
    ("/imports", "viewer"),
    ("/api-reference", "analyst"),
    ("/login", None),
    ("/no-such-page", "agent"),
]


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo workspace with its comments analysed, served on SQLite (the page checks need one backend)."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'voxpop.db'}"
    db = Database(url)
    upgrade(db.write_engine)
    load_demo(db)
    catch_up(db, keep_original=False)
    settings = Settings(data_dir=folder, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                        rate_limit_per_minute=10_000, text_worker=False)
    with serving(create_app(settings, db)) as address:
        yield address, db
    db.dispose()


@pytest.fixture(scope="module")
def logins(browser, demo_server):
    """A logged-in browser state per role, made once."""
    base, db = demo_server
    states = {}
    for role in {role for _, role in PAGES if role}:
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", f"{role}@northwind.example")
        page.fill("#password", DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/dashboard")
        states[role] = context.storage_state()
        context.close()
    return states


def _slug(path: str, role: str | None) -> str:
    return (path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-") or "home") + f"-{role or 'anonymous'}"


@pytest.mark.parametrize("path,role", PAGES, ids=[_slug(path, role) for path, role in PAGES])
def test_page_fits_a_phone_passes_axe_and_the_csp(browser, demo_server, logins, path, role):
    base, _ = demo_server
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

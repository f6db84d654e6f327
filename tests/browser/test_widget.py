"""The embeddable widget on a host page of another origin with a strict CSP, in Chromium at phone and desktop width;
its no-JavaScript fallback; and the share page (link, QR code) at both widths."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_journey import responses_recorded, scrolls_sideways
from tests.browser.test_survey_pages import AXE, check_page
from tests.collection.reach_survey import STORES
from tests.helpers import PASSWORD, apply_survey, make_user
from voxpop.collection.models import Answer, AttributeSetValue, Response

pytestmark = pytest.mark.browser

SIZES = {"phone": PHONE, "desktop": DESKTOP | {"viewport": {"width": 1366, "height": 768}}}
# Records what the host page's CSP refuses; added through DevTools, so the CSP neither blocks nor sees it.
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (event) => window.__violations.push(event.violatedDirective + " " + event.blockedURI));
"""


@contextmanager
def host_site(voxpop: str):
    """A shop's page on another origin, with a CSP that allows scripts and requests only from voxpop and styles
    only from itself: no inline script or style anywhere."""
    page = f"""<!doctype html>
<html lang="de"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Northwind Shop</title></head>
<body><main><h1>Ihre Bestellung ist unterwegs</h1>
<p><a class="voxpop-fallback" href="{voxpop}/s/instore?lang=de">Wie war Ihr Besuch?</a></p></main>
<script src="{voxpop}/widget.js" data-survey="instore" data-question="nps" data-attributes="store=Berlin&amp;channel=web" async></script>
</body></html>""".encode()
    policy = (f"default-src 'none'; script-src {voxpop}; connect-src {voxpop}; style-src 'self'; img-src 'self'; "
              "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def widget(page):
    return page.locator("[data-voxpop-widget]")


def slide_in(page) -> str:
    """The panel's animation, as the browser computes it for this visitor."""
    return page.evaluate("getComputedStyle(document.querySelector('[data-voxpop-widget]').shadowRoot"
                         ".querySelector('aside')).animationName")


def stored(db) -> list[tuple[str, int, list[tuple[str, str]]]]:
    with db.read() as db_session:
        rows = db_session.execute(select(Response.id, Response.channel, Answer.score)
                                  .join(Answer, Answer.response_id == Response.id)).all()
        return [(channel, score, sorted(db_session.execute(
            select(AttributeSetValue.name, AttributeSetValue.value).join(
                Response, Response.attribute_set_id == AttributeSetValue.set_id).where(Response.id == id_)).all()))
            for id_, channel, score in rows]


@pytest.mark.parametrize("size", SIZES)
def test_the_widget_answers_once_under_a_strict_csp(db, live_server, open_context, screenshot, size):
    apply_survey(db, STORES)
    context = open_context(SIZES[size], reduced_motion="reduce")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    console = []
    page.on("console", lambda message: console.append(message.text))
    # The first answer reaches voxpop, but its reply is lost on the way back: the widget offers to try again.
    lost = []

    def lose_first_reply(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/v1/surveys/instore/widget", lose_first_reply)
    with host_site(live_server) as shop:
        page.goto(shop)
        panel = widget(page)
        expect(panel.get_by_text("Wie wahrscheinlich empfehlen Sie uns?")).to_be_visible()
        expect(page.get_by_role("link", name="Wie war Ihr Besuch?")).to_be_hidden()
        # The visitor asked for reduced motion: the panel does not slide in, it is simply there.
        assert slide_in(page) == "none"
        box = panel.locator("aside").bounding_box()
        viewport = SIZES[size]["viewport"]
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"] + 0.5
        assert box["y"] + box["height"] <= viewport["height"] + 0.5
        assert not scrolls_sideways(page)
        screenshot(page, f"{size}-1-widget")

        nine = panel.get_by_role("button", name="9", exact=True)
        nine.click()
        nine.click(force=True)  # a second tap on the now disabled button sends nothing more
        retry = panel.get_by_role("button", name="Erneut versuchen")
        expect(retry).to_be_visible()
        assert lost == [201] and responses_recorded(db) == 1
        retry.focus()
        page.keyboard.press("Enter")  # by keyboard: the same answer, with the same key
        expect(panel.get_by_text("Vielen Dank!")).to_be_focused()
        screenshot(page, f"{size}-2-thanks")
        assert stored(db) == [("widget", 9, [("channel", "web"), ("store", "Berlin")])]

        assert page.evaluate("window.__violations") == []
        assert not [text for text in console if "Content Security Policy" in text], console
        page.reload()  # answered: the widget stays away, the plain link is back
        expect(page.get_by_role("link", name="Wie war Ihr Besuch?")).to_be_visible()
        expect(widget(page)).to_have_count(0)


def test_the_widget_closes_by_button_or_escape(db, live_server, open_context):
    apply_survey(db, STORES)
    with host_site(live_server) as shop:
        for how in ("button", "escape"):
            page = open_context(PHONE).new_page()
            page.goto(shop)
            close = widget(page).get_by_role("button", name="Schließen")
            expect(close).to_be_visible()
            assert slide_in(page) == "rise"  # no reduced motion asked for: it slides in
            if how == "button":
                close.click()
            else:
                close.focus()
                page.keyboard.press("Escape")
            expect(widget(page)).to_have_count(0)
            expect(page.get_by_role("link", name="Wie war Ihr Besuch?")).to_be_visible()
    assert responses_recorded(db) == 0


def test_without_javascript_the_fallback_link_opens_the_survey(db, live_server, open_context):
    apply_survey(db, STORES)
    page = open_context(PHONE, java_script_enabled=False).new_page()
    with host_site(live_server) as shop:
        page.goto(shop)
        page.get_by_role("link", name="Wie war Ihr Besuch?").click()
        expect(page).to_have_url(f"{live_server}/s/instore?lang=de")
        expect(page.get_by_role("group", name="Wie wahrscheinlich empfehlen Sie uns?")).to_be_visible()


def test_the_share_page_shows_the_link_and_its_code(db, settings, open_context, screenshot):
    apply_survey(db, STORES)
    email = make_user(db, "analyst")
    for size, options in SIZES.items():
        context = open_context(options)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.goto("/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/surveys/instore/share")
        page.get_by_label("Store").select_option("München")
        page.get_by_label("Channel").fill("Tisch 7")
        page.get_by_role("button", name="Make the link").click()
        link = page.get_by_label("Public link")
        expect(link).to_have_value(f"{settings.public_url}/s/instore?channel=Tisch+7&store=M%C3%BCnchen")
        code = page.get_by_test_id("share-qr")
        expect(code).to_be_visible()
        # visible is not loaded: decode() waits for the picture (and fails the test if it is broken)
        assert code.evaluate("async image => { await image.decode(); return image.naturalWidth }") > 100
        check_page(page, screenshot, f"{size}-share")
        context.close()

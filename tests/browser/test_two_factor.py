"""Two-factor sign-in in real Chromium, at phone and desktop size: the set-up page shows its QR code (a data: image
the CSP allows), the recovery codes page, and the code asked after the password; each fits the screen, passes
axe and has nothing the Content-Security-Policy blocks."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest

from tests.browser.conftest import DESKTOP, PHONE
from tests.helpers import PASSWORD, make_user

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def check(page, blocked: list[str], name: str, screenshot) -> None:
    """The page fits its viewport, has no serious axe violation and nothing blocked by the CSP."""
    screenshot(page, name)
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{name} is {widths[0]} px wide in {widths[1]} px"
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [violation["id"] for violation in result["violations"] if violation["impact"] in ("serious", "critical")]
    assert not serious, f"{name}: {serious}"
    assert not [text for text in blocked if "Content Security Policy" in text or "Refused to" in text]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_setting_up_and_signing_in_with_a_code(db, open_context, screenshot, size):
    email = make_user(db, "analyst")
    context = open_context(PHONE if size == "phone" else DESKTOP)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if message.type == "error" else None)

    def log_in():
        page.goto("/login")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")

    log_in()
    page.goto("/account")
    page.click("text=Set up two-factor sign-in")
    page.wait_for_url("**/account/2fa")
    # the QR code is drawn (decode() waits for the picture, which may come after the page's load)
    drawn = "async () => { const qr = document.querySelector('img.qr'); await qr.decode(); return qr.naturalWidth }"
    assert page.evaluate(drawn) > 0
    check(page, blocked, f"{size}-setup", screenshot)
    secret = page.inner_text("[data-testid=secret]").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("text=Turn on")
    codes = re.findall(r"[0-9a-f]{8}-[0-9a-f]{8}", page.inner_text("[data-testid=recovery-codes]"))
    assert len(codes) == 10
    check(page, blocked, f"{size}-recovery-codes", screenshot)

    context.clear_cookies()
    log_in()
    page.wait_for_url("**/login/code")
    check(page, blocked, f"{size}-code", screenshot)
    page.fill("#code", codes[0])
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")

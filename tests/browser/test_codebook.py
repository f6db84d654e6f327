"""A manager edits the codebook in the browser: preview, save, and the comments carry the new theme."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP
from tests.helpers import PASSWORD, make_user
from tests.text.stored import analyse, submit

pytestmark = pytest.mark.browser


def test_a_manager_previews_and_saves_a_theme_and_finds_its_comments(db, open_context, screenshot):
    submit(db, {"nps": 3, "why_low": "No parking anywhere <i>near</i> the shop"})
    analyse(db)
    page = open_context(DESKTOP).new_page()
    page.goto("/login")
    page.get_by_label("E-mail").fill(make_user(db, "manager"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Codebook").click()
    editor = page.get_by_label("Codebook (YAML)")
    editor.fill(editor.input_value() + "- key: parking\n  label: parking\n  phrases: [parking, car park]\n")
    page.get_by_label("What changed and why").fill("customers mention parking")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview")).to_contain_text("parking")
    expect(page.get_by_text("1 would get different themes")).to_be_visible()
    screenshot(page, "preview")
    page.get_by_role("button", name="Save as version 1").click()
    expect(page.get_by_test_id("saved")).to_have_text(
        "Saved version 1. Comments are re-tagged with it in the background.")
    expect(page.get_by_role("row").filter(has_text="customers mention parking")).to_contain_text("manager@example.com")
    analyse(db)  # what the server's worker does a few seconds later
    page.goto("/comments?theme=parking")
    expect(page.get_by_text("No parking anywhere <i>near</i> the shop")).to_be_visible()
    screenshot(page, "comments")

"""No page carries an inline style or script: the Content-Security-Policy (style-src/script-src 'self') would
block it in the browser, and the page would break there while looking fine in a test client."""

from __future__ import annotations

import re

from tests.helpers import apply_survey, login, make_user
from voxpop.collection import flows
from voxpop.text.flows import catch_up
from voxpop.web.routing import flatten

INLINE_STYLE = re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def page_paths(app) -> list[str]:
    """Every HTML page without a path parameter (the JSON API and the public survey pages aside)."""
    return sorted({
        path for path, route in flatten(app.routes)
        if "GET" in getattr(route, "methods", ()) and not getattr(route, "include_in_schema", True)
        and "{" not in path and path not in ("/", "/favicon.ico")
    })


def test_no_page_has_an_inline_style_or_script(client, db):
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    for score, comment in [(2, "Late delivery and nobody called back"), (10, "Great tent, fast shipping"), (7, "")]:
        answers = {"nps": score, "csat": 4} | ({"why_low" if score <= 6 else "why_high": comment} if comment else {})
        flows.record_response(db, survey, flows.Submission(answers=answers, channel="api"), max_text_length=5000)
    catch_up(db, keep_original=False)
    login(client, make_user(db, "admin"))
    paths = page_paths(client.app) + ["/no-such-page"]
    assert {"/dashboard", "/comments", "/themes", "/codebook", "/imports", "/customers", "/login"} <= set(paths)
    for path in paths:
        html = client.get(path).text
        for name, pattern in [("inline style", INLINE_STYLE), ("<style> element", STYLE_ELEMENT),
                              ("inline script", INLINE_SCRIPT), ("event handler attribute", EVENT_HANDLER)]:
            found = pattern.search(html)
            assert found is None, f"{path} has an {name}: {html[max(0, found.start() - 80):found.end() + 80]!r}"

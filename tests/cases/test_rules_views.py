"""The rules pages: every staff role reads them, only admins and managers change them (with the CSRF token),
bad input is a sentence at its field and never a 500, and each page has its JSON twin and CSV."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.cases.test_rules import RULES, apply_text, shop
from tests.helpers import csrf_from, login, make_user
from voxpop.cases.models import CaseRule


def logged_in(client, db, role: str):
    make_user(db, role)
    login(client, f"{role}@example.com")
    return client


@pytest.mark.parametrize("role", ["admin", "manager", "analyst", "agent", "viewer"])
def test_every_staff_role_reads_the_rules(client, db, role):
    shop(db)
    apply_text(db, RULES)
    logged_in(client, db, role)
    page = client.get("/cases/rules")
    assert page.status_code == 200
    assert "Detractor in the shop survey" in page.text and "nps is 0-6" in page.text
    assert "Late delivery" in page.text and "channel" in page.text  # root causes and routes, read-only
    assert ("Pause" in page.text) == (role in ("admin", "manager"))
    assert client.get("/cases/rules/detractor").status_code == 200
    listed = client.get("/api/v1/cases/rules").json()
    assert [rule["key"] for rule in listed["rules"]] == ["detractor", "unhappy"]
    assert listed["policy"]["assignment"] == "round-robin" and listed["routes"][0]["department"] == "Digital"
    if role not in ("admin", "manager"):
        assert client.get("/cases/rules/apply").status_code == 403
        refused = client.post("/cases/rules/detractor/pause", data={"csrf_token": csrf_from(page.text)})
        assert refused.status_code == 403 and "may not do this" in refused.text


def test_pages_need_a_login(client, db):
    assert client.get("/cases/rules", follow_redirects=False).status_code in (302, 303)
    assert client.get("/api/v1/cases/rules").status_code == 401
    assert client.get("/api/v1/cases/rules/detractor").status_code == 401


def test_pausing_and_resuming_needs_the_csrf_token_and_is_audited(client, db):
    shop(db)
    apply_text(db, RULES)
    logged_in(client, db, "manager")
    page = client.get("/cases/rules")
    assert client.post("/cases/rules/detractor/pause", data={"csrf_token": "forged"}).status_code == 403
    done = client.post("/cases/rules/detractor/pause", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert done.status_code == 303
    with db.read() as db_session:
        paused = db_session.scalar(select(CaseRule).where(CaseRule.key == "detractor"))
        assert paused.paused
        before = paused.active_from
    page = client.get("/cases/rules?saved=paused")
    assert "Rule paused" in page.text and "Resume" in page.text
    client.post("/cases/rules/detractor/resume", data={"csrf_token": csrf_from(page.text)})
    with db.read() as db_session:
        resumed = db_session.scalar(select(CaseRule).where(CaseRule.key == "detractor"))
        assert not resumed.paused and resumed.active_from > before
    assert client.post("/cases/rules/nope/pause", data={"csrf_token": csrf_from(page.text)}).status_code == 404


def test_a_rules_file_is_checked_then_applied_on_the_page(client, db):
    shop(db)
    logged_in(client, db, "admin")
    token = csrf_from(client.get("/cases/rules/apply").text)
    checked = client.post("/cases/rules/apply", data={"csrf_token": token, "text": RULES, "action": "check"})
    assert checked.status_code == 200
    assert "rule detractor: new" in checked.text and "Apply these changes" in checked.text
    with db.read() as db_session:
        assert db_session.scalars(select(CaseRule)).all() == []  # a check changes nothing
    mark = re.search(r'name="checked" value="([0-9a-f]+)"', checked.text).group(1)
    # A file edited after its check is checked again, not applied unseen.
    edited = client.post("/cases/rules/apply", data={"csrf_token": token, "text": RULES + "\n# edited",
                                                     "action": "apply", "checked": mark})
    assert edited.status_code == 200 and "changed since it was checked" in edited.text
    with db.read() as db_session:
        assert db_session.scalars(select(CaseRule)).all() == []
    applied = client.post("/cases/rules/apply", data={"csrf_token": token, "text": RULES, "action": "apply",
                                                      "checked": mark}, follow_redirects=False)
    assert applied.status_code == 303 and applied.headers["location"] == "/cases/rules?saved=applied"
    with db.read() as db_session:
        assert len(db_session.scalars(select(CaseRule)).all()) == 2
    uploaded = client.post("/cases/rules/apply", data={"csrf_token": token, "action": "check"},
                           files={"upload": ("rules.yaml", RULES.encode(), "text/yaml")})
    assert uploaded.status_code == 200 and "Nothing would change" in uploaded.text


@pytest.mark.parametrize(("text", "words"), [
    ("rules: [", "not valid YAML"),
    ("rules: [{key: a, name: A, survey: shop, when: {answer: ['nps:0-11']}}]", "the NPS scale is 0-10"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:0-6']}, department: Billing}]", "no department called"),
    ("", "Paste a rules file"),
])
def test_a_bad_rules_file_is_shown_with_its_problems_not_a_500(client, db, text, words):
    shop(db)
    logged_in(client, db, "admin")
    token = csrf_from(client.get("/cases/rules/apply").text)
    answer = client.post("/cases/rules/apply", data={"csrf_token": token, "text": text, "action": "apply"})
    assert answer.status_code == 422
    assert words in answer.text and 'aria-invalid="true"' in answer.text
    bad_upload = client.post("/cases/rules/apply", data={"csrf_token": token, "action": "check"},
                             files={"upload": ("rules.yaml", b"\xff\xfe\x00", "text/yaml")})
    assert bad_upload.status_code == 422 and "UTF-8" in bad_upload.text
    too_big = client.post("/cases/rules/apply", data={"csrf_token": token, "action": "check"},
                          files={"upload": ("rules.yaml", b"#" * 200_001, "text/yaml")})
    assert too_big.status_code == 422 and "at most 200 kB" in too_big.text


def test_the_rule_page_previews_history_with_its_json_twin_and_csv(client, db):
    shop(db)
    apply_text(db, RULES)
    logged_in(client, db, "viewer")
    page = client.get("/cases/rules/detractor?since=2026-01-05&until=2026-03-01")
    assert page.status_code == 200 and "would have opened" in page.text and "<svg" in page.text
    detail = client.get("/api/v1/cases/rules/detractor?since=2026-01-05&until=2026-03-01").json()
    assert detail["rule"]["key"] == "detractor" and len(detail["preview"]["weeks"]) == 8
    assert detail["preview"]["last_month"] == "2026-02-01"
    csv = client.get("/cases/rules/detractor?since=2026-01-05&until=2026-03-01&format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and csv.text.startswith("week,cases\n2026-01-05,0")
    assert client.get("/cases/rules?format=csv").text.startswith("key,name,survey,conditions")


@pytest.mark.parametrize("query", ["since=2026-13-01", "since=2026-05-01&until=2026-04-01", "until=yesterday"])
def test_unreadable_preview_days_are_a_sentence_at_the_field(client, db, query):
    shop(db)
    apply_text(db, RULES)
    logged_in(client, db, "viewer")
    page = client.get(f"/cases/rules/detractor?{query}")
    assert page.status_code == 400 and "These days cannot be read" in page.text
    problem = client.get(f"/api/v1/cases/rules/detractor?{query}")
    assert problem.status_code == 422 and problem.headers["content-type"].startswith("application/problem+json")


def test_an_unknown_rule_is_404(client, db):
    logged_in(client, db, "viewer")
    assert client.get("/cases/rules/nope").status_code == 404
    assert client.get("/api/v1/cases/rules/nope").status_code == 404
    assert client.get("/cases/rules/NOT A KEY").status_code in (400, 404, 422)


def test_the_rules_pages_carry_no_inline_style_or_script(client, db):
    from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT

    shop(db)
    apply_text(db, RULES)
    logged_in(client, db, "admin")
    token = csrf_from(client.get("/cases/rules/apply").text)
    pages = [client.get(path).text for path in ("/cases/rules", "/cases/rules/detractor", "/cases/rules/apply",
                                                 "/cases/rules/detractor?since=nope")]
    pages.append(client.post("/cases/rules/apply", data={"csrf_token": token, "text": RULES}).text)
    pages.append(client.post("/cases/rules/apply", data={"csrf_token": token, "text": "rules: ["}).text)
    for html in pages:
        for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
            assert pattern.search(html) is None

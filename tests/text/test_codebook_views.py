"""The codebook page and API: everyone reads, admins and managers edit with a preview, proposals are accepted."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.text.stored import analyse, submit
from voxpop.accounts.models import AuditEntry
from voxpop.text.codebook import DEFAULT_CODEBOOK_YAML, add_theme
from voxpop.text.models import CodebookVersion

PARKING = add_theme(DEFAULT_CODEBOOK_YAML, {"key": "parking", "phrases": ["parking"]})
HOSTILE = "<script>alert(1)</script> the playground for kids is <b>tiny</b>"


def as_role(client, db, role: str) -> str:
    make_user(db, role)
    login(client, f"{role}@example.com")
    return csrf_from(client.get("/codebook").text)


def versions(db) -> list[int]:
    with db.read() as db_session:
        return list(db_session.scalars(select(CodebookVersion.version).order_by(CodebookVersion.version)))


def test_staff_read_the_codebook_but_only_admins_and_managers_change_it(client, db):
    token = as_role(client, db, "viewer")
    page = client.get("/codebook")
    assert page.status_code == 200 and "wait_time" in page.text and 'name="definition"' not in page.text
    assert "Only admins and managers change the codebook" in page.text
    refused = client.post("/codebook", data={"csrf_token": token, "definition": PARKING, "base_version": 0,
                                             "action": "save"})
    assert refused.status_code == 403 and versions(db) == []
    assert client.put("/api/v1/codebook", json={"definition": PARKING, "base_version": 0},
                      headers={"X-CSRF-Token": token}).status_code == 403


def test_a_manager_previews_then_saves_a_new_version_which_is_audited(client, db):
    submit(db, {"nps": 3, "why_low": "No parking anywhere near the shop"})
    analyse(db)
    token = as_role(client, db, "manager")
    assert 'name="definition"' in client.get("/codebook").text
    preview = client.post("/codebook", data={"csrf_token": token, "definition": PARKING, "base_version": 0,
                                             "note": "parking", "action": "preview"})
    assert preview.status_code == 200 and versions(db) == []
    assert "1 would get different themes" in preview.text and "<code>parking</code>" in preview.text
    saved = client.post("/codebook", data={"csrf_token": token, "definition": PARKING, "base_version": 0,
                                           "note": "parking", "action": "save"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/codebook?saved=1" and versions(db) == [1]
    page = client.get("/codebook?saved=1").text
    assert "Saved version 1" in page and "1 comments still wait to be re-tagged" in page
    with db.read() as db_session:
        target, details = db_session.execute(select(AuditEntry.target, AuditEntry.details)
                                             .where(AuditEntry.action == "codebook.save")).one()
    assert target == "1" and details["note"] == "parking"


def test_a_broken_or_outdated_codebook_is_refused_and_the_draft_is_kept(client, db):
    token = as_role(client, db, "admin")
    broken = "themes:\n- key: parking\n  phrases: [parking\n<script>x</script>"
    refused = client.post("/codebook", data={"csrf_token": token, "definition": broken, "base_version": 0,
                                             "action": "save"})
    assert refused.status_code == 400 and "cannot be read at line" in refused.text
    assert "phrases: [parking\n&lt;script&gt;x&lt;/script&gt;</textarea>" in refused.text and versions(db) == []
    client.post("/codebook", data={"csrf_token": token, "definition": PARKING, "base_version": 0, "action": "save"})
    stale = client.post("/codebook", data={"csrf_token": token, "definition": DEFAULT_CODEBOOK_YAML,
                                           "base_version": 0, "action": "save"})
    assert stale.status_code == 409 and "Version 1 was saved after you opened version 0" in stale.text
    assert "- key: wait_time" in stale.text and versions(db) == [1]
    restore = client.get("/codebook?load=0")
    assert restore.status_code == 200 and "back to version 0" in restore.text and "- key: parking" not in restore.text
    assert client.get("/codebook?load=7").status_code == 404
    forged = client.post("/codebook", data={"definition": PARKING, "base_version": 1, "action": "save"})
    assert forged.status_code == 403 and versions(db) == [1]


def test_the_api_reads_and_writes_versions_with_problems_for_bad_input(client, db):
    token = as_role(client, db, "manager")
    current = client.get("/api/v1/codebook").json()
    assert current["version"] == 0 and current["definition"] == DEFAULT_CODEBOOK_YAML
    assert {"key": "delivery.late", "label": "late delivery", "description": "", "depth": 1} in current["themes"]
    headers = {"X-CSRF-Token": token}
    bad = client.put("/api/v1/codebook", json={"definition": "themes: 3", "base_version": 0}, headers=headers)
    assert bad.status_code == 422 and "themes" in bad.json()["detail"]
    assert client.put("/api/v1/codebook", json={"definition": PARKING, "base_version": 0},
                      headers=headers).json() == {"version": 1}
    conflict = client.put("/api/v1/codebook", json={"definition": PARKING, "base_version": 0}, headers=headers)
    assert conflict.status_code == 409
    assert client.get("/api/v1/codebook").json()["history"][0]["version"] == 1


@pytest.fixture
def untagged(db):
    for index in range(8):
        submit(db, {"nps": 6, "why_low": f"The playground for kids is too small, visit {index}"})
        submit(db, {"nps": 7, "why_low": f"Toilets were dirty and the toilets smelled, visit {index}"})
    submit(db, {"nps": 5, "why_low": HOSTILE})
    analyse(db)


def test_proposals_are_escaped_and_a_manager_accepts_one_as_edited(client, db, untagged):
    token = as_role(client, db, "manager")
    page = client.get("/codebook/proposals")
    assert page.status_code == 200 and "playground" in page.text and "toilets" in page.text
    assert "<script>alert(1)</script>" not in page.text and "<b>tiny</b>" not in page.text
    api = client.get("/api/v1/codebook/proposals").json()
    assert api["searched_comments"] == 17 and api["proposals"][0]["size"] >= 8
    accepted = client.post("/codebook/themes", data={
        "csrf_token": token, "base_version": 0, "key": "facilities", "label": "toilets and play areas",
        "phrases": "toilets\nplayground", "parent": "", "terms": "toilets, dirty"}, follow_redirects=False)
    assert accepted.status_code == 303 and versions(db) == [1]
    assert "- key: facilities" in client.get("/api/v1/codebook").json()["definition"]
    analyse(db)
    listed = client.get("/api/v1/comments?theme=facilities&limit=100").json()["comments"]
    assert len(listed) == 17
    with db.read() as db_session:
        assert db_session.scalar(select(AuditEntry.action).where(AuditEntry.target == "1")) == "codebook.accept"


def test_accepting_a_clashing_theme_keeps_what_was_typed(client, db, untagged):
    token = as_role(client, db, "manager")
    clash = client.post("/codebook/themes", data={
        "csrf_token": token, "base_version": 0, "key": "price", "phrases": "toilets <i>x</i>", "terms": "toilets"})
    assert clash.status_code == 400 and "repeated: price" in clash.text
    assert re.search(r'name="phrases"[^>]*>toilets &lt;i&gt;x&lt;/i&gt;</textarea>', clash.text)
    empty = client.post("/codebook/themes", data={"csrf_token": token, "base_version": 0, "key": "toilets"})
    assert empty.status_code == 400 and "at least one phrase" in empty.text and versions(db) == []
    viewer_token = as_role(client, db, "viewer")
    assert client.post("/codebook/themes", data={"csrf_token": viewer_token, "base_version": 0, "key": "x",
                                                 "phrases": "x"}).status_code == 403

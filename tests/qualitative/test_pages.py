"""The sources' pages and JSON twins: the import form, a session's turns escaped, corrections, and the qualitative
view of a theme with a focus-group quote beside the survey comments on it."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.qualitative.conftest import FOCUS_GROUP, import_focus_group
from tests.text.stored import analyse, submit
from voxpop.accounts.models import AuditEntry
from voxpop.qualitative.models import Participant, Turn
from voxpop.text.codebooks import save_codebook

INTERVIEW = ("[00:00:03] Interviewer: How did the sign-up go?\n"
             "[00:00:09] Dana: The payment page kept rejecting my card. Write to dana@example.com.\n")


def staff(client, db, role: str) -> str:
    make_user(db, role)
    login(client, f"{role}@example.com")
    return csrf_from(client.get("/sources").text)


def upload(client, token: str, *, data: str = INTERVIEW, name: str = "dana.txt", **fields):
    form = {"csrf_token": token, "kind": "interview", "title": "Interview with Dana", "held_on": "2026-11-24",
            "moderator": "", "participants": "Dana=segment:consumer"} | fields
    return client.post("/sources", data=form, files={"file": (name, data.encode(), "text/plain")},
                       follow_redirects=False)


def test_an_analyst_imports_a_transcript_through_the_form(client, db):
    token = staff(client, db, "analyst")
    answer = upload(client, token)
    assert answer.status_code == 303 and answer.headers["location"] == "/sources/2026-11-24-interview-with-dana"
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    assert "Interview with Dana" in page.text and "dana@example.com" not in page.text and "[email]" in page.text
    assert "Redacted: email" in page.text and "Sentiment not scored (the moderator" in page.text
    listed = client.get("/sources")
    assert 'href="/sources/2026-11-24-interview-with-dana"' in listed.text
    assert client.get("/api/v1/sources").json()["sources"][0]["turns"] == 2
    with db.read() as db_session:
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "source.import"))
        assert entry.target == "2026-11-24-interview-with-dana"


def test_a_bad_transcript_is_refused_naming_the_line_and_keeping_the_form(client, db):
    token = staff(client, db, "manager")
    answer = upload(client, token, data="WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>hi\n\n14\nno time\n",
                    name="bad.vtt", title="Kept <title>")
    assert answer.status_code == 400
    assert "Line 7: a cue without a time range" in answer.text and 'href="#file"' in answer.text
    assert 'value="Kept &lt;title&gt;"' in answer.text
    answer = upload(client, token, held_on="20.11.2026")
    assert answer.status_code == 400 and "The date must be a day such as 2026-11-20" in answer.text
    answer = upload(client, token, participants="Zed=NW-1")
    assert answer.status_code == 400 and "&#39;Zed&#39; does not speak in this transcript" in answer.text
    problem = client.post("/api/v1/sources", data={"kind": "podcast", "title": "x", "held_on": "2026-11-20"},
                          files={"file": ("a.txt", b"Anna: hi", "text/plain")}, headers={"X-CSRF-Token": token})
    assert problem.status_code == 422 and problem.json()["errors"][0]["field"] == "kind"
    assert client.get("/api/v1/sources").json()["sources"] == []


def test_viewers_read_but_may_not_import_or_correct(client, db, focus_group):
    token = staff(client, db, "viewer")
    page = client.get("/sources")
    assert page.status_code == 200 and 'action="/sources"' not in page.text
    assert upload(client, token).status_code == 403
    assert "Correct a theme" not in client.get(f"/sources/{focus_group.key}").text


def test_forms_need_the_csrf_token(client, db):
    staff(client, db, "admin")
    assert upload(client, "forged").status_code in (400, 403)


def test_customer_text_is_escaped_on_every_page(client, db, focus_group):
    staff(client, db, "viewer")
    for path in (f"/sources/{focus_group.key}", "/themes/staff/voices"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert" not in page.text
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    turns = client.get(f"/api/v1/sources/{focus_group.key}").json()["turns"]
    assert turns[3]["text"].startswith("<script>")  # JSON carries the text as it is; pages escape it


def test_the_session_page_filters_by_theme_and_speaker(client, db, focus_group):
    staff(client, db, "viewer")
    page = client.get(f"/sources/{focus_group.key}?theme=delivery")
    assert "five days late" in page.text and "crashed at checkout" not in page.text
    detail = client.get(f"/api/v1/sources/{focus_group.key}", params={"speaker": "Anna"}).json()
    assert [turn["speaker"] for turn in detail["turns"]] == ["Anna"] and detail["total_turns"] == 4
    participants = {person["label"]: person for person in detail["participants"]}
    assert participants["Anna"]["customer"] == "NW-000001" and participants["Ben"]["segment"] == "business"
    assert client.get("/sources/nope").status_code == 404
    assert client.get("/api/v1/sources/nope").status_code == 404


def test_a_correction_changes_the_turns_themes_and_is_audited(client, db, focus_group):
    token = staff(client, db, "analyst")
    with db.read() as db_session:
        cara = db_session.scalar(select(Turn.id).join(Participant).where(Participant.label == "Cara"))
    answer = client.post(f"/sources/{focus_group.key}/turns/{cara}/themes",
                         data={"csrf_token": token, "theme": "quality", "present": "true",
                               "back": "https://evil.example/"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/sources/{focus_group.key}#turn-{cara}"
    detail = client.get(f"/api/v1/sources/{focus_group.key}", params={"theme": "quality"}).json()
    assert [turn["speaker"] for turn in detail["turns"]] == ["Cara"]
    assert ("quality", "correction") in {(tag["theme"], tag["source"]) for tag in detail["turns"][0]["themes"]}
    assert 'data-testid="outdated"' not in client.get(f"/sources/{focus_group.key}").text
    with db.write() as db_session:
        save_codebook(db_session, "themes:\n- key: quality\n  phrases: [staff]\n", base_version=0)
    assert "4 of these turns were themed by an earlier codebook" in client.get(f"/sources/{focus_group.key}").text
    refused = client.post(f"/api/v1/sources/{focus_group.key}/turns/{cara}/themes", json={"theme": "nope",
                          "present": True}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 422
    with db.read() as db_session:
        assert db_session.scalar(select(AuditEntry.target).where(AuditEntry.action == "source.turn.theme")) == \
            f"{focus_group.key}/{cara}"


def test_the_qualitative_view_shows_a_focus_group_quote_beside_survey_comments_on_the_theme(client, db, focus_group):
    submit(db, {"nps": 3, "why_low": "The parcel arrived a week late, again."})
    submit(db, {"nps": 4, "why_low": "Late delivery and the tracking showed nothing."})
    submit(db, {"nps": 10, "why_high": "Lovely friendly staff."})
    analyse(db)
    staff(client, db, "viewer")
    page = client.get("/themes/delivery/voices")
    assert page.status_code == 200
    quotes = page.text[page.text.index('data-testid="session-quotes"'):]
    assert "My parcel arrived five days late" in quotes and "[phone]" in quotes
    assert "App release focus group" in quotes and "2026-11-20" in quotes and "customer" not in quotes.split("</li>")[0]
    assert "segment business" in quotes
    examples = page.text[page.text.index('data-testid="survey-examples"'):]
    assert "The parcel arrived a week late, again." in examples and "Lovely friendly staff" not in examples
    voices = client.get("/api/v1/themes/delivery/voices").json()
    assert voices["surveys"]["analysed_comments"] == 3 and voices["surveys"]["comments"] == 2
    assert voices["surveys"]["share"]["value"] == 2 / 3 * 100 and voices["surveys"]["share"]["low_base"]
    assert voices["sessions"] | {"quotes": None, "sentiment": None} == {
        "sessions": 1, "all_sessions": 1, "participants": 1, "all_participants": 3, "turns": 1, "quotes": None,
        "sentiment": None}
    quote = voices["sessions"]["quotes"][0]
    assert (quote["speaker"], quote["segment"], quote["source"], quote["held_on"]) == \
        ("Ben", "business", focus_group.key, "2026-11-20")
    assert 'href="/themes/delivery/voices"' in client.get("/themes").text  # the themes page links here
    assert client.get("/themes/nope/voices").status_code == 404
    assert client.get("/api/v1/themes/nope/voices").status_code == 404
    across = client.get("/api/v1/sources/themes").json()
    rows = {row["theme"]: row for row in across["themes"]}
    assert rows["delivery"]["heard_in"] == "both" and rows["delivery"]["participants"] == 1
    assert rows["app_website"]["heard_in"] == "sessions" and rows["app_website"]["comments"] == 0
    overview = client.get("/sources/themes")
    assert overview.status_code == 200 and 'href="/themes/delivery/voices"' in overview.text
    assert re.search(r"Sessions only", overview.text)


def test_a_manager_deletes_a_source(client, db, focus_group):
    token = staff(client, db, "manager")
    answer = client.post(f"/sources/{focus_group.key}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get(f"/sources/{focus_group.key}").status_code == 404
    assert FOCUS_GROUP and import_focus_group  # the builders the other tests share

"""The verbatims page and its API: redacted and escaped text only, filters, pages, originals for admins only."""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.text.stored import analyse, submit
from voxpop.accounts.models import AuditEntry, User
from voxpop.text.models import CommentAnalysis
from voxpop.web.app import create_app

HOSTILE = "<script>alert('x')</script> Rude <b>staff</b>, mail ana@example.com, card 4111 1111 1111 1111"


@contextmanager
def staff(settings, db, role: str, **changes):
    """A client logged in with this role (created on first use), on an app with these settings changed."""
    with db.read() as db_session:
        if db_session.scalar(select(User.id).where(User.email == f"{role}@example.com")) is None:
            make_user(db, role)
    with TestClient(create_app(settings.model_copy(update=changes), db)) as client:
        login(client, f"{role}@example.com")
        yield client


@pytest.fixture
def comments(db):
    submit(db, {"nps": 2, "why_low": HOSTILE}, {"channel": "web"})
    submit(db, {"nps": 10, "why_high": "Lovely friendly staff, fast delivery"}, {"channel": "store"})
    submit(db, {"nps": 8, "why_low": "Das Paket kam spät an und war beschädigt"}, {"channel": "web"})
    analyse(db, keep_original=True)
    with db.read_connection() as connection:
        return dict(connection.execute(select(CommentAnalysis.text, CommentAnalysis.answer_id)).all())


def test_staff_see_the_redacted_text_escaped_on_the_page_and_in_the_api(client, db, comments):
    make_user(db, "viewer")
    login(client, "viewer@example.com")
    page = client.get("/comments")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<b>staff</b>" not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text and "&lt;b&gt;staff&lt;/b&gt;" in page.text
    assert "ana@example.com" not in page.text and "4111" not in page.text and "[email]" in page.text
    assert 'href="/comments"' in page.text  # in the staff navigation
    listed = client.get("/api/v1/comments").json()["comments"]
    hostile = next(item for item in listed if "script" in item["text"])
    assert "ana@example.com" not in hostile["text"] and "[card]" in hostile["text"]
    assert hostile["personal_data_redacted"] == ["card", "email"] and hostile["nps"] == 2
    assert [item["nps"] for item in listed] == [8, 10, 2]  # newest first
    german = listed[0]
    assert german["sentiment"] is None and "German" in german["no_sentiment_reason"]


def test_filters_narrow_the_comments(client, db, comments):
    make_user(db, "agent")
    login(client, "agent@example.com")

    def nps_of(**params):
        return sorted(item["nps"] for item in client.get("/api/v1/comments", params=params).json()["comments"])

    assert nps_of(theme="staff") == [2, 10]
    assert nps_of(theme="delivery") == [10]  # the German comment has no codebook theme
    assert nps_of(sentiment="positive") == [10] and nps_of(sentiment="unscored") == [8]
    assert nps_of(nps="detractor") == [2] and nps_of(score_min=7, score_max=9) == [8]
    assert nps_of(attribute="channel=web") == [2, 8] and nps_of(attribute=["channel=web", "channel=store"]) == [2, 8, 10]
    assert nps_of(q="PAKET") == [8] and nps_of(q="100%") == [] and nps_of(q="a_b") == []
    assert nps_of(q="delivery staff") == [10] and nps_of(q='"staff, fast"') == [10]  # words in any order; phrases
    assert nps_of(q="staff -lovely") == [2] and nps_of(q='staff -"friendly staff"') == [2]
    assert client.get("/api/v1/comments", params={"q": " ".join("abcdefghijk")}).status_code == 422
    assert nps_of(since="2000-01-01", until="2999-12-31") == [2, 8, 10] and nps_of(until="2000-01-01") == []
    assert nps_of(survey="feedback", nps="", theme="") == [2, 8, 10]  # empty fields, as a form sends them
    page = client.get("/comments", params={"theme": "staff", "q": "lovely"})
    assert page.status_code == 200 and "fast delivery" in page.text and "Paket" not in page.text


def test_the_shared_response_filter_narrows_the_comments(client, db, comments):
    make_user(db, "viewer")
    login(client, "viewer@example.com")

    def nps_of(**params):
        return sorted(item["nps"] for item in client.get("/api/v1/comments", params=params).json()["comments"])

    assert nps_of(period="last-7-days") == [2, 8, 10] and nps_of(period="last-year") == []  # stored just now
    assert nps_of(answer="nps:detractors") == [2] and nps_of(answer=["nps:promoters", "nps:8"]) == [8, 10]
    assert nps_of(answer="csat:answered") == []
    assert nps_of(answer="nps:0-8", attribute="channel=web") == [2, 8]
    page = client.get("/comments", params={"answer": "nps:promoters", "period": "last-30-days"})
    assert page.status_code == 200 and "Lovely friendly staff" in page.text and "Paket" not in page.text
    assert 'name="answer" value="nps:promoters"' in page.text and '<option value="last-30-days" selected>' in page.text
    problem = client.get("/api/v1/comments", params={"period": "fortnight"})
    assert problem.status_code == 422 and "period must be one of" in problem.json()["detail"]
    bad = client.get("/comments", params={"answer": "nps"})
    assert bad.status_code == 400 and "An answer filter is written" in bad.text
    assert 'href="#answer-1"' in bad.text and 'id="answer-1"' in bad.text  # the summary links to the typed test


@pytest.mark.parametrize("params, words, page_words", [
    ({"theme": "weather"}, "There is no theme 'weather'", "There is no theme 'weather'; choose one from the list"),
    ({"sentiment": "angry"}, "sentiment must be one of", "The sentiment must be one of"),
    ({"score_min": "eleven"}, "score_min must be a whole number from 0 to 10",
     "The lowest NPS score must be a whole number from 0 to 10"),
    ({"score_min": "9", "score_max": "3"}, "swap them", "The lowest NPS score (9) is above the highest NPS score (3)"),
    ({"since": "21/11/2026"}, "YYYY-MM-DD", "The first day must be a date written YYYY-MM-DD"),
    ({"attribute": "channel"}, "name=value", "An attribute filter is written name=value"),
    ({"cursor": "'; drop table answers"}, "start again from the first page", "This page cursor was not made by"),
    ({"cursor": "99999999999999999999.1"}, "start again from the first page", "This page cursor is out of range"),
])
def test_a_bad_filter_is_a_sentence_never_a_500(client, db, comments, params, words, page_words):
    make_user(db, "viewer")
    login(client, "viewer@example.com")
    api = client.get("/api/v1/comments", params=params)
    assert api.status_code == 422 and words in api.json()["detail"]
    assert api.headers["content-type"] == "application/problem+json"
    page = client.get("/comments", params=params)
    assert page.status_code == 400 and page_words.replace("'", "&#39;") in page.text  # a sentence, in the form's words
    assert client.get("/api/v1/comments", params={"limit": 0}).status_code == 422


def test_pages_follow_the_cursor_to_the_end(client, db, comments):
    make_user(db, "viewer")
    login(client, "viewer@example.com")
    seen, cursor = [], None
    while True:
        body = client.get("/api/v1/comments", params={"limit": 1, **({"cursor": cursor} if cursor else {})}).json()
        seen += [item["answer_id"] for item in body["comments"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 3 == len(set(seen))
    first = client.get("/comments", params={"limit": 1, "theme": "staff"})
    assert 'rel="next"' in first.text and "theme=staff" in first.text


def test_only_admins_read_originals_and_each_reading_is_audited(settings, db, comments):
    hostile_id = next(answer_id for text, answer_id in comments.items() if "script" in text)
    for role in ("agent", "viewer", "manager"):
        with staff(settings, db, role, keep_original_comments=True) as client:
            assert client.get(f"/api/v1/comments/{hostile_id}/original").status_code == 403
            assert client.get(f"/comments/{hostile_id}/original").status_code == 403
            assert "/original" not in client.get("/comments").text
    with staff(settings, db, "admin", keep_original_comments=True) as client:
        assert f'href="/comments/{hostile_id}/original"' in client.get("/comments").text
        body = client.get(f"/api/v1/comments/{hostile_id}/original").json()
        assert body["original"] == HOSTILE and "[email]" in body["text"]
        page = client.get(f"/comments/{hostile_id}/original")
        assert "ana@example.com" in page.text and "<script>alert" not in page.text
        assert client.get("/api/v1/comments/999999/original").status_code == 404
    with db.read() as db_session:
        assert db_session.scalars(select(AuditEntry.target).where(AuditEntry.action == "comment.original")).all() == \
            [str(hostile_id)] * 2
    with staff(settings, db, "admin", keep_original_comments=False) as client:
        missing = client.get(f"/api/v1/comments/{hostile_id}/original")
        assert missing.status_code == 404 and "VOXPOP_KEEP_ORIGINAL_COMMENTS" in missing.json()["detail"]


def test_analysts_correct_themes_viewers_cannot(settings, db, comments):
    german_id = next(answer_id for text, answer_id in comments.items() if "Paket" in text)
    with staff(settings, db, "viewer") as client:
        token = csrf_from(client.get("/comments").text)
        refused = client.post(f"/api/v1/comments/{german_id}/themes", json={"theme": "delivery", "present": True},
                              headers={"X-CSRF-Token": token})
        assert refused.status_code == 403
    with staff(settings, db, "analyst") as client:
        page = client.get("/comments")
        token = csrf_from(page.text)
        done = client.post(f"/comments/{german_id}/themes", data={"csrf_token": token, "theme": "delivery.damaged",
                                                                  "present": "true", "back": "https://evil.example/"},
                           follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/comments"
        listed = client.get("/api/v1/comments", params={"theme": "delivery"}).json()["comments"]
        assert len(listed) == 2 and listed[0]["answer_id"] == german_id  # a sub-theme counts for its parent
        assert listed[0]["themes"] == [{"theme": "delivery.damaged", "label": "Damaged in transit", "matches": [],
                                        "source": "correction"}]
        bad = client.post(f"/api/v1/comments/{german_id}/themes", json={"theme": "weather", "present": True},
                          headers={"X-CSRF-Token": token})
        assert bad.status_code == 422 and "no theme 'weather'" in bad.json()["detail"]
        assert client.post(f"/comments/{german_id}/themes", data={"theme": "delivery", "present": "true"}).status_code == 403


def test_the_web_server_worker_analyses_new_comments_and_stops_with_the_server(settings, db):
    make_user(db, "viewer")
    app = create_app(settings.model_copy(update={"text_worker": True, "text_worker_interval": 0.05}), db)
    with TestClient(app) as client:
        login(client, "viewer@example.com")
        submit(db, {"nps": 1, "why_low": "Call me on +44 20 7946 0958, the app crashed"})
        deadline = time.monotonic() + 10
        while not (listed := client.get("/api/v1/comments").json()["comments"]) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert listed and "[phone]" in listed[0]["text"] and "7946" not in listed[0]["text"]


def test_a_search_reads_words_quoted_phrases_and_exclusions():
    from voxpop.text.verbatims import search_terms

    assert search_terms('late  parcel -"no problem" -rude') == (["late", "parcel"], ["no problem", "rude"])
    assert search_terms('"unclosed phrase') == (['"unclosed', "phrase"], [])
    assert search_terms('- "" -') == ([], [])


def test_the_listed_comments_and_the_theme_table_as_csv(client, db, comments):
    assert client.get("/comments?format=csv", follow_redirects=False).status_code == 303
    make_user(db, "viewer")
    login(client, "viewer@example.com")
    submit(db, {"nps": 1, "why_low": "=HYPERLINK(\"http://evil\") staff were rude"}, {"channel": "web"})
    analyse(db)
    page = client.get("/comments", params={"attribute": "channel=web"})
    assert 'href="/comments?attribute=channel%3Dweb&amp;format=csv"' in page.text
    table = client.get("/comments", params={"attribute": "channel=web", "format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"] == "text/csv; charset=utf-8"
    assert table.headers["content-disposition"] == 'attachment; filename="comments.csv"'
    lines = table.text.splitlines()
    assert lines[0] == "submitted_at,survey,question,nps,sentiment,themes,language,text"
    assert len(lines) == 4 and not any("Lovely" in line for line in lines)  # the store's comment is filtered out
    assert "ana@example.com" not in table.text and "[email]" in table.text  # redacted, as the page shows
    assert ",\"'=HYPERLINK(\"\"http://evil\"\") staff were rude\"" in table.text  # the formula quoted
    themes = client.get("/themes", params={"format": "csv"})
    assert themes.status_code == 200 and themes.text.startswith("theme,label,comments,negative_comments,share,")
    assert any(line.startswith("staff,") for line in themes.text.splitlines())

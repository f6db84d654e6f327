"""The results page and the one-response page with their JSON twins: logins and roles, filters in the URL, bad
filters, unknown addresses, and customer text escaped."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import text

from tests.helpers import login, make_user
from tests.results.stored import answer, shop
from tests.text.stored import analyse


@pytest.fixture
def answered(db):
    shop(db)
    for index, score in enumerate([10, 9, 3, 8, 6, 10]):
        answer(db, {"nps": score, "agree": "agree", "bought": ["boots"], "why": f"Great boots, visit {index}"},
               segment="SMB" if index % 2 else "Enterprise")
    return db


def test_every_staff_role_sees_the_results_after_logging_in(client, answered):
    assert client.get("/surveys/shop/results", follow_redirects=False).status_code == 303
    assert client.get("/api/v1/surveys/shop/results").status_code == 401
    for role in ("viewer", "agent", "analyst", "manager", "admin"):
        login(client, make_user(answered, role))
        page = client.get("/surveys/shop/results")
        assert page.status_code == 200, role
        assert "How likely are you to recommend us?" in page.text and 'aria-current="page">Results' in page.text
        client.post("/logout", data={"csrf_token": client.cookies.get("csrf", "")})
        client.cookies.clear()


def test_the_filter_travels_in_the_url_and_the_twin_shows_the_same(client, answered):
    login(client, make_user(answered, "viewer"))
    page = client.get("/surveys/shop/results?attribute=segment%3DSMB&answer=nps:promoters")
    assert page.status_code == 200
    assert "segment is SMB; nps is promoters" in page.text
    # The tabs keep the filter.
    assert 'href="/surveys/shop/compare?attribute=segment%3DSMB&amp;answer=nps%3Apromoters"' in page.text
    twin = client.get("/api/v1/surveys/shop/results?attribute=segment%3DSMB&answer=nps:promoters").json()
    assert twin["responses"] == 2 and twin["filter"] == ["segment is SMB", "nps is promoters"]
    nps = next(question for question in twin["questions"] if question["key"] == "nps")
    assert [(point["score"], point["count"]) for point in nps["distribution"] if point["count"]] == [(9, 1), (10, 1)]
    assert "--filter segment=SMB --answer nps:promoters --format json" in nps["command"]


def test_nothing_matching_shows_an_empty_state(client, answered):
    login(client, make_user(answered, "viewer"))
    page = client.get("/surveys/shop/results?since=2001-01-01&until=2001-01-31")
    assert page.status_code == 200 and "No response matches this filter" in page.text


@pytest.mark.parametrize(("query", "field", "words"), [
    ("since=2026-13-01", "since", "YYYY-MM-DD"),
    ("period=fortnight", "period", "last-quarter"),
    ("answer=nope:1", "answer-1", "no question 'nope'"),
    ("attribute=segment", "attribute-1", "name=value"),
])
def test_a_bad_filter_is_a_400_page_naming_the_field_and_a_422_problem(client, answered, query, field, words):
    login(client, make_user(answered, "viewer"))
    page = client.get(f"/surveys/shop/results?{query}")
    assert page.status_code == 400
    assert words in html.unescape(page.text) and f'href="#{field}"' in page.text
    if field in ("since", "answer-1"):  # a typed field says it again beside itself (a select has no error line)
        assert f'id="{field}-error"' in page.text
    problem = client.get(f"/api/v1/surveys/shop/results?{query}")
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert words in problem.json()["detail"] and problem.json()["errors"][0]["field"] == field.partition("-")[0]


def test_an_unknown_survey_or_response_is_a_404(client, db):
    login(client, make_user(db, "viewer"))
    assert client.get("/surveys/nope/results").status_code == 404
    assert client.get("/api/v1/surveys/nope/results").status_code == 404
    assert client.get("/responses/nope").status_code == 404
    assert client.get("/api/v1/responses/nope").json()["status"] == 404


def test_comments_are_escaped_and_link_to_their_response(client, db):
    shop(db)
    answer(db, {"nps": 2, "why": "<script>alert(1)</script> the boots broke"})
    analyse(db)
    login(client, make_user(db, "viewer"))
    page = client.get("/surveys/shop/results")
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt; the boots broke" in page.text
    with db.read_connection() as connection:
        public_id = connection.execute(text("SELECT public_id FROM responses")).scalar_one()
    assert f'href="/responses/{public_id}"' in page.text
    one = client.get(f"/responses/{public_id}")
    assert one.status_code == 200 and "&lt;script&gt;alert(1)" in one.text and "<script>alert" not in one.text
    twin = client.get(f"/api/v1/responses/{public_id}").json()
    assert twin["attributes"] == {"segment": "SMB"} and twin["survey"] == "shop"
    answers = {item["question"]: item for item in twin["answers"]}
    assert answers["nps"]["answer"] == "2 (on 0–10)"
    assert answers["why"]["comment"]["text"].endswith("the boots broke") and not answers["why"]["pending"]


def test_the_pages_have_no_inline_style_or_script(client, answered):
    from tests.web.test_no_inline import EVENT_HANDLER, INLINE_SCRIPT, INLINE_STYLE, STYLE_ELEMENT

    analyse(answered)
    login(client, make_user(answered, "viewer"))
    with answered.read_connection() as connection:
        public_id = connection.execute(text("SELECT public_id FROM responses ORDER BY id LIMIT 1")).scalar_one()
    for path in ("/surveys/shop/results", "/surveys/shop/results?answer=nps:promoters", f"/responses/{public_id}",
                 "/surveys/shop/results?since=nope"):
        html = client.get(path).text
        for pattern in (INLINE_STYLE, STYLE_ELEMENT, INLINE_SCRIPT, EVENT_HANDLER):
            assert pattern.search(html) is None, (path, pattern.pattern)


def test_the_results_as_csv_keep_the_filter(client, answered):
    assert client.get("/surveys/shop/results?format=csv", follow_redirects=False).status_code == 303
    login(client, make_user(answered, "viewer"))
    page = client.get("/surveys/shop/results?attribute=segment%3DSMB")
    assert 'href="/surveys/shop/results?attribute=segment%3DSMB&amp;format=csv"' in page.text
    table = client.get("/surveys/shop/results?attribute=segment%3DSMB&format=csv")
    assert table.status_code == 200 and table.headers["content-type"] == "text/csv; charset=utf-8"
    lines = table.text.splitlines()
    assert lines[0] == "question,text,answer,count,share_or_value,ci_low,ci_high,n"
    assert "nps,How likely are you to recommend us?,10,1,33.3,,,3" in lines  # SMB: 9, 8, 10
    whole = client.get("/surveys/shop/results?format=csv").text.splitlines()
    assert "nps,How likely are you to recommend us?,10,2,33.3,,,6" in whole

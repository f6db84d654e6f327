"""The text pages as people read them: labels, not keys; charts from the shared module; signals in words; nothing
the Content-Security-Policy blocks; and the typed API behind them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from tests.helpers import login, make_user
from tests.text.stored import analyse, months_of_comments, submit
from voxpop.text.schemas import ThemeMetricsPublic
from voxpop.text.views import theme_drawings

INLINE = re.compile(r"<[^>]+\sstyle=|<script(?![^>]*\ssrc=)", re.IGNORECASE)


def _no_inline_style_or_script(html: str) -> None:
    assert not INLINE.search(html), INLINE.search(html).group(0)


@pytest.fixture
def rising(db):
    """Delivery complaints jump in July 2025: 2, then 12 of 20 comments a month (as in test_metrics)."""
    months_of_comments(db, [2] * 6 + [12] * 2, detractor=3)


def test_the_themes_page_reads_in_labels_with_the_shared_charts(client, db, rising):
    login(client, make_user(db, "viewer"))
    page = client.get("/themes")
    assert page.status_code == 200
    _no_inline_style_or_script(page.text)
    assert "Delivery" in page.text and "Late delivery" in page.text and "Staff and service" in page.text
    assert ">delivery.late<" not in page.text and ">staff<" not in page.text  # keys only in links
    assert 'class="cumulative"' in page.text and "Cumulative share (%)" in page.text  # the Pareto's line and axis
    assert 'class="sparkline"' in page.text
    signals = re.search(r'data-testid="emerging-signals">(.*?)</ul>', page.text, re.DOTALL).group(1)
    assert "the share of comments about delivery" in signals and "(Nelson rule" in signals
    assert "3σ" not in page.text and "centre line" not in page.text


def test_a_month_still_running_is_drawn_as_partial(client, db, rising):
    """The metrics mark the running month (tests/text/test_overview.py); the drawing follows their flag."""
    login(client, make_user(db, "viewer"))
    overview = ThemeMetricsPublic.model_validate(client.get("/api/v1/themes").json())
    row = next(item for item in overview.emerging if item.theme == "delivery")
    running = row.model_copy(update={"partial": [*row.partial[:-1], True], "upper": [*row.upper[:-1], None]})
    drawn = theme_drawings(overview.model_copy(update={"emerging": [running]}), {"delivery": "Delivery"},
                           now=datetime(2025, 8, 20, tzinfo=timezone.utc))
    point = drawn.emerging[0].chart.points[-1]
    assert point.kind == "partial" and point.note == "so far"
    assert "so far" in drawn.months and "so far" in drawn.trends["delivery"][1]
    ended = theme_drawings(overview, {}, now=datetime(2025, 9, 2, tzinfo=timezone.utc))
    assert "so far" not in ended.months
    assert all(point.kind != "partial" for item in ended.emerging for point in item.chart.points)


def test_an_unknown_survey_is_a_sentence_on_the_page_and_a_problem_in_the_api(client, db):
    login(client, make_user(db, "viewer"))
    page = client.get("/themes", params={"survey": "nope"})
    assert page.status_code == 404 and "There is no survey &#39;nope&#39;; choose All surveys for all of them." in page.text
    api = client.get("/api/v1/themes", params={"survey": "nope"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
    assert api.json()["detail"] == "There is no survey 'nope'; leave survey out for all of them."


def test_the_themes_follow_the_response_filter(client, db, rising):
    login(client, make_user(db, "viewer"))

    def overview(**params):
        return client.get("/api/v1/themes", params=params).json()

    assert overview()["analysed_comments"] == 160
    july_on = overview(since="2025-07-01", until="2025-08-31")
    assert july_on["analysed_comments"] == 40 and july_on["months"] == ["2025-07-01", "2025-08-01"]
    detractors = overview(answer="nps:detractors")
    assert detractors["analysed_comments"] == 36
    assert {row["theme"] for row in detractors["themes"]} >= {"delivery"} and "staff" not in {
        row["theme"] for row in detractors["themes"]}
    assert overview(period="last-30-days")["analysed_comments"] == 0
    page = client.get("/themes", params={"answer": "nps:promoters", "survey": "feedback"})
    assert page.status_code == 200 and 'data-testid="analysed-comments">124<' in page.text
    assert 'href="/comments?theme=staff&amp;answer=nps%3Apromoters&amp;survey=feedback"' in page.text  # kept
    _no_inline_style_or_script(page.text)
    bad = client.get("/themes", params={"until": "31.8.2025"})
    assert bad.status_code == 400 and "The last day must be a date written YYYY-MM-DD" in bad.text
    problem = client.get("/api/v1/themes", params={"answer": "nps"})
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert "An answer filter is written question:test" in problem.json()["detail"]


def test_comments_show_theme_labels_and_filter_choices_in_words(client, db):
    submit(db, {"nps": 2, "why_low": "The parcel arrived late and the box was crushed"})
    analyse(db)
    login(client, make_user(db, "analyst"))
    page = client.get("/comments")
    _no_inline_style_or_script(page.text)
    assert "<strong>Late delivery</strong>" in page.text and "<strong>Damaged in transit</strong>" in page.text
    assert '<option value="delivery.late">\u00a0\u00a0\u00a0Late delivery</option>' in page.text
    assert '<option value="negative">Negative</option>' in page.text
    assert '<option value="detractor">Detractors (0–6)</option>' in page.text
    assert "Negative sentiment" in page.text
    listed = client.get("/api/v1/comments").json()["comments"]
    assert {tag["label"] for tag in listed[0]["themes"]} == {"Delivery", "Late delivery", "Damaged in transit"}


def test_the_codebook_tree_indents_with_classes_not_inline_style(client, db):
    login(client, make_user(db, "viewer"))
    page = client.get("/codebook")
    _no_inline_style_or_script(page.text)
    tree = re.search(r'data-testid="theme-tree">(.*?)</ul>', page.text, re.DOTALL).group(1)
    assert '<li class="depth-1"><strong>Late delivery</strong> <small><code>delivery.late</code></small>' in tree
    assert "<li><strong>Delivery</strong>" in tree


def test_the_proposals_and_accept_pages_are_csp_clean(client, db):
    login(client, make_user(db, "manager"))
    page = client.get("/codebook/proposals")
    assert page.status_code == 200
    _no_inline_style_or_script(page.text)
    wrong = client.get("/codebook/proposals", params={"method": "magic"})
    assert wrong.status_code == 400 and "The method must be TF-IDF + NMF or embeddings" in wrong.text


def test_every_text_api_route_declares_its_response_schema(client):
    spec = client.get("/api/v1/openapi.json").json()
    routes = {("get", "/api/v1/comments"): "CommentListPublic",
              ("get", "/api/v1/comments/{answer_id}/original"): "CommentOriginalPublic",
              ("post", "/api/v1/comments/{answer_id}/themes"): "ThemeCorrectionPublic",
              ("get", "/api/v1/themes"): "ThemeMetricsPublic",
              ("get", "/api/v1/codebook"): "CodebookPublic",
              ("put", "/api/v1/codebook"): "CodebookSavedPublic",
              ("get", "/api/v1/codebook/proposals"): "ThemeProposalsPublic"}
    for (method, path), schema in routes.items():
        operation = spec["paths"][path][method]
        assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(schema)
        assert any(status.startswith("4") for status in operation["responses"]), (method, path)
    assert "ThemeCorrectionCreate" in spec["components"]["schemas"]

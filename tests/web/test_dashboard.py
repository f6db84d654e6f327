"""The dashboard and its JSON twin show the same counts; comments are escaped."""

from tests.helpers import apply_survey, login, make_user
from voxpop.collection import flows


def answer(db, **answers):
    flows.record_response(db, flows.load_survey(db, "feedback"), flows.Submission(answers=answers, channel="api"),
                          max_text_length=5000)


def test_the_json_twin_counts_responses_and_metrics(client, db):
    apply_survey(db)
    for score in [10, 9, 8, 3]:
        answer(db, nps=score, csat=5 if score > 5 else 2, ease=6)
    login(client, make_user(db))
    survey = client.get("/api/v1/dashboard").json()["surveys"][0]
    assert survey["responses"] == 4
    nps = survey["metrics"]["nps"]
    assert (nps["value"], nps["n"], nps["low_base"]) == (25.0, 4, True)
    assert survey["metrics"]["csat"]["value"] == 75.0
    assert survey["metrics"]["ces"]["ces_version"] == "2.0" and survey["metrics"]["ces"]["value"] == 6.0


def test_the_page_escapes_comments_and_says_when_the_base_is_low(client, db):
    apply_survey(db)
    answer(db, nps=2, why_low='<script>alert("x")</script><img src=x onerror=alert(1)>')
    login(client, make_user(db))
    page = client.get("/dashboard").text
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert "Not enough responses" in page
    assert 'data-testid="responses-feedback">1<' in page


def test_the_dashboard_draws_a_control_chart_with_its_json_twin(client, db):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from voxpop.collection.models import Response

    apply_survey(db)
    for month in range(6):  # 40 answers a month; the fifth month is all detractors
        for index in range(40):
            answer(db, nps=2 if month == 4 else (10 if index % 2 else 8))
    with db.write() as db_session:
        ids = db_session.scalars(select_ids()).all()
        for position, response_id in enumerate(ids):
            when = datetime(2026, 1, 15, tzinfo=timezone.utc) + timedelta(days=31 * (position // 40))
            db_session.execute(update(Response).where(Response.id == response_id).values(submitted_at=when))
    from voxpop.analysis.rollups import rebuild_store

    rebuild_store(db, zone="UTC")  # the times were rewritten behind the rollups' back
    login(client, make_user(db))
    trend = client.get("/api/v1/dashboard").json()["surveys"][0]["trend"]
    assert trend["chart"] == "nps" and len(trend["points"]) == 6
    assert {"rule": "nelson-1", "direction": "down", "periods": ["2026-05-01"]}.items() <= trend["signals"][0].items()
    sentence = "May 2026 is unusually low: NPS more than 3 standard errors below its usual level (Nelson rule 1)"
    assert trend["signals"][0]["sentence"] == sentence and not any(point["partial"] for point in trend["points"])
    page = client.get("/dashboard").text
    assert "<svg" in page and sentence in page
    assert "May 2026: NPS −100 (95% CI" in page  # each point's title says its value, interval and n


def test_the_running_month_is_a_partial_point_outside_the_limits(client, db):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import update

    from voxpop.analysis.rollups import rebuild_store
    from voxpop.collection.models import Response

    apply_survey(db)
    now = datetime.now(timezone.utc)
    start = now.replace(day=15, hour=12) - timedelta(days=31 * 5)
    for month in range(5):  # four ended months of steady answers, then a few detractors in this month
        for index in range(40 if month < 4 else 6):
            answer(db, nps=2 if month == 4 else (10 if index % 2 else 8))
    with db.write() as db_session:
        for position, response_id in enumerate(db_session.scalars(select_ids()).all()):
            when = start + timedelta(days=31 * (position // 40)) if position < 160 else now
            db_session.execute(update(Response).where(Response.id == response_id).values(submitted_at=when))
    rebuild_store(db, zone="UTC")
    login(client, make_user(db))
    data = client.get("/api/v1/dashboard").json()
    points = data["surveys"][0]["trend"]["points"]
    assert points[-1]["partial"] and points[-1]["period"] == data["current_period"] and points[-1]["n"] == 6
    assert points[-1]["upper"] is None and not any(point["partial"] for point in points[:-1])
    assert data["surveys"][0]["trend"]["signals"] == []  # six detractors so far are no "drop"
    page = client.get("/dashboard").text
    assert "so far" in page and 'class="partial"' in page and "has not ended" in page


def test_rating_tiles_and_comments_read_question_texts_not_keys(client, db):
    from tests.helpers import FEEDBACK_SURVEY

    apply_survey(db, FEEDBACK_SURVEY + """  - key: delivery_rating
    kind: rating
    scale: {min: 1, max: 5}
    text: {en: "How was the delivery?", de: "Wie war die Lieferung?"}
""")
    answer(db, nps=3, delivery_rating=4, why_low="Late again")
    login(client, make_user(db))
    page = client.get("/dashboard").text
    assert "How was the delivery?" in page and "delivery_rating" not in page.split("<main")[1]
    assert "What disappointed you?" in page
    survey = client.get("/api/v1/dashboard").json()["surveys"][0]
    assert survey["metrics"]["mean:delivery_rating"]["label"] == "How was the delivery?"


def select_ids():
    from sqlalchemy import select

    from voxpop.collection.models import Response

    return select(Response.id).order_by(Response.id)


def test_latest_comments_are_redacted_even_before_the_worker_reaches_them(client, db):
    from tests.helpers import apply_survey, login, make_user
    from voxpop.collection import flows

    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    flows.record_response(db, survey, flows.Submission(
        answers={"nps": 3, "why_low": "Call me on ana.silva@example.com about <b>it</b>"}, channel="api"),
        max_text_length=5000)
    login(client, make_user(db, "viewer"))
    [comment] = client.get("/api/v1/dashboard").json()["latest_comments"]
    assert "ana.silva@example.com" not in comment["text"] and "<b>it</b>" in comment["text"]
    page = client.get("/dashboard").text
    assert "ana.silva@example.com" not in page and "&lt;b&gt;it&lt;/b&gt;" in page

"""One chart choice: the dashboard's monthly chart and `voxpop spc --chart auto` chart a metric the same way."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from tests.helpers import apply_survey
from voxpop.analysis import sources
from voxpop.analysis.engine import MetricSpec
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection import flows
from voxpop.collection.models import Response
from voxpop.dashboard.metrics import monthly_trends, rollup_counts
from voxpop.metrics import control_charts

EASE_ONLY = """
key: ease
title: {en: "Ordering"}
status: live
languages: [en]
questions:
  - key: ease
    kind: ces
    ces_version: "2.0"
    text: {en: "It was easy to order."}
"""


def test_ces_2_is_charted_as_percent_agreeing_on_the_dashboard_and_by_spc(db):
    apply_survey(db, EASE_ONLY)
    survey = flows.load_survey(db, "ease")
    scores = {0: [6, 7, 5, 3], 1: [7, 7, 2, 5], 2: [4, 6, 7, 1], 3: [6, 2, 3, 3]}  # four answers a month
    for month in scores:
        for score in scores[month] * 10:
            flows.record_response(db, survey, flows.Submission(answers={"ease": score}, channel="api"),
                                  max_text_length=100)
    with db.write() as db_session:
        ids = db_session.scalars(select(Response.id).order_by(Response.id)).all()
        for position, response_id in enumerate(ids):
            when = datetime(2026, 1, 15, tzinfo=timezone.utc) + timedelta(days=31 * (position // 40))
            db_session.execute(update(Response).where(Response.id == response_id).values(submitted_at=when))
    rebuild_store(db, zone="UTC")

    with db.read_connection() as connection:
        trend = monthly_trends(rollup_counts(connection, period="month"), min_base=30)["ease"]
    store = sources.store_connection(db.url)
    try:
        table, question = sources.survey_answers(store, survey="ease", kind="ces", question=None, attributes=[])
        charted = control_charts(table, MetricSpec.create("ces", question.scale, ces_version=question.ces_version),
                                 score="score", period="month", time="submitted_at", zone="UTC")
    finally:
        store.disconnect()

    assert trend.metric == charted["metric"] == "ces2.0_agree"
    assert trend.chart.chart == charted["chart"] == "p"
    agreeing = [100 * sum(score >= 5 for score in scores[month]) / 4 for month in scores]
    assert [row["value"] for row in charted["rows"]] == pytest.approx(agreeing)
    assert [100 * value for value in trend.chart.values] == pytest.approx(agreeing)
    assert [100 * value for value in trend.chart.upper] == pytest.approx([row["upper"] for row in charted["rows"]])

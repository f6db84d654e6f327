"""The demo workspace is big and realistic enough to show what voxpop does."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import case, func, select

from tests.conftest import empty
from voxpop.accounts.models import ROLES, User
from voxpop.analysis.sources import store_connection
from voxpop.collection.models import Answer, Response, response_attributes
from voxpop.dashboard.metrics import rollup_counts, survey_summaries
from voxpop.demo.workspace import load_demo
from voxpop.surveys.models import Question
from voxpop.text.flows import catch_up
from voxpop.text.language import detect_language
from voxpop.text.metrics import theme_metrics
from voxpop.text.models import CommentAnalysis

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(_session_db):
    """Loaded once per backend for this module (it takes seconds), emptied afterwards."""
    assert load_demo(_session_db, now=NOW, zone="Europe/Berlin") >= 20_000
    yield _session_db
    empty(_session_db)


def nps_where(db_session, *conditions):
    score = Answer.score
    promoters, detractors, n = db_session.execute(
        select(func.sum(case((score >= 9, 1), else_=0)), func.sum(case((score <= 6, 1), else_=0)), func.count(score))
        .join(Question, Answer.question_id == Question.id)
        .join(Response, Answer.response_id == Response.id)
        .where(Question.kind == "nps", *conditions)
    ).one()
    return 100 * (promoters - detractors) / n


def test_the_demo_has_three_customer_surveys_an_employee_pulse_18_months_and_every_role(demo):
    with demo.read() as db_session:
        monthly = rollup_counts(db_session.connection(), period="month")
        summaries = {summary.key: summary for summary in survey_summaries(db_session, monthly, min_base=30)}
        assert set(summaries) == {"post-purchase", "support-csat", "onboarding-ces", "employee-pulse"}
        assert sum(summary.responses for summary in summaries.values()) >= 20_000
        assert summaries["post-purchase"].nps.n == summaries["post-purchase"].responses
        assert summaries["onboarding-ces"].ces_version == "2.0"
        first, last = db_session.execute(select(func.min(Response.submitted_at), func.max(Response.submitted_at))).one()
        first = first if isinstance(first, datetime) else datetime.fromisoformat(first)
        assert (NOW - first.replace(tzinfo=timezone.utc)).days >= 540
        assert set(db_session.scalars(select(User.role))) == set(ROLES)


def test_segments_differ_and_december_dips(demo):
    with demo.read() as db_session:
        def segment(name):
            return Response.id.in_(select(response_attributes.c.response_id).where(
                response_attributes.c.name == "segment", response_attributes.c.value == name))
        assert nps_where(db_session, segment("premium")) > nps_where(db_session, segment("business")) + 10
        months = func.extract("month", Response.submitted_at)
        assert nps_where(db_session, months == 12) < nps_where(db_session, months.in_((4, 5))) - 5


def test_comments_are_varied_and_in_the_respondents_language(demo):
    with demo.read() as db_session:
        by_key = dict(db_session.execute(
            select(Question.key, func.count()).join(Answer, Answer.question_id == Question.id)
            .where(Answer.text.is_not(None)).group_by(Question.key)).all())
        texts = dict(db_session.execute(select(Answer.text, Response.language).join(Response)
                                        .where(Answer.text.is_not(None))).all())
    assert by_key["reason"] > 500 and by_key["reason_promoter"] > 500 and by_key["comment"] > 500
    assert len(texts) >= 0.6 * sum(by_key.values())  # distinct comments
    german = [text for text, language in texts.items() if language == "de"]
    assert len(german) > 200 and sum(detect_language(text).code == "de" for text in german) >= 0.95 * len(german)


def test_the_text_analysis_finds_themes_that_differ_in_tone(demo):
    """The comment pipeline, as the server's worker runs it, finds the codebook's themes, and their sentiment and
    NPS are no constants: a few repeated sentences once made every theme read "0.00 (0.00 to 0.00)"."""
    catch_up(demo, keep_original=False)
    with demo.read_connection() as connection:
        themes = {row["theme"]: row for row in theme_metrics(connection)["themes"] if row["comments"] >= 100}
        nps = {row["theme"]: row["nps_mentioning"] for row in theme_metrics(connection, survey="post-purchase")[
            "themes"] if row["comments"] >= 100}
        tone = dict(connection.execute(
            select(Question.key, func.avg(CommentAnalysis.sentiment_score))
            .join(Answer, Answer.id == CommentAnalysis.answer_id).join(Question, Question.id == Answer.question_id)
            .group_by(Question.key)).all())
    assert {"delivery", "quality", "price", "staff", "app_website", "returns_refunds", "wait_time"} <= set(themes)
    sentiments = [row["sentiment"] for row in themes.values()]
    assert max(s["value"] for s in sentiments) - min(s["value"] for s in sentiments) > 0.3
    assert all(s["ci_high"] - s["ci_low"] > 0.02 for s in sentiments)  # each theme's comments differ in tone too
    assert all(-90 < row["value"] < 90 and row["ci_high"] - row["ci_low"] > 2 for row in nps.values())
    assert tone["reason"] < -0.1 < 0.3 < tone["reason_promoter"] and tone["reason"] < tone["reason_passive"]


def test_loading_twice_with_if_empty_adds_nothing(demo):
    assert load_demo(demo, now=NOW, if_empty=True) is None


def test_loading_twice_without_if_empty_is_refused(demo):
    from voxpop.demo.workspace import DemoAlreadyLoaded

    with pytest.raises(DemoAlreadyLoaded, match="already in this database"):
        load_demo(demo, now=NOW)


def test_the_december_dip_is_a_signal_on_every_surveys_chart(demo):
    from voxpop.dashboard.metrics import monthly_trends, rollup_counts

    with demo.read_connection() as connection:
        trends = monthly_trends(rollup_counts(connection, period="month"), min_base=30)
    charts = {key: trend.chart.chart for key, trend in trends.items()}
    assert charts.pop("post-purchase") == "nps"
    assert charts.pop("employee-pulse") == "nps"  # staff have no December rush: their chart is left out below
    assert set(charts) == {"support-csat", "onboarding-ces"}
    assert set(charts.values()) <= {"p", "laney-p"}  # CSAT and CES 2.0 as the share of top two boxes and agreeing
    for survey, trend in trends.items():
        if survey == "employee-pulse":
            continue
        beyond = [signal for signal in trend.signals if signal.rule.id == "nelson-1"]
        # The one fall beyond the limits is December's; a month above them is chance in the random history.
        assert [trend.periods[signal.points[-1]] for signal in beyond if signal.direction == "down"] == ["2025-12-01"]


def test_the_rollups_give_the_same_numbers_as_the_answers(demo):
    """The dashboard reads rollups; the engine on the raw answers must agree to the last digit."""
    from voxpop.analysis import sources
    from voxpop.analysis.engine import MetricSpec, compute
    from voxpop.dashboard.metrics import survey_estimates

    with demo.read_connection() as rollups:
        from_rollups = {(row.keys["survey"], row.keys["period"], row.metric): row.estimate
                        for row in survey_estimates(rollups, min_base=30, period="month")}
    connection = store_connection(demo.url)
    table, _ = sources.survey_answers(connection, survey="post-purchase", kind="nps", question=None, attributes=[])
    raw = compute(table, MetricSpec.create("nps"), score="score", period="month", time="submitted_at",
                  zone="Europe/Berlin", min_base=30)
    connection.disconnect()
    assert len(raw) >= 18
    for row in raw:
        assert from_rollups[("post-purchase", row.keys["period"], "nps")] == row.estimate


def test_a_filtered_view_from_the_rollups_matches_the_answers(demo):
    """A filter on one attribute sums the rollups of its chosen values; two attributes at once are refused."""
    from voxpop.analysis import sources
    from voxpop.analysis.engine import MetricSpec, compute
    from voxpop.dashboard.metrics import survey_estimates

    with demo.read_connection() as rollups:
        filtered = survey_estimates(rollups, min_base=30, where=("channel", ["web", "app"]), survey="post-purchase",
                                    kind="nps")
        by_channel = {row.keys["channel"]: row.estimate.n for row in survey_estimates(
            rollups, min_base=30, attribute="channel", survey="post-purchase", kind="nps")}
        with pytest.raises(ValueError, match="one attribute at a time"):
            survey_estimates(rollups, min_base=30, attribute="segment", where=("channel", ["web"]))
    connection = store_connection(demo.url)
    table, _ = sources.survey_answers(connection, survey="post-purchase", kind="nps", question=None, attributes=[],
                                      filters={"channel": ["web", "app"]})
    [raw] = compute(table, MetricSpec.create("nps"), score="score", min_base=30)
    connection.disconnect()
    [row] = filtered
    assert row.estimate == raw.estimate
    assert row.estimate.n == by_channel["web"] + by_channel["app"] < sum(by_channel.values())


def test_the_demo_listens_wider_contacts_a_send_with_its_log_and_focus_groups(demo):
    """Issue 16 alive on first start: reachable contacts and a suppression list, the e-mail wave with a log of
    every kind and responses that came through it, a trigger, and focus groups whose turns carry themes."""
    from voxpop.customers.models import Sample, Suppression
    from voxpop.distribution.models import InvitationEvent, Send, Trigger
    from voxpop.qualitative.models import QualitativeSource, Turn

    with demo.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Suppression)) > 0
        assert db_session.scalar(select(Sample.name)) == "December NPS wave"
        wave = db_session.scalar(select(Send).where(Send.key == "december-nps-wave"))
        kinds = set(db_session.scalars(select(InvitationEvent.kind).where(InvitationEvent.send_id == wave.id)))
        assert {"queued", "skipped", "sent", "failed", "bounced", "reminded", "completed", "unsubscribed"} <= kinds
        answered = db_session.scalar(select(func.count()).select_from(Response).where(Response.invitation_id.is_not(None)))
        assert answered > 300
        assert db_session.scalar(select(func.count()).select_from(Trigger)) >= 1
        kinds = set(db_session.scalars(select(QualitativeSource.kind)))
        assert kinds == {"focus_group", "interview"}
        assert db_session.scalar(select(func.count()).select_from(Turn)) > 20


def test_the_demo_shows_trust_log_ins_a_lockout_and_an_erasure_in_the_audit_log(demo):
    """Issue 17 alive on first start: a month of staff log-ins and a stranger's locked-out guessing in the audit
    log, and one customer erased on request whose scores stay while their words and purchases are gone."""
    from voxpop.accounts.models import AuditEntry
    from voxpop.customers.models import Customer, Transaction

    with demo.read() as db_session:
        actions = dict(db_session.execute(select(AuditEntry.action, func.count()).group_by(AuditEntry.action)).all())
        assert actions["login"] > 100 and actions["login.failed"] > 20 and actions["login.locked"] == 1
        erased = db_session.scalar(select(Customer).where(Customer.erased_at.is_not(None)))
        assert erased.email is None and erased.attributes == {} and erased.external_id == f"erased-{erased.id}"
        assert db_session.scalar(select(func.count()).select_from(Transaction)
                                 .where(Transaction.customer_id == erased.id)) == 0
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "customer.erase"))
        assert entry.target == f"customer:{erased.id}" and entry.details["counts"]["responses_unlinked"] >= 1

"""The demo workspace's balanced scorecard is alive on first start: live values with their n and intervals, a red
that is within noise, a department scorecard rolling up, people's values (one awaiting approval), the last month's
commentary and action item, an initiative, a monthly delivery, and a strategy map with one link the data support
and one they do not."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from tests.conftest import empty
from voxpop.accounts.models import User
from voxpop.demo.workspace import load_demo
from voxpop.scorecard import sources
from voxpop.scorecard.evaluation import evaluate, review_period
from voxpop.scorecard.models import (
    ActionItem,
    Commentary,
    Measure,
    MeasureTarget,
    MeasureValue,
    ReportSchedule,
    Scorecard,
)
from voxpop.scorecard.service import get_scorecard
from voxpop.scorecard.strategy_map import test_links
from voxpop.surveys.models import Survey

NOW = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
ZONE = "Europe/Berlin"
MONTH = "2026-10"  # the last ended month on NOW


@pytest.fixture(scope="module")
def demo(_session_db):
    """Loaded once per backend for this module, emptied afterwards."""
    load_demo(_session_db, now=NOW, zone=ZONE)
    yield _session_db
    empty(_session_db)


@pytest.fixture(scope="module")
def northwind(demo):
    """Northwind's scorecard scored for the review month (once: it reads every source)."""
    with demo.read() as db_session:
        return scored(db_session, "northwind")


def scored(db_session, key: str):
    scorecard = get_scorecard(db_session=db_session, key=key)
    return evaluate(db_session, scorecard=scorecard, period=MONTH, zone=ZONE, min_base=30, now=NOW)


def measures_of(result):
    return {measure.key: measure for perspective in result.perspectives for objective in perspective.objectives
            for measure in objective.measures}


def test_the_review_month_is_the_last_ended_one():
    assert review_period(NOW, ZONE, "month") == MONTH


def test_four_perspectives_twelve_objectives_twenty_measures_of_every_source_and_scoring(demo, northwind):
    result = northwind
    with demo.read() as db_session:
        northwind = get_scorecard(db_session=db_session, key="northwind")
        stored = [(measure.source, measure.scoring, measure.owner_id) for measure in db_session.scalars(
            select(Measure).where(Measure.scorecard_id == northwind.id))]
        pulse = db_session.scalar(select(Survey.id).where(Survey.key == "employee-pulse"))
    assert [perspective.key for perspective in result.perspectives] == ["financial", "customer", "internal",
                                                                        "learning"]
    objectives = [objective for perspective in result.perspectives for objective in perspective.objectives]
    assert len(objectives) >= 12 and all(objective.owner for objective in objectives)
    assert len(stored) >= 20 and all(owner for *_, owner in stored)
    assert {source["kind"] for source, *_ in stored} == set(sources.SOURCE_KINDS)
    assert {scoring for _, scoring, _ in stored} == {"linear", "progress", "goal_red_flag", "status_rules",
                                                     "stabilise", "yes_no"}
    assert {"retention", "churn", "acquisition", "repeat_purchase", "profitability"} <= {
        source.get("outcome") for source, *_ in stored}
    assert {"first_contact_on_time", "time_to_resolution", "recovery_rate"} <= {
        source.get("metric") for source, *_ in stored if source["kind"] == "loop"}
    assert any(source.get("filter") for source, *_ in stored)  # NPS and CSAT by segment
    # Employee NPS is a survey measure of the same engine, on the staff's monthly pulse.
    assert pulse is not None and any(source.get("survey") == "employee-pulse" and source["metric"] == "nps"
                                     for source, *_ in stored)


def test_most_measures_have_a_live_value_with_n_and_interval_for_the_last_month(northwind):
    measures = measures_of(northwind)
    counted = [measure for measure in measures.values()
               if measure.value.value is not None and measure.value.n and measure.value.ci_low is not None]
    assert len(counted) >= 0.65 * len(measures)
    for measure in counted:
        assert measure.value.ci_low <= measure.value.value <= measure.value.ci_high
    # The comment themes count once the text worker has analysed the comments: until then, no data, never 0.
    assert measures["delivery_complaints"].value.value is None and measures["delivery_complaints"].status == "no data"


def test_a_red_measure_within_noise_and_a_confident_red(northwind):
    measures = measures_of(northwind)
    premium = measures["nps_premium"]
    assert premium.score is not None and premium.score < 100 / 3  # red by its score alone
    assert premium.within_noise and premium.colour == "amber" and premium.status == "within noise of target"
    assert premium.value.ci_low <= premium.target <= premium.value.ci_high
    confident_red = [measure for measure in measures.values() if measure.colour == "red"]
    assert confident_red and not any(measure.within_noise for measure in confident_red)


def test_targets_change_in_the_last_quarter(demo):
    with demo.read() as db_session:
        starts = dict(db_session.execute(
            select(Measure.key, func.max(MeasureTarget.from_period)).join(MeasureTarget)
            .group_by(Measure.key)).all())
    assert starts["nps"] == "2026-09" and starts["nps_premium"] == "2026-09" and starts["retention"] == "2026-08"


def test_the_department_scorecard_rolls_up_into_northwind(demo, northwind):
    with demo.read() as db_session:
        service = scored(db_session, "customer-service")
        card = get_scorecard(db_session=db_session, key="customer-service")
        assert db_session.get(Scorecard, card.parent_id).key == "northwind"
    cascaded = {objective.key: [child.key for child in objective.cascaded]
                for perspective in northwind.perspectives for objective in perspective.objectives}
    assert cascaded["reach-fast"] == ["answer-fast"] and cascaded["great-support"] == ["satisfied-contacts"]
    assert cascaded["recover-customers"] == ["win-back"]
    assert service.score is not None


def test_the_strategy_map_finds_the_planted_link_and_not_the_declared_one(demo):
    with demo.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key="northwind")
        tests = {(test.cause_measure, test.effect_measure): test for test in test_links(
            db_session, scorecard=scorecard, period=MONTH, zone=ZONE, min_base=30, now=NOW)}
    planted = tests[("Support CSAT of business customers", "NPS of business customers")]
    assert planted.verdict == "supported" and planted.lagged.r > 0.5 and planted.strongest_lag == 1
    declared = tests[("Employee NPS", "Support CSAT (top two boxes)")]
    assert declared.verdict in ("not enough periods", "no link found")
    assert declared.sentence.startswith(("Not enough periods", "No link found"))


def test_people_s_values_commentary_an_action_an_initiative_and_a_monthly_delivery(demo, northwind):
    result = northwind
    with demo.read() as db_session:
        northwind = get_scorecard(db_session=db_session, key="northwind")
        values = db_session.execute(select(Measure.key, MeasureValue.period, MeasureValue.approved_at)
                                    .join(Measure).where(Measure.scorecard_id == northwind.id)).all()
        awaiting = [(key, period) for key, period, approved in values if approved is None]
        assert awaiting == [("staff_trained", MONTH)]
        assert sum(1 for *_, approved in values if approved is not None) >= 30
        notes = db_session.scalars(select(Commentary).where(Commentary.period == MONTH)).all()
        assert len(notes) >= 4 and all(note.analysis and note.recommendation for note in notes)
        action = db_session.scalar(select(ActionItem).where(ActionItem.scorecard_id == northwind.id))
        assert action.period == MONTH and action.owner_id and not action.done
        schedule = db_session.scalar(select(ReportSchedule).where(ReportSchedule.scorecard_id == northwind.id))
        manager = db_session.scalar(select(User).where(User.email == "manager@northwind.example"))
        assert schedule.frequency == "monthly" and schedule.recipients == [manager.id] and not schedule.paused
        next_run = schedule.next_run_at if schedule.next_run_at.tzinfo else schedule.next_run_at.replace(
            tzinfo=timezone.utc)
        assert next_run.astimezone(timezone.utc).isoformat() == "2026-12-01T06:00:00+00:00"  # 07:00 in Berlin
    measures = measures_of(result)
    loyal = [objective for perspective in result.perspectives for objective in perspective.objectives
             if objective.key == "loyal-customers"][0]
    assert [title for _, title, _ in loyal.initiatives] == ["Call back app users within a day"]
    assert measures["staff_trained"].value.value is None
    assert "awaiting approval" in measures["staff_trained"].value.note
    assert measures["training_hours"].value.value is not None  # approved, so it counts

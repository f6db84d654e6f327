"""Initiatives: their fields checked, PDCA stage moves, and the Check's verdict on generated data."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey
from voxpop.cases.initiatives import (
    InitiativeError,
    check,
    check_windows,
    move_stage,
    parse_target,
    save_initiative,
    verdict,
)
from voxpop.core.estimates import proportion

STEADY = {10: 40, 8: 30, 3: 30}  # NPS 10 on 100 answers
BETTER = {10: 60, 8: 25, 3: 15}  # NPS 45


def target(db, **changes):
    fields = {"survey": "feedback", "metric": "nps", "question": "nps", "filter_query": ""} | changes
    with db.read() as db_session:
        return parse_target(db_session=db_session, **fields)


@pytest.mark.parametrize("changes, field, words", [
    ({"survey": "nope"}, "survey", "there is no survey 'nope'"),
    ({"question": "nope"}, "question", "has no question 'nope'"),
    ({"metric": "csat"}, "question", "needs a csat question"),
    ({"metric": "median"}, "metric", "choose the metric"),
    ({"filter_query": "since=2026-01-01"}, "filter", "the days come from the change date"),
    ({"filter_query": "attribute=channel"}, "filter", "name=value"),
])
def test_a_target_that_cannot_be_read_names_its_field(db, changes, field, words):
    apply_survey(db)
    with pytest.raises(InitiativeError, match=words) as error:
        target(db, **changes)
    assert error.value.field == field


def test_a_target_with_a_filter_reads_as_words(db):
    apply_survey(db)
    found = target(db, filter_query="attribute=channel=app&answer=csat:1-2")
    assert found.filter == (("attribute", "channel=app"), ("answer", "csat:1-2"))
    assert found.describe() == "NPS of feedback (question nps), where channel is app and csat is 1-2"


def test_stages_follow_plan_do_check_act(db):
    apply_survey(db)
    with db.write() as db_session:
        initiative = save_initiative(db_session=db_session, actor=None, title="Faster delivery",
                                     target=parse_target(db_session=db_session, survey="feedback", metric="nps",
                                                         question="nps"))
        with pytest.raises(InitiativeError, match="can move to Do, not Check"):
            move_stage(db_session=db_session, initiative=initiative, to="check", actor=None)
        move_stage(db_session=db_session, initiative=initiative, to="do", actor=None)
        with pytest.raises(InitiativeError, match="set the change date"):
            move_stage(db_session=db_session, initiative=initiative, to="check", actor=None)
        initiative.change_date = date(2026, 6, 1)
        for stage in ("check", "act", "plan", "do", "check", "act", "closed"):
            move_stage(db_session=db_session, initiative=initiative, to=stage, actor=None, today=date(2026, 12, 1))
        assert initiative.stage == "closed" and initiative.end_date == date(2026, 12, 1)
        with pytest.raises(InitiativeError, match="nothing: it is closed"):
            move_stage(db_session=db_session, initiative=initiative, to="plan", actor=None)


def test_an_initiative_needs_a_title_and_known_causes(db):
    with db.write() as db_session:
        with pytest.raises(InitiativeError, match="give the initiative a title") as error:
            save_initiative(db_session=db_session, actor=None, title="  ")
        assert error.value.field == "title"
        with pytest.raises(InitiativeError, match="no root cause 'late'"):
            save_initiative(db_session=db_session, actor=None, title="x", root_causes=["late"])
        with pytest.raises(InitiativeError, match="before the start date"):
            save_initiative(db_session=db_session, actor=None, title="x", start_date=date(2026, 5, 1),
                            change_date=date(2026, 4, 1))


def test_the_windows_are_as_long_on_each_side_of_the_change():
    before, after = check_windows(date(2026, 6, 1), date(2026, 9, 1))
    assert after == (date(2026, 6, 1), date(2026, 8, 31)) and before == (date(2026, 3, 1), date(2026, 5, 31))  # 92 days each


def run_check(db, months_before, months_after, **changes):
    apply_survey(db)
    answers = [pair for month in range(1, 7) for pair in month_of(2026, month, months_before)]
    answers += [pair for month in range(7, 13) for pair in month_of(2026, month, months_after)]
    add_answers(db, answers)
    with db.read() as db_session:
        return check(db_session, target=target(db, **changes), change_date=date(2026, 7, 1), zone="UTC",
                     min_base=30, today=date(2027, 1, 1))


def test_a_real_improvement_is_said_so_with_the_chart_in_two_phases(db):
    result = run_check(db, STEADY, BETTER)
    assert (result.verdict, result.sentence) == ("improvement", "The data show an improvement.")
    assert result.before.value == pytest.approx(10.0) and result.after.value == pytest.approx(45.0)
    assert result.difference.ci_low > 0 and result.difference.test == "nps-z"
    before, after = result.phases
    assert before.periods[0] == "2026-01-01" and after.periods[0] == "2026-07-01"
    assert before.chart.centre[0] == pytest.approx(10.0) and after.chart.centre[0] == pytest.approx(45.0)


def test_no_change_is_no_change(db):
    result = run_check(db, STEADY, STEADY)
    assert (result.verdict, result.sentence) == ("no-change", "No change the data can tell from noise.")


def test_worse_is_said_plainly(db):
    result = run_check(db, BETTER, STEADY)
    assert result.verdict == "worse"


def test_too_few_responses_say_how_many(db):
    result = run_check(db, {10: 2, 3: 1}, {10: 3})
    assert result.verdict == "too-few"
    assert result.sentence == "Too few responses to tell (n before = 18, n after = 18; each side needs 30)."


def test_csat_is_checked_as_two_proportions(db):
    apply_survey(db)
    answers = [pair for month in range(1, 7) for pair in month_of(2026, month, {5: 20, 2: 20}, question="csat")]
    answers += [pair for month in range(7, 13) for pair in month_of(2026, month, {5: 35, 2: 5}, question="csat")]
    add_answers(db, answers)
    with db.read() as db_session:
        result = check(db_session, target=target(db, metric="csat", question="csat"), change_date=date(2026, 7, 1),
                       zone="UTC", min_base=30, today=date(2027, 1, 1))
    assert result.difference.test == "two-proportion-z" and result.verdict == "improvement"
    assert result.phases[0].scale == 100.0 and result.phases[0].chart.chart == "p"


@given(st.integers(0, 60), st.integers(1, 60), st.integers(0, 60), st.integers(1, 60))
def test_a_verdict_is_always_one_of_four(a, n1, b, n2):
    from voxpop.core.comparisons import proportion_difference

    a, b = min(a, n1), min(b, n2)
    first, second = proportion(successes=a, n=n1, min_base=30), proportion(successes=b, n=n2, min_base=30)
    kind, sentence = verdict(before=first, after=second, difference=proportion_difference(a=(b, n2), b=(a, n1)),
                             higher_is_better=True, min_base=30)
    assert kind in ("improvement", "worse", "no-change", "too-few") and sentence.endswith(".")
    if n1 < 30 or n2 < 30:
        assert kind == "too-few"


def test_the_month_still_running_stays_out_of_the_limits(db):
    apply_survey(db)
    add_answers(db, [pair for month in range(1, 13) for pair in month_of(2026, month, STEADY, day=3)])
    with db.read() as db_session:
        result = check(db_session, target=target(db), change_date=date(2026, 7, 1), zone="UTC", min_base=30,
                       today=date(2026, 12, 6))
    before, after = result.phases
    assert after.periods[-1] == "2026-11-01" and result.running[0] == "2026-12-01" and result.running[1] == 100

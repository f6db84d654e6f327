"""Measures bound to live data: each source kind's value, n and interval against the core function on the same
counts, a period without data as None (never zero), the rollups against the answers, quarters as the sum of their
months, formulas, manual values with and without approval, and the sources' checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from tests.cases.loop_data import add_answers, month_of
from tests.conftest import empty
from tests.helpers import apply_survey
from tests.scorecard.builders import measure, objective, perspective, scorecard, values
from voxpop.accounts.models import Department
from voxpop.analysis.periods import period_label
from voxpop.cases.models import Case, CaseEvent
from voxpop.collection.models import Answer, Response
from voxpop.core import estimates
from voxpop.core.formula import parse_formula
from voxpop.customers.models import Customer, Transaction
from voxpop.scorecard.measured import MeasuredValue
from voxpop.scorecard.models import Measure
from voxpop.scorecard.sources import (
    SourceError,
    SurveyReads,
    check_source,
    describe_source,
    formula_values,
    measure_series,
    unit_series,
)
from voxpop.surveys.models import Question
from voxpop.text.models import CommentAnalysis, CommentTheme

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
NPS = {"kind": "survey", "survey": "feedback", "metric": "nps", "question": "nps"}


def _series(db, source: dict, periods: list[str], *, period: str = "month", min_base: int = 1, key: str = "m"):
    with db.write() as db_session:
        card = db_session.scalar(select(Measure.scorecard_id).limit(1))
        if card is None:
            card_row = scorecard(db_session)
            goal = objective(db_session, perspective(db_session, card_row), "goal")
        else:
            goal = objective(db_session, perspective(db_session, scorecard(db_session, f"c{key}"), f"p{key}"), key)
        found = measure(db_session, goal, key, period=period, source=source)
        return measure_series(db_session, measure=found, periods=periods, zone="UTC", min_base=min_base, now=NOW)


def _same(measured, estimate):
    assert (measured.value, measured.n, measured.low_base) == (pytest.approx(estimate.value), estimate.n,
                                                               estimate.low_base)
    assert measured.ci_low == pytest.approx(estimate.ci_low) and measured.ci_high == pytest.approx(estimate.ci_high)


def test_survey_nps_per_month_is_the_core_estimate_and_a_month_without_answers_is_none(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 9, {10: 5, 8: 3, 2: 2}) + month_of(2026, 11, {9: 1, 0: 4}))
    found = _series(db, NPS, ["2026-09", "2026-10", "2026-11"])
    _same(found["2026-09"], estimates.nps(promoters=5, passives=3, detractors=2, min_base=1))
    _same(found["2026-11"], estimates.nps(promoters=1, passives=0, detractors=4, min_base=1))
    assert found["2026-10"].value is None and found["2026-10"].n == 0
    assert found["2026-10"].note == "no responses in 2026-10"


def test_csat_is_the_top_two_box_share(db):
    apply_survey(db)
    add_answers(db, [(datetime(2026, 10, 3, 9, tzinfo=UTC), {"csat": score}) for score in (5, 4, 4, 2, 1, 3)])
    found = _series(db, NPS | {"metric": "csat", "question": "csat"}, ["2026-10"])
    _same(found["2026-10"], estimates.top_box(top=3, n=6, min_base=1))


def test_the_rollups_and_the_answers_give_the_same_value(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 10, {10: 7, 7: 2, 3: 4}), channel="app")
    add_answers(db, month_of(2026, 10, {10: 1, 1: 9}), channel="web")
    from_rollups = _series(db, NPS | {"filter": [["attribute", "channel=app"]]}, ["2026-10"], key="a")
    # an answer test that every NPS answer passes: only the answers can count it
    from_answers = _series(db, NPS | {"filter": [["attribute", "channel=app"], ["answer", "nps:0-10"]]},
                           ["2026-10"], key="b")
    assert from_rollups == from_answers
    _same(from_rollups["2026-10"], estimates.nps(promoters=7, passives=2, detractors=4, min_base=1))


def test_a_quarter_sums_its_months_counts(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 7, {10: 3, 0: 1}) + month_of(2026, 8, {9: 2, 5: 5}) + month_of(2026, 9, {8: 4})
                + month_of(2026, 10, {10: 9}))
    found = _series(db, NPS, ["2026-Q3", "2026-Q4"], period="quarter")
    _same(found["2026-Q3"], estimates.nps(promoters=5, passives=4, detractors=6, min_base=1))
    _same(found["2026-Q4"], estimates.nps(promoters=9, passives=0, detractors=0, min_base=1))


months_of_scores = st.lists(st.dictionaries(st.integers(0, 10), st.integers(1, 4), max_size=4), min_size=3, max_size=3)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scores=months_of_scores)
def test_any_answers_give_one_value_by_rollups_or_answers_and_a_quarter_is_its_months_summed(db, scores):
    empty(db)
    apply_survey(db)
    add_answers(db, [pair for month, counted in zip((7, 8, 9), scores) for pair in month_of(2026, month, counted)],
                channel="app")
    months = ["2026-07", "2026-08", "2026-09"]
    from_rollups = _series(db, NPS | {"filter": [["attribute", "channel=app"]]}, months, key="a")
    from_answers = _series(db, NPS | {"filter": [["attribute", "channel=app"], ["answer", "nps:0-10"]]}, months,
                           key="b")
    quarter = _series(db, NPS, ["2026-Q3"], period="quarter", key="q")["2026-Q3"]
    assert from_rollups == from_answers
    summed = {group: sum(count for counted in scores for score, count in counted.items() if test(score))
              for group, test in (("promoters", lambda s: s >= 9), ("passives", lambda s: 7 <= s <= 8),
                                  ("detractors", lambda s: s <= 6))}
    if sum(summed.values()):
        _same(quarter, estimates.nps(**summed, min_base=1))
    else:
        assert quarter.value is None and quarter.n == 0


def test_units_are_the_attribute_values_from_the_rollups(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 10, {10: 2, 0: 1}), channel="app")
    add_answers(db, month_of(2026, 11, {0: 3}), channel="web")
    with db.write() as db_session:
        goal = objective(db_session, perspective(db_session, scorecard(db_session)), "goal")
        nps = measure(db_session, goal, "nps", source=NPS)
        units = unit_series(db_session, measure=nps, periods=["2026-10", "2026-11"], attribute="channel", zone="UTC",
                            min_base=1, now=NOW)
        manual = measure(db_session, goal, "typed")
        with pytest.raises(SourceError) as raised:
            unit_series(db_session, measure=manual, periods=["2026-10"], attribute="channel", zone="UTC",
                        min_base=1, now=NOW)
    assert sorted(units) == ["app", "web"]
    _same(units["app"]["2026-10"], estimates.nps(promoters=2, passives=0, detractors=1, min_base=1))
    assert units["app"]["2026-11"].value is None and units["web"]["2026-11"].value == -100.0
    assert raised.value.field == "source.kind"


def test_manual_values_count_once_approved(db):
    with db.write() as db_session:
        goal = objective(db_session, perspective(db_session, scorecard(db_session)), "goal")
        trained = measure(db_session, goal, "trained")
        values(db_session, trained, {"2026-10": (62.5, 40)})
        values(db_session, trained, {"2026-11": 70.0}, approved=False)
        found = measure_series(db_session, measure=trained, periods=["2026-09", "2026-10", "2026-11"], zone="UTC",
                               min_base=30, now=NOW)
    assert (found["2026-10"].value, found["2026-10"].n, found["2026-10"].origin) == (62.5, 40, "manual")
    assert found["2026-11"].value is None and "awaiting approval" in found["2026-11"].note
    assert found["2026-09"].value is None and found["2026-09"].note == "no approved value in 2026-09"


def test_a_formula_over_other_measures_has_no_value_when_an_input_has_none(db):
    with db.write() as db_session:
        goal = objective(db_session, perspective(db_session, scorecard(db_session)), "goal")
        values(db_session, measure(db_session, goal, "nps_b2b"), {"2026-10": 40.0, "2026-11": 35.0})
        values(db_session, measure(db_session, goal, "nps_b2c"), {"2026-10": 25.0})
        gap = measure(db_session, goal, "gap", source={"kind": "formula", "formula": "nps_b2b - nps_b2c"})
        found = measure_series(db_session, measure=gap, periods=["2026-10", "2026-11"], zone="UTC", min_base=1, now=NOW)
        loop = measure(db_session, goal, "loop", source={"kind": "formula", "formula": "loop + 1"})
        with pytest.raises(SourceError):
            measure_series(db_session, measure=loop, periods=["2026-10"], zone="UTC", min_base=1, now=NOW)
    assert (found["2026-10"].value, found["2026-10"].ci_low, found["2026-10"].origin) == (15.0, None, "formula")
    assert found["2026-11"].value is None and "nps_b2c" in found["2026-11"].note


def _rollup_reads(db, read):
    """How many statements on the rollups `read(db_session)` issues, and what it returns."""
    statements = []

    def count(conn, cursor, statement, *args):
        if "score_rollups" in statement:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.read() as db_session:
            found = read(db_session)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements), found


def test_measures_on_one_survey_and_attribute_share_one_read_and_give_what_each_reads_alone(db):
    apply_survey(db)
    both = [(when, {"nps": score, "csat": 1 + score // 3}) for when, answer in month_of(2026, 10, {10: 4, 6: 2})
            + month_of(2026, 11, {9: 1, 2: 3}) for score in answer.values()]
    add_answers(db, both, channel="app")
    add_answers(db, month_of(2026, 10, {8: 2, 0: 5}), channel="web")
    sources = {"all": NPS, "csat": NPS | {"metric": "csat", "question": "csat"},
               "app": NPS | {"filter": [["attribute", "channel=app"]]},
               "web": NPS | {"filter": [["attribute", "channel=web"]]},
               "csat_app": NPS | {"metric": "csat", "question": "csat", "filter": [["attribute", "channel=app"]]},
               "quarter": NPS | {"filter": [["attribute", "channel=app"]]}}
    with db.write() as db_session:
        goal = objective(db_session, perspective(db_session, scorecard(db_session)), "goal")
        for key, source in sources.items():
            measure(db_session, goal, key, source=source, period="quarter" if key == "quarter" else "month")
    periods = {"month": ["2026-09", "2026-10", "2026-11"], "quarter": ["2026-Q3", "2026-Q4"]}

    def read(db_session, reads):
        return {m.key: measure_series(db_session, measure=m, periods=periods[m.period], zone="UTC", min_base=1,
                                      now=NOW, reads=reads() if reads else None)
                for m in db_session.scalars(select(Measure).order_by(Measure.key))}

    shared = SurveyReads()
    alone_reads, alone = _rollup_reads(db, lambda db_session: read(db_session, None))
    shared_reads, together = _rollup_reads(db, lambda db_session: read(db_session, lambda: shared))
    assert alone_reads == len(sources)
    assert shared_reads == shared.reads == 3  # every question and month; per channel; the quarter's wider span
    assert together == alone
    _same(alone["web"]["2026-10"], estimates.nps(promoters=0, passives=2, detractors=5, min_base=1))
    _same(alone["app"]["2026-11"], estimates.nps(promoters=1, passives=0, detractors=3, min_base=1))
    _same(alone["all"]["2026-10"], estimates.nps(promoters=4, passives=2, detractors=7, min_base=1))
    _same(alone["csat_app"]["2026-10"], estimates.top_box(top=4, n=6, min_base=1))
    assert alone["quarter"]["2026-Q4"].n == 10 and alone["app"]["2026-09"].value is None


inputs = st.dictionaries(st.sampled_from(["2026-10", "2026-11", "2026-12"]),
                         st.one_of(st.none(), st.floats(-1000, 1000)), max_size=3)


@given(a=inputs, b=inputs, low=st.booleans())
def test_a_formula_is_computed_per_period_where_every_input_has_a_value(a, b, low):
    periods = ["2026-10", "2026-11", "2026-12"]

    def series(values):
        return {p: MeasuredValue(p, v, 30, v, v, low) for p, v in values.items()}

    found = formula_values(parse_formula("a - b"), {"a": series(a), "b": series(b)}, periods)
    assert list(found) == periods
    for p in periods:
        if a.get(p) is None:
            assert found[p].value is None and found[p].note == f"a has no value in {p}"
        elif b.get(p) is None:
            assert found[p].value is None and found[p].note == f"b has no value in {p}"
        else:
            assert found[p].value == pytest.approx(a[p] - b[p])
            assert (found[p].ci_low, found[p].n, found[p].origin, found[p].low_base) == (None, None, "formula", low)


def test_a_formula_says_a_division_by_zero_and_a_name_it_has_no_series_for():
    periods = ["2026-10", "2026-11"]
    given_series = {"a": {p: MeasuredValue(p, 5.0) for p in periods},
                    "b": {"2026-10": MeasuredValue("2026-10", 0.0), "2026-11": MeasuredValue("2026-11", 2.0)}}
    found = formula_values(parse_formula("a / b"), given_series, periods)
    assert found["2026-10"].value is None and "zero" in found["2026-10"].note
    assert found["2026-11"].value == 2.5
    unknown = formula_values(parse_formula("a + c"), given_series, periods)
    assert [v.value for v in unknown.values()] == [None, None]
    assert unknown["2026-10"].note == "the formula names 'c', which is no measure of this scorecard"


def _customer(db_session, key: str) -> Customer:
    customer = Customer(external_id=key)
    db_session.add(customer)
    db_session.flush()
    return customer


def _bought(db_session, customer, day: date, amount: float, cost: float | None = None) -> None:
    db_session.add(Transaction(customer_id=customer.id, source_key=f"{customer.external_id}-{day}-{amount}", day=day,
                               amount=amount, cost=cost, kind="sale"))


def test_retention_profitability_and_market_share_from_the_transactions(db):
    with db.write() as db_session:
        a, b, c = (_customer(db_session, key) for key in "abc")
        for customer in (a, b, c):
            _bought(db_session, customer, date(2026, 1, 10), 100.0, cost=30.0)
        _bought(db_session, a, date(2026, 2, 3), 50.0)
        _bought(db_session, b, date(2026, 2, 4), 20.0, cost=5.0)
    months = ["2026-01", "2026-02", "2026-03"]
    retention = _series(db, {"kind": "outcome", "outcome": "retention"}, months, key="r")
    # February: S = 3 active at its start (bought in January), E = 2 active at its end, none new
    _same(retention["2026-02"], estimates.proportion(successes=2, n=3, min_base=1))
    assert retention["2026-03"].value is None and retention["2026-01"].value is None
    churn = _series(db, {"kind": "outcome", "outcome": "churn"}, months, key="c")["2026-02"]  # the same read
    assert (churn.value, churn.n, churn.ci_low) == (pytest.approx(100 / 3), 3,
                                                    pytest.approx(100 - retention["2026-02"].ci_high))
    profit = _series(db, {"kind": "outcome", "outcome": "profitability"}, months, key="p")
    _same(profit["2026-02"], estimates.mean(n=2, total=50.0 + 15.0, total_squares=50.0 ** 2 + 15.0 ** 2, min_base=1))
    share = _series(db, {"kind": "outcome", "outcome": "market_share", "basis": "customers",
                         "sizes": {"2026-01": 30, "2026-02": 40}}, months, key="s")
    _same(share["2026-01"], estimates.proportion(successes=3, n=30, min_base=1))
    _same(share["2026-02"], estimates.proportion(successes=2, n=40, min_base=1))
    assert share["2026-03"].value is None


def test_clv_is_the_mean_first_year_value_of_a_cohort_whose_year_has_passed(db):
    with db.write() as db_session:
        a, b = _customer(db_session, "a"), _customer(db_session, "b")
        _bought(db_session, a, date(2025, 3, 1), 100.0)
        _bought(db_session, a, date(2025, 9, 1), 60.0)
        _bought(db_session, a, date(2026, 4, 1), 500.0)  # after a's first year: not counted
        _bought(db_session, b, date(2025, 3, 20), 40.0)
        _bought(db_session, b, date(2026, 1, 5), 10.0)
    found = _series(db, {"kind": "outcome", "outcome": "clv"}, ["2025-03", "2025-04", "2026-04"], key="v")
    _same(found["2025-03"], estimates.mean(n=2, total=160.0 + 50.0, total_squares=160.0 ** 2 + 50.0 ** 2, min_base=1))
    assert found["2025-04"].value is None


def _case(db_session, department, opened: datetime, *, due_hours: float = 24, contacted_hours: float | None = None,
          resolve_due_hours: float = 72, resolved_hours: float | None = None) -> Case:
    case = Case(title="late parcel", department_id=department.id, opened_at=opened,
                first_contact_due=opened + timedelta(hours=due_hours),
                first_contact_at=None if contacted_hours is None else opened + timedelta(hours=contacted_hours),
                resolve_due=opened + timedelta(hours=resolve_due_hours),
                resolved_at=None if resolved_hours is None else opened + timedelta(hours=resolved_hours))
    db_session.add(case)
    db_session.flush()
    return case


def test_loop_measures_first_contact_on_time_and_hand_offs_closed_on_time(db):
    with db.write() as db_session:
        service, billing = Department(name="Service"), Department(name="Billing")
        db_session.add_all([service, billing])
        db_session.flush()
        opened = datetime(2026, 10, 5, 9, tzinfo=UTC)
        for hours in (2, 5, 30):
            _case(db_session, service, opened, contacted_hours=hours)
        _case(db_session, billing, opened, contacted_hours=1)
        moved_on_time = _case(db_session, billing, opened, resolved_hours=48)
        moved_late = _case(db_session, billing, opened, resolved_hours=100)
        _case(db_session, billing, opened, resolved_hours=10)  # never handed off: not counted
        for moved in (moved_on_time, moved_late):
            db_session.add(CaseEvent(case_id=moved.id, at=opened, kind="assigned",
                                     details={"department_id": billing.id, "previous_department_id": service.id}))
    on_time = _series(db, {"kind": "loop", "metric": "first_contact_on_time", "department": "Service"},
                      ["2026-10", "2026-11"], key="f")
    _same(on_time["2026-10"], estimates.proportion(successes=2, n=3, min_base=1))
    assert on_time["2026-11"].value is None and on_time["2026-11"].note == "no cases in 2026-11"
    handoffs = _series(db, {"kind": "loop", "metric": "handoffs_on_time"}, ["2026-10"], key="h")
    _same(handoffs["2026-10"], estimates.proportion(successes=1, n=2, min_base=1))
    with db.write() as db_session:
        first = db_session.scalar(select(Measure).where(Measure.key == "f"))
        first.source = {"kind": "loop", "metric": "first_contact_on_time"}
        units = unit_series(db_session, measure=first, periods=["2026-10"], attribute=None, zone="UTC", min_base=1,
                            now=NOW)
    assert sorted(units) == ["Billing", "Service"]
    # Billing's four cases are all past their first-contact deadline; one was contacted by it
    _same(units["Billing"]["2026-10"], estimates.proportion(successes=1, n=4, min_base=1))



def test_loop_measures_of_one_department_share_one_computation_and_give_what_each_reads_alone(db):
    with db.write() as db_session:
        service = Department(name="Service")
        db_session.add(service)
        db_session.flush()
        opened = datetime(2026, 10, 5, 9, tzinfo=UTC)
        for hours in (2, 5, 30):
            _case(db_session, service, opened, contacted_hours=hours, resolved_hours=hours + 10)
    months = ["2026-09", "2026-10"]
    metrics = ("first_contact_on_time", "time_to_resolution", "recovery_rate", "handoffs_on_time")
    alone = {metric: _series(db, {"kind": "loop", "metric": metric, "department": "Service"}, months,
                             key=metric) for metric in metrics}
    reads = SurveyReads()
    with db.read() as db_session:
        shared = {metric: measure_series(db_session, measure=db_session.scalar(select(Measure).where(
            Measure.key == metric)), periods=months, zone="UTC", min_base=1, now=NOW, reads=reads)
            for metric in metrics}
    assert shared == alone
    assert reads.loop_reads == 2  # one loop_metrics for three measures, and the hand-offs'
    assert alone["first_contact_on_time"]["2026-10"].n == 3

def test_a_theme_share_of_analysed_comments_per_month(db):
    apply_survey(db)
    add_answers(db, month_of(2026, 10, {3: 5}))
    with db.write() as db_session:
        question = db_session.scalar(select(Question.id).where(Question.key == "why_low"))
        responses = db_session.scalars(select(Response.id).order_by(Response.id)).all()
        for index, response in enumerate(responses):
            answer = Answer(response_id=response, question_id=question, text="slow delivery")
            db_session.add(answer)
            db_session.flush()
            db_session.add(CommentAnalysis(answer_id=answer.id, text="slow delivery", pipeline_version=1))
            if index < 2:
                db_session.add(CommentTheme(answer_id=answer.id, theme="delivery", source="codebook"))
    found = _series(db, {"kind": "theme", "theme": "delivery", "survey": "feedback"}, ["2026-09", "2026-10"])
    _same(found["2026-10"], estimates.proportion(successes=2, n=5, min_base=1))
    assert found["2026-09"].value is None and found["2026-09"].note == "no analysed comments in 2026-09"


@pytest.mark.parametrize(("source", "field"), [
    ({"kind": "poll"}, "source.kind"),
    (NPS | {"survey": "nope"}, "source.survey"),
    (NPS | {"question": "nope"}, "source.question"),
    (NPS | {"metric": "nps", "question": "csat"}, "source.question"),
    (NPS | {"metric": "median"}, "source.metric"),
    ({"kind": "outcome", "outcome": "happiness"}, "source.outcome"),
    ({"kind": "outcome", "outcome": "market_share", "basis": "revenue"}, "source.sizes"),
    ({"kind": "outcome", "outcome": "market_share", "basis": "revenue", "sizes": {"2026-13": 5}},
     "source.sizes.2026-13"),
    ({"kind": "theme", "theme": "no-such-theme"}, "source.theme"),
    ({"kind": "loop", "metric": "happiness"}, "source.metric"),
    ({"kind": "loop", "metric": "recovery_rate", "department": "Nowhere"}, "source.department"),
    ({"kind": "formula", "formula": "nps_b2b - unknown"}, "source.formula"),
    ({"kind": "formula", "formula": "nps_b2b **"}, "source.formula"),
])
def test_check_source_names_the_field_at_fault(db, source, field):
    apply_survey(db)
    with db.read() as db_session, pytest.raises(SourceError) as raised:
        check_source(db_session, source=source, measure_keys={"nps_b2b"})
    assert raised.value.field == field and str(raised.value)


def test_good_sources_pass_and_are_described_in_words(db):
    apply_survey(db)
    good = [NPS | {"filter": [["attribute", "segment=b2b"]]}, {"kind": "outcome", "outcome": "retention"},
            {"kind": "loop", "metric": "time_to_resolution"}, {"kind": "formula", "formula": "nps_b2b * 2"},
            {"kind": "manual"}]
    with db.read() as db_session:
        for source in good:
            check_source(db_session, source=source, measure_keys={"nps_b2b"})
    assert describe_source(good[0]) == "NPS of feedback (question nps), where segment is b2b"
    assert describe_source({"kind": "manual"}).startswith("entered by people")


def test_a_source_the_data_no_longer_fits_is_said_not_a_crash(db):
    with db.write() as db_session:
        a = _customer(db_session, "a")
        _bought(db_session, a, date(2026, 1, 10), 100.0)
    with pytest.raises(SourceError) as missing:
        _series(db, {"kind": "survey", "survey": "feedback", "question": "nps"}, ["2026-01"], key="x")
    assert missing.value.field == "source.metric"
    with pytest.raises(SourceError) as too_small:  # one customer of ours, in a market said to hold none
        _series(db, {"kind": "outcome", "outcome": "market_share", "basis": "customers", "sizes": {"2026-01": 0.5}},
                 ["2026-01"], key="y")
    assert too_small.value.field.startswith("source.sizes")


def _mixed_purchases(db_session) -> None:
    """Seeded purchases of every kind: sales, cancellations, lines that are not products, unknown costs, and
    purchases 364, 365 and 366 days after a customer's first (the CLV year's edge)."""
    import random

    chance = random.Random(15)
    kinds = ("sale", "sale", "sale", "cancellation", "non_product")
    for number in range(40):
        customer = _customer(db_session, f"x{number}")
        first = date(2025, 1, 1) + timedelta(days=chance.randrange(500))
        days = [first] + [first + timedelta(days=chance.choice((0, 3, 40, 200, 364, 365, 366, 500)))
                          for _ in range(chance.randrange(6))]
        for line, day in enumerate(days):
            kind = "sale" if line == 0 else chance.choice(kinds)
            amount = round(chance.uniform(5, 300), 2) * (-1 if kind == "cancellation" else 1)
            cost = None if chance.random() < 0.3 else round(chance.uniform(0, 50), 2)
            db_session.add(Transaction(customer_id=customer.id, source_key=f"x{number}-{line}", day=day,
                                       amount=amount, cost=cost, kind=kind))
    lonely = _customer(db_session, "only-cancelled")  # no sale: no first purchase, in no cohort
    db_session.add(Transaction(customer_id=lonely.id, source_key="lonely", day=date(2025, 6, 1), amount=-10.0,
                               kind="cancellation"))


def test_profitability_and_clv_per_month_and_quarter_on_mixed_purchases(db):
    with db.write() as db_session:
        _mixed_purchases(db_session)
    months = [period_label(date(2025, 1, 1) + timedelta(days=31 * step), "month") for step in range(24)]
    quarters = [f"{year}-Q{quarter}" for year in (2025, 2026) for quarter in (1, 2, 3, 4)]
    found = {}
    for key, (outcome, periods, kind) in {"pm": ("profitability", months, "month"),
                                          "pq": ("profitability", quarters, "quarter"),
                                          "cm": ("clv", months, "month"),
                                          "cq": ("clv", quarters, "quarter")}.items():
        series = _series(db, {"kind": "outcome", "outcome": outcome}, periods, period=kind, key=key)
        found[key] = {label: (None if v.value is None else round(v.value, 6), v.n,
                              None if v.ci_low is None else round(v.ci_low, 6)) for label, v in series.items()}
    assert found == EXPECTED_VALUES
# The figures the Ibis implementation gave on these purchases (the same on SQLite and PostgreSQL), kept when
# the values moved to SQL the store runs natively: (value, n, ci_low), rounded to six places.
EXPECTED_VALUES = {
    'pm': {
        '2025-01': (126.47, 4, 20.484015), '2025-02': (None, 0, None), '2025-03': (5.16, 1, None),
        '2025-04': (11.345, 2, -908.012444), '2025-05': (196.571667, 6, 63.545733), '2025-06': (125.972, 5, 16.851063),
        '2025-07': (253.285, 2, 69.997997), '2025-08': (90.79, 3, -405.459038), '2025-09': (209.368, 5, 13.057322),
        '2025-10': (None, 0, None), '2025-11': (156.53, 3, -244.94762), '2025-12': (215.316667, 6, 3.703237),
        '2026-01': (201.9475, 4, -33.225907), '2026-02': (189.24, 4, -214.346094), '2026-03': (155.933333, 6, -4.812349),
        '2026-04': (-22.89, 3, -598.943171), '2026-05': (113.988, 5, -225.52432), '2026-06': (72.41, 3, -361.635586),
        '2026-07': (34.2, 1, None), '2026-08': (186.71, 1, None), '2026-09': (-250.16, 1, None),
        '2026-10': (173.15, 2, -680.071648), '2026-11': (-233.495, 2, -700.257431), '2026-12': (210.21, 1, None),
    },
    'pq': {
        '2025-Q1': (102.208, 5, 3.884565), '2025-Q2': (183.198, 10, 66.174714), '2025-Q3': (228.2225, 8, 46.81048),
        '2025-Q4': (195.721111, 9, 56.494814), '2026-Q1': (208.3625, 12, 98.227595), '2026-Q2': (65.318182, 11, -85.353968),
        '2026-Q3': (-9.75, 3, -560.548658), '2026-Q4': (17.904, 5, -275.470697),
    },
    'cm': {
        '2025-01': (160.005, 4, -30.238794), '2025-02': (None, 0, None), '2025-03': (-55.85, 1, None),
        '2025-04': (83.7, 1, None), '2025-05': (393.68, 6, 223.761658), '2025-06': (85.6, 1, None),
        '2025-07': (383.08, 2, -1449.408847), '2025-08': (320.155, 2, -3024.181618), '2025-09': (213.5875, 4, -76.390853),
        '2025-10': (None, 0, None), '2025-11': (166.475, 2, -2204.439273), '2025-12': (None, 5, None),
        '2026-01': (None, 2, None), '2026-02': (None, 3, None), '2026-03': (None, 4, None),
        '2026-04': (None, 1, None), '2026-05': (None, 2, None), '2026-06': (None, 0, None),
        '2026-07': (None, 0, None), '2026-08': (None, 0, None), '2026-09': (None, 0, None),
        '2026-10': (None, 0, None), '2026-11': (None, 0, None), '2026-12': (None, 0, None),
    },
    'cq': {
        '2025-Q1': (116.834, 5, -58.93625), '2025-Q2': (316.4225, 8, 150.919354), '2025-Q3': (282.6025, 8, 103.338676),
        '2025-Q4': (None, 7, None), '2026-Q1': (None, 9, None), '2026-Q2': (None, 3, None),
        '2026-Q3': (None, 0, None), '2026-Q4': (None, 0, None),
    },
}

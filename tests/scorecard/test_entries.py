"""Values from people: entered for manual measures only, approved by the measure's owner or an admin, approval
withdrawn when the value changes, a locked period refused, and CSV imports all or nothing with errors naming the
row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.helpers import make_user
from tests.scorecard.builders import measure, objective, perspective, scorecard
from voxpop.accounts.models import AuditEntry, User
from voxpop.scorecard.entries import EntryError, approve_value, enter_value, import_values
from voxpop.scorecard.models import Measure, MeasureValue, Review, Scorecard
from voxpop.scorecard.sources import measure_series

NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.fixture
def people(db):
    for role in ("admin", "manager", "viewer"):
        make_user(db, role)
    make_user(db, "analyst", "owner@example.com")
    with db.write() as db_session:
        owner = db_session.scalar(select(User).where(User.email == "owner@example.com"))
        card = scorecard(db_session)
        goal = objective(db_session, perspective(db_session, card, "learning"), "skills")
        measure(db_session, goal, "trained", owner_id=owner.id, unit="%")
        measure(db_session, goal, "quarterly", period="quarter", owner_id=owner.id)
        measure(db_session, goal, "nps", source={"kind": "survey", "survey": "feedback", "metric": "nps",
                                                 "question": "nps"})
    return db


def _user(db_session, email: str) -> User:
    return db_session.scalar(select(User).where(User.email == email))


def _measure(db_session, key: str) -> Measure:
    return db_session.scalar(select(Measure).where(Measure.key == key))


def _value(db_session, key: str, period: str):
    return measure_series(db_session, measure=_measure(db_session, key), periods=[period], zone="UTC", min_base=1,
                          now=NOW)[period]


def test_a_value_counts_once_its_owner_approves_and_again_after_a_change(people):
    db = people
    with db.write() as db_session:
        entered = enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-11",
                              value="62.5", comment="HR's training log", actor=_user(db_session, "manager@example.com"),
                              n="40")
        assert _value(db_session, "trained", "2026-11").note == "a value for 2026-11 is awaiting approval"
        with pytest.raises(EntryError) as refused:
            approve_value(db_session=db_session, value=entered, actor=_user(db_session, "manager@example.com"))
        assert refused.value.field == "approval"
        owner = _user(db_session, "owner@example.com")
        approve_value(db_session=db_session, value=entered, actor=owner)
        assert (entered.approved_by_id, entered.approved_at is not None) == (owner.id, True)
        counted = _value(db_session, "trained", "2026-11")
        assert (counted.value, counted.n, counted.note) == (62.5, 40, "HR's training log")
        # the same value again keeps its approval; a new one needs approving again
        enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-11", value=62.5,
                    comment="HR's training log", actor=owner, n=40)
        assert _value(db_session, "trained", "2026-11").value == 62.5
        enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-11", value=64,
                    comment="corrected", actor=owner)
        assert _value(db_session, "trained", "2026-11").value is None
        approve_value(db_session=db_session, value=entered, actor=_user(db_session, "admin@example.com"))
        assert _value(db_session, "trained", "2026-11").value == 64.0
        actions = db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions.count("scorecard.value.enter") == 3 and actions.count("scorecard.value.approve") == 2


@pytest.mark.parametrize(("key", "period", "value", "email", "field", "words"), [
    ("nps", "2026-11", 40, "admin@example.com", "measure", "takes its value from the data"),
    ("trained", "2026-11", 40, "viewer@example.com", "measure", "owner, a manager or an admin"),
    ("trained", "2026-13", 40, "admin@example.com", "period", "period '2026-13' is not a month; write 2026-11"),
    ("trained", "2026-Q4", 40, "admin@example.com", "period", "is reported by month"),
    ("quarterly", "2026-11", 40, "admin@example.com", "period", "write 2026-Q4"),
    ("trained", "2026-11", "lots", "admin@example.com", "value", "not a number"),
    ("trained", "2026-11", "nan", "admin@example.com", "value", "not a finite number"),
])
def test_refused_entries_say_what_to_do(people, key, period, value, email, field, words):
    with people.write() as db_session, pytest.raises(EntryError) as refused:
        enter_value(db_session=db_session, measure=_measure(db_session, key), period=period, value=value,
                    comment="", actor=_user(db_session, email))
    assert refused.value.field == field and words in str(refused.value)


def test_a_locked_period_takes_no_value(people):
    with people.write() as db_session:
        card = db_session.scalar(select(Scorecard))
        db_session.add(Review(scorecard_id=card.id, period="2026-10", locked_at=NOW))
        db_session.flush()
        with pytest.raises(EntryError) as refused:
            enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-10", value=1,
                        comment="", actor=None)
    assert refused.value.field == "period" and "locked" in str(refused.value)


def test_a_csv_import_enters_every_row_and_approves_when_asked(people):
    text = ("measure,period,value,comment,n\ntrained,2026-10,55,from HR,30\ntrained,2026-11,60.5,,\n"
            "quarterly,2026-Q4,12,\"a comment, with a comma\",\n")
    with people.write() as db_session:
        report = import_values(db_session=db_session, scorecard=None, text=text, actor=None, approve=True)
        assert (report.rows, report.entered, report.approved, report.measures) == (3, 3, 3, ["trained", "quarterly"])
        assert _value(db_session, "trained", "2026-10").n == 30
        assert _value(db_session, "quarterly", "2026-Q4").note == "a comment, with a comma"
        stored = db_session.scalars(select(MeasureValue.origin)).all()
        again = import_values(db_session=db_session, scorecard=db_session.scalar(select(Scorecard)), text=text,
                              actor=_user(db_session, "manager@example.com"))
    assert set(stored) == {"csv"} and (again.entered, again.unchanged, again.approved) == (0, 3, 0)


def test_a_csv_with_errors_imports_nothing_and_names_each_row(people):
    text = ("measure,period,value,comment\ntrained,2026-10,55,ok\nnope,2026-10,1,\ntrained,2026-13,3,\n"
            "trained,2026-11,many,\nnps,2026-11,40,\ntrained,2026-10,56,twice\n")
    with people.write() as db_session:
        with pytest.raises(EntryError) as refused:
            import_values(db_session=db_session, scorecard=None, text=text, actor=None, approve=True)
        assert db_session.scalar(select(MeasureValue)) is None
    message = str(refused.value)
    assert "row 3: measure 'nope' is no measure" in message
    assert "row 4: period '2026-13' is not a month; write 2026-11" in message
    assert "row 5: value 'many' is not a number" in message
    assert "row 6: measure 'nps' takes its value from the data" in message
    assert "row 7: trained 2026-10 is also on row 2" in message
    assert "Nothing was imported" in message


def test_a_csv_without_the_columns_is_refused_at_its_header(people):
    with people.write() as db_session, pytest.raises(EntryError) as refused:
        import_values(db_session=db_session, scorecard=None, text="measure,month,value\n", actor=None)
    assert str(refused.value).startswith("row 1: the header lacks the column 'period'")


@pytest.mark.parametrize(("period", "words"), [("0001-01", "'0001-01' is before 1900"),
                                               ("1899-12", "'1899-12' is before 1900"),
                                               ("9999-12", "'9999-12' has not started yet")])
def test_a_period_no_page_can_show_takes_no_value(people, period, words):
    with people.write() as db_session, pytest.raises(EntryError, match=words) as refused:
        enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period=period, value=1,
                    comment="", actor=_user(db_session, "admin@example.com"))
    assert refused.value.field == "period"


@pytest.mark.parametrize("value", ["nan", "inf", "-Infinity", "1e400", float("nan"), float("inf")])
def test_a_value_that_is_not_finite_is_refused(people, value):
    with people.write() as db_session, pytest.raises(EntryError, match="is not a finite number") as refused:
        enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-11", value=value,
                    comment="", actor=_user(db_session, "admin@example.com"))
    assert refused.value.field == "value"


def test_n_beyond_the_columns_32_bits_is_refused_naming_the_row_and_column(people):
    text = "measure,period,value,comment,n\ntrained,2026-10,55,,2147483647\ntrained,2026-11,1,,99999999999999999999\n"
    with people.write() as db_session:
        with pytest.raises(EntryError) as refused:
            import_values(db_session=db_session, scorecard=None, text=text, actor=None, approve=True)
        assert db_session.scalar(select(MeasureValue)) is None
    assert ("row 3: n is 99,999,999,999,999,999,999; a count is at most 2,147,483,647 (column n)"
            in str(refused.value))
    with people.write() as db_session:
        largest = enter_value(db_session=db_session, measure=_measure(db_session, "trained"), period="2026-10",
                              value=55, comment="", actor=None, n="2147483647")
    with people.read() as db_session:
        assert db_session.get(MeasureValue, largest.id).n == 2**31 - 1

"""The one response filter of the staff pages: parsing query values, preset periods, and the responses it keeps."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from tests.text.stored import submit
from voxpop.collection.filters import (
    PERIODS,
    FilterError,
    matching_responses,
    parse_response_filter,
)
from voxpop.collection.models import Response

TODAY = date(2026, 12, 6)


def parse(**values):
    return parse_response_filter(today=TODAY, **values)


@pytest.mark.parametrize(("period", "first", "last"), [
    ("last-7-days", date(2026, 11, 30), TODAY),
    ("last-30-days", date(2026, 11, 7), TODAY),
    ("this-month", date(2026, 12, 1), TODAY),
    ("last-month", date(2026, 11, 1), date(2026, 11, 30)),
    ("this-quarter", date(2026, 10, 1), TODAY),
    ("last-quarter", date(2026, 7, 1), date(2026, 9, 30)),
    ("this-year", date(2026, 1, 1), TODAY),
    ("last-year", date(2025, 1, 1), date(2025, 12, 31)),
    ("last-12-months", date(2026, 1, 1), TODAY),
])
def test_preset_periods_are_calendar_periods_counted_from_today(period, first, last):
    chosen = parse(period=period)
    assert (chosen.since, chosen.until) == (first, last)
    assert chosen.query() == [("period", period)]


def test_last_quarter_in_january_is_the_previous_years_fourth():
    chosen = parse_response_filter(today=date(2027, 1, 15), period="last-quarter")
    assert (chosen.since, chosen.until) == (date(2026, 10, 1), date(2026, 12, 31))


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(9998, 1, 1)), st.sampled_from(sorted(PERIODS)))
def test_every_preset_ends_no_later_than_today_and_runs_forwards(today, period):
    chosen = parse_response_filter(today=today, period=period)
    assert chosen.since <= chosen.until <= today


def test_attribute_values_of_one_name_are_alternatives_and_answers_parse_each_form():
    chosen = parse(attribute=["segment=SMB", "segment=Enterprise", "channel=web", ""],
                   answer=["nps:Detractors", "nps:9-10", "csat:5", "bought:tents", "why_low:answered"])
    assert chosen.attributes == (("segment", ("SMB", "Enterprise")), ("channel", ("web",)))
    tests = dict(chosen.answers)
    assert [(t.low, t.high) for t in tests["nps"]] == [(0, 6), (9, 10)]
    assert (tests["csat"][0].low, tests["csat"][0].choices) == (5, ("5",))
    assert tests["bought"][0].choices == ("tents",)
    assert tests["why_low"][0].text == "answered"
    # The query round-trips: a shared link shows the same view.
    again = parse(**{name: [value for key, value in chosen.query() if key == name] for name in ("attribute", "answer")})
    assert again == chosen
    assert "nps is detractors or 9-10" in chosen.describe()


@pytest.mark.parametrize(("values", "parameter", "words"), [
    ({"since": "2026-13-01"}, "since", "YYYY-MM-DD"),
    ({"since": "2026-05-01", "until": "2026-04-01"}, "since", "swap them"),
    ({"period": "fortnight"}, "period", "last-quarter"),
    ({"period": "last-month", "since": "2026-01-01"}, "period", "not both"),
    ({"attribute": ["segment"]}, "attribute", "name=value"),
    ({"answer": ["nps"]}, "answer", "question:test"),
    ({"answer": ["NPS!:1"]}, "answer", "not a question key"),
    ({"answer": ["nps:9-3"]}, "answer", "backwards"),
    ({"attribute": [f"a=v{i}" for i in range(21)]}, "attribute", "at most 20"),
])
def test_a_bad_filter_is_a_sentence_naming_its_parameter(values, parameter, words):
    with pytest.raises(FilterError) as caught:
        parse(**values)
    assert caught.value.parameter == parameter
    assert words in str(caught.value)


def _at(db, day: datetime) -> None:
    """Move the newest response to `day`."""
    with db.write_engine.begin() as connection:
        newest = connection.execute(text("SELECT max(id) FROM responses")).scalar()
        connection.execute(text("UPDATE responses SET submitted_at = :when WHERE id = :id"),
                           {"when": day.replace(tzinfo=None), "id": newest})


def test_the_filter_keeps_exactly_the_responses_it_describes(db):
    submit(db, {"nps": 3, "bought": ["tents"]}, {"segment": "SMB", "channel": "web"})
    _at(db, datetime(2026, 9, 30, 22, 30, tzinfo=timezone.utc))  # 1 October in Berlin, 30 September in UTC
    submit(db, {"nps": 10, "bought": ["shoes", "tents"]}, {"segment": "Enterprise", "channel": "app"})
    _at(db, datetime(2026, 8, 15, 12, tzinfo=timezone.utc))
    submit(db, {"nps": 6, "bought": ["shoes"]}, {"segment": "SMB", "channel": "app"})
    _at(db, datetime(2026, 7, 1, 12, tzinfo=timezone.utc))

    def kept(zone="UTC", **values) -> list[int]:
        with db.read() as db_session:
            ids = db_session.scalars(matching_responses(parse(**values), zone=zone, survey="feedback")).all()
            return sorted(db_session.scalar(select(Response.id).where(Response.id == i)) for i in ids)

    with db.read() as db_session:
        first, second, third = db_session.scalars(select(Response.id).order_by(Response.id)).all()
    assert kept(period="last-quarter") == [first, second, third]
    assert kept(period="last-quarter", zone="Europe/Berlin") == [second, third]
    assert kept(attribute=["segment=SMB"]) == [first, third]
    assert kept(attribute=["segment=SMB", "segment=Enterprise", "channel=app"]) == [second, third]
    assert kept(answer=["nps:detractors"]) == [first, third]
    assert kept(answer=["nps:detractors", "bought:tents"]) == [first]
    assert kept(answer=["bought:shoes"], attribute=["segment=SMB"]) == [third]
    assert kept(answer=["why_low:answered"]) == []
    assert kept(answer=["nps:promoters", "nps:3"]) == [first, second]
    assert kept(until="2026-07-31") == [third]

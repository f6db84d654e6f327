"""The writer: one live response and a batch store the same rows, and its shortcuts give what the general code gives."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from tests.collection.shop import SHOP
from tests.helpers import apply_survey
from voxpop.analysis.models import ScoreRollup
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection.layout import BatchLayout, ResponseBatch, sqlite_stamp
from voxpop.collection.models import Answer, Response
from voxpop.collection.service import version_questions
from voxpop.collection.writer import ANSWER_COLUMNS, Target, insert_batch, insert_response

DIALECT = SQLiteDialect_pysqlite()
BIND = Response.__table__.c.submitted_at.type.dialect_impl(DIALECT).bind_processor(DIALECT)


def test_a_batch_lays_its_answers_out_in_the_order_of_the_answers_table():
    assert ANSWER_COLUMNS == ("response_id", "question_id", "score", "choice", "text")


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns"),
                                               ZoneInfo("Asia/Kathmandu")])))
def test_the_sqlite_time_text_is_the_one_sqlalchemy_stores(moment):
    assert sqlite_stamp(moment) == BIND(moment)


def test_a_response_stores_the_same_rows_live_and_in_a_batch(db):
    """The two entries of the writer: the same answers give the same answer rows, attribute set and rollups."""
    applied = apply_survey(db)
    survey_id, version_id = applied.survey.id, applied.version.id
    answers = {"nps": 9, "why_high": "Great tents", "csat": 4, "ease": 6, "bought": ["shoes", "tents"]}
    attributes = {"channel": "web", "segment": "smb"}
    with db.write_connection() as connection:
        questions = version_questions(db_session=connection, version_id=version_id)
        live = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id, questions=questions,
                               answers=answers, language="de", channel="web", attributes=attributes,
                               zone="Pacific/Auckland")
        layout = BatchLayout(questions, zone="Pacific/Auckland", dialect=type(connection.dialect))
        batch = ResponseBatch()
        layout.add(batch, "bulk:1", live.submitted_at, answers, attributes, language="de")
        target = Target(survey_id, version_id, questions, "web")
        assert insert_batch(connection, layout.finished(batch), target) == 1
        assert insert_batch(connection, batch, target) == 0  # its key is stored already
        stored = connection.execute(select(Response.id, Response.public_id, Response.language, Response.channel,
                                           Response.submitted_at, Response.attribute_set_id)).all()
        rows = {response_id: sorted(connection.execute(
            select(*(Answer.__table__.c[name] for name in ANSWER_COLUMNS[1:]))
            .where(Answer.response_id == response_id)))
            for response_id, *_ in stored}
    assert len(stored) == 2 and stored[0][2:] == stored[1][2:] and stored[0].public_id != stored[1].public_id
    assert rows[stored[0].id] == rows[stored[1].id] and len(rows[stored[0].id]) == 6  # two options, two rows

    def rollups():
        with db.read() as db_session:
            return sorted((r.question_id, r.day, r.attribute, r.value, r.n, r.total, r.total_squares, r.promoters,
                           r.detractors, r.top_two, r.agree) for r in db_session.scalars(select(ScoreRollup)))

    kept = rollups()
    assert len(kept) == 3 * 3 and {row[4] for row in kept} == {2}  # three scores × (all, channel, segment), twice
    rebuild_store(db, zone="Pacific/Auckland")
    assert rollups() == kept


def test_an_other_answer_stores_its_words_the_same_live_and_in_a_batch(db):
    applied = apply_survey(db, SHOP)
    survey_id, version_id = applied.survey.id, applied.version.id
    answers = {"helpful": "agree", "bought": ["boots", "other"], "bought.other": "Socks", "found": "other",
               "found.other": "A blog", "nps": 9}
    with db.write_connection() as connection:
        questions = version_questions(db_session=connection, version_id=version_id)
        live = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id, questions=questions,
                               answers=answers, language="en", channel="web", attributes={})
        layout = BatchLayout(questions, zone="UTC", dialect=type(connection.dialect))
        batch = ResponseBatch()
        layout.add(batch, "bulk:1", live.submitted_at, answers, {})
        assert insert_batch(connection, layout.finished(batch), Target(survey_id, version_id, questions, "web")) == 1
        by_response: dict[int, list] = {}
        for response_id, choice, text in connection.execute(
                select(Answer.response_id, Answer.choice, Answer.text).where(Answer.choice.is_not(None))):
            by_response.setdefault(response_id, []).append((choice, text))
    first, second = (sorted(rows) for rows in by_response.values())
    assert first == second == [("agree", None), ("boots", None), ("other", "A blog"), ("other", "Socks")]

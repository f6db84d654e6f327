"""The writer: one live response and a batch store the same rows, and its shortcuts give what the general code gives."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from voxpop.collection.models import Response
from voxpop.collection.layout import sqlite_stamp
from voxpop.collection.writer import ANSWER_COLUMNS

DIALECT = SQLiteDialect_pysqlite()
BIND = Response.__table__.c.submitted_at.type.dialect_impl(DIALECT).bind_processor(DIALECT)


def test_a_batch_lays_its_answers_out_in_the_order_of_the_answers_table():
    assert ANSWER_COLUMNS == ("response_id", "question_id", "score", "choice", "text")


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns"),
                                               ZoneInfo("Asia/Kathmandu")])))
def test_the_sqlite_time_text_is_the_one_sqlalchemy_stores(moment):
    assert sqlite_stamp(moment) == BIND(moment)

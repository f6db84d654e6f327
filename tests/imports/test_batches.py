"""The parser's shortcuts give exactly what the slower general code gives."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

from voxpop.collection.models import Response
from voxpop.imports.batches import sqlite_stamp

DIALECT = SQLiteDialect_pysqlite()
BIND = Response.__table__.c.submitted_at.type.dialect_impl(DIALECT).bind_processor(DIALECT)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                    timezones=st.sampled_from([timezone.utc, ZoneInfo("Europe/Berlin"), ZoneInfo("America/St_Johns"),
                                               ZoneInfo("Asia/Kathmandu")])))
def test_the_sqlite_time_text_is_the_one_sqlalchemy_stores(moment):
    assert sqlite_stamp(moment) == BIND(moment)

"""The whole store as Parquet partitioned by survey and month: read back by DuckDB with hive partitioning, each
response once, typed and labelled, split by months in the workspace's zone; erased and anonymised responses as the
store holds them; the folder replaced only when asked, and never left half written."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.helpers import apply_survey
from tests.results.test_export import SURVEY
from voxpop.collection.filters import ResponseFilter
from voxpop.collection.models import Response
from voxpop.collection.service import version_questions
from voxpop.collection.writer import insert_response
from voxpop.customers.models import Customer
from voxpop.privacy.customers import find_customer
from voxpop.privacy.erasure import erase_customer
from voxpop.privacy.retention import apply_retention
from voxpop.results import store_export
from voxpop.results.export import ExportColumn, ExportError, ExportLayout
from voxpop.surveys.models import Survey

ZONE = "Europe/Berlin"
ONBOARDING = """
key: onboarding
title: Getting started
status: live
questions:
  - key: ease
    kind: rating
    text: How easy was it?
    scale: {min: 1, max: 5}
  - key: note
    kind: text
    text: Anything else?
"""
UTC = timezone.utc


def respond(db, survey_key: str, answers: dict, moment: datetime, attributes: dict | None = None,
            customer_id: int | None = None) -> str:
    """One response submitted at `moment`; returns its public id."""
    with db.read() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == survey_key))
        version_id, survey_id = survey.current_version.id, survey.id
        questions = version_questions(db_session=db_session, version_id=version_id)
    with db.write_connection() as connection:
        stored = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id,
                                 questions=questions, answers=answers, language="en", channel="web",
                                 attributes=attributes or {}, customer_id=customer_id)
        # Through the typed column, so SQLite holds the time as the app writes it
        connection.execute(update(Response).where(Response.public_id == stored.public_id).values(submitted_at=moment))
    return stored.public_id


def two_surveys(db) -> dict[str, tuple[str, str]]:
    """Responses of two surveys either side of month ends in Berlin; returns public id -> (survey, month)."""
    apply_survey(db, SURVEY)
    apply_survey(db, ONBOARDING)
    kept = {}
    for moment, month in [(datetime(2026, 6, 30, 21, 30, tzinfo=UTC), "2026-06"),  # 23:30 in Berlin (CEST)
                          (datetime(2026, 6, 30, 22, 30, tzinfo=UTC), "2026-07"),  # 00:30 on 1 July
                          (datetime(2026, 1, 31, 23, 30, tzinfo=UTC), "2026-02")]:  # 00:30 on 1 February (CET)
        kept[respond(db, "post-purchase", {"nps": 9, "bought": ["boots"], "delivery": "post"}, moment,
                     {"segment": "SMB", "month": "june-promo"})] = ("post-purchase", month)
    kept[respond(db, "onboarding", {"ease": 4, "note": "Quick"}, datetime(2026, 3, 1, 12, tzinfo=UTC),
                 {"segment": "Enterprise"})] = ("onboarding", "2026-03")
    return kept


def export(db, path: Path, **options) -> list[store_export.SurveyExport]:
    response_filter = options.pop("response_filter", ResponseFilter())
    with db.read_connection() as connection:
        surveys = store_export.plan_store_export(connection, zone=ZONE, response_filter=response_filter,
                                                 survey_keys=options.pop("survey_keys", ()))
        return store_export.write_store_export(connection, surveys, path, response_filter=response_filter, **options)


def read(path: Path, query: str) -> list[tuple]:
    """The query's rows, over a view `responses` of the folder as DuckDB reads it with hive partitioning."""
    with duckdb.connect() as connection:
        connection.execute(f"CREATE VIEW responses AS SELECT * FROM read_parquet('{path}/*/*/*.parquet', "
                           "hive_partitioning = true, union_by_name = true)")
        return connection.execute(query).fetchall()


def test_duckdb_reads_every_response_once_in_its_survey_and_month(db, tmp_path):
    kept = two_surveys(db)
    path = tmp_path / "store"
    written = export(db, path)
    assert [(survey.layout.survey_key, survey.months) for survey in written] == [
        ("onboarding", (("2026-03", 1),)),
        ("post-purchase", (("2026-02", 1), ("2026-06", 1), ("2026-07", 1)))]
    rows = read(path, "SELECT response_id, survey, month FROM responses")
    assert sorted(rows) == sorted((response_id, *where) for response_id, where in kept.items())
    assert (path / "survey=post-purchase" / "month=2026-07" / "part-0.parquet").is_file()
    assert not [name for name in tmp_path.iterdir() if name.name.startswith(".")]  # no staging folder left


def test_columns_are_typed_and_labelled(db, tmp_path):
    two_surveys(db)
    path = tmp_path / "store"
    export(db, path)
    types = {name: kind for name, kind, *_ in read(path, "DESCRIBE responses")}
    assert types["submitted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert (types["nps"], types["ease"], types["bought__boots"], types["version"]) == \
        ("BIGINT", "BIGINT", "TINYINT", "BIGINT")
    assert (types["delivery"], types["segment"], types["survey"], types["month"]) == ("VARCHAR",) * 4
    # an attribute named like a partition key keeps its values in a prefixed column
    assert read(path, "SELECT DISTINCT attribute__month FROM responses WHERE survey = 'post-purchase'") \
        == [("june-promo",)]
    first = read(path, "SELECT submitted_at AT TIME ZONE 'UTC', nps, bought__boots, bought__tents, delivery "
                       "FROM responses WHERE month = '2026-07'")[0]
    assert first == (datetime(2026, 6, 30, 22, 30), 9, 1, 0, "post")
    schema = pq.read_schema(path / "survey=post-purchase" / "month=2026-07" / "part-0.parquet")
    assert schema.field("submitted_at").type.tz == "UTC"
    assert schema.field("nps").metadata[b"label"].decode() == "How likely are you to recommend us?"
    assert json.loads(schema.field("delivery").metadata[b"value_labels"]) == {"post": "By post", "pickup": "Picked up"}
    manifest = json.loads((path / store_export.MANIFEST).read_text())
    assert manifest["time_zone"] == ZONE and manifest["partitions"] == ["survey", "month"]
    assert [(survey["key"], survey["responses"]) for survey in manifest["surveys"]] == [("onboarding", 1),
                                                                                       ("post-purchase", 3)]


def test_surveys_and_days_can_be_chosen(db, tmp_path):
    two_surveys(db)
    written = export(db, tmp_path / "one", survey_keys=("post-purchase",),
                     response_filter=ResponseFilter(since=datetime(2026, 6, 1).date()))
    assert [(survey.layout.survey_key, survey.months) for survey in written] == [
        ("post-purchase", (("2026-06", 1), ("2026-07", 1)))]
    assert read(tmp_path / "one", "SELECT count(*) FROM responses")[0] == (2,)
    with pytest.raises(ExportError, match="there is no survey 'nothing'"):
        export(db, tmp_path / "two", survey_keys=("nothing",))


def test_erased_and_anonymised_responses_are_exported_as_the_store_holds_them(db, tmp_path):
    apply_survey(db, SURVEY)
    with db.write() as db_session:
        customers = [Customer(external_id=name, email=f"{name.lower()}@example.org", consent="yes")
                     for name in ("ERASED-1", "KEPT-1")]
        db_session.add_all(customers)
        db_session.flush()
        erased, kept = (customer.id for customer in customers)
    now = datetime.now(UTC)
    answers = {"nps": 3, "why": "Call me on 0170 1234567"}
    respond(db, "post-purchase", answers, now - timedelta(days=2), customer_id=erased)
    respond(db, "post-purchase", answers, now - timedelta(days=400), customer_id=kept)  # past retention
    respond(db, "post-purchase", answers, now - timedelta(days=1), customer_id=kept)
    with db.write() as db_session:
        erase_customer(db_session, find_customer(db_session, "ERASED-1"), now=now, actor=None)
    apply_retention(db, months=12)
    export(db, tmp_path / "store")
    rows = read(tmp_path / "store", "SELECT customer, nps, why FROM responses ORDER BY submitted_at")
    assert rows == [(None, 3, None), (None, 3, None), ("KEPT-1", 3, "Call me on 0170 1234567")]


def test_a_folder_is_replaced_only_when_it_holds_an_earlier_export_and_that_is_asked(db, tmp_path):
    two_surveys(db)
    path = tmp_path / "store"
    path.mkdir()  # an empty folder is fine
    export(db, path)
    (path / "survey=gone").mkdir()
    with pytest.raises(ExportError, match="holds an earlier export; choose a new folder, or replace it"):
        export(db, path)
    export(db, path, replace_existing=True)
    assert not (path / "survey=gone").exists()
    assert read(path, "SELECT count(*) FROM responses")[0] == (4,)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(ExportError, match="holds files that are not a voxpop export"):
        export(db, other, replace_existing=True)
    with pytest.raises(ExportError, match="is a file"):
        export(db, other / "holiday.jpg")
    with pytest.raises(ExportError, match="does not exist"):
        export(db, tmp_path / "missing" / "store")
    assert (other / "holiday.jpg").read_bytes() == b"\xff\xd8"


def test_a_failed_export_leaves_nothing_behind(db, tmp_path, monkeypatch):
    two_surveys(db)
    path = tmp_path / "store"
    export(db, path)
    before = sorted(item.relative_to(path) for item in path.rglob("*.parquet"))

    def broken(schema, rows):
        raise OSError("disk full")

    monkeypatch.setattr(store_export, "arrow_table", broken)
    with pytest.raises(OSError, match="disk full"):
        export(db, path, replace_existing=True)
    assert sorted(item.relative_to(path) for item in path.rglob("*.parquet")) == before  # the earlier one stays
    assert [item.name for item in tmp_path.iterdir()] == ["store"]



def test_the_earlier_export_is_put_back_when_the_new_one_cannot_take_its_place(db, tmp_path, monkeypatch):
    two_surveys(db)
    path = tmp_path / "store"
    export(db, path)
    before = sorted(item.relative_to(path) for item in path.rglob("*"))
    rename = Path.rename

    def refused(self, target):
        if self.name.startswith(".store.partial-"):
            raise PermissionError(13, "Permission denied")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", refused)
    with pytest.raises(PermissionError) as raised:
        export(db, path, replace_existing=True)
    assert not getattr(raised.value, "__notes__", None)  # nothing to tell: all is as it was
    assert sorted(item.relative_to(path) for item in path.rglob("*")) == before
    assert [item.name for item in tmp_path.iterdir()] == ["store"]


LAYOUT = ExportLayout(1, "bench", ZONE, (ExportColumn("response_id", "Response id"),
                                         ExportColumn("submitted_at", "Submitted at (UTC)", "timestamp"),
                                         ExportColumn("nps", "Recommend?", "integer")), (), ())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hours=st.lists(st.integers(0, 24 * 400), max_size=60), chunk_size=st.integers(1, 7),
       buffer_bytes=st.sampled_from([1, 200, 10_000_000]))
def test_each_response_lands_once_in_its_local_month_whatever_the_order_chunks_and_buffer(
        tmp_path_factory, hours, chunk_size, buffer_bytes):
    start = datetime(2025, 12, 31, 20, tzinfo=UTC)
    rows = [[f"r{index}", (start + timedelta(hours=hour)).astimezone(ZoneInfo(ZONE)), hour % 11]
            for index, hour in enumerate(hours)]  # in id order, not in order of time
    chunks = iter([rows[at:at + chunk_size] for at in range(0, len(rows), chunk_size)])
    folder = tmp_path_factory.mktemp("store")
    months = store_export._write_survey(LAYOUT, folder, chunks, buffer_bytes)
    expected = sorted((row[0], f"{row[1].year:04d}-{row[1].month:02d}", row[2]) for row in rows)
    found = sorted((row["response_id"], part.parent.name.removeprefix("month="), row["nps"])
                   for part in folder.rglob("*.parquet") for row in pq.read_table(part).to_pylist())
    assert found == expected
    assert sum(count for _, count in months) == len(rows)

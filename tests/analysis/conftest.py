"""The same synthetic answers on every backend the engine runs on."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone

import ibis
import numpy as np
import pandas as pd
import pytest

from tests.conftest import skip_or_fail


@pytest.fixture(scope="session")
def answers_frame() -> pd.DataFrame:
    """4,000 answers over a year that crosses both DST changes, with segments and channels that differ."""
    rng = np.random.default_rng(11)
    n = 4000
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    segment = rng.choice(["consumer", "business", "premium"], size=n, p=[0.6, 0.3, 0.1])
    shift = np.select([segment == "premium", segment == "business"], [1.5, -1.0], 0.0)
    return pd.DataFrame({
        "nps": np.clip(np.round(rng.normal(7.5 + shift, 2.2)), 0, 10).astype("int64"),
        "csat": np.clip(np.round(rng.normal(3.9 + shift / 2, 1.0)), 1, 5).astype("int64"),
        "segment": segment,
        "channel": rng.choice(["web", "app", "store"], size=n),
        # Whole seconds, UTC, naive: what the store holds. Some answers fall right around midnight Berlin.
        "submitted_at": [(start + timedelta(seconds=int(s))).replace(tzinfo=None)
                         for s in rng.integers(0, 365 * 86400, size=n)],
    })


def _sqlite(frame, tmp_path_factory):
    path = tmp_path_factory.mktemp("engine") / "answers.db"
    with sqlite3.connect(path) as connection:
        frame.assign(submitted_at=frame.submitted_at.dt.strftime("%Y-%m-%d %H:%M:%S")).to_sql(
            "answers", connection, index=False, dtype={"submitted_at": "TIMESTAMP"})
    return ibis.sqlite.connect(path).table("answers")


def _postgres(frame):
    url = os.environ.get("VOXPOP_TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("the PostgreSQL backend needs VOXPOP_TEST_POSTGRES_URL")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    frame.to_sql("engine_backend_answers", engine, index=False, if_exists="replace", method="multi", chunksize=1000)
    engine.dispose()
    from voxpop.analysis.sources import store_connection

    return store_connection(url).table("engine_backend_answers")


def _pyspark(frame, session):
    connection = ibis.pyspark.connect(session)
    session.createDataFrame(frame).createOrReplaceTempView("answers")
    return connection.table("answers")


@pytest.fixture(scope="session", params=["duckdb", "sqlite", "postgresql", "pyspark"])
def answers_table(request, answers_frame, tmp_path_factory):
    """The answers as an Ibis table on one backend."""
    if request.param == "duckdb":
        return ibis.duckdb.connect().create_table("answers", answers_frame)
    if request.param == "sqlite":
        return _sqlite(answers_frame, tmp_path_factory)
    if request.param == "postgresql":
        return _postgres(answers_frame)
    return _pyspark(answers_frame, request.getfixturevalue("spark"))

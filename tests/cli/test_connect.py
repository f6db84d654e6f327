"""`--connect URL --table NAME`: the same metrics, control charts, key drivers and lifetime-value fits on the same
data in a DuckDB file, a Parquet folder, PostgreSQL and Spark in local mode, equal to the last digit to what the
commands print for the export file; only the aggregation runs there; refusals are sentences."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import ibis.expr.types.core
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.conftest import skip_or_fail
from voxpop.cli import app

runner = CliRunner()
BACKENDS = ["duckdb", "duckdb-parquet", "postgresql", "pyspark"]


def voxpop(*arguments) -> dict:
    result = runner.invoke(app, [*map(str, arguments), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(*arguments) -> str:
    result = runner.invoke(app, list(map(str, arguments)))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def answers() -> pd.DataFrame:
    """2,400 answers over a year: whole-number scores (so every sum is exact in any order), a segment, a date and a
    timestamp."""
    rng = np.random.default_rng(7)
    n = 2400
    segment = rng.choice(["consumer", "business", "premium"], size=n, p=[0.6, 0.3, 0.1])
    ease = np.clip(np.round(rng.normal(3.6, 1.0, size=n)), 1, 5)
    value = np.clip(np.round(rng.normal(3.4, 1.1, size=n)), 1, 5)
    nps = np.clip(np.round(1.2 * ease + 0.8 * value + rng.normal(0, 1.5, size=n) - 1), 0, 10)
    seconds = rng.integers(0, 365 * 86400, size=n)
    moments = [datetime(2025, 1, 1) + timedelta(seconds=int(s)) for s in seconds]
    return pd.DataFrame({"nps": nps.astype("int64"), "ease": ease.astype("int64"), "value": value.astype("int64"),
                         "segment": segment, "day": [moment.date() for moment in moments],
                         "answered_at": moments})


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """Transactions of 250 customers; amounts in quarters of a unit, so that sums are exact in any order."""
    rng = np.random.default_rng(5)
    rows = []
    for customer in range(250):
        day, gap, typical = int(rng.integers(0, 60)), rng.exponential(25), rng.gamma(3, 10)
        while day < 365:
            rows.append({"Client": f"c{customer:03d}", "Day": date(2024, 1, 1) + timedelta(days=day),
                         "Total": round(rng.gamma(6, typical / 6) * 4) / 4})
            if rng.random() < 0.25:
                break
            day += 1 + int(rng.exponential(gap + 1))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def files(tmp_path_factory, answers, orders):
    """The data as export files (the reference), a DuckDB file and Parquet folders partitioned by month."""
    folder = tmp_path_factory.mktemp("connect")
    answers.to_csv(folder / "answers.csv", index=False)
    orders.to_csv(folder / "orders.csv", index=False)
    (folder / "mapping.yaml").write_text("customer: Client\ndate: Day\namount: Total\n")
    database = folder / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.register("answers_frame", answers)
        connection.register("orders_frame", orders)
        connection.execute("CREATE TABLE answers AS SELECT * FROM answers_frame")
        connection.execute("CREATE TABLE orders AS SELECT * FROM orders_frame")
        # The same answers with the scores and times as text, as some warehouses hold them.
        connection.execute("CREATE TABLE answers_text AS SELECT nps::VARCHAR AS nps, segment, day::VARCHAR AS day "
                           "FROM answers")
        connection.execute("CREATE TABLE answers_bad AS SELECT CASE WHEN nps = 3 THEN 12 ELSE nps END AS nps, "
                           "segment FROM answers")
        connection.execute("CREATE TABLE answers_na AS SELECT CASE WHEN nps = 3 THEN 'N/A' ELSE nps::VARCHAR END "
                           "AS nps, segment FROM answers")
        connection.execute(f"COPY (SELECT *, strftime(day, '%Y-%m') AS month FROM answers) TO '{folder}/answers' "
                           "(FORMAT parquet, PARTITION_BY (month))")
        connection.execute(f"COPY orders TO '{folder}/orders.parquet' (FORMAT parquet)")
    return folder


@pytest.fixture(scope="module")
def postgres_url(answers, orders):
    url = os.environ.get("VOXPOP_TEST_POSTGRES_URL")
    if not url:
        skip_or_fail("the PostgreSQL backend needs VOXPOP_TEST_POSTGRES_URL")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    answers.to_sql("connect_answers", engine, index=False, if_exists="replace", method="multi", chunksize=1000)
    orders.to_sql("connect_orders", engine, index=False, if_exists="replace", method="multi", chunksize=1000)
    with engine.begin() as connection:
        for statement in (
            "DROP TABLE IF EXISTS connect_answers_text",
            "CREATE TABLE connect_answers_text AS SELECT nps::text AS nps, segment, day::text AS day "
            "FROM connect_answers",
            "DROP TABLE IF EXISTS connect_answers_bad_time",
            "CREATE TABLE connect_answers_bad_time AS SELECT nps, segment, CASE WHEN nps = 3 THEN 'soon' "
            "ELSE day::text END AS day FROM connect_answers",
        ):
            connection.exec_driver_sql(statement)
    engine.dispose()
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def where(request, files):
    """--connect URL and the --table of the answers and of the orders on one backend."""
    if request.param == "duckdb":
        return f"duckdb:///{files / 'warehouse.duckdb'}", "answers", "orders"
    if request.param == "duckdb-parquet":
        return "duckdb://", str(files / "answers"), str(files / "orders.parquet")
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url"), "connect_answers", "public.connect_orders"
    request.getfixturevalue("spark")
    return "pyspark://", str(files / "answers"), str(files / "orders.parquet")


@pytest.fixture
def results_returned(monkeypatch):
    """The size of every result the engine's queries bring back to Python."""
    sizes = []
    execute = ibis.expr.types.core.Expr.execute

    def counted(self, *args, **kwargs):
        result = execute(self, *args, **kwargs)
        sizes.append(len(result) if hasattr(result, "__len__") else 1)
        return result

    monkeypatch.setattr(ibis.expr.types.core.Expr, "execute", counted)
    return sizes


def test_metrics_spc_and_drivers_equal_the_files_to_the_last_digit(where, files, results_returned):
    url, table, _ = where
    nps = ["metrics", "--metric", "nps", "--score", "nps", "--by", "segment", "--period", "month", "--time", "day"]
    connected, returned = voxpop(*nps, "--connect", url, "--table", table), list(results_returned)
    assert connected == voxpop(*nps, files / "answers.csv")
    # Only the aggregation ran where the data live: no query brought back more than one row per group.
    assert returned and max(returned) <= 3 * 12
    chart = ["spc", "--metric", "nps", "--score", "nps", "--period", "month", "--time", "answered_at"]
    assert voxpop(*chart, "--connect", url, "--table", table) == voxpop(*chart, files / "answers.csv")
    mean = ["metrics", "--metric", "mean", "--scale", "1-5", "--score", "ease", "--by", "segment",
            "--filter", "segment=premium", "--filter", "segment=business"]
    assert voxpop(*mean, "--connect", url, "--table", table) == voxpop(*mean, files / "answers.csv")
    del results_returned[:]
    weights = ["drivers", "--outcome", "nps", "--driver", "ease", "--driver", "value", "--scale", "1-5",
               "--outcome-scale", "0-10"]
    connected, returned = voxpop(*weights, "--connect", url, "--table", table), list(results_returned)
    assert connected == voxpop(*weights, files / "answers.csv")
    assert max(returned) == 1  # without --bootstrap the database only returns sums


def test_clv_fit_equals_the_file_to_the_last_digit(where, files):
    url, _, table = where
    fit = ["clv", "fit", "--mapping", files / "mapping.yaml", "--calibration-end", "2024-09-30",
           "--holdout-end", "2024-12-31"]
    from_file, connected = voxpop(*fit, files / "orders.csv"), voxpop(*fit, "--connect", url, "--table", table)
    assert (from_file.pop("file"), from_file.pop("format")) == (str(files / "orders.csv"), "csv")
    assert connected.pop("file") == table and connected.pop("format") in ("duckdb", "postgres", "pyspark")
    assert connected == from_file and connected["n_customers"] == 250


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_text_scores_and_times_in_a_table_read_as_in_a_file(request, backend, files):
    if backend == "duckdb":
        url, table = f"duckdb:///{files / 'warehouse.duckdb'}", "answers_text"
    else:
        url, table = request.getfixturevalue("postgres_url"), "connect_answers_text"
    nps = ["metrics", "--metric", "nps", "--score", "nps", "--by", "segment", "--period", "quarter", "--time", "day"]
    assert voxpop(*nps, "--connect", url, "--table", table) == voxpop(*nps, files / "answers.csv")
    if backend == "postgresql":  # no cast there spares bad text: it is counted and named first
        message = refused(*nps, "--connect", url, "--table", "connect_answers_bad_time")
        assert "column 'day' has" in message and "not a time like 2025-01-31" in message and "'soon'" in message


def test_refusals_name_what_to_change(files):
    url = f"duckdb:///{files / 'warehouse.duckdb'}"
    nps = ["metrics", "--metric", "nps", "--score", "nps"]
    out_of_scale = refused(*nps, "--connect", url, "--table", "answers_bad")
    assert "column 'nps' has" in out_of_scale and "not on the 0–10 NPS scale, such as 12" in out_of_scale
    assert "--scale" in out_of_scale
    not_numbers = refused(*nps, "--connect", url, "--table", "answers_na")
    assert "not on the 0–10 NPS scale, such as 'N/A'" in not_numbers
    assert "has no table 'answer'; did you mean 'answers'" in refused(*nps, "--connect", url, "--table", "answer")
    assert "no column 'np'; did you mean 'nps'?" in refused("metrics", "--metric", "nps", "--score", "np",
                                                            "--connect", url, "--table", "answers")
    assert "Ibis knows no backend called 'nosuchdb'" in refused(*nps, "--connect", "nosuchdb://host/db",
                                                                "--table", "answers")
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for url_with_secrets in (f"postgresql://analyst:secret@127.0.0.1:{port}/sales",
                             f"postgresql://127.0.0.1:{port}/sales?user=analyst&password=secret",
                             f"postgresql://analyst:se/cr?et@127.0.0.1:{port}/sales?sslmode=disable"):
        unreachable = refused(*nps, "--connect", url_with_secrets, "--table", "t")
        assert f"Cannot connect to postgresql://127.0.0.1:{port}/sales:" in unreachable
        assert "secret" not in unreachable and "cr?et" not in unreachable and "analyst" not in unreachable
    assert "There is no DuckDB file" in refused(*nps, "--connect", f"duckdb:///{files / 'none.duckdb'}",
                                                "--table", "answers")
    assert "--connect and --table go together" in refused(*nps, "--connect", url)
    not_duckdb = refused(*nps, "--connect", f"duckdb:///{files / 'answers.csv'}", "--table", "answers")
    assert "answers.csv is not a DuckDB database file" in not_duckdb and "without --connect" in not_duckdb
    csv_as_table = refused(*nps, "--connect", "duckdb://", "--table", str(files / "answers.csv"))
    assert "answers.csv cannot be read as Parquet" in csv_as_table
    assert "an export file is read as the FILE argument, without --connect" in csv_as_table
    assert "no column 'customer'" in refused("clv", "fit", "--connect", url, "--table", "orders")
    assert "mapping file" in refused("clv", "fit", "--connect", url, "--table", "orders")


def test_a_missing_driver_says_how_to_install_it(files):
    try:
        import trino  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the trino driver is installed here, so nothing is missing")
    message = refused("metrics", "--metric", "nps", "--score", "nps", "--connect",
                      "trino://analyst@127.0.0.1:8080/hive/cx", "--table", "answers")
    assert "pip install 'ibis-framework[trino]'" in message


@pytest.mark.parametrize("url", ["duckdb://", "pyspark://"])
def test_an_export_folder_of_surveys_with_other_columns_reads_by_column_name(request, url, tmp_path):
    """`voxpop export responses` writes PATH/survey=KEY/month=YYYY-MM/part-0.parquet; each survey has its own
    questions, so a column of one survey is missing (NULL) in the others' files."""
    for key, question in (("a", "speed"), ("b", "price")):
        for month in ("2025-01", "2025-02"):
            folder = tmp_path / "export" / f"survey={key}" / f"month={month}"
            folder.mkdir(parents=True)
            duckdb.sql(f"COPY (SELECT (i % 11)::BIGINT AS nps, i % 5 + 1 AS {question} FROM range(50) t(i)) "
                       f"TO '{folder / 'part-0.parquet'}' (FORMAT parquet)")
    by_survey = ["metrics", "--metric", "mean", "--scale", "1-5", "--score", "price", "--by", "survey",
                 "--connect", url, "--table", tmp_path / "export"]
    if url == "pyspark://":
        request.getfixturevalue("spark")
    rows = {row["survey"]: row for row in voxpop(*by_survey)["rows"]}
    assert (rows["a"]["n"], rows["b"]["n"], rows["b"]["value"]) == (0, 100, 3.0)


def test_an_error_of_the_backend_while_the_query_runs_is_one_sentence(tmp_path):
    database = tmp_path / "broken.duckdb"
    with duckdb.connect(str(database)) as connection:  # views whose cast fails only when they are read
        connection.execute("CREATE VIEW answers AS SELECT CASE WHEN i = 7 THEN 'seven' ELSE (i % 11)::VARCHAR END"
                           "::INTEGER AS nps FROM range(100) t(i)")
        connection.execute("CREATE VIEW orders AS SELECT 'c' || (i % 9) AS customer, DATE '2024-01-01' + i::INTEGER "
                           "AS date, CASE WHEN i = 7 THEN 'seven' ELSE i::VARCHAR END::DOUBLE AS amount "
                           "FROM range(300) t(i)")
    message = refused("metrics", "--metric", "nps", "--score", "nps", "--connect", f"duckdb:///{database}",
                      "--table", "answers")
    assert f"The query on duckdb:///{database} failed: Conversion Error" in message
    assert "seven" in message
    message = refused("clv", "fit", "--connect", f"duckdb:///{database}", "--table", "orders")
    assert f"The query on duckdb:///{database} failed: Conversion Error" in message


def test_drivers_checks_a_tables_columns_as_it_checks_a_files(tmp_path):
    database = tmp_path / "drivers.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("CREATE TABLE answers AS SELECT (i % 11)::BIGINT AS nps, (i % 5 + 1)::BIGINT AS ease, "
                           "((i * 7) % 5 + 1)::BIGINT AS value, (i % 3 = 0) AS returning, "
                           "CASE WHEN i = 4 THEN 'n/a' ELSE (i % 4 + 1)::VARCHAR END AS speed FROM range(200) t(i)")
    url = f"duckdb:///{database}"
    weights = ["drivers", "--outcome", "nps", "--connect", url, "--table", "answers"]
    off_scale = refused(*weights, "--driver", "ease", "--driver", "value", "--scale", "1-4")
    assert "column 'ease' has 40 values that are not on the 1–4 rating scale, such as 5" in off_scale
    assert "--scale" in off_scale
    outcome = refused(*weights, "--driver", "ease", "--driver", "value", "--outcome-scale", "1-10")
    assert "column 'nps' has" in outcome and "such as 0" in outcome and "--outcome-scale" in outcome
    assert "column 'speed' has 1 value that is not a number, such as 'n/a'" in refused(
        *weights, "--driver", "ease", "--driver", "speed")
    assert "column 'returning' holds boolean, not numbers" in refused(*weights, "--driver", "ease",
                                                                      "--driver", "returning")


@pytest.mark.parametrize("url, said", [
    ("postgresql://analyst:secret@db.example:5432/sales", "postgresql://db.example:5432/sales"),
    ("postgresql://db.example/sales?password=secret&sslmode=require", "postgresql://db.example/sales"),
    ("postgresql://analyst:se/cr@t@db.example:5432/sales", "postgresql://db.example:5432/sales"),
    ("postgresql://analyst:p%2Fw@db.example/sales?application_name=me@home", "postgresql://db.example/sales"),
    ("pyspark://?master=local[2]&spark.hadoop.fs.s3a.secret.key=secret", "pyspark://"),
    ("trino://analyst@db.example:8080/hive/cx", "trino://db.example:8080/hive/cx"),
    ("duckdb:////data/sales.duckdb", "duckdb:////data/sales.duckdb"),
])
def test_messages_name_a_url_by_its_scheme_host_port_and_database_only(url, said):
    from voxpop.analysis.warehouse import query_failed, redacted

    assert redacted(url) == said
    # A driver's own words may repeat a secret: it is masked there too.
    assert "secret" not in query_failed(url, RuntimeError(f"FATAL: cannot open {url}"))


@pytest.mark.parametrize("backend", ["duckdb", "postgresql", "pyspark"])
def test_iso_text_times_with_a_zone_are_read_in_utc(request, backend, tmp_path):
    """voxpop's own export writes 2025-06-07T22:07:45.892654+00:00; Z and other offsets are moved to UTC, so the
    text gives the periods the same times as UTC timestamps give."""
    rng = np.random.default_rng(3)
    moments = [datetime(2025, 1, 1) + timedelta(seconds=int(s), microseconds=int(m))
               for s, m in zip(rng.integers(0, 120 * 86400, size=600), rng.integers(0, 10**6, size=600))]
    zones = [(timedelta(0), "Z"), (timedelta(0), "+00:00"), (timedelta(hours=2), "+02:00"),
             (-timedelta(hours=5, minutes=30), "-05:30"), (timedelta(hours=1), "+0100"), (-timedelta(hours=3), "-03")]
    written = []
    for i, moment in enumerate(moments):  # the same instant as each of the zones would write it
        offset, zone = zones[i % len(zones)]
        written.append((moment + offset).isoformat(sep="T" if i % 2 else " ") + zone)
    frame = pd.DataFrame({"nps": rng.integers(0, 11, size=600), "at": moments, "at_text": written})
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'zones.duckdb'}"
        with duckdb.connect(str(tmp_path / "zones.duckdb")) as connection:
            connection.register("frame", frame)
            connection.execute("CREATE TABLE zoned_answers AS SELECT * FROM frame")
    elif backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        from sqlalchemy import create_engine

        engine = create_engine(url)
        frame.to_sql("zoned_answers", engine, index=False, if_exists="replace")
        engine.dispose()
    else:  # the session's time zone is UTC, as the timestamps are
        url = "pyspark://"
        request.getfixturevalue("spark").createDataFrame(frame).createOrReplaceTempView("zoned_answers")
    nps = ["metrics", "--metric", "nps", "--score", "nps", "--period", "day", "--connect", url,
           "--table", "zoned_answers"]
    assert voxpop(*nps, "--time", "at_text") == voxpop(*nps, "--time", "at")


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_group_keys_blanks_and_notes_are_the_files(request, backend, tmp_path):
    """An integer group column with missing values gives the keys "1" and "2", as in a file; blank text is a
    missing group, not a group of its own; and NPS answers with no 0 get the file's note about a 1–10 scale."""
    rng = np.random.default_rng(9)
    n = 400
    frame = pd.DataFrame({
        "nps": rng.integers(1, 11, size=n),
        "wave": pd.array(np.where(np.arange(n) % 7 == 0, None, np.arange(n) % 2 + 1), dtype="Int64"),
        "region": rng.choice(["north", "south", "", "  "], size=n)})
    frame.to_csv(tmp_path / "answers.csv", index=False)
    if backend == "duckdb":
        url = f"duckdb:///{tmp_path / 'keys.duckdb'}"
        with duckdb.connect(str(tmp_path / "keys.duckdb")) as connection:
            connection.register("frame", frame)
            connection.execute("CREATE TABLE keyed_answers AS SELECT * FROM frame")
    else:
        url = request.getfixturevalue("postgres_url")
        from sqlalchemy import create_engine

        engine = create_engine(url)
        frame.to_sql("keyed_answers", engine, index=False, if_exists="replace")
        engine.dispose()
    nps = ["metrics", "--metric", "nps", "--score", "nps", "--by", "wave", "--by", "region", "--format", "json"]
    from_file = runner.invoke(app, [*nps, str(tmp_path / "answers.csv")])
    connected = runner.invoke(app, [*nps, "--connect", url, "--table", "keyed_answers"])
    assert connected.exit_code == 0, connected.output
    assert json.loads(connected.stdout) == json.loads(from_file.stdout)
    assert {row["wave"] for row in json.loads(connected.stdout)["rows"]} == {"1", "2", None}
    assert "No answer in 'nps' is 0" in connected.stderr and "No answer in 'nps' is 0" in from_file.stderr
    filtered = [*nps[:-2], "--filter", "wave=2"]
    assert (voxpop(*filtered, "--connect", url, "--table", "keyed_answers")
            == voxpop(*filtered, tmp_path / "answers.csv"))


def test_a_spark_master_that_does_not_start_is_one_sentence_without_javas_stack_trace():
    if shutil.which("java") is None:
        skip_or_fail("PySpark needs Java (apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark.sql", reason="PySpark is a dev dependency: pip install -e '.[dev]'")
    # Its own process: in this one, a session the other tests started would be found running.
    done = subprocess.run([str(Path(sys.executable).with_name("voxpop")), "metrics", "--metric", "nps", "--score",
                           "nps", "--connect", "pyspark://?master=bogus", "--table", "answers"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    said = " ".join(line for line in done.stderr.splitlines() if "Warning" not in line and "require_" not in line)
    assert "Cannot connect to pyspark://: Master must either be yarn or start with spark" in said
    assert "\tat org.apache" not in done.stderr and "Exception in thread" not in done.stderr

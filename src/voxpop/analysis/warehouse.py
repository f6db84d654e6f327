"""Tables where the data already live: a DuckDB file, PostgreSQL, Trino or Spark, named by an Ibis URL.

`voxpop metrics|spc|drivers|clv fit --connect URL --table NAME` read such a table through Ibis. Its columns
keep their types, and everything that touches every row runs there: the engine's aggregation, and the checks
that files get row by row (a score outside its scale, text that is no number) as one more aggregate that counts
the bad values and names one. Only one row per group, or per customer for the lifetime-value models, reaches
Python.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.common.exceptions import TableNotFound

from voxpop.analysis.engine import MetricError, MetricSpec, count_if
from voxpop.core.wording import first_line

# The extra of ibis-framework that installs each backend's driver (`pip install 'ibis-framework[trino]'`).
DRIVER_EXTRAS = {"postgres": "postgres", "trino": "trino", "pyspark": "pyspark", "bigquery": "bigquery",
                 "snowflake": "snowflake", "mysql": "mysql", "mssql": "mssql", "clickhouse": "clickhouse",
                 "databricks": "databricks", "athena": "athena", "oracle": "oracle", "impala": "impala",
                 "risingwave": "risingwave", "exasol": "exasol", "druid": "druid", "flink": "flink"}
URL_FORMS = ("duckdb:///path/to/file.duckdb, duckdb:// (in memory, for Parquet), postgresql://user@host:5432/db, "
             "trino://user@host:8080/catalog/schema or pyspark:// (a local Spark session)")
# A number as text, read before any cast: PostgreSQL and Trino have no cast that gives NULL on bad text.
NUMBER = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$"
# ISO 8601 text, the time's zone as Z or an offset (voxpop's own export writes 2025-06-07T22:07:45.892654+00:00).
ISO_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
ZONE = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$"  # at the end of an ISO_TIME with a time of day (a date's -31 is no zone)
OFFSET = r"([+-])([0-9]{2}):?([0-9]{2})?$"


def connect(url: str):
    """The Ibis backend that `url` names; a sentence naming what to change when it cannot be reached."""
    scheme, _, rest = url.partition("://")
    if not rest and not url.endswith("://"):
        raise MetricError(f"--connect takes a URL such as {URL_FORMS}; the value given has no scheme://",
                          parameter="connect")
    scheme = scheme.lower()
    # SQLAlchemy's spelling (the store's VOXPOP_DATABASE_URL) names the same server.
    backend = "postgres" if scheme.split("+")[0] in ("postgres", "postgresql") else scheme
    kwargs = {}
    if backend == "duckdb":
        path = urllib.parse.urlparse(url).path
        if path and path != ":memory:":
            if not Path(path).exists():
                raise MetricError(f"There is no DuckDB file {path}; check the path (duckdb:///absolute/path.duckdb "
                                  "or duckdb://relative/path.duckdb)", parameter="connect")
            if not _is_duckdb_file(Path(path)):
                raise MetricError(f"{path} is not a DuckDB database file, which is what a duckdb:// URL names; read a "
                                  "CSV, TSV, Parquet or XLSX export as the FILE argument, without --connect (or a "
                                  "Parquet file or folder with --connect duckdb:// --table PATH)", parameter="connect")
            kwargs["read_only"] = True  # another process may write it; voxpop only reads
    try:
        if backend == "pyspark":
            return ibis.pyspark.connect(spark_session(url))
        connection = ibis.connect(f"{backend}://{rest}", **kwargs)
    except ImportError:
        extra = DRIVER_EXTRAS.get(backend, backend)
        raise MetricError(f"Reading {backend} needs its driver, which is not installed: "
                          f"pip install 'ibis-framework[{extra}]'", parameter="connect") from None
    except ValueError as exc:
        if "Don't know how to connect" not in str(exc):
            raise MetricError(f"Cannot connect to {redacted(url)}: {_first_line(exc, url)}", parameter="connect") from None
        raise MetricError(f"Ibis knows no backend called {scheme!r}; write the URL as {URL_FORMS}",
                          parameter="connect") from None
    except Exception as exc:  # the driver's own words: refused, unknown host, no such database, bad password
        raise MetricError(f"Cannot connect to {redacted(url)}: {_first_line(exc, url)}; check the host, port, database "
                          "and credentials, and that the server is running", parameter="connect") from None
    return connection


def _is_duckdb_file(path: Path) -> bool:
    """Whether the file starts as a DuckDB database does (its magic bytes "DUCK" at offset 8); a folder is not."""
    if not path.is_file():
        return False
    with path.open("rb") as file:
        return file.read(12)[8:12] == b"DUCK"


def spark_session(url: str):
    """The Spark session of a pyspark:// URL: pyspark:// alone is a local session on every core (or the one
    already running in this process); pyspark:///path/to/warehouse sets spark.sql.warehouse.dir, so that its
    saved tables can be named; query parameters are Spark settings, e.g. pyspark://?master=local[2] or
    ?master=spark://host:7077 and spark.executor.memory=8g."""
    from pyspark.sql import SparkSession

    parsed = urllib.parse.urlparse(url)
    settings = {"spark.ui.showConsoleProgress": "false", "spark.ui.enabled": "false"}
    if parsed.path.strip("/"):
        settings["spark.sql.warehouse.dir"] = str(Path(parsed.path).absolute())
    for key, value in urllib.parse.parse_qsl(parsed.query):
        settings["spark.master" if key == "master" else key] = value
    builder = SparkSession.builder.master(settings.pop("spark.master", "local[*]"))
    for key, value in settings.items():
        builder = builder.config(key, value)
    # The JVM that getOrCreate starts writes to this process's stderr, a Java stack trace when it cannot start
    # (a bad master): it gets a file instead, and what it said becomes the reason (the JVM keeps that file).
    with tempfile.TemporaryFile() as said:
        stderr = os.dup(2)
        os.dup2(said.fileno(), 2)
        try:
            session = builder.getOrCreate()
        except Exception as exc:
            os.dup2(stderr, 2)
            said.seek(0)
            thrown = [line.split(": ", 1)[1] for line in said.read().decode(errors="replace").splitlines()
                      if line.startswith("Exception in thread") and ": " in line]
            raise RuntimeError(thrown[0] if thrown else _first_line(exc)) from None
        finally:
            os.dup2(stderr, 2)
            os.close(stderr)
    session.sparkContext.setLogLevel("ERROR")
    return session


def open_table(url: str, name: str) -> ir.Table:
    """--connect URL --table NAME as an Ibis table on that backend. NAME is a table or view (schema.table, or
    catalog.schema.table on Trino), or on DuckDB and Spark a Parquet file or folder (hive-partitioned folders
    such as month=2025-01/ included), read in place as a view."""
    connection = connect(url)
    if _is_path(name):
        return _parquet(connection, name)
    *database, table_name = name.split(".")
    where = (tuple(database) if len(database) > 1 else database[0]) if database else None
    try:
        return connection.table(table_name, database=where)
    except TableNotFound:
        pass
    except Exception as exc:
        raise MetricError(f"{redacted(url)} cannot read the table {name!r}: {_first_line(exc, url)}", parameter="table") \
            from None
    names = _table_names(connection, where)
    close = difflib.get_close_matches(table_name, names, n=3, cutoff=0.5)
    if close:
        hint = f"; did you mean {' or '.join(map(repr, close))}?"
    elif names:
        hint = f"; its tables are: {', '.join(map(repr, sorted(names)[:30]))}"
    else:
        hint = "; it has no tables there"
    raise MetricError(f"{redacted(url)} has no table {name!r}{hint}", parameter="table")


def _is_path(name: str) -> bool:
    return "/" in name or name.endswith(".parquet") or "*" in name


def _parquet(connection, name: str) -> ir.Table:
    path = Path(name).expanduser()
    if not path.exists() and "*" not in name:  # a glob (PATH/*/*.parquet) is the engine's to expand
        raise MetricError(f"There is no Parquet file or folder {name}; check the path", parameter="table")
    try:
        # A folder's files are matched by column name, not position: an export folder holds surveys with other
        # columns (PATH/survey=KEY/month=YYYY-MM/part-0.parquet), and a column one survey lacks is NULL there.
        if connection.name == "duckdb":
            files = str(path / "**" / "*.parquet") if path.is_dir() else str(path)  # every partition folder
            return connection.read_parquet(files, hive_partitioning=True, union_by_name=True)
        if connection.name == "pyspark":  # Spark finds the partition folders itself
            return connection.read_parquet(str(path.resolve()), mergeSchema="true")
    except Exception as exc:
        # A CSV, TSV or XLSX export is no table: it is read as the command's FILE, with its checks and row numbers.
        export = " (an export file is read as the FILE argument, without --connect)" if path.is_file() else ""
        raise MetricError(f"{name} cannot be read as Parquet: {_first_line(exc)}{export}", parameter="table") from None
    raise MetricError(f"--table names a Parquet path, which voxpop reads with duckdb:// or pyspark://; on "
                      f"{connection.name}, name a table", parameter="table")


def _table_names(connection, database) -> list[str]:
    try:
        if connection.name == "duckdb":  # Ibis 12's list_tables calls a method DuckDB 2 no longer has
            rows = connection.con.execute("SELECT table_name FROM information_schema.tables").fetchall()
            return [row[0] for row in rows]
        return list(connection.list_tables(database=database))
    except Exception:  # listing is a courtesy: a user without the right to list still gets the message
        return []


def redacted(url: str) -> str:
    """How messages name a URL: its scheme, host, port and database only. The user, the password and the query
    string (?password=..., a Spark setting with a secret) are never printed."""
    scheme, _, location = _userinfo_split(url)
    return f"{scheme}://{location.split('?', 1)[0].split('#', 1)[0]}"


def _userinfo_split(url: str) -> tuple[str, str, str]:
    """scheme, user:password and the rest of a URL. A password may hold an unencoded / or ?, so the user part
    ends at the last @ that is not inside the query string (an @ after a ? with no = between them is still its)."""
    scheme, _, rest = url.partition("://")
    query = rest.find("?")
    ats = [i for i, char in enumerate(rest) if char == "@" and (query == -1 or i < query or "=" not in rest[query:i])]
    return (scheme, rest[:ats[-1]], rest[ats[-1] + 1:]) if ats else (scheme, "", rest)


def _secrets(url: str) -> list[str]:
    """The URL's password and secret settings (?password=..., spark.hadoop.fs.s3a.secret.key=...), which a driver's
    message may repeat."""
    _, userinfo, location = _userinfo_split(url)
    found = [value for key, value in urllib.parse.parse_qsl(location.partition("?")[2])
             if re.search(r"pass|secret|key|token|credential", key, re.IGNORECASE)]
    if ":" in userinfo:
        password = userinfo.split(":", 1)[1]
        found += [password, urllib.parse.unquote(password)]
    return [secret for secret in found if len(secret) >= 3]


def query_failed(url: str, exc: BaseException) -> str:
    """What to say when the backend refuses a query while it runs (a column's type, a file that does not read):
    the engine's first line, where it ran."""
    return (f"The query on {redacted(url)} failed: {_first_line(exc, url)}; check that the columns named hold the same "
            "type in every file or table read")


def _first_line(exc: BaseException, url: str = "") -> str:
    """The first line of an error, without the URL's secrets (a driver may repeat its password or settings)."""
    line = first_line(exc)
    for secret in sorted(_secrets(url), key=len, reverse=True) if url else ():
        line = line.replace(secret, "***")
    return line


def checked_scores(table: ir.Table, column: str, spec: MetricSpec, source: str, *,
                   scale_parameter: str = "scale", summary: dict[str, Any] | None = None) -> ir.Table:
    """The table with `column` as numbers, checked against the spec's scale where the table lives: one query
    counts the values outside the scale, not whole or not numbers, and names the smallest of them (a warehouse
    table has no row order to name a first row by). A numeric column is returned as it is; text is read as
    numbers, blank as a skipped answer. `summary`, if given, receives the answers' count `n` and `lowest` value
    (one more aggregate)."""
    raw = table[column]
    if raw.type().is_numeric():
        # Compared in the column's own type, as a filter: engines skip the Parquet row groups (or partitions) whose
        # statistics show every value on the scale, so clean data costs next to nothing to check.
        bad = raw.notnull() & ((raw < spec.low) | (raw > spec.high))
        if not raw.type().is_integer():
            bad = bad | (raw.notnull() & (raw != raw.round(0)))
    else:
        number, blank = _as_number(raw, column, source)
        bad = ~blank & (number.isnull() | (number < spec.low) | (number > spec.high) | (number != number.round(0)))
    if found := _refused(table, column, bad):
        count, value = found
        scale = f"{spec.low}–{spec.high} {spec.metric.upper() if spec.metric != 'mean' else 'rating'} scale"
        raise MetricError(
            f"{source}: column {column!r} has {count:,} value{'s' if count > 1 else ''} that "
            f"{'are' if count > 1 else 'is'} not on the {scale}, such as {value}; fix the data, or state the real "
            f"scale with `{scale_parameter}`", parameter=scale_parameter)
    checked = table if raw.type().is_numeric() else table.mutate(**{column: ibis.ifelse(blank, ibis.null(), number)})
    if summary is not None:
        found = checked.aggregate(n=checked[column].count(), lowest=checked[column].min()).execute().iloc[0]
        n = int(found["n"] or 0)
        summary |= {"n": n, "lowest": float(found["lowest"]) if n else float("nan")}
    return checked


def checked_numbers(table: ir.Table, column: str, source: str) -> ir.Table:
    """The table with `column` as numbers on no stated scale (an amount): text that is no number is counted and
    one such value named, where the table lives. Blank is missing."""
    if table[column].type().is_numeric():
        return table
    number, blank = _as_number(table[column], column, source)
    if found := _refused(table, column, ~blank & number.isnull()):
        count, value = found
        raise MetricError(f"{source}: column {column!r} has {count:,} value{'s' if count > 1 else ''} that "
                          f"{'are' if count > 1 else 'is'} not a number, such as {value}; fix the data, or leave "
                          "it blank where there is none")
    return table.mutate(**{column: ibis.ifelse(blank, ibis.null(), number)})


def _refused(table: ir.Table, column: str, bad: ir.BooleanValue) -> tuple[int, str] | None:
    """How many rows are `bad`, and the smallest of their values as a message says it; None when none is."""
    refused = table.filter(bad)
    found = refused.aggregate(count=refused.count(), value=refused[column].min()).execute().iloc[0]
    count = int(found["count"] or 0)
    return (count, _said(found["value"])) if count else None


def _as_number(raw: ir.Column, column: str, source: str) -> tuple[ir.FloatingValue, ir.BooleanValue]:
    """Text as float64 (NULL where it is no number) and where it is blank."""
    if not raw.type().is_string():
        raise MetricError(f"{source}: column {column!r} holds {raw.type()}, not numbers; name the column that holds "
                          "the scores")
    text = raw.strip()
    blank = raw.isnull() | (text == "")
    return ibis.ifelse(text.re_search(NUMBER), text.cast("float64"), ibis.null("float64")), blank


def _said(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repr(value) if isinstance(value, str) else str(value)


def typed_times(table: ir.Table, column: str, source: str) -> ir.Table:
    """The time column as timestamps: a date as its midnight; ISO 8601 text (2025-01-31, 2025-01-31 14:05:00, with
    Z or an offset such as +02:00 moved to UTC) read where it lives. Other text is left to the engine's parse_times on DuckDB, which detects its format; elsewhere
    it is refused, counted and one value named (PostgreSQL and Trino have no cast that spares bad text)."""
    moment = table[column]
    if moment.type().is_date():
        return table.mutate(**{column: moment.cast("timestamp")})
    if not moment.type().is_string():
        return table
    text = moment.strip()
    iso = text.re_search(ISO_TIME)
    found = _refused(table, column, text.notnull() & (text != "") & ~iso)
    if found is None:
        return table.mutate(**{column: ibis.ifelse(iso, _utc(text), ibis.null("timestamp"))})
    if backend_of(table) == "duckdb":
        return table
    raise MetricError(f"{source}: column {column!r} has {found[0]:,} value{'s' if found[0] > 1 else ''} that "
                      f"{'are' if found[0] > 1 else 'is'} not a time like 2025-01-31 or 2025-01-31T14:05:00Z, such as "
                      f"{found[1]}; store the times as a timestamp or date column, or as ISO text", parameter="time")


def _utc(text: ir.StringValue) -> ir.TimestampValue:
    """ISO_TIME text as a timestamp in UTC: a time with an offset moved by it, with Z or none as it is written
    (engines' casts to a timestamp either refuse an offset or drop it)."""
    zoned = text.length() > 10
    clock = ibis.ifelse(zoned, text.re_replace(ZONE, ""), text).cast("timestamp")
    shifted = zoned & text.re_search(r"[0-9]" + OFFSET)
    minutes = (text.re_extract(OFFSET, 2).nullif("").cast("int64").fill_null(0) * 60
               + text.re_extract(OFFSET, 3).nullif("").cast("int64").fill_null(0))
    east = ibis.ifelse(text.re_extract(OFFSET, 1) == "-", -minutes, minutes)
    return ibis.ifelse(shifted, clock - east.as_interval("m"), clock)


def transactions(table: ir.Table, *, customer: str, date_column: str, amount: str | None, source: str,
                 ) -> tuple[ir.Table, int]:
    """A warehouse table of transactions in the shape the lifetime-value summary reads: customer (text), date
    (a date) and amount (a number), and how many rows have no customer (left out). Dates are typed dates or
    timestamps, or ISO text (YYYY-MM-DD); a date that does not read is counted and one named."""
    names = [customer, date_column, *([amount] if amount else [])]
    missing = [name for name in names if name not in table.columns]
    if missing:
        close = difflib.get_close_matches(missing[0], table.columns, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else f"; the columns are: {', '.join(map(repr, table.columns[:30]))}"
        raise MetricError(f"{source} has no column {missing[0]!r}{hint} (name the columns with a mapping file)")
    ids = table[customer].cast("string").strip().re_replace(r"^(\d+)\.0+$", r"\1").nullif("")
    moment = table[date_column]
    if moment.type().is_string():
        text = moment.strip()
        parsed = ibis.ifelse(text.re_search(r"^\d{4}-\d{2}-\d{2}([ T].*)?$"), text.substr(0, 10).cast("date"),
                             ibis.null("date"))
        if found := _refused(table, date_column, parsed.isnull() & ids.notnull()):
            raise MetricError(f"{source}: column {date_column!r} has {found[0]:,} values that are not dates like "
                              f"2024-01-31, such as {found[1]}; every transaction needs its date")
        moment = parsed
    elif not (moment.type().is_date() or moment.type().is_timestamp()):
        raise MetricError(f"{source}: column {date_column!r} holds {moment.type()}, not dates; name the date column "
                          "in the mapping file")
    shaped = table.select(customer=ids, date=moment.cast("date") if moment.type().is_timestamp() else moment,
                          **({"amount": table[amount]} if amount else {}))
    if amount:
        shaped = checked_numbers(shaped, "amount", source)
    without_customer = int(shaped.aggregate(n=count_if(shaped.customer.isnull())).execute()["n"].iloc[0] or 0)
    return shaped.filter(shaped.customer.notnull()), without_customer


def backend_of(table: ir.Table) -> str:
    """The name of the backend holding the table (duckdb, postgres, pyspark, trino, ...)."""
    return ibis.get_backend(table).name


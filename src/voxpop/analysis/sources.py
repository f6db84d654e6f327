"""Where the engine's data come from: export files and DataFrames (through DuckDB), or the app's store.

Files are read with every column as text, so that a stray "N/A" in a score column becomes a clear error
naming the row, not a silently dropped value or a guessed type.
"""

from __future__ import annotations

import difflib
from datetime import datetime
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from voxpop.analysis.engine import MetricError, MetricSpec

ROW = "_row"  # 1-based data row of a file (the header is not counted)
TIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%Y%m%d",
]


def read_file(path: Path) -> ir.Table:
    """A CSV, TSV, Parquet or XLSX file as an Ibis table on an in-memory DuckDB, all columns as text; a folder
    of CSV files with one header (such as one export per day) is read as one table, its files in name order."""
    if not path.exists():
        raise MetricError(f"{path}: no such file")
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise MetricError(f"{path} holds no .csv files; give a file, or a folder of CSV exports")
    if path.is_file() and path.stat().st_size == 0:
        raise MetricError(f"{path} is empty")
    connection = ibis.duckdb.connect()
    suffix = files[0].suffix.lower()
    try:
        if len(files) > 1 or path.is_dir():
            table = connection.read_csv([str(file) for file in files], all_varchar=True, delim=",", header=True,
                                        quote='"', escape='"', null_padding=True, strict_mode=False, parallel=False,
                                        encoding=text_encoding(files[0]))
        elif suffix == ".parquet":
            table = connection.read_parquet(path)
        elif suffix in (".xlsx", ".xlsm"):
            import pandas as pd

            frame = pd.read_excel(path, dtype=str, engine="openpyxl")
            table = connection.create_table("export", frame.dropna(how="all"))
        else:
            delimiter = "\t" if suffix in (".tsv", ".tab") else ","
            encoding = text_encoding(path)
            # parallel=False: survey exports put line breaks inside quoted comments, which DuckDB's
            # parallel scanner cannot combine with padding short rows.
            table = connection.read_csv(path, all_varchar=True, delim=delimiter, header=True, quote='"', escape='"',
                                        null_padding=True, strict_mode=False, parallel=False,
                                        encoding=encoding)
        if suffix == ".parquet":
            table = table.mutate(**{name: table[name].cast("string") for name in table.columns})
        table = table.mutate(**{ROW: ibis.row_number() + 1})
        rows = table.count().execute()
    except Exception as exc:  # DuckDB's own first line names the problem (encoding, quoting, ...)
        raise MetricError(f"{path} cannot be read: {str(exc).strip().splitlines()[0]}") from None
    if rows == 0:
        raise MetricError(f"{path} has a header but no data rows")
    return table


def text_encoding(path: Path) -> str:
    """UTF-16 when the file starts with its byte-order mark (Qualtrics' TSV), else UTF-8, which is checked."""
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4 or len(head) < 1 << 20:  # not merely a character cut off by the sample
            raise MetricError(f"{path} is not UTF-8 text (byte {head[exc.start]:#04x} at offset {exc.start}); "
                              "save it as UTF-8 (or UTF-16) and try again") from None
    return "utf-8"


def from_dataframe(frame) -> ir.Table:
    """A pandas DataFrame as an Ibis table on DuckDB (values kept as they are)."""
    connection = ibis.duckdb.connect()
    table = connection.create_table("frame", frame)
    return table.mutate(**{ROW: ibis.row_number() + 1})


def require_columns(table: ir.Table, names: list[str], source: str) -> None:
    """Refuse a column that is not there, suggesting the closest one."""
    columns = [name for name in table.columns if name != ROW]
    for name in names:
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the columns are: {', '.join(map(repr, columns[:30]))}"
            raise MetricError(f"{source} has no column {name!r}{hint}")


def checked_scores(table: ir.Table, column: str, spec: MetricSpec, source: str, *,
                   scale_option: str = "--scale") -> ir.Table:
    """The table with `column` as numbers; a non-number or a value outside the scale is an error naming
    the row, the value and the scale (and `scale_option`, which states another). Blank cells are skipped
    answers."""
    raw = table[column]
    text = raw.cast("string").strip()
    blank = raw.isnull() | (text == "")
    number = text.try_cast("float64")
    bad = table.filter(~blank & (number.isnull() | (number < spec.low) | (number > spec.high) | (number != number.round(0))))
    if found := _first_bad(bad, raw):
        row, value, more = found
        raise MetricError(
            f"{source}: column {column!r} has the value {value!r} in data row {row}, outside the "
            f"{spec.low}–{spec.high} {spec.metric.upper() if spec.metric != 'mean' else 'rating'} scale{more}; "
            f"fix the file, or state the real scale with {scale_option}"
        )
    return table.mutate(**{column: ibis.ifelse(blank, ibis.null(), number)})


def checked_numbers(table: ir.Table, column: str, source: str) -> ir.Table:
    """The table with `column` as numbers on no stated scale (a price, a count, a measurement); text that
    is not a finite number is an error naming the row. Blank cells are missing values."""
    raw = table[column]
    text = raw.cast("string").strip()
    blank = raw.isnull() | (text == "")
    number = text.try_cast("float64")
    bad = table.filter(~blank & (number.isnull() | number.isnan() | number.isinf()))
    if found := _first_bad(bad, raw):
        row, value, more = found
        raise MetricError(f"{source}: column {column!r} has the value {value!r} in data row {row}, which is not "
                          f"a number{more}; fix the file, or leave the cell blank if there is no answer")
    return table.mutate(**{column: ibis.ifelse(blank, ibis.null(), number)})


def _first_bad(bad: ir.Table, raw: ir.Column) -> tuple[int, str, str] | None:
    """The first refused row's number and value, and how many more there are, said as a phrase."""
    first = bad.order_by(ROW).select(ROW, value=raw.cast("string")).limit(1).execute()
    if not len(first):
        return None
    count = int(bad.count().execute())
    return int(first[ROW].iloc[0]), first["value"].iloc[0], f" ({count} such values in all)" if count > 1 else ""


def blank_as_missing(table: ir.Table, columns: list[str]) -> ir.Table:
    """Blank or whitespace-only group values are missing values, one group, not two."""
    return table.mutate(**{name: table[name].cast("string").strip().nullif("") for name in dict.fromkeys(columns)})


def parse_times(table: ir.Table, column: str, source: str) -> ir.Table:
    """The table with `column` as timestamps, in the one format that reads a sample of its values."""
    if table[column].type().is_timestamp():
        return table
    sample = [value for value in table.select(column).filter(table[column].notnull()).limit(200).execute()[column]
              if isinstance(value, str) and value.strip()]
    if not sample:
        raise MetricError(f"{source}: column {column!r} has no times to group by")
    for fmt in TIME_FORMATS:
        try:
            for value in sample:
                datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        parsed = table[column].strip().as_timestamp(fmt)
        return table.mutate(**{column: parsed})
    raise MetricError(f"{source}: column {column!r} holds times in a format voxpop does not know, e.g. {sample[0]!r}")


def store_connection(url):
    """An Ibis connection to the app's store (the same database SQLAlchemy uses); `url` is a string or a
    SQLAlchemy URL. Open one per unit of work and disconnect it: SQLite connections stay in their thread."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return ibis.sqlite.connect(parsed.database)
    if parsed.get_backend_name() == "postgresql":
        return ibis.postgres.connect(host=parsed.host or "localhost", port=parsed.port or 5432, user=parsed.username,
                                     password=parsed.password, database=parsed.database)
    raise MetricError(f"the metrics engine does not read {parsed.get_backend_name()} stores yet")


def question_catalogue(connection) -> ir.Table:
    """Each question row with its survey's key: question_id, survey, question, kind, scale_min, scale_max,
    ces_version."""
    questions = connection.table("questions")
    versions = connection.table("survey_versions").select(version_id="id", survey_id="survey_id")
    surveys = connection.table("surveys").select(survey_id="id", survey="key")
    return (questions.select(question_id="id", version_id="version_id", question="key", kind="kind",
                             scale_min="scale_min", scale_max="scale_max", ces_version="ces_version")
            .join(versions, "version_id").join(surveys, "survey_id")
            .select("question_id", "survey", "question", "kind", "scale_min", "scale_max", "ces_version"))


def survey_answers(connection, *, survey: str, kind: str, question: str | None, attributes: list[str],
                   filters: dict[str, list[str]] | None = None) -> tuple[ir.Table, dict[str, Any]]:
    """One scored question's answers of a survey, with the response time and the requested attributes as
    columns `score`, `submitted_at` and one per attribute. Returns the table and the question's scale."""
    catalogue = question_catalogue(connection)
    chosen = catalogue.filter(catalogue.survey == survey, catalogue.kind == kind)
    if question:
        chosen = chosen.filter(chosen.question == question)
    found = chosen.select("question", "scale_min", "scale_max", "ces_version").distinct().execute()
    if found.empty:
        what = f"question {question!r} of kind {kind}" if question else f"{kind} question"
        raise MetricError(f"survey {survey!r} has no {what} (or no such survey)")
    if found["question"].nunique() > 1:
        keys = ", ".join(sorted(found["question"]))
        raise MetricError(f"survey {survey!r} has several {kind} questions ({keys}); choose one with --question")
    if len(found) > 1:
        raise MetricError(f"question {found['question'].iloc[0]!r} changed its scale between survey versions; "
                          "its answers cannot be pooled into one metric")
    info = found.iloc[0].to_dict()
    ids = chosen.filter(chosen.question == info["question"]).select("question_id")
    responses = connection.table("responses").select(response_id="id", submitted_at="submitted_at")
    table = (connection.table("answers").select("question_id", "response_id", "score")
             .join(ids, "question_id").join(responses, "response_id")
             .select("score", "submitted_at", "response_id"))
    for name in [*attributes, *(name for name in filters or {} if name not in attributes)]:
        attribute = connection.table("response_attributes")
        attribute = attribute.filter(attribute.name == name).select(rid=attribute.response_id, **{name: attribute.value})
        table = table.left_join(attribute, table.response_id == attribute.rid).drop("rid")
    for name, values in (filters or {}).items():
        table = table.filter(table[name].isin(values))
    return table, info


def survey_scores_wide(connection, *, survey: str, questions: list[str]) -> tuple[ir.Table, dict[str, tuple[int, int]]]:
    """One row per response of `survey` and one score column per named question (missing when skipped), for
    analyses across questions such as key drivers; the pivot runs in the database. Returns the table and
    each question's scale."""
    catalogue = question_catalogue(connection)
    chosen = catalogue.filter(catalogue.survey == survey, catalogue.question.isin(questions),
                              catalogue.kind.isin(["nps", "csat", "ces", "rating"]))
    found = chosen.select("question", "scale_min", "scale_max").distinct().execute()
    missing = sorted(set(questions) - set(found["question"]))
    if missing:
        raise MetricError(f"survey {survey!r} has no scored question {', '.join(map(repr, missing))} "
                          "(or no such survey); name questions of kind nps, csat, ces or rating")
    if found["question"].duplicated().any():
        changed = sorted(set(found.loc[found["question"].duplicated(), "question"]))
        raise MetricError(f"question {changed[0]!r} changed its scale between survey versions; its answers cannot be pooled")
    scales = {row.question: (int(row.scale_min), int(row.scale_max)) for row in found.itertuples()}
    answers = (connection.table("answers").select("question_id", "response_id", "score")
               .join(chosen.select("question_id", "question"), "question_id"))
    wide = answers.group_by("response_id").aggregate(
        **{key: answers.score.max(where=answers.question == key) for key in questions})
    return wide.select(*questions), scales


def store_transactions(connection) -> ir.Table:
    """The store's transactions as the customer measures read them: customer (the organisation's id), date,
    amount, cost and kind (sale, cancellation or non_product)."""
    lines = connection.table("transactions")
    customers = connection.table("customers").select(customer_id="id", customer="external_id")
    return lines.join(customers, "customer_id").select("customer", date=lines.day, amount=lines.amount,
                                                       cost=lines.cost, kind=lines.kind)

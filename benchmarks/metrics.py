"""Dashboard metrics: voxpop's engine on its own store against raw DuckDB SQL and pandas, on the same data.

The dashboard: per segment and calendar month (UTC, the default workspace zone), with n, value, se and a 95%
interval, (1) NPS, (2) CSAT top-two-box, (3) CES 2.0 mean and % agree; and (4) a filtered view: monthly NPS of
the responses whose `channel` attribute is 'web'. Seeded synthetic data: one survey with an NPS (0-10), a CSAT (1-5) and a CES 2.0
(1-7) question; each response has the three answers, a `segment` and a `channel` attribute, and a time in 2024-25.

Loading is timed but never in the ratios. The store is made by voxpop's migrations and filled with the sqlite3
driver in 1M-response chunks (journal off for the load only, then WAL; secondary indexes dropped and rebuilt from
their own DDL; public ids sequential, not uuid4; not ANALYZEd, as the app never does). The same chunks go to a
DuckDB file (the same normalised tables, the columns a dashboard reads) and to pandas DataFrames.

Runners, timed end to end, interleaved round by round (median of --repeat), all giving the same estimates:
  voxpop rollups voxpop's dashboard path: survey_estimates over the store's daily rollups (score_rollups, kept in
                 each response's transaction; built here once after the bulk load, time shown with the load):
                 one SQL statement per query through voxpop's Database, including opening its engine
  voxpop/sqlite  voxpop's engine on the raw answers (survey_answers + compute): Ibis over the SQLite store
  voxpop/duckdb  the same calls on the DuckDB copy: the engine's overhead over raw SQL on one backend
  raw duckdb     one hand-written SQL per query on the DuckDB copy; intervals from the counts in Python
  pandas         per query: select the question, merge in time and segment, groupby
The results must agree (groups, n, value, se, interval) or the exit status is 1; it never depends on timing.
Aims (issue 3), for the dashboard path: at most 1.5x raw DuckDB, and at least 10x faster than pandas.

    .venv/bin/python benchmarks/metrics.py [--sizes 1000000,10000000] [--repeat 3] [--workdir DIR]

Run time on 2 cores with the defaults: about 15 min, 5 GB of RAM at peak, 5 GB in the temp dir. 1M takes 1.5 min;
10M takes 7 min to load and 2 min per round, nearly all of it voxpop/sqlite. --workdir keeps the SQLite store
and reuses it for the same size and seed (delete it after changing the generator).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import ibis
import numpy as np
import pandas as pd

from voxpop.analysis.engine import MetricSpec, compute
from voxpop.analysis.rollups import rebuild_store
from voxpop.analysis.sources import store_connection, survey_answers
from voxpop.collection.attributes import fingerprint
from voxpop.core import estimates
from voxpop.dashboard.metrics import survey_estimates
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade

SURVEY, ZONE, CHUNK, MIN_BASE = "bench", "UTC", 1_000_000, 30
QUESTIONS = [(1, "nps", "nps", 0, 10, None), (2, "csat", "csat", 1, 5, None), (3, "ces", "ces", 1, 7, "2.0")]
SEGMENTS, SEGMENT_P = ["consumer", "smb", "mid-market", "enterprise"], [0.4, 0.3, 0.2, 0.1]
CHANNELS, CHANNEL_P = ["web", "email", "app", "sms"], [0.5, 0.25, 0.2, 0.05]
ATTRIBUTE_SETS = {(channel, segment): 1 + index for index, (channel, segment) in
                  enumerate((channel, segment) for channel in CHANNELS for segment in SEGMENTS)}
SCORE_P = {  # per question, one weight vector per segment (the segments differ a little)
    "nps": [[2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28], [3, 1, 2, 2, 3, 5, 7, 13, 18, 22, 24],
            [2, 1, 1, 2, 2, 4, 6, 14, 20, 24, 24], [1, 1, 1, 1, 2, 3, 5, 12, 20, 26, 28]],
    "csat": [[6, 8, 14, 38, 34], [7, 9, 15, 37, 32], [5, 8, 13, 40, 34], [4, 6, 12, 40, 38]],
    "ces": [[3, 5, 8, 14, 25, 28, 17], [4, 6, 9, 15, 24, 26, 16], [3, 4, 8, 14, 26, 29, 16], [2, 4, 7, 13, 26, 30, 18]],
}
START, END, NOW = np.datetime64("2024-01-01", "us"), np.datetime64("2026-01-01", "us"), "2026-01-01 00:00:00.000000"
DASHBOARD = [("nps", "nps", None), ("csat", "csat", None), ("ces", "ces", None), ("nps web", "nps", {"channel": ["web"]})]


def generate(size: int, seed: int):
    """Chunks of the three tables as DataFrames; response ids ascend with submitted_at, as in the app."""
    times = START + np.sort(np.random.default_rng(seed).integers(0, int((END - START) / np.timedelta64(1, "us")), size))
    for first in range(0, size, CHUNK):
        n, rng = min(CHUNK, size - first), np.random.default_rng([seed, first])
        ids, segment = np.arange(first + 1, first + n + 1), rng.choice(len(SEGMENTS), n, p=SEGMENT_P)
        scores = np.empty((n, 3), dtype=np.int64)
        for column, (key, vectors) in enumerate(SCORE_P.items()):
            for code, weights in enumerate(vectors):
                mask, p = segment == code, np.divide(weights, sum(weights))
                scores[mask, column] = (key != "nps") + rng.choice(len(weights), int(mask.sum()), p=p)
        values = np.column_stack([np.array(CHANNELS)[rng.choice(len(CHANNELS), n, p=CHANNEL_P)], np.array(SEGMENTS)[segment]])
        yield {"responses": pd.DataFrame({"id": ids, "submitted_at": times[first:first + n]}),
               "answers": pd.DataFrame({"id": np.arange(3 * first + 1, 3 * (first + n) + 1), "response_id": np.repeat(ids, 3),
                                        "question_id": np.tile([1, 2, 3], n), "score": scores.ravel()}),
               "response_attributes": pd.DataFrame({"response_id": np.repeat(ids, 2), "name": np.tile(["channel", "segment"], n),
                                                    "value": values.ravel()})}


def create_store(path: Path) -> sqlite3.Connection:
    """The store as `voxpop db upgrade` makes it, plus the survey; then a raw connection set up for bulk load."""
    database = Database(f"sqlite:///{path}")
    upgrade(database.write_engine)
    database.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    definition = json.dumps({"key": SURVEY, "questions": [{"key": q[1], "kind": q[2]} for q in QUESTIONS]})
    db.execute("INSERT INTO surveys (id, key, title, status, default_language, languages, created_at, updated_at) "
               "VALUES (1, ?, 'Benchmark survey', 'live', 'en', '[\"en\"]', ?, ?)", (SURVEY, NOW, NOW))
    db.execute("INSERT INTO survey_versions VALUES (1, 1, 1, ?, 'bench', ?)", (definition, NOW))
    db.executemany("INSERT INTO questions VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?, '{}')", [(*q[:2], q[0], *q[2:]) for q in QUESTIONS])
    db.execute("INSERT INTO attribute_definitions (name, label) VALUES ('segment', 'Segment'), ('channel', 'Channel')")
    for (channel, segment), set_id in ATTRIBUTE_SETS.items():  # each combination once, as the app stores them
        db.execute("INSERT INTO attribute_sets VALUES (?, ?)",
                   (set_id, fingerprint((("channel", channel), ("segment", segment)))))
        db.executemany("INSERT INTO attribute_set_values VALUES (?, ?, ?)",
                       [(set_id, "channel", channel), (set_id, "segment", segment)])
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF"):
        db.execute(f"PRAGMA {pragma}")
    return db


def store_rows(db: sqlite3.Connection, chunk: dict) -> None:
    responses = chunk["responses"]
    stamps = np.strings.replace(np.datetime_as_string(responses["submitted_at"].to_numpy(), unit="us"), "T", " ")
    ids = responses["id"].tolist()
    public_ids = (f"00000000-0000-4000-8000-{i:012x}" for i in ids)
    values = chunk["response_attributes"]["value"].tolist()  # channel, segment of each response in turn
    sets = map(ATTRIBUTE_SETS.__getitem__, zip(values[0::2], values[1::2]))
    db.executemany("INSERT INTO responses (id, public_id, survey_id, version_id, language, channel, submitted_at,"
                   " attribute_set_id) VALUES (?, ?, 1, 1, 'en', 'web', ?, ?)", zip(ids, public_ids, stamps.tolist(), sets))
    for table in ("answers",):
        frame = chunk[table]
        db.executemany(f"INSERT INTO {table} ({', '.join(frame.columns)}) VALUES ({', '.join('?' * len(frame.columns))})",
                       zip(*(frame[column].tolist() for column in frame.columns)))


DUCKDB_SCHEMA = """CREATE TABLE surveys (id INTEGER, key VARCHAR); INSERT INTO surveys VALUES (1, 'bench');
CREATE TABLE survey_versions (id INTEGER, survey_id INTEGER); INSERT INTO survey_versions VALUES (1, 1);
CREATE TABLE questions (id INTEGER, version_id INTEGER, key VARCHAR, kind VARCHAR, scale_min INTEGER, scale_max INTEGER,
  ces_version VARCHAR);
CREATE TABLE responses (id BIGINT, submitted_at TIMESTAMP);
CREATE TABLE answers (id BIGINT, response_id BIGINT, question_id INTEGER, score INTEGER);
CREATE TABLE response_attributes (response_id BIGINT, name VARCHAR, value VARCHAR);"""


def load(workdir: Path, size: int, seed: int) -> tuple[dict, dict]:
    """Fill the store (unless --workdir already holds it), the DuckDB copy and the pandas frames, chunk by chunk."""
    store, done, copy = workdir / f"store-{size}.db", workdir / f"store-{size}.seed", workdir / f"copy-{size}.duckdb"
    reuse = done.exists() and done.read_text() == str(seed) and store.exists()
    seconds, parts = {"store": 0.0, "store indexes": 0.0, "duckdb": 0.0}, []
    if not reuse:
        for leftover in workdir.glob(f"store-{size}.db*"):
            leftover.unlink()
        db = create_store(store)
        indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name"
                             " IN ('responses', 'answers')").fetchall()
        for name, _ in indexes:  # rebuilt from their own DDL after the load: faster than 60M index inserts
            db.execute(f"DROP INDEX {name}")
        db.execute("BEGIN")
    copy.unlink(missing_ok=True)
    ddb = duckdb.connect(str(copy))
    ddb.execute(DUCKDB_SCHEMA)
    ddb.executemany("INSERT INTO questions VALUES (?, 1, ?, ?, ?, ?, ?)", QUESTIONS)
    for chunk in generate(size, seed):
        started = time.perf_counter()
        if not reuse:
            store_rows(db, chunk)
        seconds["store"] += time.perf_counter() - started
        started = time.perf_counter()
        for name, frame in chunk.items():
            ddb.append(name, frame)
        seconds["duckdb"] += time.perf_counter() - started
        parts.append(chunk)
    if not reuse:
        db.execute("COMMIT")
        started = time.perf_counter()
        for _, sql in indexes:
            db.execute(sql)
        seconds["store indexes"] = time.perf_counter() - started
        db.execute("PRAGMA journal_mode=WAL")
        db.close()
        done.write_text(str(seed))
    upgrade(Database(f"sqlite:///{store}").write_engine)  # a reused store may predate the newest migration
    with sqlite3.connect(store) as db:
        built = db.execute("SELECT count(*) FROM score_rollups").fetchone()[0]
    if not built:  # voxpop's own daily rollups, as `voxpop db rollups` builds them after a bulk load
        started = time.perf_counter()
        rebuild_store(Database(f"sqlite:///{store}"), zone=ZONE)
        seconds["rollup build"] = time.perf_counter() - started
    ddb.execute("CHECKPOINT")
    ddb.close()
    frames = {name: pd.concat([part[name] for part in parts], ignore_index=True) for name in parts[0]}
    frames["response_attributes"] = frames["response_attributes"].astype({"name": "category", "value": "category"})
    frames["questions"] = pd.DataFrame(QUESTIONS, columns=["id", "key", "kind", "scale_min", "scale_max", "ces_version"])
    return {"store": store, "duckdb": str(copy), "frames": frames, "reused": reuse}, seconds


def fields(estimate: estimates.Estimate) -> tuple:
    return estimate.n, estimate.value, estimate.se, estimate.ci_low, estimate.ci_high


def intervals(kind: str, record: dict) -> list[tuple[str, estimates.Estimate]]:
    """The interval arithmetic on one group's counts (core's pure functions; no engine code)."""
    n = int(record["n"])
    if kind == "nps":
        p, d = int(record["promoters"]), int(record["detractors"])
        return [("nps", estimates.nps(promoters=p, passives=n - p - d, detractors=d, min_base=MIN_BASE))]
    if kind == "csat":
        return [("csat", estimates.top_box(top=int(record["top"]), n=n, min_base=MIN_BASE))]
    mean = estimates.mean(n=n, total=float(record["total"]), total_squares=float(record["squares"]), min_base=MIN_BASE)
    return [("ces2.0", mean), ("ces2.0_agree", estimates.proportion(successes=int(record["agree"]), n=n, min_base=MIN_BASE))]


def voxpop_query(connection, query) -> dict:
    """voxpop's engine on the raw answers (what `voxpop metrics --survey` runs)."""
    name, kind, filters = query
    by = [] if filters else ["segment"]
    table, question = survey_answers(connection, survey=SURVEY, kind=kind, question=None, attributes=by,
                                     filters=filters)
    spec = MetricSpec.create(kind, question.scale, ces_version=question.ces_version if kind == "ces" else None)
    rows = compute(table, spec, score="score", by=by, period="month", time="submitted_at", zone=ZONE)
    return {(name, row.metric, row.keys.get("segment"), str(row.keys["period"])[:10]): fields(row.estimate) for row in rows}


def rollup_query(database: Database, query) -> dict:
    """As a dashboard request runs it: a read connection from voxpop's Database, then the rollup query."""
    with database.read_connection() as connection:
        return dashboard_query(connection, query)


def dashboard_query(connection, query) -> dict:
    """voxpop's dashboard path: the same estimates from the store's daily rollups (survey_estimates)."""
    name, kind, filters = query
    where = ("channel", filters["channel"]) if filters else None
    metrics = {"nps": ("nps",), "csat": ("csat",), "ces": ("ces2.0", "ces2.0_agree")}[kind]
    return {(name, row.metric, row.keys.get("segment"), row.keys["period"]): fields(row.estimate)
            for row in survey_estimates(connection, min_base=MIN_BASE, period="month", attribute=None if filters else "segment",
                                        where=where, survey=SURVEY, kind=kind)
            if row.metric in metrics}


FLAGS = {"nps": {"promoters": "{s} >= 9", "detractors": "{s} <= 6"}, "csat": {"top": "{s} >= 4"},
         "ces": {"total": "{s}", "squares": "{s} * {s}", "agree": "{s} >= 5"}}
SQL = """SELECT {segment} AS segment, CAST(date_trunc('month', r.submitted_at) AS DATE) AS period, count(a.score) AS n, {measures}
FROM answers a JOIN questions q ON q.id = a.question_id JOIN survey_versions v ON v.id = q.version_id
JOIN surveys s ON s.id = v.survey_id JOIN responses r ON r.id = a.response_id {join}
WHERE s.key = '{survey}' AND q.kind = '{kind}' GROUP BY ALL"""
SEGMENT = "LEFT JOIN response_attributes seg ON seg.response_id = a.response_id AND seg.name = 'segment'"
WEB = "JOIN response_attributes ch ON ch.response_id = a.response_id AND ch.name = 'channel' AND ch.value = 'web'"
def sql_query(connection, query) -> dict:
    """One hand-written SQL per query on the DuckDB copy; intervals in Python."""
    name, kind, filters = query
    measures = ", ".join(f"sum(CAST({flag.format(s='a.score')} AS INTEGER)) AS {alias}" for alias, flag in FLAGS[kind].items())
    join, segment = (WEB, "NULL") if filters else (SEGMENT, "seg.value")
    cursor = connection.execute(SQL.format(measures=measures, join=join, segment=segment, survey=SURVEY, kind=kind))
    columns = [column[0] for column in cursor.description]
    return {(name, metric, record["segment"], str(record["period"])[:10]): fields(estimate)
            for record in (dict(zip(columns, values)) for values in cursor.fetchall())
            for metric, estimate in intervals(kind, record)}


def pandas_query(data: dict, query) -> dict:
    """What an analyst writes per query: select the question, merge in the time and segment, group."""
    name, kind, filters = query
    attrs, questions = data["response_attributes"], data["questions"]
    answers = data["answers"].loc[data["answers"]["question_id"] == int(questions.loc[questions["kind"] == kind, "id"].item()),
                                  ["response_id", "score"]]
    if filters:
        answers = answers[answers["response_id"].isin(attrs.loc[(attrs["name"] == "channel") & (attrs["value"] == "web"),
                                                                "response_id"])]
    segment = attrs.loc[attrs["name"] == "segment", ["response_id", "value"]].rename(columns={"value": "segment"})
    frame = answers.merge(data["responses"], left_on="response_id", right_on="id")
    frame = frame.assign(segment=None) if filters else frame.merge(segment, on="response_id", how="left")
    score = frame["score"]
    frame = frame.assign(period=frame["submitted_at"].to_numpy().astype("datetime64[M]"), total=score, squares=score * score,
                         promoters=score >= 9, detractors=score <= 6, top=score >= 4, agree=score >= 5)
    grouped = frame.groupby(["segment", "period"], observed=True, dropna=False)
    table = grouped[list(FLAGS[kind])].sum().join(grouped["score"].count().rename("n"))
    return {(name, metric, None if segment is None or segment != segment else str(segment), str(period)[:10]): fields(estimate)
            for (segment, period), record in table.iterrows() for metric, estimate in intervals(kind, record)}


def agree(reference: dict, other: dict) -> list[str]:
    problems = [f"groups differ: {sorted(set(reference) ^ set(other))[:3]}"] if set(reference) != set(other) else []
    for key in sorted(set(reference) & set(other)):
        a, b = reference[key], other[key]
        if a[0] != b[0] or any((x is None) != (y is None) or (x is not None and abs(x - y) > 1e-9 * max(1.0, abs(x)))
                               for x, y in zip(a[1:], b[1:])):
            problems.append(f"{key}: {a} != {b}")
    return problems[:5]


def bench(workdir: Path, size: int, seed: int, repeat: int) -> bool:
    print(f"\n== {size:,} responses ({3 * size:,} answers, {2 * size:,} attributes), seed {seed}: loading ...", flush=True)
    started = time.perf_counter()
    data, load_seconds = load(workdir, size, seed)
    print(f"   loaded in {time.perf_counter() - started:.0f} s; store {data['store'].stat().st_size / 1e9:.2f} GB", flush=True)
    runners = {  # label: (open, query, close)
        "voxpop rollups": (lambda: Database(f"sqlite:///{data['store']}"), rollup_query, lambda c: c.dispose()),
        "voxpop/sqlite": (lambda: store_connection(f"sqlite:///{data['store']}"), voxpop_query, lambda c: c.disconnect()),
        "voxpop/duckdb": (lambda: ibis.duckdb.connect(data["duckdb"], read_only=True), voxpop_query, lambda c: c.disconnect()),
        "raw duckdb": (lambda: duckdb.connect(data["duckdb"], read_only=True), sql_query, lambda c: c.close()),
        "pandas": (lambda: data["frames"], pandas_query, lambda c: None),
    }
    results, times, steps = {label: {} for label in runners}, {label: [] for label in runners}, {}
    for round_ in range(repeat):  # runners interleaved, so drift on a shared machine hits them all alike
        for label, (open_, query, close) in runners.items():
            started = time.perf_counter()
            context = open_()
            for item in DASHBOARD:
                began = time.perf_counter()
                results[label] |= query(context, item)
                steps.setdefault((label, item[0]), []).append(time.perf_counter() - began)
            close(context)
            times[label].append(time.perf_counter() - started)
            print(f"  round {round_ + 1}: {label} {times[label][-1]:.2f} s", flush=True)
    problems = [f"MISMATCH {label} vs raw duckdb: {problem}" for label in runners
                for problem in agree(results["raw duckdb"], results[label])]
    print("\n".join(problems), end="\n" if problems else "")
    failed = bool(problems)
    median = {label: statistics.median(values) for label, values in times.items()}
    print(f"\n{size:,} responses; months in {ZONE}; {len(results['raw duckdb'])} estimates per dashboard; median of "
          f"{repeat}; results {'DIFFER' if failed else 'agree across runners (same groups, n, value, se, interval)'}")
    loaded = ", ".join(f"{name} {value:.1f} s" for name, value in load_seconds.items())
    print(f"load (not in the ratios): {loaded}{' (store reused from --workdir)' if data['reused'] else ''}")
    print(f"{'runner':<14} {'total s':>8} {'x raw duckdb':>13} {'faster than pandas':>19}   "
          + " ".join(f"{q[0]:>8}" for q in DASHBOARD))
    for label in runners:
        print(f"{label:<14} {median[label]:>8.3f} {median[label] / median['raw duckdb']:>12.3g}x"
              f" {median['pandas'] / median[label]:>18.3g}x   "
              + " ".join(f"{statistics.median(steps[label, q[0]]):>8.3f}" for q in DASHBOARD))
    ratio, speedup = median["voxpop rollups"] / median["raw duckdb"], median["pandas"] / median["voxpop rollups"]
    print(f"aim 1, voxpop's dashboard on its default store <= 1.5x raw DuckDB: {ratio:.3g}x -> "
          f"{'met' if ratio <= 1.5 else 'NOT met'}\n"
          f"aim 2, voxpop's dashboard on its default store >= 10x faster than pandas: {speedup:.3g}x -> "
          f"{'met' if speedup >= 10 else 'NOT met'}")
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--workdir", type=Path, help="keep the loaded store here and reuse it (default: a temp dir)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="voxpop-bench-metrics-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ok = True
    try:
        for size in (int(part) for part in args.sizes.split(",")):
            ok &= bench(workdir, size, args.seed, args.repeat)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print("correctness: ok" if ok else "FAILED: the runners disagree")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""The results page of a survey: voxpop's computation on its own store against raw DuckDB SQL, on the same data.

One survey with an NPS (0-10), a CSAT (1-5), an ordered single choice (5 options) and a multiple choice (3 options,
1 or 2 chosen); each response has a `segment` and a `channel` attribute and a time in 2024-25. The page is
filtered by a date range (the first half of 2025) and an attribute (segment=smb), as a CX lead would.

  voxpop       results.service.survey_results over the SQLite store, through voxpop's Database (including opening
               its engine): every question's distribution from grouped SQL over the kept responses' answers, the
               headline estimates and Wilson intervals from the counts
  raw duckdb   hand-written SQL on a DuckDB copy of the store's tables (exported from the SQLite store in this
               process): the kept responses, then the answers per question, score and choice, and the respondents
               of the multiple choice; estimates from the counts by the core, as the page computes them

The two must agree (every count, every estimate) or the exit status is 1; it never depends on timing. Loading and
the export are timed but never in the ratio. Runs are interleaved round by round; the median of --repeat is shown.
The aim (issue 13): no slower than DuckDB.

    .venv/bin/python benchmarks/results.py [--responses 1000000] [--repeat 3] [--workdir DIR]

At 1M responses (5.5M answers) on 2 cores: about 1.5 GB in the temp dir; the load takes about a minute.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from voxpop.collection.attributes import fingerprint
from voxpop.collection.filters import parse_response_filter
from voxpop.core import estimates
from voxpop.results.service import survey_results
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade

SURVEY, ZONE, MIN_BASE, CHUNK = "bench", "UTC", 30, 500_000
PLANS = ["free", "starter", "team", "business", "enterprise"]
GOODS = ["boots", "tents", "socks"]
QUESTIONS = [  # id, key, kind, scale_min, scale_max, spec
    (1, "nps", "nps", 0, 10, {"key": "nps", "kind": "nps", "text": "Recommend?"}),
    (2, "csat", "csat", 1, 5, {"key": "csat", "kind": "csat", "text": "Satisfied?"}),
    (3, "plan", "single_choice", None, None, {"key": "plan", "kind": "single_choice", "text": "Plan?", "ordered": True,
                                              "options": [{"value": plan} for plan in PLANS]}),
    (4, "bought", "multiple_choice", None, None, {"key": "bought", "kind": "multiple_choice", "text": "Bought?",
                                                  "options": [{"value": good} for good in GOODS]}),
]
SEGMENTS, SEGMENT_P = ["consumer", "smb", "mid-market", "enterprise"], [0.4, 0.3, 0.2, 0.1]
CHANNELS, CHANNEL_P = ["web", "email", "app", "sms"], [0.5, 0.25, 0.2, 0.05]
SETS = {(channel, segment): 1 + index for index, (channel, segment) in
        enumerate((channel, segment) for channel in CHANNELS for segment in SEGMENTS)}
START, END, NOW = np.datetime64("2024-01-01", "us"), np.datetime64("2026-01-01", "us"), "2026-01-01 00:00:00.000000"
FILTER = {"since": "2025-01-01", "until": "2025-06-30", "attribute": ["segment=smb"]}


def generate(size: int, seed: int):
    """Chunks of responses and answers; response ids ascend with submitted_at, as in the app."""
    span = int((END - START) / np.timedelta64(1, "us"))
    times = START + np.sort(np.random.default_rng(seed).integers(0, span, size))
    next_answer = 1
    for first in range(0, size, CHUNK):
        n, rng = min(CHUNK, size - first), np.random.default_rng([seed, first])
        ids = np.arange(first + 1, first + n + 1)
        sets = [SETS[pair] for pair in zip(np.array(CHANNELS)[rng.choice(4, n, p=CHANNEL_P)],
                                           np.array(SEGMENTS)[rng.choice(4, n, p=SEGMENT_P)])]
        nps = rng.choice(11, n, p=np.divide([2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28], 100))
        csat = 1 + rng.choice(5, n, p=[.06, .08, .14, .38, .34])
        plan = np.array(PLANS)[rng.choice(5, n, p=[.3, .25, .2, .15, .1])]
        first_good, second_good = rng.choice(3, n), rng.choice(4, n)  # a second good 2 times in 3
        rows = [(ids, 1, nps, None), (ids, 2, csat, None), (ids, 3, None, plan),
                (ids, 4, None, np.array(GOODS)[first_good])]
        extra = (second_good < 3) & (second_good != first_good)
        rows.append((ids[extra], 4, None, np.array(GOODS)[second_good[extra]]))
        answers = pd.concat([pd.DataFrame({"response_id": owner, "question_id": question,
                                           "score": pd.array(score if score is not None else [None] * len(owner),
                                                             dtype="Int64"),
                                           "choice": choice if choice is not None else None})
                             for owner, question, score, choice in rows], ignore_index=True)
        answers.insert(0, "id", np.arange(next_answer, next_answer + len(answers)))
        next_answer += len(answers)
        stamps = np.strings.replace(np.datetime_as_string(times[first:first + n], unit="us"), "T", " ")
        yield pd.DataFrame({"id": ids, "submitted_at": stamps, "attribute_set_id": sets}), answers


def create_store(path: Path) -> sqlite3.Connection:
    """The store as `voxpop db upgrade` makes it, with the survey; then a raw connection set up for a bulk load."""
    database = Database(f"sqlite:///{path}")
    upgrade(database.write_engine)
    database.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    definition = json.dumps({"key": SURVEY, "questions": [question[5] for question in QUESTIONS]})
    db.execute("INSERT INTO surveys (id, key, title, status, default_language, languages, created_at, updated_at) "
               "VALUES (1, ?, 'Benchmark survey', 'live', 'en', '[\"en\"]', ?, ?)", (SURVEY, NOW, NOW))
    db.execute("INSERT INTO survey_versions (id, survey_id, number, definition, fingerprint, created_at) "
               "VALUES (1, 1, 1, ?, 'bench', ?)", (definition, NOW))
    db.executemany("INSERT INTO questions (id, version_id, key, position, kind, required, scale_min, scale_max, spec) "
                   "VALUES (?, 1, ?, ?, ?, 1, ?, ?, ?)",
                   [(qid, key, qid, kind, low, high, json.dumps(spec)) for qid, key, kind, low, high, spec in QUESTIONS])
    db.execute("INSERT INTO attribute_definitions (name, label) VALUES ('segment', 'Segment'), ('channel', 'Channel')")
    for (channel, segment), set_id in SETS.items():  # each combination once, as the app stores them
        db.execute("INSERT INTO attribute_sets VALUES (?, ?)", (set_id, fingerprint((("channel", channel),
                                                                                      ("segment", segment)))))
        db.executemany("INSERT INTO attribute_set_values VALUES (?, ?, ?)",
                       [(set_id, "channel", channel), (set_id, "segment", segment)])
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "foreign_keys=OFF"):
        db.execute(f"PRAGMA {pragma}")
    return db


def load(workdir: Path, size: int, seed: int) -> tuple[Path, float]:
    """Fill the SQLite store (kept in --workdir for the same size and seed); indexes rebuilt after the load."""
    store, done = workdir / f"results-{size}.db", workdir / f"results-{size}.seed"
    if done.exists() and done.read_text() == str(seed) and store.exists():
        upgrade(Database(f"sqlite:///{store}").write_engine)  # a kept store may predate the newest migration
        return store, 0.0
    started = time.perf_counter()
    for leftover in workdir.glob(f"results-{size}.db*"):
        leftover.unlink()
    db = create_store(store)
    indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name "
                         "IN ('responses', 'answers')").fetchall()
    for name, _ in indexes:
        db.execute(f"DROP INDEX {name}")
    db.execute("BEGIN")
    for responses, answers in generate(size, seed):
        db.executemany("INSERT INTO responses (id, public_id, survey_id, version_id, language, channel, submitted_at, "
                       "attribute_set_id) VALUES (?, ?, 1, 1, 'en', 'web', ?, ?)",
                       zip(responses["id"].tolist(), (f"00000000-0000-4000-8000-{i:012x}" for i in responses["id"]),
                           responses["submitted_at"].tolist(), responses["attribute_set_id"].tolist()))
        db.executemany("INSERT INTO answers (id, response_id, question_id, score, choice) VALUES (?, ?, ?, ?, ?)",
                       zip(answers["id"].tolist(), answers["response_id"].tolist(), answers["question_id"].tolist(),
                           [None if pd.isna(score) else int(score) for score in answers["score"]],
                           answers["choice"].tolist()))
    db.execute("COMMIT")
    for _, sql in indexes:
        db.execute(sql)
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    done.write_text(str(seed))
    return store, time.perf_counter() - started


EXPORTED = {  # the store's tables the results read, with their DuckDB types
    "responses": "id BIGINT, survey_id INTEGER, submitted_at TIMESTAMP, attribute_set_id INTEGER",
    "answers": "id BIGINT, response_id BIGINT, question_id INTEGER, score INTEGER, choice VARCHAR",
    "attribute_set_values": "set_id INTEGER, name VARCHAR, value VARCHAR",
    "questions": "id INTEGER, version_id INTEGER, key VARCHAR, kind VARCHAR, scale_min INTEGER, scale_max INTEGER, "
                 "spec VARCHAR",
}


def export_to_duckdb(store: Path, copy: Path) -> None:
    """The store's tables the results read, copied to DuckDB in chunks."""
    copy.unlink(missing_ok=True)
    ddb = duckdb.connect(str(copy))
    with sqlite3.connect(store) as source:
        for table, columns in EXPORTED.items():
            ddb.execute(f"CREATE TABLE {table} ({columns})")
            names = ", ".join(column.split()[0] for column in columns.split(", "))
            for frame in pd.read_sql(f"SELECT {names} FROM {table}", source, chunksize=CHUNK):
                if table == "responses":
                    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"])
                ddb.append(table, frame)
    ddb.execute("CHECKPOINT")
    ddb.close()


def run_voxpop(store: Path) -> dict:
    """The results page's data function, as the page calls it (opening voxpop's Database included)."""
    database = Database(f"sqlite:///{store}")
    try:
        chosen = parse_response_filter(today=date(2026, 1, 1), **FILTER)
        with database.read_connection() as connection:
            found = survey_results(connection, survey=SURVEY, response_filter=chosen, zone=ZONE, min_base=MIN_BASE,
                                   today=date(2026, 1, 1))
    finally:
        database.dispose()
    figures = {"responses": found.responses}
    for question in found.questions:
        figures[question.key] = {
            "answered": question.answered,
            "counts": {**{point.score: point.count for point in question.distribution if point.count},
                       **{option.value: option.count for option in question.options if option.count}},
            "estimates": {**{headline.metric: _fields(headline.estimate) for headline in question.headlines},
                          **{option.value: _fields(option.share) for option in question.options if option.count}}}
    return figures


KEPT = """SELECT id FROM responses WHERE survey_id = 1 AND submitted_at >= TIMESTAMP '2025-01-01'
  AND submitted_at < TIMESTAMP '2025-07-01' AND attribute_set_id IN
  (SELECT set_id FROM attribute_set_values WHERE name = 'segment' AND value = 'smb')"""


def run_duckdb(copy: Path) -> dict:
    """Hand-written SQL for the same figures; the estimates from its counts by the core."""
    ddb = duckdb.connect(str(copy), read_only=True)
    try:
        responses = ddb.execute(f"SELECT count(*) FROM ({KEPT})").fetchone()[0]
        counts = ddb.execute(f"""SELECT question_id, score, choice, count(*) FROM answers
            WHERE response_id IN ({KEPT}) GROUP BY ALL""").fetchall()
        respondents = dict(ddb.execute(f"""SELECT question_id, count(DISTINCT response_id) FROM answers
            WHERE response_id IN ({KEPT}) GROUP BY question_id""").fetchall())
    finally:
        ddb.close()
    figures: dict = {"responses": responses}
    for qid, key, kind, _, high, _ in QUESTIONS:
        mine = {(score if score is not None else choice): count for question, score, choice, count in counts
                if question == qid}
        answered = respondents.get(qid, 0)
        if kind == "nps":
            promoters = sum(count for score, count in mine.items() if score >= 9)
            detractors = sum(count for score, count in mine.items() if score <= 6)
            found = {"nps": estimates.nps(promoters=promoters, passives=answered - promoters - detractors,
                                          detractors=detractors, min_base=MIN_BASE)}
        elif kind == "csat":
            found = {"csat": estimates.top_box(top=sum(count for score, count in mine.items() if score >= high - 1),
                                               n=answered, min_base=MIN_BASE)}
        else:
            found = {value: estimates.proportion(successes=count, n=answered, min_base=MIN_BASE)
                     for value, count in mine.items()}
        figures[key] = {"answered": answered, "counts": mine,
                        "estimates": {name: _fields(estimate) for name, estimate in found.items()}}
    return figures


def _fields(estimate: estimates.Estimate) -> tuple:
    return estimate.n, estimate.value, estimate.ci_low, estimate.ci_high


def agree(first: dict, second: dict) -> bool:
    """Every count equal, every estimate equal to 1e-9."""
    if first.keys() != second.keys() or first["responses"] != second["responses"]:
        return False
    for key in first:
        if key == "responses":
            continue
        a, b = first[key], second[key]
        if a["answered"] != b["answered"] or a["counts"] != b["counts"] or a["estimates"].keys() != b["estimates"].keys():
            return False
        for name, values in a["estimates"].items():
            if not np.allclose(np.array(values, dtype=float), np.array(b["estimates"][name], dtype=float),
                               rtol=0, atol=1e-9, equal_nan=True):
                return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the store here and reuse it")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        workdir = options.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        store, loading = load(workdir, options.responses, options.seed)
        started = time.perf_counter()
        copy = workdir / f"results-{options.responses}.duckdb"
        export_to_duckdb(store, copy)
        exporting = time.perf_counter() - started
        print(f"{options.responses:,} responses; load {loading:.1f} s (0: reused), export to DuckDB {exporting:.1f} s")
        timings: dict[str, list[float]] = {"voxpop": [], "raw duckdb": []}
        results = {}
        for _ in range(options.repeat):
            for name, runner, source in (("voxpop", run_voxpop, store), ("raw duckdb", run_duckdb, copy)):
                started = time.perf_counter()
                results[name] = runner(source)
                timings[name].append(time.perf_counter() - started)
        same = agree(results["voxpop"], results["raw duckdb"])
        kept = results["voxpop"]["responses"]
        medians = {name: statistics.median(seconds) for name, seconds in timings.items()}
        print(f"filter: {FILTER}; {kept:,} responses kept")
        for name, seconds in medians.items():
            print(f"  {name:<11} {seconds * 1000:9.1f} ms (median of {options.repeat})")
        print(f"  voxpop / raw duckdb = {medians['voxpop'] / medians['raw duckdb']:.2f}")
        print("figures agree" if same else "FIGURES DIFFER")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Importing a 1M-row Qualtrics export into voxpop's SQLite store, against pandas.read_csv and DuckDB's read_csv.

The file: a generated Qualtrics "current" export (three header rows, the third holding JSON ImportIds) with the
usual metadata columns, an NPS (0-10), a CSAT (1-5) and a CES 2.0 (1-7) question, a free-text comment (half of
them blank, some with commas, quotes and line breaks), and two embedded-data attributes (segment, channel),
which with DistributionChannel and UserLanguage are mapped as four attributes.

Runners, each on the same file, in one process (voxpop first, so the peak memory it reports is its own):
  voxpop         `import_responses` end to end: detect the format and mapping, stream, validate every cell,
                 store responses, answers and attributes, keep the rollups, all in one transaction (a file
                 this big is parsed in a worker process while this one writes: its memory is not in the peak)
  pandas         pandas.read_csv of the file (three header rows; no validation, no store)
  duckdb         DuckDB's read_csv into a table of an in-memory database (no validation)
Aim (issue 4): at least 50,000 rows/s into the store on 2 cores.

    .venv/bin/python benchmarks/imports.py [--rows 1000000] [--seed 7]

Takes about 2 minutes for 1M rows; the temp dir needs about 1 GB.
"""

from __future__ import annotations

import argparse
import csv
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.service import import_responses
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade

HEADERS = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
           "RecordedDate", "ResponseId", "RecipientEmail", "ExternalReference", "DistributionChannel", "UserLanguage",
           "Q1", "Q2", "Q3", "Q4", "segment", "channel"]
LABELS = ["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)", "Finished",
          "Recorded Date", "Response ID", "Recipient Email", "External Data Reference", "Distribution Channel",
          "User Language", "How likely are you to recommend Northwind to a friend or colleague?",
          "Overall, how satisfied are you with your order?", "Northwind made it easy to handle my issue.",
          "What is the main reason for your score?", "segment", "channel"]
IMPORT_IDS = ["startDate", "endDate", "status", "ipAddress", "progress", "duration", "finished", "recordedDate",
              "_recordId", "recipientEmail", "externalDataReference", "distributionChannel", "userLanguage",
              "QID1", "QID2", "QID3", "QID4_TEXT", "segment", "channel"]
COMMENTS = ["", "", "Fast delivery, great staff", "The app keeps crashing, \"again\"", "Price is too high",
            "Good, but the wait was long\nand nobody called back", "", "Returned twice, refund took weeks", "ok"]
CHUNK = 100_000


def generate(path: Path, rows: int, seed: int) -> None:
    """Write the export in chunks (csv module quoting, as Qualtrics does for cells that need it)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-01-01T00:00:00") + np.sort(rng.integers(0, 730 * 86400, rows)).astype("timedelta64[s]")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        writer.writerow(LABELS)
        writer.writerow([f'{{"ImportId":"{name}"}}' for name in IMPORT_IDS])
        for first in range(0, rows, CHUNK):
            n = min(CHUNK, rows - first)
            began = start[first:first + n]
            ended = began + rng.integers(30, 900, n).astype("timedelta64[s]")
            start_text = np.strings.replace(began.astype(str), "T", " ")
            end_text = np.strings.replace(ended.astype(str), "T", " ")
            nps = rng.choice(11, n, p=np.array([2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28]) / 100)
            csat = rng.choice(5, n, p=[0.06, 0.08, 0.14, 0.38, 0.34]) + 1
            ces = rng.choice(7, n, p=[0.03, 0.05, 0.08, 0.14, 0.25, 0.28, 0.17]) + 1
            comment = np.array(COMMENTS)[rng.integers(0, len(COMMENTS), n)]
            segment = np.array(["consumer", "smb", "enterprise"])[rng.choice(3, n, p=[0.6, 0.3, 0.1])]
            channel = np.array(["web", "email", "app"])[rng.integers(0, 3, n)]
            ids = [f"R_{first + i:015x}" for i in range(n)]
            for i in range(n):
                writer.writerow([start_text[i], end_text[i], 0, "192.0.2.1", 100, 120, 1, end_text[i], ids[i],
                                 "", "", "anonymous", "EN", nps[i], csat[i], ces[i], comment[i], segment[i],
                                 channel[i]])


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows: int, seed: int, workdir: Path) -> None:
    source = workdir / "qualtrics-export.csv"
    started = time.perf_counter()
    generate(source, rows, seed)
    print(f"generated {rows:,} rows ({source.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - started:.0f} s; "
          f"process peak {peak_mb():.0f} MB before importing", flush=True)
    store = Database(f"sqlite:///{workdir / 'store.db'}")
    upgrade(store.write_engine)

    before = peak_mb()
    started = time.perf_counter()
    export = open_export(source)
    mapping = detect_mapping(export)
    summary = import_responses(store, export, mapping, survey_key="northwind")
    voxpop_seconds = time.perf_counter() - started
    voxpop_peak = peak_mb()
    assert summary.new == rows and summary.rejected == 0, summary.sentence()
    print(f"voxpop: {summary.sentence()}")

    started = time.perf_counter()
    again = import_responses(store, open_export(source), mapping, survey_key="northwind")
    again_seconds = time.perf_counter() - started
    assert again.new == 0 and again.present == rows, again.sentence()
    store.dispose()

    started = time.perf_counter()
    frame = pd.read_csv(source, skiprows=[1, 2], dtype=str, keep_default_na=False)
    pandas_seconds = time.perf_counter() - started
    assert len(frame) == rows
    del frame

    started = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(f"CREATE TABLE export AS SELECT * FROM read_csv('{source}', skip=3, header=false, all_varchar=true)")
    duckdb_seconds = time.perf_counter() - started
    assert connection.execute("SELECT count(*) FROM export").fetchone()[0] == rows
    connection.close()

    print(f"\n{rows:,} rows, 19 columns ({export.format}, mapped: "
          f"{sum(column.role != 'ignore' for column in mapping.columns)} columns used)")
    print(f"{'runner':<22} {'seconds':>8} {'rows/s':>10} {'x voxpop time':>14}")
    for label, seconds in (("voxpop import", voxpop_seconds), ("voxpop re-import", again_seconds),
                           ("pandas.read_csv", pandas_seconds), ("duckdb read_csv", duckdb_seconds)):
        print(f"{label:<22} {seconds:>8.2f} {rows / seconds:>10,.0f} {seconds / voxpop_seconds:>14.3f}")
    print(f"voxpop's import peak memory: {voxpop_peak:.0f} MB (process peak before it: {before:.0f} MB)")
    rate = rows / voxpop_seconds
    print(f"aim, at least 50,000 rows/s into the store: {rate:,.0f} rows/s -> {'met' if rate >= 50_000 else 'NOT met'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-imports-"))
    try:
        run(args.rows, args.seed, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

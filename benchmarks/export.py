"""Exporting a survey's responses: voxpop's streamed CSV and chunked Parquet against DuckDB writing the same table.

The store is the results benchmark's (benchmarks/results.py: an NPS, a CSAT, an ordered single choice and a
multiple choice of 3 options, two attributes; 1M responses, 5.5M answers), exported whole, one row per response:

  voxpop       results.export over voxpop's Database: keyset chunks of 2,000 responses, each pivoted in Python and
               written (the CSV as results.export.csv_chunks streams it to a browser; the Parquet one row group a
               chunk), in a child process whose peak memory (VmHWM) is reported
  duckdb       hand-written SQL on a DuckDB copy of the store's tables (the copy is made in this process, untimed):
               the same wide table by a GROUP BY pivot, written with COPY ... TO (CSV, Parquet)
  pandas       the same table already in a DataFrame (read from voxpop's Parquet, untimed), written with to_csv and
               to_parquet: the cost of writing alone, the floor for any exporter

The files must hold the same rows and the same answers (NPS, CSAT, plan, the 0/1 flags) or the exit status is 1;
it never depends on timing. The median of --repeat is shown; the ratio is voxpop's time over DuckDB's.

With --parquet-store SIZES, the whole-store export instead (`voxpop export responses`: a folder partitioned by
survey and month), once for each size of store, to show that its memory stays flat as the store grows:

  voxpop       results.store_export in a child process: its peak memory (VmHWM) and time at each size
  duckdb       the same folder from the DuckDB copy: the pivot above, COPY ... TO (PARTITION_BY (survey, month))

The two folders must hold the same months with the same responses and the same NPS total, or the exit status is 1.

    .venv/bin/python benchmarks/export.py [--responses 1000000] [--repeat 3] [--workdir DIR]
    .venv/bin/python benchmarks/export.py --parquet-store 1000000,3000000 [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from results import GOODS, SURVEY, export_to_duckdb, load  # the results benchmark's store, not a second one

ZONE = "UTC"
CHECKED = ["nps", "csat", "plan", *(f"bought__{good}" for good in GOODS)]


def peak_memory_mb() -> float:
    """This process's peak resident memory. Not getrusage's ru_maxrss: Linux carries that over from the parent
    through fork and exec, so a child started by a parent that holds a large table reports the parent's size.
    VmHWM belongs to the process's own memory map, which exec replaces."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:  # not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def export_voxpop(store: Path, output: Path, file_format: str) -> dict:
    """In the child process: the export as the page and `voxpop survey export-responses` make it."""
    from voxpop.collection.filters import ResponseFilter
    from voxpop.results.export import csv_chunks, export_layout, response_chunks, write_file
    from voxpop.store.database import Database

    started = time.perf_counter()
    database = Database(f"sqlite:///{store}")
    try:
        with database.read_connection() as connection:
            layout = export_layout(connection, survey_key=SURVEY, zone=ZONE)
            chunks = response_chunks(connection, layout, ResponseFilter())
            if file_format == "csv":  # as the streamed response's body is made, piece by piece
                with output.open("w", encoding="utf-8", newline="") as out:
                    for piece in csv_chunks(layout, chunks):
                        out.write(piece)
            else:
                write_file(layout, chunks, output, file_format=file_format, total=0)
    finally:
        database.dispose()
    return {"seconds": time.perf_counter() - started,
            "max_rss_mb": peak_memory_mb()}


def export_voxpop_store(store: Path, output: Path) -> dict:
    """In the child process: the whole store as `voxpop export responses` writes it."""
    from voxpop.collection.filters import ResponseFilter
    from voxpop.results.store_export import plan_store_export, write_store_export
    from voxpop.store.database import Database

    started = time.perf_counter()
    database = Database(f"sqlite:///{store}")
    try:
        with database.read_connection() as connection:
            surveys = plan_store_export(connection, zone=ZONE, response_filter=ResponseFilter())
            write_store_export(connection, surveys, output, response_filter=ResponseFilter(), replace_existing=True)
    finally:
        database.dispose()
    return {"seconds": time.perf_counter() - started,
            "max_rss_mb": peak_memory_mb()}


def run_voxpop(store: Path, output: Path, file_format: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", file_format, str(store), str(output)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_duckdb_store(copy: Path, output: Path) -> float:
    """The same partitioned folder by DuckDB: the survey's pivot, written by survey and month."""
    flags = ",\n  ".join(f"max(CASE WHEN a.question_id = 4 THEN (a.choice = '{good}')::INT END) AS bought__{good}"
                         for good in GOODS)
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    with duckdb.connect(str(copy), read_only=True) as ddb:
        ddb.execute(f"COPY (SELECT *, '{SURVEY}' AS survey, substr(submitted_at, 1, 7) AS month "
                    f"FROM ({PIVOT.format(flags=flags)})) TO '{output}' (FORMAT parquet, PARTITION_BY (survey, month))")
    return time.perf_counter() - started


def months_of(folder: Path) -> list[tuple]:
    """Each month's responses and NPS total in a partitioned folder, as DuckDB reads it."""
    with duckdb.connect() as ddb:
        return ddb.execute(f"SELECT survey, month, count(*), sum(nps) FROM read_parquet('{folder}/*/*/*.parquet', "
                           "hive_partitioning = true) GROUP BY ALL ORDER BY ALL").fetchall()


def store_memory(sizes: list[int], workdir: Path, seed: int) -> int:
    """The whole-store export at each size: peak memory and time, against DuckDB writing the same folder."""
    failed = False
    for size in sizes:
        store, loading = load(workdir, size, seed)
        copy = workdir / f"results-{size}.duckdb"
        export_to_duckdb(store, copy)
        ours, theirs = workdir / f"voxpop-store-{size}", workdir / f"duckdb-store-{size}"
        done = subprocess.run([sys.executable, __file__, "--child", "store", str(store), str(ours)],
                              capture_output=True, text=True, check=True)
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        duckdb_seconds = run_duckdb_store(copy, theirs)
        agreed = months_of(ours) == months_of(theirs)
        failed |= not agreed
        files = len(list(ours.rglob("*.parquet")))
        print(f"{size:>11,} responses (store loaded in {loading:.0f} s)   voxpop {measured['seconds']:6.1f} s, "
              f"peak memory {measured['max_rss_mb']:,.0f} MB, {files} files   duckdb {duckdb_seconds:5.1f} s   "
              f"voxpop/duckdb {measured['seconds'] / duckdb_seconds:5.1f}x   "
              f"{'same months and answers' if agreed else 'ANSWERS DIFFER'}", flush=True)
        shutil.rmtree(ours)
        shutil.rmtree(theirs)
    return 1 if failed else 0


# The same 14 columns as voxpop's file: the constant ones (language, channel, version, no customer) as constants,
# the response id in the UUID form the store holds, the time in ISO 8601, both attributes and every answer.
PIVOT = """SELECT '00000000-0000-4000-8000-' || lpad(printf('%x', r.id), 12, '0') AS response_id,
  strftime(any_value(r.submitted_at), '%Y-%m-%dT%H:%M:%S.%f+00:00') AS submitted_at, 'en' AS language,
  'web' AS channel, 1 AS version, NULL AS customer,
  any_value(c.value) AS attribute__channel, any_value(s.value) AS segment,
  max(CASE WHEN a.question_id = 1 THEN a.score END) AS nps,
  max(CASE WHEN a.question_id = 2 THEN a.score END) AS csat, max(CASE WHEN a.question_id = 3 THEN a.choice END) AS plan,
  {flags}
FROM responses r JOIN answers a ON a.response_id = r.id
  LEFT JOIN attribute_set_values c ON c.set_id = r.attribute_set_id AND c.name = 'channel'
  LEFT JOIN attribute_set_values s ON s.set_id = r.attribute_set_id AND s.name = 'segment'
WHERE r.survey_id = 1 GROUP BY r.id ORDER BY r.id"""


def run_duckdb(copy: Path, output: Path, file_format: str) -> float:
    flags = ",\n  ".join(f"max(CASE WHEN a.question_id = 4 THEN (a.choice = '{good}')::INT END) AS bought__{good}"
                         for good in GOODS)
    started = time.perf_counter()
    with duckdb.connect(str(copy), read_only=True) as ddb:
        options = "(FORMAT csv, HEADER)" if file_format == "csv" else "(FORMAT parquet)"
        ddb.execute(f"COPY ({PIVOT.format(flags=flags)}) TO '{output}' {options}")
    return time.perf_counter() - started


def run_pandas(table: pd.DataFrame, output: Path, file_format: str) -> float:
    started = time.perf_counter()
    if file_format == "csv":
        table.to_csv(output, index=False)
    else:
        table.to_parquet(output, index=False)
    return time.perf_counter() - started


def read_back(path: Path) -> pd.DataFrame:
    frame = pq.read_table(path).to_pandas() if path.suffix == ".parquet" else pd.read_csv(path)
    return frame[CHECKED].reset_index(drop=True)


def same_answers(first: pd.DataFrame, second: pd.DataFrame) -> bool:
    if len(first) != len(second):
        return False
    return all((first[name].astype("string").fillna("") == second[name].astype("string").fillna("")).all()
               for name in CHECKED)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the store here and reuse it")
    parser.add_argument("--parquet-store", metavar="SIZES", default=None,
                        help="the whole-store export's memory at these store sizes, e.g. 1000000,3000000")
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "STORE", "OUTPUT"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        file_format, store, output = options.child
        exported = export_voxpop_store(Path(store), Path(output)) if file_format == "store" else \
            export_voxpop(Path(store), Path(output), file_format)
        print(json.dumps(exported))
        return 0
    with tempfile.TemporaryDirectory(prefix="voxpop-export-bench-") as temporary:
        workdir = options.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        if options.parquet_store:
            return store_memory([int(size) for size in options.parquet_store.split(",")], workdir, options.seed)
        store, loading = load(workdir, options.responses, options.seed)
        copy = workdir / f"results-{options.responses}.duckdb"
        export_to_duckdb(store, copy)
        print(f"{options.responses:,} responses; store loaded in {loading:.0f} s")
        failed = False
        for file_format in ("csv", "parquet"):
            timings: dict[str, list[float]] = {"voxpop": [], "duckdb": [], "pandas": []}
            memory = 0.0
            ours, theirs = workdir / f"voxpop.{file_format}", workdir / f"duckdb.{file_format}"
            written = workdir / f"pandas.{file_format}"
            for _ in range(options.repeat):  # interleaved, so a noisy neighbour hits both
                measured = run_voxpop(store, ours, file_format)
                timings["voxpop"].append(measured["seconds"])
                memory = max(memory, measured["max_rss_mb"])
                timings["duckdb"].append(run_duckdb(copy, theirs, file_format))
                table = pq.read_table(workdir / "voxpop.parquet").to_pandas() if file_format == "parquet" else \
                    pd.read_csv(ours, low_memory=False)
                timings["pandas"].append(run_pandas(table, written, file_format))
                del table
            agreed = same_answers(read_back(ours), read_back(theirs))
            failed |= not agreed
            median = {name: statistics.median(values) for name, values in timings.items()}
            print(f"{file_format:8} voxpop {median['voxpop']:6.1f} s (peak memory {memory:,.0f} MB)   "
                  f"duckdb {median['duckdb']:6.1f} s   pandas write only {median['pandas']:6.1f} s   "
                  f"voxpop/duckdb {median['voxpop'] / median['duckdb']:5.1f}x   "
                  f"voxpop/pandas {median['voxpop'] / median['pandas']:5.1f}x   "
                  f"{'same answers' if agreed else 'ANSWERS DIFFER'}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

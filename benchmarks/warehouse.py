"""Monthly NPS by segment where the data live: `voxpop metrics --connect` against hand-written SQL on the same engine.

The data: --size synthetic responses (default 100M): a score 0-10 (TINYINT), a segment of four and a day over
2024-25, written by DuckDB's COPY ... PARTITION_BY as Parquet partitioned by month (24 folders month=YYYY-MM).
The figure: NPS per segment and calendar month with n, value, se and a 95% adjusted-Wald interval (96 rows).

Runners, on each engine (DuckDB in memory reading the Parquet folder; Spark in local mode on every core):
  voxpop    the engine on the Parquet folder opened as `--connect URL --table FOLDER` opens it
            (analysis.warehouse.open_table, then voxpop.metrics.metrics): the check that every score is on the
            0-10 scale (one aggregate query), then the statistics per segment and month (one aggregate query)
  by hand   one hand-written SQL statement (counts of promoters and detractors per segment and month), the
            intervals from the counts with voxpop.core.estimates
Two measurements:
  in process   both runners in this process, sharing the engine (one DuckDB connection each; one Spark session),
               after one untimed round (imports, the file cache), alternated, --repeat rounds, the median taken;
               the ratio is voxpop / by hand
  processes    each as a whole process: `voxpop metrics --connect ... --format json` against this file's
               --baseline mode, alternated, --repeat rounds, the median wall time and the highest peak resident
               memory of the process tree (the JVM included), sampled from /proc every 0.1 s
The two runners' figures must agree (groups, n, value, interval) or the exit status is 1; it never depends on
timing. Aim (issue 18): voxpop within 1.2x of the hand-written query on each engine.

    .venv/bin/python benchmarks/warehouse.py [--size 100000000] [--repeat 1] [--workdir DIR] [--engines duckdb,spark]

--workdir keeps the Parquet folder and reuses it for the same size; without it a temporary folder under /tmp is
removed at the end. 100M responses are 0.14 GB of Parquet, written in about 2 min; with --repeat 3 the whole run
took 20 min on 2 cores, most of it Spark (figures in docs/scaling.md). A smoke run: --size 1000000.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb

WEIGHTS = [2, 1, 1, 2, 2, 4, 6, 12, 18, 24, 28]  # % of answers scoring 0..10
SEGMENTS = ["consumer", "smb", "mid-market", "enterprise"]
ARGUMENTS = ["--metric", "nps", "--score", "score", "--by", "segment", "--period", "month", "--time", "day"]
URLS = {"duckdb": "duckdb://", "spark": "pyspark://"}
DUCKDB_SQL = """
SELECT segment, date_trunc('month', day) AS period, count(score) AS n,
       count(*) FILTER (WHERE score >= 9) AS promoters, count(*) FILTER (WHERE score <= 6) AS detractors
FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)
GROUP BY segment, period
"""
SPARK_SQL = """
SELECT segment, to_date(date_trunc('MONTH', day)) AS period, count(score) AS n,
       count_if(score >= 9) AS promoters, count_if(score <= 6) AS detractors
FROM responses
GROUP BY segment, to_date(date_trunc('MONTH', day))
"""


def generate(folder: Path, size: int) -> float:
    """The responses as Parquet partitioned by month; deterministic (hashes of the row number, not a random
    generator, so that DuckDB's threads give the same data in any order). Returns the seconds it took."""
    started = time.perf_counter()
    cumulative = [sum(WEIGHTS[: i + 1]) for i in range(len(WEIGHTS) - 1)]
    score = " + ".join(f"(u >= {bound})::TINYINT" for bound in cumulative)
    segments = ", ".join(f"'{name}'" for name in SEGMENTS)
    connection = duckdb.connect()
    connection.execute(f"""
        COPY (
            SELECT ({score})::TINYINT AS score, segment, day, strftime(day, '%Y-%m') AS month
            FROM (SELECT hash(i) % 100 AS u, [{segments}][1 + (hash(i + 1) % 4)::INT] AS segment,
                         DATE '2024-01-01' + (hash(i + 2) % 731)::INT AS day
                  FROM range({size}) AS r(i))
        ) TO '{folder}' (FORMAT parquet, PARTITION_BY (month), OVERWRITE_OR_IGNORE)""")
    connection.close()
    return time.perf_counter() - started


def by_hand_rows(counts) -> list[dict]:
    """The hand-written query's counts as the rows `voxpop metrics --format json` prints (core computes)."""
    from voxpop.core import estimates

    rows = []
    for segment, period, n, promoters, detractors in counts:
        estimate = estimates.nps(promoters=promoters, passives=n - promoters - detractors, detractors=detractors,
                                 min_base=30, confidence=0.95, method="adjusted-wald")
        rows.append({"segment": segment, "period": str(period)[:10], "n": estimate.n, "value": estimate.value,
                     "ci_low": estimate.ci_low, "ci_high": estimate.ci_high})
    return sorted(rows, key=lambda row: (row["segment"], row["period"]))


def comparable(rows: list[dict]) -> list[tuple]:
    return sorted((row["segment"], row["period"], row["n"], round(row["value"], 9), round(row["ci_low"], 9),
                   round(row["ci_high"], 9)) for row in rows)


def spark_session():
    from voxpop.analysis.warehouse import spark_session as session

    return session(URLS["spark"])  # the session `--connect pyspark://` builds


def by_hand(engine: str, folder: Path, *, connection=None) -> list[dict]:
    """The hand-written SQL on `engine`."""
    if engine == "duckdb":
        return by_hand_rows(connection.execute(DUCKDB_SQL.format(folder=folder)).fetchall())
    session = spark_session()
    session.read.parquet(str(folder)).createOrReplaceTempView("responses")
    return by_hand_rows([tuple(row) for row in session.sql(SPARK_SQL).collect()])


def with_voxpop(engine: str, folder: Path) -> list[dict]:
    """voxpop's engine on the folder, opened as --connect URL --table FOLDER opens it."""
    from voxpop.analysis.warehouse import open_table
    from voxpop.metrics import metrics

    return metrics(open_table(URLS[engine], str(folder)), metric="nps", score="score", by=["segment"],
                   period="month", time="day")


def in_process(engine: str, folder: Path, repeat: int) -> dict:
    """Both runners alternated in this process; the median seconds of each and the results."""
    connection = duckdb.connect() if engine == "duckdb" else None
    if engine == "spark":
        spark_session()  # the JVM starts before the clock, for both
    times: dict[str, list[float]] = {"voxpop": [], "by hand": []}
    results = {}
    # One untimed round first: imports, the OS's file cache and Spark's first-query compilation count for neither.
    with_voxpop(engine, folder), by_hand(engine, folder, connection=connection)
    for round_ in range(repeat):
        order = ["voxpop", "by hand"] if round_ % 2 == 0 else ["by hand", "voxpop"]
        for runner in order:
            started = time.perf_counter()
            results[runner] = (with_voxpop(engine, folder) if runner == "voxpop"
                               else by_hand(engine, folder, connection=connection))
            times[runner].append(time.perf_counter() - started)
    return {"seconds": {runner: statistics.median(values) for runner, values in times.items()}, "results": results}


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (the Spark JVM is a child of the Python process)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration):
            continue
    return total


def as_process(command: list[str]) -> tuple[float, int, str]:
    """Run a whole process: its wall seconds, the peak memory of its tree (sampled) and its standard output."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample():
        while process.poll() is None:
            peak[0] = max(peak[0], tree_rss(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{stderr}")
    return seconds, peak[0], stdout


def processes(engine: str, folder: Path, repeat: int) -> dict:
    """The command a user runs against this file's --baseline mode, each a whole process, alternated, --repeat
    rounds: the median seconds and the highest peak of each."""
    voxpop = [str(Path(sys.executable).with_name("voxpop")), "metrics", *ARGUMENTS, "--connect", URLS[engine],
              "--table", str(folder), "--format", "json"]
    baseline = [sys.executable, __file__, "--baseline", engine, "--workdir", str(folder)]
    runs: dict[str, list] = {"voxpop": [], "by hand": []}
    for round_ in range(repeat):
        order = [("voxpop", voxpop), ("by hand", baseline)]
        for runner, command in order if round_ % 2 == 0 else order[::-1]:
            runs[runner].append(as_process(command))
    return {runner: {"seconds": statistics.median(run[0] for run in measured),
                     "peak_bytes": max(run[1] for run in measured), "rows": json.loads(measured[-1][2])["rows"]}
            for runner, measured in runs.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=100_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--engines", default="duckdb,spark")
    parser.add_argument("--baseline", choices=list(URLS), help=argparse.SUPPRESS)  # the hand-written query, alone
    options = parser.parse_args()
    if options.baseline:
        connection = duckdb.connect() if options.baseline == "duckdb" else None
        print(json.dumps({"rows": by_hand(options.baseline, options.workdir, connection=connection)}))
        return 0

    root = options.workdir or Path(tempfile.mkdtemp(prefix="voxpop-warehouse-", dir="/tmp"))
    folder = root / f"responses-{options.size}"
    root.mkdir(parents=True, exist_ok=True)
    try:
        if not folder.exists():
            print(f"generating {options.size:,} responses as Parquet in {folder} ...", flush=True)
            print(f"  {generate(folder, options.size):.1f} s, "
                  f"{sum(f.stat().st_size for f in folder.rglob('*.parquet')) / 1e9:.2f} GB", flush=True)
        agree = True
        for engine in options.engines.split(","):
            timed = in_process(engine, folder, options.repeat)
            whole = processes(engine, folder, options.repeat)
            reference = comparable(timed["results"]["by hand"])
            same = (comparable(timed["results"]["voxpop"]) == reference
                    and all(comparable(measured["rows"]) == reference for measured in whole.values()))
            agree &= same
            seconds = timed["seconds"]
            print(f"\n{engine}: {options.size:,} responses, {len(reference)} rows, figures "
                  f"{'agree' if same else 'DIFFER'}")
            print(f"  in process  voxpop {seconds['voxpop']:.2f} s, by hand {seconds['by hand']:.2f} s, "
                  f"ratio {seconds['voxpop'] / seconds['by hand']:.2f}x (median of {options.repeat})")
            print(f"  processes   voxpop {whole['voxpop']['seconds']:.2f} s (peak {whole['voxpop']['peak_bytes'] / 2**20:,.0f} "
                  f"MiB), by hand {whole['by hand']['seconds']:.2f} s (peak {whole['by hand']['peak_bytes'] / 2**20:,.0f} "
                  f"MiB), ratio {whole['voxpop']['seconds'] / whole['by hand']['seconds']:.2f}x (median of {options.repeat})",
                  flush=True)
        return 0 if agree else 1
    finally:
        if options.workdir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    sys.exit(main())

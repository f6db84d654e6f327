"""Analysing a big export from the command line: `voxpop metrics`, `spc` and `drivers` on a file, against
hand-written DuckDB SQL computing the same figures from the same file (issue 19).

Seeded synthetic export, one row per respondent: id, score (0-10), segment (4 values), date (2024-25), and three
driver ratings ease, speed, price (1-7); as CSV and as the same data in Parquet. Every runner is a whole process
(start-up included), run --repeat times interleaved, median shown:
  duckdb        python + duckdb: one SQL per command over read_csv/read_parquet, printing the statistics
                (NPS counts per segment; per month; n, sums and cross-products of the four columns)
  voxpop        the command on the file with --no-cache: the file itself is read each time
  voxpop cached the command reading the Parquet copy the first run kept in the data directory (CSV only;
                the first run, which writes the copy, is shown as `first`)
Figures must agree, or the exit status is 1: the NPS rows (n, value, se, interval) exactly, from the same
statistics through voxpop.core; each month's n exactly and its charted value to 1e-12 (core.spc draws it);
the drivers' weights and R² to 1e-9 (the SQL sums differently). Peak memory is each process's maximum resident
set, as GNU time (/usr/bin/time) reports it; voxpop's is the highest of its runs (--no-cache, cached, first).
Start-up: `voxpop --help` and `voxpop metrics` on a 10-row file, against the floors under them (`FLOORS`: Python
with DuckDB and the command line's libraries, then with Ibis connected to DuckDB, none of voxpop's code).
Aims: at most 1.5x DuckDB's time at 1M and 10M rows; start-up under 0.5 s; 10M rows using at most about twice
the memory of 1M.

    .venv/bin/python benchmarks/files.py [--sizes 1000000,10000000] [--repeat 3] [--workdir DIR]

Run time on the shared 2-core machine with the defaults: about 15 minutes; 0.6 GB in the temp dir.
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
import time
from pathlib import Path

import duckdb

from voxpop.core import drivers as key_drivers
from voxpop.core import estimates

VOXPOP = [sys.executable, "-m", "voxpop.cli"]
SEGMENTS = ["consumer", "smb", "mid-market", "enterprise"]
COMMANDS = {
    "metrics": ["metrics", "--metric", "nps", "--score", "score", "--by", "segment"],
    "spc": ["spc", "--metric", "nps", "--score", "score", "--period", "month", "--time", "date"],
    "drivers": ["drivers", "--outcome", "score", "--driver", "ease", "--driver", "speed", "--driver", "price"],
}
# The hand-written SQL: what each command needs from the file, printed as JSON.
BASELINE = r"""
import json, sys, duckdb
command, path = sys.argv[1], sys.argv[2]
source = f"read_parquet('{path}')" if path.endswith(".parquet") else f"read_csv('{path}')"
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # it would print into the output
if command == "metrics":
    sql = (f"SELECT segment, count(score), count(*) FILTER (WHERE score >= 9), count(*) FILTER (WHERE score <= 6) "
           f"FROM {source} GROUP BY segment ORDER BY segment")
elif command == "spc":
    sql = (f"SELECT date_trunc('month', CAST(date AS DATE))::DATE::VARCHAR, count(score), count(*) FILTER (WHERE "
           f"score >= 9), count(*) FILTER (WHERE score <= 6) FROM {source} GROUP BY 1 ORDER BY 1")
else:
    names = ["score", "ease", "speed", "price"]
    sums = ", ".join(f"sum({name})" for name in names)
    products = ", ".join(f"sum({a} * {b})" for i, a in enumerate(names) for b in names[i:])
    sql = f"SELECT count(*), {sums}, {products} FROM {source}"
print(json.dumps(con.execute(sql).fetchall(), default=str))
"""


def generate(folder: Path, rows: int) -> tuple[Path, Path]:
    """The export as CSV and as Parquet, made by DuckDB from a seeded hash of the row number."""
    csv_path, parquet_path = folder / f"export-{rows}.csv", folder / f"export-{rows}.parquet"
    select = (f"SELECT i AS id, hash(i, 1) % 11 AS score, "
              f"list_extract({SEGMENTS}, (hash(i, 2) % 4 + 1)::INT) AS segment, "
              f"DATE '2024-01-01' + (hash(i, 3) % 731)::INT AS date, "
              f"hash(i, 4) % 7 + 1 AS ease, hash(i, 5) % 7 + 1 AS speed, hash(i, 6) % 7 + 1 AS price "
              f"FROM range({rows}) AS t(i)")
    for path, options in ((csv_path, "HEADER"), (parquet_path, "FORMAT parquet")):
        if not path.exists():  # written under another name first: a stopped run leaves no half file behind
            partial = path.with_suffix(".partial")
            duckdb.connect().execute(f"COPY ({select}) TO '{partial}' ({options})")
            partial.rename(path)
            hour_ago = time.time() - 3600  # settled files: voxpop keeps copies only of files not written just now
            os.utime(path, (hour_ago, hour_ago))
    return csv_path, parquet_path


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Seconds, peak resident MB and stdout of one whole process. The peak is GNU time's: ru_maxrss read by this
    process would be at least this process's own size, which Linux carries into a child through fork and exec."""
    with tempfile.NamedTemporaryFile("r") as peak_file:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", peak_file.name, *command], capture_output=True,
                              text=True, env=env)
        seconds = time.perf_counter() - start
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        return seconds, int(peak_file.read().split()[-1]) / 1024, done.stdout


def expected(command: str, baseline: str) -> object:
    """The figures voxpop must print, from the baseline's statistics through voxpop.core."""
    found = json.loads(baseline)
    if command == "drivers":
        n, *rest = found[0]
        names = ["score", "ease", "speed", "price"]
        sums = dict(zip(names, rest[:4]))
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i:]]
        products = dict(zip(pairs, rest[4:]))
        import numpy as np

        means = {name: sums[name] / n for name in names}
        cross = np.array([[products.get((a, b), products.get((b, a))) - n * means[a] * means[b] for b in names]
                          for a in names])
        weights = key_drivers.relative_weights(
            correlations=key_drivers.correlation_from_moments(n=n, sums=np.zeros(4), cross_products=cross,
                                                              variables=names),
            outcome="score", predictors=names[1:])
        return {"n": n, "r_squared": weights.r_squared, "raw": dict(zip(names[1:], weights.raw))}
    rows = []
    for key, n, promoters, detractors in found:
        estimate = estimates.nps(promoters=promoters, passives=n - promoters - detractors, detractors=detractors,
                                 min_base=30, confidence=0.95, method="adjusted-wald")
        rows.append((key, n, estimate.value, estimate.se, estimate.ci_low, estimate.ci_high))
    return rows


def printed(command: str, stdout: str) -> object:
    """voxpop's figures from its --format json, in the shape `expected` gives."""
    found = json.loads(stdout)
    if command == "drivers":
        return {"n": found["n"], "r_squared": found["r_squared"],
                "raw": {row["driver"]: row["raw_weight"] for row in found["rows"]}}
    if command == "spc":
        return [(row["period"], row["n"], row["value"]) for row in found["rows"]]
    return [(row["segment"], row["n"], row["value"], row["se"], row["ci_low"], row["ci_high"]) for row in found["rows"]]


def agree(command: str, want: object, got: object) -> bool:
    if command == "drivers":
        close = lambda a, b: abs(a - b) <= 1e-9 * max(1.0, abs(a))  # noqa: E731
        return (want["n"] == got["n"] and close(want["r_squared"], got["r_squared"])
                and all(close(want["raw"][name], got["raw"][name]) for name in want["raw"]))
    if command == "spc":  # core.spc draws each point from the same counts, in its own order of operations
        return len(want) == len(got) and all(
            (key, n) == (got_key, got_n) and abs(value - got_value) <= 1e-12 * abs(value)
            for (key, n, value, *_), (got_key, got_n, got_value) in zip(want, got))
    return want == got


FLOORS = {
    "+ typer, rich and pydantic-settings": "import duckdb, typer, rich.console, pydantic_settings",
    "+ Ibis connected to DuckDB": "import duckdb, typer, rich.console, pydantic_settings, ibis; ibis.duckdb.connect()",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here")
    arguments = parser.parse_args()
    folder = arguments.workdir or Path(tempfile.mkdtemp(prefix="voxpop-bench-files-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "VOXPOP_DATA_DIR": str(folder / "data")}
    ok, lines = True, []

    tiny = folder / "tiny.csv"
    tiny.write_text("score,segment\n" + "".join(f"{i % 11},{SEGMENTS[i % 4]}\n" for i in range(10)))
    help_times = [measured([*VOXPOP, "--help"], env)[0] for _ in range(arguments.repeat)]
    tiny_times = [measured([*VOXPOP, *COMMANDS["metrics"][:1], str(tiny), *COMMANDS["metrics"][1:], "--no-cache"],
                           env)[0] for _ in range(arguments.repeat)]
    bare = [measured([sys.executable, "-c", "import duckdb"], env)[0] for _ in range(arguments.repeat)]
    # The floors under a command's start-up: the libraries voxpop's command line stands on (its parser and
    # settings), without and with the engine's Ibis and its DuckDB backend, with none of voxpop's own code.
    floors = {name: statistics.median(measured([sys.executable, "-c", code], env)[0] for _ in range(arguments.repeat))
              for name, code in FLOORS.items()}
    lines.append(f"start-up: voxpop --help {statistics.median(help_times):.2f} s; voxpop metrics on a 10-row file "
                 f"{statistics.median(tiny_times):.2f} s (python + import duckdb alone: {statistics.median(bare):.2f} s; "
                 + "; ".join(f"{name}: {seconds:.2f} s" for name, seconds in floors.items()) + ")")

    table = ["| rows | input | command | DuckDB SQL | voxpop --no-cache | ratio | voxpop cached | ratio | first run "
             "(writes the copy) | peak MB voxpop / DuckDB |", "|" + "---|" * 10]
    peaks: dict[tuple[int, str], float] = {}
    for rows in [int(size) for size in arguments.sizes.split(",")]:
        csv_path, parquet_path = generate(folder, rows)
        for kind, path in (("CSV", csv_path), ("Parquet", parquet_path)):
            for command, words in COMMANDS.items():
                voxpop = [*VOXPOP, words[0], str(path), *words[1:], "--format", "json"]
                baseline = [sys.executable, "-c", BASELINE, command, str(path)]
                first = None
                if kind == "CSV":
                    shutil.rmtree(folder / "data" / "cache", ignore_errors=True)
                    first = measured(voxpop, env)  # keeps the copy the cached runs read
                times: dict[str, list[float]] = {"duckdb": [], "voxpop": [], "cached": []}
                # voxpop's peak is the highest of its runs: --no-cache, reading the copy, and writing it
                peak = {"duckdb": 0.0, "voxpop": first[1] if first else 0.0}
                outputs = {}
                for _ in range(arguments.repeat):
                    for runner, line in (("duckdb", baseline), ("voxpop", [*voxpop, "--no-cache"]),
                                         *((("cached", voxpop),) if kind == "CSV" else ())):
                        seconds, resident, stdout = measured(line, env)
                        times[runner].append(seconds)
                        who = "duckdb" if runner == "duckdb" else "voxpop"
                        peak[who] = max(peak[who], resident)
                        outputs[runner] = stdout
                want = expected(command, outputs["duckdb"])
                for runner in ("voxpop", "cached") if kind == "CSV" else ("voxpop",):
                    if not agree(command, want, printed(command, outputs[runner])):
                        ok = False
                        print(f"DISAGREE {rows} {kind} {command} {runner}:\n{want}\n{printed(command, outputs[runner])}")
                base = statistics.median(times["duckdb"])
                plain = statistics.median(times["voxpop"])
                cached = statistics.median(times["cached"]) if times["cached"] else None
                peaks[(rows, f"{kind} {command}")] = peak["voxpop"]
                table.append(
                    f"| {rows:,} | {kind} | {command} | {base:.2f} s | {plain:.2f} s | {plain / base:.1f}x | "
                    + (f"{cached:.2f} s | {cached / base:.1f}x | {first[0]:.2f} s" if cached is not None else "– | – | –")
                    + f" | {peak['voxpop']:.0f} / {peak['duckdb']:.0f} |")
                print(table[-1], flush=True)
    sizes = sorted({rows for rows, _ in peaks})
    if len(sizes) > 1:
        growth = max(peaks[(sizes[-1], what)] / peaks[(sizes[0], what)] for _, what in peaks if (sizes[0], what) in peaks)
        lines.append(f"peak memory at {sizes[-1]:,} rows is at most {growth:.1f}x that at {sizes[0]:,} rows")
    print("\n".join(table))
    print("\n".join(lines))
    print("figures agree" if ok else "FIGURES DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Each benchmark still runs and its correctness checks still pass, on a tiny input (never a timing: the
figures mean nothing at this size). A benchmark that no longer runs after a refactor is found here, not when
someone needs its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("script, arguments", [
    ("metrics.py", ["--sizes", "20000", "--repeat", "1"]),
    ("imports.py", ["--rows", "3000"]),
    ("text.py", ["--comments", "300", "--workers", "1"]),
    ("collect.py", ["--clients", "4", "--seconds", "1", "--warmup", "0.5"]),
    ("import_live.py", ["--rows", "3000", "--clients", "4", "--seconds", "1", "--warmup", "0.5"]),
    ("results.py", ["--responses", "3000", "--repeat", "1"]),
    ("export.py", ["--responses", "3000", "--repeat", "1"]),
    ("export.py", ["--parquet-store", "2000,5000"]),
    ("scorecard.py", ["--responses", "20000", "--repeat", "1"]),
    ("files.py", ["--sizes", "20000", "--repeat", "1"]),
    ("warehouse.py", ["--size", "5000", "--repeat", "1", "--engines", "duckdb"]),
])
def test_the_benchmark_runs_and_its_figures_agree(script, arguments):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), *arguments], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{script} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"

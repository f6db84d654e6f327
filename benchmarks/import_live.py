"""Live submissions during a large import: what a CLI import of N rows does to the survey API meanwhile.

One `voxpop serve` on a SQLite store takes live responses from 50 concurrent clients (one keep-alive connection
each, every request with its own Idempotency-Key, as benchmarks/collect.py sends them) for the whole run:

* baseline: the live load alone for S seconds (default 10, after an untimed 2 s warm-up);
* import:   the same live load while `voxpop import responses` of a generated N-row Qualtrics export
            (benchmarks/imports.py's file; default 1,000,000 rows) runs in another process, from the moment it
            starts until it exits.

Printed for both phases: the live submissions' rate, p50 and p99 latency, errors, and the longest gap with no
completed submission; for the import, its rows/s (wall time of the command, file detection included) and the
worst /healthz answer time (probed once a second); and the ratio of the live rate during the import to the
baseline's, measured in the same run, so the figure means something on a loaded machine.

Correctness is counted afterwards from the store: every acknowledged live response stored, none twice, and the
import's N responses all there. The exit status is 1 on a failed import, a loss or a duplicate; live errors and
timings are reported, never judged.

    .venv/bin/python benchmarks/import_live.py [--rows 1000000] [--clients 50] [--seconds 10]

To measure another checkout's code with this script: PYTHONPATH=/path/to/checkout/src (the server and the import
are started with the same interpreter and environment, so they run that code too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from collect import (
    CSAT_SCORES,
    CSAT_WEIGHTS,
    NPS_SCORES,
    NPS_WEIGHTS,
    REASONS,
    SURVEY_KEY,
    SURVEY_YAML,
    free_port,
    percentile,
    query,
    stop,
    wait_ready,
)
from imports import generate

IMPORTED_SURVEY = "northwind"


@dataclass
class Phase:
    """One phase's live tallies: acknowledged keys, latencies and completion times of the 201s."""

    name: str
    acked: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    completed: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    errors: int = 0
    started: float = 0.0
    ended: float = 0.0
    health: list[float] = field(default_factory=list)  # /healthz answer times (inf: no answer)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def longest_gap(self) -> float:
        """The longest time with no completed submission, the phase's start and end included."""
        moments = [self.started, *sorted(self.completed), self.ended]
        return max(later - earlier for earlier, later in zip(moments, moments[1:]))


async def drive(url: str, clients: int, begin, phase: Phase | None) -> None:
    """Post responses from `clients` clients, once they are connected, until `done()`, where `done = begin()` is
    called when they are (and starts the import); tallied in `phase` (None: an untimed warm-up)."""
    done = None
    async def worker(client: httpx.AsyncClient) -> None:
        rng = random.Random()
        while not done():
            key = str(uuid.uuid4())
            body = {"answers": {"nps": rng.choices(NPS_SCORES, NPS_WEIGHTS)[0], "reason": rng.choice(REASONS),
                                "csat": rng.choices(CSAT_SCORES, CSAT_WEIGHTS)[0]}}
            started = time.perf_counter()
            try:
                reply = await client.post(url, json=body, headers={"Idempotency-Key": key})
                status, detail = reply.status_code, reply.text[:200]
            except httpx.HTTPError as exc:
                status, detail = None, f"{type(exc).__name__}: {exc}"
            finished = time.perf_counter()
            if phase is None:
                continue
            if status == 201:
                phase.acked.append(key)
                phase.latencies.append(finished - started)
                phase.completed.append(finished)
            else:
                phase.errors += 1
                if len(phase.error_samples) < 5:
                    phase.error_samples.append(f"{status}: {detail}")

    async def health(base: str) -> None:
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not done():
                started = time.perf_counter()
                try:
                    ok = (await client.get(base + "/healthz")).status_code == 200
                except httpx.HTTPError:
                    ok = False
                phase.health.append(time.perf_counter() - started if ok else float("inf"))
                await asyncio.sleep(1.0)

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(limits=limits, timeout=60.0) for _ in range(clients)]
    try:
        for client in pool:  # connected before the clock starts (a client's setup takes a while on a busy machine)
            await client.get(url.split("/api/")[0] + "/healthz")
        done = begin()
        tasks = [worker(client) for client in pool]
        if phase is not None:
            tasks.append(health(url.split("/api/")[0]))
            phase.started = time.perf_counter()
        await asyncio.gather(*tasks)
        if phase is not None:
            phase.ended = time.perf_counter()
    finally:
        await asyncio.gather(*(client.aclose() for client in pool))


def until(seconds: float):
    """A `begin` for drive: done after `seconds`."""
    def begin():
        deadline = time.perf_counter() + seconds
        return lambda: time.perf_counter() >= deadline
    return begin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0, help="the baseline's timed seconds")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-import-live-"))
    env = os.environ | {"VOXPOP_RATE_LIMIT_PER_MINUTE": "100000000", "VOXPOP_DATA_DIR": str(workdir / "store"),
                        "VOXPOP_CASE_WORKER": "false"}
    env.pop("VOXPOP_DATABASE_URL", None)  # this benchmark is about SQLite's single writer
    cli = [sys.executable, "-m", "voxpop.cli"]
    server = None
    try:
        (workdir / "survey.yaml").write_text(SURVEY_YAML)
        for step in (["db", "upgrade"], ["survey", "apply", str(workdir / "survey.yaml")]):
            done = subprocess.run(cli + step, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"voxpop {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        source = workdir / "qualtrics-export.csv"
        started = time.perf_counter()
        generate(source, args.rows, args.seed)
        print(f"generated {args.rows:,} rows ({source.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - started:.0f} s", flush=True)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = workdir / "server.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(cli + ["serve", "--port", str(port)], env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        wait_ready(base, server, log)
        url = f"{base}/api/v1/surveys/{SURVEY_KEY}/responses"

        asyncio.run(drive(url, args.clients, until(args.warmup), None))
        print(f"baseline: {args.clients} clients for {args.seconds:g} s ...", flush=True)
        baseline = Phase("baseline")
        asyncio.run(drive(url, args.clients, until(args.seconds), baseline))

        print(f"import: {args.clients} clients while {args.rows:,} rows are imported ...", flush=True)
        during = Phase("import")
        output = workdir / "import.json"
        started_import: dict[str, Any] = {}

        def begin_import():
            started_import["at"] = time.perf_counter()
            started_import["process"] = importer = subprocess.Popen(
                cli + ["import", "responses", str(source), "--survey", IMPORTED_SURVEY, "--format", "json"], env=env,
                stdout=out, stderr=errors)
            return lambda: importer.poll() is not None

        with open(output, "wb") as out, open(workdir / "import.err", "wb") as errors:
            asyncio.run(drive(url, args.clients, begin_import, during))
            import_seconds = time.perf_counter() - started_import["at"]
        importer = started_import["process"]
        failed = importer.returncode != 0
        if failed:
            print(f"the import failed (exit {importer.returncode}):\n"
                  f"{(workdir / 'import.err').read_text()[-3000:]}")
        else:
            summary = json.loads(output.read_text())
            print(f"import: {summary['rows']:,} rows read, {summary['new']:,} new, {summary['present']:,} present, "
                  f"{summary['rejected']:,} rejected")
        stop(server)
        server = None

        db_path = workdir / "store" / "voxpop.db"
        live_keys = [key for (key,) in query(db_path, "SELECT idempotency_key FROM responses WHERE channel != 'import'")]
        acked = baseline.acked + during.acked
        lost = len(set(acked) - set(live_keys))
        duplicated = len(live_keys) - len(set(live_keys))
        [(imported,)] = query(db_path, "SELECT count(*) FROM responses WHERE channel = 'import'")
        failed |= bool(lost or duplicated) or imported != args.rows

        print(f"\n{'phase':<9} {'ok':>7} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
              f" {'longest gap s':>14} {'healthz worst s':>16}")
        for phase in (baseline, during):
            worst_health = max(phase.health, default=float("nan"))
            print(f"{phase.name:<9} {len(phase.latencies):>7} {phase.errors:>7} {phase.rate():>8.1f}"
                  f" {percentile(phase.latencies, 0.50):>8.1f} {percentile(phase.latencies, 0.99):>8.1f}"
                  f" {percentile(phase.latencies, 1.0):>8.1f} {phase.longest_gap():>14.2f} {worst_health:>16.2f}")
            for sample in phase.error_samples:
                print(f"    error sample ({phase.name}): {sample}")
        print(f"import: {args.rows:,} rows in {import_seconds:.1f} s = {args.rows / import_seconds:,.0f} rows/s "
              f"(wall time of the command, with the live load running)")
        ratio = during.rate() / (baseline.rate() or float("nan"))
        print(f"ratio live rate during the import / baseline: {ratio:.2f}")
        print(f"aim: p99 under 1 s and no error during the import: p99 {percentile(during.latencies, 0.99):.0f} ms, "
              f"{during.errors} errors -> "
              f"{'met' if percentile(during.latencies, 0.99) < 1000 and not during.errors else 'NOT met'}")
        print(f"stored: {imported:,} imported (expected {args.rows:,}); live acknowledged {len(acked)}, "
              f"lost {lost}, stored twice {duplicated}")
        print("FAILED: the import failed, or a response was lost or duplicated" if failed else "correctness: ok")
        return 1 if failed else 0
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

"""Collection throughput: voxpop's POST /api/v1/surveys/{key}/responses against a bare FastAPI insert.

N concurrent clients (default 50, one keep-alive connection each) post survey responses as fast as they
can for S seconds (default 20, after an untimed 2 s warm-up) to two servers, one after the other:

* bare:   a FastAPI app defined here whose sync endpoint validates the JSON body and inserts one row into
          SQLite (WAL, synchronous=NORMAL, busy_timeout: the pragmas voxpop sets);
* voxpop: `voxpop serve` on SQLite with a three-question survey (nps, reason, csat); every request carries
          its own Idempotency-Key, as a real integration would.

Why: the bare server pays only what no collection endpoint can avoid (HTTP, JSON, one SQLite commit), so
the ratio is the price of voxpop's own work (survey lookup, validation, idempotency, answer rows). Both run
on uvicorn, one worker, sync endpoints in the threadpool; the load generator shares the machine, so the
absolute numbers say little and the ratio voxpop/bare is the figure (target >= 0.30).

Correctness is counted afterwards from the database files, over all requests including the warm-up: every
201 must be stored (lost = acknowledged keys missing), no key stored twice (dup = rows - distinct keys), and
each voxpop response must have its 3 answer rows. The exit status is 1 on any error, loss, duplicate or
missing answer; it never depends on timing.

    .venv/bin/python benchmarks/collect.py [--clients 50] [--seconds 20] [--warmup 2]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel

SURVEY_KEY = "bench"
SURVEY_YAML = f"""\
key: {SURVEY_KEY}
title: Benchmark survey
status: live
questions:
  - {{key: nps, kind: nps, text: "How likely are you to recommend us?", required: true}}
  - {{key: reason, kind: text, text: "What is the main reason for your score?"}}
  - {{key: csat, kind: csat, text: "How satisfied are you with your last order?"}}
"""
REASONS = ["Fast delivery and friendly support", "The app keeps logging me out", "Good value", "Too expensive"]


class BareBody(BaseModel):
    answers: dict[str, Any]


def serve_bare(port: int, db_path: str) -> None:
    """The baseline, as a small FastAPI + sqlite3 app is typically written: one shared connection
    (check_same_thread=False) behind a lock. Fair, as voxpop also serialises SQLite writers behind a lock."""
    connection = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)  # autocommit
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=10000"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("CREATE TABLE IF NOT EXISTS responses (id INTEGER PRIMARY KEY, idempotency_key TEXT, body TEXT)")
    lock, app = threading.Lock(), FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/responses", status_code=201)
    def create(body: BareBody, idempotency_key: str | None = Header(None)):
        with lock:
            row_id = connection.execute(
                "INSERT INTO responses (idempotency_key, body) VALUES (?, ?)", (idempotency_key, body.model_dump_json())
            ).lastrowid
        return JSONResponse({"id": row_id}, status_code=201)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


@dataclass
class Load:
    """Per-server tallies: every acknowledged key (warm-up included) and the timed phase's latencies."""
    acked: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    error_samples: list[str] = field(default_factory=list)
    ok: int = 0  # 201s in the timed phase (and, for voxpop, 200 replays of retried requests)
    replays: int = 0  # retries answered with the first response (voxpop only)
    errors: int = 0  # anything but 201, warm-up included
    elapsed: float = 0.0


async def drive(url: str, clients: int, seconds: float, warmup: float, load: Load, retries: bool = False) -> None:
    """With `retries`, every 10th request of a client resends its previous one (same key, same body), as a
    client does after a timeout: the server must answer it with the first response and store nothing."""
    async def worker(client: httpx.AsyncClient, deadline: float, timed: bool) -> None:
        rng = random.Random()
        previous, sent = None, 0
        while time.perf_counter() < deadline:
            sent += 1
            retry = retries and previous is not None and sent % 10 == 0
            if retry:
                key, body = previous
            else:
                key = str(uuid.uuid4())
                body = {"answers": {"nps": rng.randint(0, 10), "reason": rng.choice(REASONS), "csat": rng.randint(1, 5)}}
            started = time.perf_counter()
            try:
                reply = await client.post(url, json=body, headers={"Idempotency-Key": key})
                status, detail = reply.status_code, reply.text[:200]
            except httpx.HTTPError as exc:
                status, detail = None, f"{type(exc).__name__}: {exc}"
            latency = time.perf_counter() - started
            if retry and status == 200:
                load.replays += 1
                if timed:
                    load.ok += 1
                    load.latencies.append(latency)
            elif status == 201 and not retry:
                load.acked.append(key)
                previous = (key, body)
                if timed:
                    load.ok += 1
                    load.latencies.append(latency)
            else:
                load.errors += 1
                if len(load.error_samples) < 5:
                    load.error_samples.append(f"{status}: {detail}")

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(limits=limits, timeout=60.0) for _ in range(clients)]
    try:
        for duration, timed in ((warmup, False), (seconds, True)):
            started = time.perf_counter()
            await asyncio.gather(*(worker(client, started + duration, timed) for client in pool))
            load.elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in pool))


def percentile(values: list[float], q: float) -> float:  # nearest rank, in milliseconds
    ordered = sorted(values) or [float("nan")]
    return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def query(db_path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as connection:
        return connection.execute(sql).fetchall()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"server exited with {process.returncode} before answering:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"server at {url} did not answer /healthz within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:  # stops only the servers this script started
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "DBPATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return 0

    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-"))
    env = os.environ | {"VOXPOP_DATA_DIR": str(workdir / "data"), "VOXPOP_RATE_LIMIT_PER_MINUTE": "100000000"}
    env.pop("VOXPOP_DATABASE_URL", None)  # this benchmark is about SQLite
    cli = [sys.executable, "-m", "voxpop.cli"]
    processes: list[subprocess.Popen] = []
    results: dict[str, tuple[Load, Path]] = {}
    try:
        (workdir / "survey.yaml").write_text(SURVEY_YAML)
        for step in (["db", "upgrade"], ["survey", "apply", str(workdir / "survey.yaml")]):
            done = subprocess.run(cli + step, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"voxpop {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        bare_port, vox_port = free_port(), free_port()
        servers = {
            "bare": ([sys.executable, __file__, "--serve-bare", str(bare_port), str(workdir / "bare.db")],
                     f"http://127.0.0.1:{bare_port}", "/responses", workdir / "bare.db"),
            "voxpop": (cli + ["serve", "--port", str(vox_port)], f"http://127.0.0.1:{vox_port}",
                       f"/api/v1/surveys/{SURVEY_KEY}/responses", workdir / "data" / "voxpop.db"),
        }
        for name, (command, base, path, db_path) in servers.items():
            log = workdir / f"{name}.log"
            with open(log, "wb") as out:
                processes.append(process := subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))
            wait_ready(base, process, log)
            print(f"{name}: {args.clients} clients, {args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
            results[name] = (load := Load(), db_path)
            asyncio.run(drive(base + path, args.clients, args.seconds, args.warmup, load, retries=name == "voxpop"))
            stop(process)  # the next server gets the CPU to itself

        print(f"\n{'server':<8} {'ok':>8} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
              f" {'acked':>8} {'stored':>8} {'lost':>5} {'dup':>5}")
        failed, throughput = False, {}
        for name, (load, db_path) in results.items():
            keys = [key for (key,) in query(db_path, "SELECT idempotency_key FROM responses")]
            lost = len(set(load.acked) - set(keys))
            duplicated = len(keys) - len(set(keys))
            throughput[name] = load.ok / load.elapsed if load.elapsed else 0.0
            print(f"{name:<8} {load.ok:>8} {load.errors:>7} {throughput[name]:>9.1f}"
                  f" {percentile(load.latencies, 0.50):>8.1f} {percentile(load.latencies, 0.99):>8.1f}"
                  f" {len(load.acked):>8} {len(keys):>8} {lost:>5} {duplicated:>5}")
            for sample in load.error_samples:
                print(f"    error sample ({name}): {sample}")
            failed |= bool(load.errors or lost or duplicated)
        counts = "SELECT (SELECT count(*) FROM responses), (SELECT count(*) FROM answers)"
        [(responses, answers)] = query(results["voxpop"][1], counts)
        failed |= answers != 3 * responses
        ratio = throughput["voxpop"] / (throughput["bare"] or float("nan"))
        print(f"\nratio voxpop/bare throughput: {ratio:.2f} (target >= 0.30)")
        print(f"voxpop answers stored: {answers} for {responses} responses (expected {3 * responses})")
        print(f"voxpop retries answered with the first response: {results['voxpop'][0].replays}")
        print("lost = acknowledged but not stored, dup = stored twice; both over all requests, warm-up included")
        print("FAILED: errors, lost, duplicated or missing rows" if failed else "correctness: ok")
        return 1 if failed else 0
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

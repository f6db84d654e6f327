"""Collection throughput: voxpop's POST /api/v1/surveys/{key}/responses against a bare FastAPI insert.

N concurrent clients (default 50, one keep-alive connection each) post survey responses as fast as they
can for S seconds (default 20, after an untimed 2 s warm-up) to two servers, one after the other:

* bare:   a FastAPI app defined here whose sync endpoint validates the JSON body and inserts one row into
          SQLite (WAL, synchronous=NORMAL, busy_timeout: the pragmas voxpop sets);
* voxpop: `voxpop serve` on SQLite with a three-question survey (nps, reason, csat); every request carries
          its own Idempotency-Key, as a real integration would; the case worker off;
* rules:  the same, with a realistic rules file applied (three rules, one on a comment's theme and sentiment;
          a route; two departments with agents) and the case worker running in the server's background as in
          production (`VOXPOP_CASE_WORKER`, every 2 s: cases.matching.run_rules opens the cases, while the comment
          worker analyses the comments the theme rule waits for).

Why: the bare server pays only what no collection endpoint can avoid (HTTP, JSON, one SQLite commit), so
the ratio is the price of voxpop's own work (survey lookup, validation, idempotency, answer rows). All run
on uvicorn, one worker, sync endpoints in the threadpool; the load generator shares the machine, so the
absolute numbers say little and the ratio voxpop/bare is the figure (target >= 0.30).

With --database-url (a PostgreSQL database made for this: its schema is dropped), the run is about several
server processes instead: the bare endpoint, here inserting into PostgreSQL through a SQLAlchemy pool, and
`voxpop serve` on that database (the comment worker on, the case worker off), each with one uvicorn worker and then
with two (`voxpop serve --workers 2`), and last the same voxpop on SQLite (sqlite-1), for the choice between the
two stores: in the order bare-1, voxpop-1, bare-2, voxpop-2, sqlite-1, the schema made afresh before each. The
ratios printed are each voxpop against the one-worker bare endpoint, each two-worker server against its one-worker
self, and voxpop on PostgreSQL against voxpop on SQLite. With --rounds R the five run R times, interleaved, and
each ratio printed is the median of the R ratios, each taken within one round: on a machine shared with other work
the load drifts between servers, and pairs run a minute apart are the fairest comparison there is.

Correctness is counted afterwards from the database files, over all requests including the warm-up: every
201 must be stored (lost = acknowledged keys missing), no key stored twice (dup = rows - distinct keys), and
each voxpop response must have its 3 answer rows, and no rule may keep a response twice. The exit status is 1 on any error, loss, duplicate or
missing answer; it never depends on timing.

    .venv/bin/python benchmarks/collect.py [--clients 50] [--seconds 20] [--warmup 2] [--database-url URL [--rounds 1]]
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
import statistics
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
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SURVEY_KEY = "bench"
SURVEY_YAML = f"""\
key: {SURVEY_KEY}
title: Benchmark survey
status: live
attributes: [channel]
questions:
  - {{key: nps, kind: nps, text: "How likely are you to recommend us?", required: true}}
  - {{key: reason, kind: text, text: "What is the main reason for your score?"}}
  - {{key: csat, kind: csat, text: "How satisfied are you with your last order?"}}
"""
RULES_YAML = f"""\
routes:
  - {{attribute: channel, value: app, department: Digital}}
root_causes:
  - {{key: late-delivery, name: Late delivery, theme: delivery}}
rules:
  - {{key: detractor, name: Detractor, survey: {SURVEY_KEY}, when: {{answer: ["nps:0-6"]}}, priority: high,
     department: Customer care, holdout: 0.05}}
  - {{key: very-unhappy, name: Very unhappy with the order, survey: {SURVEY_KEY}, when: {{answer: ["csat:1-2"]}},
     department: Customer care}}
  - {{key: late-delivery, name: Complaint about a late delivery, survey: {SURVEY_KEY},
     when: {{answer: ["nps:0-8"], theme: delivery, sentiment: negative}}, priority: high}}
"""
AGENTS = [("care1@example.com", "Customer care"), ("care2@example.com", "Customer care"),
          ("digital@example.com", "Digital")]
# Scores as customers give them, not uniform: 18% detractors (0-6) and 10% CSAT 1-2, so the rules open cases for
# about a third of the responses, as a busy workspace's would. Every server gets the same mix.
NPS_SCORES, NPS_WEIGHTS = range(11), [2, 1, 1, 2, 2, 4, 6, 10, 15, 22, 35]
CSAT_SCORES, CSAT_WEIGHTS = range(1, 6), [4, 6, 15, 35, 40]
REASONS = ["Fast delivery and friendly support", "The app keeps logging me out", "Good value", "Too expensive",
           "The parcel arrived late and nobody answered, terrible"]


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


BARE_URL = "VOXPOP_BENCH_BARE_URL"  # the bare PostgreSQL endpoint's database, for its worker processes


def bare_postgres_app() -> FastAPI:
    """The baseline on PostgreSQL, as a small FastAPI + SQLAlchemy app is typically written: a pooled engine (the
    pool voxpop's store has), one INSERT per request in its own transaction. A factory, so uvicorn can start it in
    several worker processes."""
    engine = create_engine(os.environ[BARE_URL], pool_size=10, max_overflow=20, pool_pre_ping=True)
    app = FastAPI()
    insert = text("INSERT INTO bare_responses (idempotency_key, body) VALUES (:key, :body) RETURNING id")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/responses", status_code=201)
    def create(body: BareBody, idempotency_key: str | None = Header(None)):
        with engine.begin() as connection:
            row_id = connection.scalar(insert, {"key": idempotency_key, "body": body.model_dump_json()})
        return JSONResponse({"id": row_id}, status_code=201)

    return app


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
                body = {"answers": {"nps": rng.choices(NPS_SCORES, NPS_WEIGHTS)[0], "reason": rng.choice(REASONS),
                                    "csat": rng.choices(CSAT_SCORES, CSAT_WEIGHTS)[0]}}
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
    parser.add_argument("--database-url", help="a PostgreSQL database made for this (with 'bench' or 'test' in its "
                        "name; its schema is dropped): compare one and two server workers on it")
    parser.add_argument("--rounds", type=int, default=1, help="with --database-url: run every server this many "
                        "times, interleaved, and print the median of each round's ratio")
    parser.add_argument("--serve-bare", nargs=2, metavar=("PORT", "DBPATH"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-bare-postgres", nargs=2, type=int, metavar=("PORT", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(int(args.serve_bare[0]), args.serve_bare[1])
        return 0
    if args.serve_bare_postgres:
        port, workers = args.serve_bare_postgres
        uvicorn.run("collect:bare_postgres_app", factory=True, workers=workers, host="127.0.0.1", port=port,
                    log_level="warning", app_dir=str(Path(__file__).parent))
        return 0
    if args.database_url:
        return several_workers(args)

    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-"))
    base_env = os.environ | {"VOXPOP_RATE_LIMIT_PER_MINUTE": "100000000"}
    base_env.pop("VOXPOP_DATABASE_URL", None)  # this benchmark is about SQLite
    cli = [sys.executable, "-m", "voxpop.cli"]
    processes: list[subprocess.Popen] = []
    results: dict[str, tuple[Load, Path]] = {}
    try:
        (workdir / "survey.yaml").write_text(SURVEY_YAML)
        (workdir / "rules.yaml").write_text(RULES_YAML)
        envs = {name: base_env | {"VOXPOP_DATA_DIR": str(workdir / name), "VOXPOP_CASE_WORKER": worker}
                for name, worker in (("voxpop", "false"), ("rules", "true"))}
        setup = {"voxpop": [["db", "upgrade"], ["survey", "apply", str(workdir / "survey.yaml")]]}
        setup["rules"] = setup["voxpop"] + [
            ["user", "create", email, "--role", "agent", "--department", department, "--password-stdin"]
            for email, department in AGENTS] + [["cases", "rules", "apply", str(workdir / "rules.yaml")]]
        for name, steps in setup.items():
            for step in steps:
                done = subprocess.run(cli + step, env=envs[name], capture_output=True, text=True,
                                      input="correct horse battery staple\n")
                if done.returncode != 0:
                    sys.exit(f"voxpop {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
        ports = {name: free_port() for name in ("bare", "voxpop", "rules")}
        path = f"/api/v1/surveys/{SURVEY_KEY}/responses"
        servers = {
            "bare": ([sys.executable, __file__, "--serve-bare", str(ports["bare"]), str(workdir / "bare.db")],
                     "/responses", workdir / "bare.db", base_env),
            **{name: (cli + ["serve", "--port", str(ports[name])], path, workdir / name / "voxpop.db", envs[name])
               for name in ("voxpop", "rules")},
        }
        for name, (command, route, db_path, env) in servers.items():
            base = f"http://127.0.0.1:{ports[name]}"
            log = workdir / f"{name}.log"
            with open(log, "wb") as out:
                processes.append(process := subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT))
            wait_ready(base, process, log)
            print(f"{name}: {args.clients} clients, {args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
            results[name] = (load := Load(), db_path)
            asyncio.run(drive(base + route, args.clients, args.seconds, args.warmup, load, retries=name != "bare"))
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
        for name in ("voxpop", "rules"):
            [(responses, answers)] = query(results[name][1], counts)
            failed |= answers != 3 * responses
            print(f"\n{name}: answers stored: {answers} for {responses} responses (expected {3 * responses}); "
                  f"retries answered with the first response: {results[name][0].replays}")
        kept = dict(query(results["rules"][1], "SELECT outcome, count(*) FROM case_triggers GROUP BY outcome"))
        [(twice,)] = query(results["rules"][1], "SELECT count(*) FROM (SELECT rule_id, response_id FROM case_triggers "
                                                "GROUP BY rule_id, response_id HAVING count(*) > 1) AS twice")
        [(cases,)] = query(results["rules"][1], "SELECT count(*) FROM cases")
        failed |= bool(twice)
        print(f"rules: by the end of the run the case worker had opened {cases} cases "
              f"({kept.get('opened', 0)} opened, {kept.get('joined', 0)} joined, {kept.get('held_out', 0)} held out; "
              f"kept twice: {twice})")
        for name in ("voxpop", "rules"):
            ratio = throughput[name] / (throughput["bare"] or float("nan"))
            print(f"ratio {name}/bare throughput: {ratio:.2f} (target >= 0.30)")
        print("lost = acknowledged but not stored, dup = stored twice; both over all requests, warm-up included")
        print("FAILED: errors, lost, duplicated or missing rows" if failed else "correctness: ok")
        return 1 if failed else 0
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def reset_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
        connection.execute(text("CREATE TABLE bare_responses (id bigserial PRIMARY KEY, idempotency_key text, body text)"))
    engine.dispose()


def store_query(url: str, sqlite_file: Path | None, sql: str) -> list[tuple]:
    """Rows from the SQLite file when there is one, else from the PostgreSQL database."""
    if sqlite_file is not None:
        return query(sqlite_file, sql)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


SEVERAL = (("bare", 1), ("voxpop", 1), ("bare", 2), ("voxpop", 2), ("sqlite", 1))
RATIOS = (("voxpop-1", "bare-1"), ("voxpop-2", "bare-1"), ("voxpop-2", "bare-2"), ("voxpop-2", "voxpop-1"),
          ("bare-2", "bare-1"), ("voxpop-1", "sqlite-1"))


@dataclass
class Run:
    """One server's turn: its load and what the store held afterwards."""
    label: str
    load: Load
    stored: int
    lost: int
    duplicated: int
    missing: int  # answers missing from voxpop's responses (3 per response)

    @property
    def throughput(self) -> float:
        return self.load.ok / self.load.elapsed if self.load.elapsed else 0.0


def run_server(args, url: str, workdir: Path, server: str, workers: int, env: dict[str, str]) -> Run:
    """Set up the store afresh, start the server, drive it, stop it, and count what it stored."""
    label = f"{server}-{workers}"
    cli = [sys.executable, "-m", "voxpop.cli"]
    reset_schema(url)
    sqlite_file = workdir / "sqlite" / "voxpop.db" if server == "sqlite" else None
    if sqlite_file is not None:
        shutil.rmtree(sqlite_file.parent, ignore_errors=True)
    if server != "bare":
        for step in (["db", "upgrade"], ["survey", "apply", str(workdir / "survey.yaml")]):
            done = subprocess.run(cli + step, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"voxpop {' '.join(step)} failed:\n{done.stdout}{done.stderr}")
    port = free_port()
    command = ([sys.executable, __file__, "--serve-bare-postgres", str(port), str(workers)] if server == "bare"
               else cli + ["serve", "--port", str(port), "--workers", str(workers)])
    log = workdir / f"{label}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process, log)
        print(f"{label}: {args.clients} clients, {args.warmup:g} s warm-up + {args.seconds:g} s ...", flush=True)
        load = Load()
        route = "/responses" if server == "bare" else f"/api/v1/surveys/{SURVEY_KEY}/responses"
        asyncio.run(drive(base + route, args.clients, args.seconds, args.warmup, load, retries=server != "bare"))
    finally:
        stop(process)  # the next server gets the CPU to itself
    table = "bare_responses" if server == "bare" else "responses"
    keys = [key for (key,) in store_query(url, sqlite_file, f"SELECT idempotency_key FROM {table}")]
    missing = 0
    if server != "bare":
        [(answers,)] = store_query(url, sqlite_file, "SELECT count(*) FROM answers")
        missing = 3 * len(keys) - answers
    return Run(label, load, len(keys), len(set(load.acked) - set(keys)), len(keys) - len(set(keys)), missing)


def several_workers(args) -> int:
    """The PostgreSQL run: bare and voxpop, each with one and with two worker processes, and voxpop on SQLite, one
    after the other, round after round; each ratio is taken within a round, and the median over the rounds printed."""
    url = args.database_url
    name = make_url(url).database or ""
    if make_url(url).get_backend_name() != "postgresql" or ("bench" not in name and "test" not in name):
        sys.exit(f"--database-url must name a PostgreSQL database made for this (with 'bench' or 'test' in its name), "
                 f"not {name!r}: its schema is dropped")
    workdir = Path(tempfile.mkdtemp(prefix="voxpop-bench-"))
    postgres_env = os.environ | {"VOXPOP_RATE_LIMIT_PER_MINUTE": "100000000", "VOXPOP_DATABASE_URL": url,
                                 "VOXPOP_DATA_DIR": str(workdir / "data"), "VOXPOP_CASE_WORKER": "false", BARE_URL: url}
    sqlite_env = {key: value for key, value in postgres_env.items() if key != "VOXPOP_DATABASE_URL"}
    sqlite_env["VOXPOP_DATA_DIR"] = str(workdir / "sqlite")
    (workdir / "survey.yaml").write_text(SURVEY_YAML)
    rounds: list[dict[str, Run]] = []
    try:
        for number in range(args.rounds):
            if args.rounds > 1:
                print(f"round {number + 1} of {args.rounds}", flush=True)
            rounds.append({run.label: run for run in (
                run_server(args, url, workdir, server, workers, sqlite_env if server == "sqlite" else postgres_env)
                for server, workers in SEVERAL)})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{'server':<9} {'round':>5} {'ok':>7} {'errors':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
          f" {'acked':>7} {'stored':>7} {'lost':>5} {'dup':>5} {'missing answers':>16}")
    failed = False
    for number, runs in enumerate(rounds, start=1):
        for run in runs.values():
            load = run.load
            print(f"{run.label:<9} {number:>5} {load.ok:>7} {load.errors:>7} {run.throughput:>8.1f}"
                  f" {percentile(load.latencies, 0.50):>7.0f} {percentile(load.latencies, 0.99):>7.0f}"
                  f" {len(load.acked):>7} {run.stored:>7} {run.lost:>5} {run.duplicated:>5} {run.missing:>16}")
            for sample in load.error_samples:
                print(f"    error sample ({run.label}): {sample}")
            failed |= bool(load.errors or run.lost or run.duplicated or run.missing)
    for numerator, denominator in RATIOS:
        ratios = [runs[numerator].throughput / (runs[denominator].throughput or float("nan")) for runs in rounds]
        each = ", ".join(f"{ratio:.2f}" for ratio in ratios)
        print(f"ratio {numerator}/{denominator} throughput: {statistics.median(ratios):.2f}"
              + (f" (median; rounds: {each})" if len(ratios) > 1 else ""))
    print("lost = acknowledged but not stored, dup = stored twice; both over all requests, warm-up included")
    print("FAILED: errors, lost, duplicated or missing rows" if failed else "correctness: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The scorecard page: 20 measures over 24 months scored by voxpop from its rollups, against the same measures
computed from the raw answers by hand-written DuckDB SQL, on the same store.

The store is benchmarks/metrics.py's (one survey with an NPS, a CSAT and a CES 2.0 question; each response with a
`segment` and a `channel` attribute; 24 months, 2024-01 to 2025-12), loaded by its functions, with its daily
rollups and its DuckDB copy. On it, a scorecard of 20 measures is applied through voxpop's own
scorecard.service.apply_definition (and re-applied unchanged on a reused store): 14 survey measures (NPS, CSAT
and CES overall and per one segment or channel, which the rollups answer), 3 formulas over them and 3 manual
measures whose 24 monthly values are entered and approved through scorecard.entries; every scoring type.

Runners, timed end to end, interleaved round by round (median of --repeat):
  evaluate      voxpop.scorecard.evaluation.evaluate for 2025-12 with history=24 (the scorecard page's work,
                with two years of trend), in a read session of voxpop's Database, held open as the app holds it
  page          GET /scorecards/bench?period=2025-12 through the app (Starlette's TestClient, logged in as the
                admin): the page evaluates with its own history of 12, then renders the tree
  raw duckdb    the 20 measures x 24 months on the DuckDB copy: one hand-written SQL per question (its months,
                and its months per segment and per channel, as grouping sets), the manual values from a copy of
                them; intervals from the counts by voxpop.core.estimates, formulas by voxpop.core.formula
The evaluation's trend and the DuckDB figures must agree (every measure and month: value, n and interval), and
the page must name every measure, or the exit status is 1; it never depends on timing.
The aim (issue 15): the scorecard in under 0.5 s on a 10M-response store.

    .venv/bin/python benchmarks/scorecard.py [--responses 10000000] [--repeat 3] [--workdir DIR]

At 10M on 2 cores: metrics.py's load (about 7 min, 5 GB of RAM at its peak, 5 GB on disk), then seconds a round.
--workdir keeps the SQLite store (with its scorecard) and reuses it for the same size and seed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from sqlalchemy import select

from voxpop.accounts.models import User
from voxpop.accounts.service import create_user
from voxpop.analysis.periods import period_series
from voxpop.core import estimates
from voxpop.core.formula import evaluate as evaluate_formula
from voxpop.core.formula import parse_formula
from voxpop.scorecard.entries import approve_value, enter_value
from voxpop.scorecard.evaluation import evaluate
from voxpop.scorecard.models import Measure
from voxpop.scorecard.service import apply_definition, get_scorecard
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent))  # metrics.py's store, beside this file
from metrics import MIN_BASE, SURVEY, ZONE, load  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for the tests' login
from tests.helpers import login  # noqa: E402

PERIOD, HISTORY, AIM = "2025-12", 24, 0.5
PERIODS = period_series(PERIOD, HISTORY)  # 2024-01 .. 2025-12: the store's two years
ADMIN, PASSWORD = "bench-admin@example.com", "correct horse battery"


def survey(key, name, metric, where=None, **measure):
    """A survey measure; `where` is one attribute's value ("segment=smb"), which the rollups answer."""
    source = {"kind": "survey", "survey": SURVEY, "metric": metric, "question": metric}
    if where:
        source["filter"] = [["attribute", where]]
    return {"key": key, "name": name, "source": source, **measure}


def rows(**target):
    return [{"from": PERIODS[0], **target}]


RULES = [{"when": "actual >= target", "status": "above target", "colour": "green"},
         {"when": "actual >= 0.9 * target", "status": "caution", "colour": "amber"},
         {"when": "otherwise", "status": "below plan", "colour": "red"}]
LOYAL, SATISFIED, EFFORT = "loyal-customers", "satisfied-customers", "effortless-service"
MEASURES = [
    survey("nps", "NPS", "nps", objective=LOYAL, unit="points", weight=2,
           targets=rows(target=45, minimum=-100, maximum=100)),
    survey("nps_consumer", "NPS, consumers", "nps", "segment=consumer", objective=LOYAL, scoring="goal_red_flag",
           targets=rows(goal=45, red_flag=30)),
    survey("nps_smb", "NPS, small business", "nps", "segment=smb", objective=LOYAL, scoring="progress",
           targets=rows(baseline=10, target=30)),
    survey("nps_enterprise", "NPS, enterprise", "nps", "segment=enterprise", objective=LOYAL,
           scoring="status_rules", targets=rows(target=50, rules=RULES)),
    survey("nps_web", "NPS, web", "nps", "channel=web", objective=LOYAL, targets=rows(target=40, minimum=0, maximum=60)),
    survey("nps_app", "NPS, app", "nps", "channel=app", objective=LOYAL, targets=rows(target=40, minimum=0, maximum=60)),
    survey("csat", "CSAT", "csat", objective=SATISFIED, unit="%", targets=rows(target=75, minimum=50, maximum=90)),
    survey("csat_smb", "CSAT, small business", "csat", "segment=smb", objective=SATISFIED, scoring="progress",
           targets=rows(baseline=60, target=80)),
    survey("csat_email", "CSAT, e-mail", "csat", "channel=email", objective=SATISFIED, direction="middle",
           scoring="stabilise", targets=rows(low=65, high=80, minimum=40, maximum=100)),
    survey("csat_sms", "CSAT, SMS", "csat", "channel=sms", objective=SATISFIED, scoring="goal_red_flag",
           targets=rows(goal=75, red_flag=65)),
    survey("ces", "CES", "ces", objective=EFFORT, targets=rows(target=5.5, minimum=1, maximum=7)),
    survey("ces_midmarket", "CES, mid-market", "ces", "segment=mid-market", objective=EFFORT, scoring="progress",
           targets=rows(baseline=4.5, target=5.5)),
    survey("ces_web", "CES, web", "ces", "channel=web", objective=EFFORT, scoring="goal_red_flag",
           targets=rows(goal=5.2, red_flag=4.8)),
    survey("ces_enterprise", "CES, enterprise", "ces", "segment=enterprise", objective=EFFORT,
           scoring="status_rules", targets=rows(target=5, rules=RULES)),
    {"key": "nps_gap", "name": "NPS gap, enterprise over consumers", "objective": LOYAL, "direction": "middle",
     "scoring": "stabilise", "source": {"kind": "formula", "formula": "nps_enterprise - nps_consumer"},
     "targets": rows(low=-5, high=5, minimum=-30, maximum=30)},
    {"key": "loyalty_index", "name": "Loyalty index", "objective": LOYAL,
     "source": {"kind": "formula", "formula": "(nps + 100) / 2 * csat / 100"},
     "targets": rows(target=60, minimum=0, maximum=100)},
    {"key": "effort_gap", "name": "Web effort over all channels", "objective": EFFORT, "direction": "down",
     "source": {"kind": "formula", "formula": "max(ces - ces_web, 0)"}, "targets": rows(target=0, minimum=0, maximum=1)},
    {"key": "revenue", "name": "Revenue", "objective": "grow-revenue", "unit": "EUR", "owner": ADMIN,
     "scoring": "progress", "targets": rows(baseline=1_000_000, target=1_500_000)},
    {"key": "trained", "name": "Staff trained on customer practices", "objective": "skilled-staff", "unit": "%",
     "owner": ADMIN, "direction": "middle", "scoring": "stabilise",
     "targets": rows(low=40, high=60, minimum=0, maximum=100)},
    {"key": "charter", "name": "Customer charter published", "objective": "skilled-staff", "owner": ADMIN,
     "scoring": "yes_no"},
]
SCORECARD = {
    "key": "bench", "name": "Benchmark scorecard", "owner": ADMIN,
    "objectives": [
        {"key": "grow-revenue", "name": "Grow revenue", "perspective": "financial"},
        {"key": LOYAL, "name": "Customers who recommend us", "perspective": "customer", "weight": 2},
        {"key": SATISFIED, "name": "Satisfied customers", "perspective": "customer"},
        {"key": EFFORT, "name": "Effortless service", "perspective": "internal"},
        {"key": "skilled-staff", "name": "Staff skilled in customer practices", "perspective": "learning"},
    ],
    "measures": MEASURES,
    "links": [{"cause": "skilled-staff", "effect": EFFORT, "lag": 2}, {"cause": EFFORT, "effect": LOYAL, "lag": 1}],
}
MANUAL = {  # the values people enter, month by month
    "revenue": lambda month: 1_000_000 + 15_000 * month,
    "trained": lambda month: 20 + 1.5 * month,
    "charter": lambda month: float(month >= 6),
}


# --- the scorecard on the store ---------------------------------------------------------------------------------

def set_up_scorecard(store: Path) -> None:
    """The admin, the scorecard and the manual values, through voxpop's services (unchanged on a reused store)."""
    database = Database(f"sqlite:///{store}")
    with database.write() as db_session:
        admin = db_session.scalar(select(User).where(User.email == ADMIN)) or create_user(
            db_session=db_session, email=ADMIN, password=PASSWORD, role="admin", name="Benchmark admin")
        apply_definition(db_session=db_session, document=SCORECARD, actor=admin, source="benchmarks/scorecard.py")
        measures = {m.key: m for m in db_session.scalars(select(Measure).where(Measure.key.in_(MANUAL)))}
        for key, value_of in MANUAL.items():
            for month, period in enumerate(PERIODS):
                entered = enter_value(db_session=db_session, measure=measures[key], period=period,
                                      value=value_of(month), comment="", actor=admin)
                approve_value(db_session=db_session, value=entered, actor=admin)
    database.dispose()


def run_evaluate(database: Database) -> dict:
    """voxpop: the scorecard evaluated from the rollups, as the page does, with two years of trend."""
    with database.read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=SCORECARD["key"])
        result = evaluate(db_session, scorecard=scorecard, period=PERIOD, zone=ZONE, min_base=MIN_BASE,
                          now=datetime(2026, 1, 1, tzinfo=timezone.utc), history=HISTORY)
    return {(measure.key, value.period): (value.value, value.n, value.ci_low, value.ci_high)
            for perspective in result.perspectives for objective in perspective.objectives
            for measure in objective.measures for value in measure.trend}


def open_app(store: Path, workdir: Path) -> TestClient:
    settings = Settings(database_url=f"sqlite:///{store}", data_dir=workdir / "app", secret_key=secrets.token_urlsafe(48),
                        timezone=ZONE, min_base=MIN_BASE, text_worker=False, case_worker=False)
    client = TestClient(create_app(settings)).__enter__()
    assert login(client, ADMIN, PASSWORD).status_code == 303, "the benchmark admin could not log in"
    return client


def run_page(client: TestClient) -> dict:
    """The scorecard page, whole, as a logged-in admin gets it."""
    page = client.get(f"/scorecards/{SCORECARD['key']}", params={"period": PERIOD})
    missing = [m["name"] for m in MEASURES if m["name"] not in page.text]
    return {"status": page.status_code, "missing": missing}


# --- the same measures from the raw answers, by hand ------------------------------------------------------------

COUNTS = """SELECT q.key AS question, strftime(date_trunc('month', r.submitted_at), '%Y-%m') AS period,
  seg.value AS segment, ch.value AS channel, count(a.score) AS n,
  count(*) FILTER (a.score >= 9) AS promoters, count(*) FILTER (a.score <= 6) AS detractors,
  count(*) FILTER (a.score >= q.scale_max - 1) AS top_two, sum(a.score) AS total, sum(a.score * a.score) AS squares
FROM answers a JOIN questions q ON q.id = a.question_id JOIN survey_versions v ON v.id = q.version_id
JOIN surveys s ON s.id = v.survey_id JOIN responses r ON r.id = a.response_id
LEFT JOIN response_attributes seg ON seg.response_id = a.response_id AND seg.name = 'segment'
LEFT JOIN response_attributes ch ON ch.response_id = a.response_id AND ch.name = 'channel'
WHERE s.key = ? AND q.key = ? AND r.submitted_at >= ? AND r.submitted_at < ?
GROUP BY GROUPING SETS ((q.key, period), (q.key, period, seg.value), (q.key, period, ch.value))"""


def estimate(metric: str, record: dict) -> estimates.Estimate:
    """The interval arithmetic on one month's counts (core's pure functions)."""
    n = int(record["n"])
    if metric == "nps":
        p, d = int(record["promoters"]), int(record["detractors"])
        return estimates.nps(promoters=p, passives=n - p - d, detractors=d, min_base=MIN_BASE)
    if metric == "csat":
        return estimates.top_box(top=int(record["top_two"]), n=n, min_base=MIN_BASE)
    return estimates.mean(n=n, total=float(record["total"]), total_squares=float(record["squares"]),
                          min_base=MIN_BASE)


def copy_manual_values(copy: str) -> None:
    """The entered values beside the answers in the DuckDB copy, as an analyst would have them."""
    with duckdb.connect(copy) as connection:
        connection.execute("CREATE OR REPLACE TABLE scorecard_values (measure VARCHAR, period VARCHAR, value DOUBLE)")
        connection.executemany("INSERT INTO scorecard_values VALUES (?, ?, ?)",
                               [(key, period, value_of(month)) for key, value_of in MANUAL.items()
                                for month, period in enumerate(PERIODS)])


def run_duckdb(copy: str) -> dict:
    """Every measure and month from the raw answers: a query per question, the manual values, the formulas."""
    found: dict[tuple[str, str], tuple] = {}
    with duckdb.connect(copy, read_only=True) as connection:
        months = {}
        for question in ("nps", "csat", "ces"):
            cursor = connection.execute(COUNTS, [SURVEY, question, f"{PERIODS[0]}-01", "2026-01-01"])
            columns = [column[0] for column in cursor.description]
            for record in (dict(zip(columns, values)) for values in cursor.fetchall()):
                unit = f"segment={record['segment']}" if record["segment"] else \
                    f"channel={record['channel']}" if record["channel"] else None
                months[question, unit, record["period"]] = record
        for measure in MEASURES:
            source = measure.get("source", {})
            if source.get("kind") == "survey":
                where = source["filter"][0][1] if source.get("filter") else None
                for period in PERIODS:
                    value = estimate(source["metric"], months[source["question"], where, period])
                    found[measure["key"], period] = (value.value, value.n, value.ci_low, value.ci_high)
        for key, period, value in connection.execute("SELECT measure, period, value FROM scorecard_values").fetchall():
            found[key, period] = (value, None, None, None)
    for measure in MEASURES:
        if measure.get("source", {}).get("kind") == "formula":
            formula = parse_formula(measure["source"]["formula"])
            for period in PERIODS:
                value = evaluate_formula(formula, {name: found[name, period][0] for name in formula.names})
                found[measure["key"], period] = (float(value), None, None, None)
    return found


def disagreements(reference: dict, other: dict) -> list[str]:
    problems = [f"measure-months differ: {sorted(set(reference) ^ set(other))[:3]}"] if set(reference) != set(other) else []
    for key in sorted(set(reference) & set(other)):
        a, b = reference[key], other[key]
        if a[1] != b[1] or any((x is None) != (y is None) or (x is not None and abs(x - y) > 1e-9 * max(1.0, abs(x)))
                               for x, y in zip(a[:1] + a[2:], b[:1] + b[2:])):
            problems.append(f"{key}: {a} != {b}")
    return problems[:5]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--responses", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--workdir", type=Path, help="keep the loaded store here and reuse it (default: a temp dir)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="voxpop-bench-scorecard-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        return bench(workdir, args.responses, args.seed, args.repeat)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def bench(workdir: Path, size: int, seed: int, repeat: int) -> int:
    print(f"== {size:,} responses ({3 * size:,} answers), seed {seed}: loading ...", flush=True)
    started = time.perf_counter()
    data, load_seconds = load(workdir, size, seed)
    del data["frames"]  # metrics.py's pandas runner; not used here
    store, copy = data["store"], data["duckdb"]
    began = time.perf_counter()
    set_up_scorecard(store)
    copy_manual_values(copy)
    load_seconds["scorecard"] = time.perf_counter() - began
    print(f"   loaded in {time.perf_counter() - started:.0f} s; store {store.stat().st_size / 1e9:.2f} GB", flush=True)
    client, database = open_app(store, workdir), Database(f"sqlite:///{store}")  # held open, as the app holds its own
    runners = {"evaluate": lambda: run_evaluate(database), "page": lambda: run_page(client),
               "raw duckdb": lambda: run_duckdb(copy)}
    results, times, cpu = {}, {label: [] for label in runners}, {label: [] for label in runners}
    for round_ in range(repeat):  # interleaved, so drift on a shared machine hits them all alike
        for label, run in runners.items():
            began, began_cpu = time.perf_counter(), time.process_time()
            results[label] = run()
            times[label].append(time.perf_counter() - began)
            cpu[label].append(time.process_time() - began_cpu)
            print(f"  round {round_ + 1}: {label} {times[label][-1]:.3f} s (CPU {cpu[label][-1]:.3f} s)", flush=True)
    client.__exit__(None, None, None)
    database.dispose()
    problems = [f"MISMATCH evaluate vs raw duckdb: {problem}"
                for problem in disagreements(results["raw duckdb"], results["evaluate"])]
    page = results["page"]
    if page["status"] != 200 or page["missing"]:
        problems.append(f"PAGE: status {page['status']}, measures not shown: {page['missing'][:3]}")
    print("\n".join(problems), end="\n" if problems else "")
    median = {label: statistics.median(values) for label, values in times.items()}
    print(f"\n{size:,} responses; {len(MEASURES)} measures x {len(PERIODS)} months ({PERIODS[0]} to {PERIOD}) in {ZONE};"
          f" median of {repeat}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"{len(results['raw duckdb'])} measure-months "
          f"{'DIFFER' if problems else 'agree (value, n, interval)'}")
    print("load (not in the ratios): " + ", ".join(f"{name} {value:.1f} s" for name, value in load_seconds.items())
          + (" (store reused from --workdir)" if data["reused"] else ""))
    # CPU time is this process's, all its threads summed (DuckDB's too): a machine busy with other work slows the
    # wall clock, not this; on an idle machine a single-threaded runner's wall time is close to it.
    print(f"{'runner':<12} {'median s':>9} {'x raw duckdb':>13} {'median CPU s':>13}")
    for label in runners:
        print(f"{label:<12} {median[label]:>9.3f} {median[label] / median['raw duckdb']:>12.3g}x"
              f" {statistics.median(cpu[label]):>13.3f}")
    for label in ("evaluate", "page"):
        print(f"aim, the scorecard ({label}) under {AIM} s: {median[label]:.3f} s -> "
              f"{'met' if median[label] < AIM else 'NOT met'}")
    print("correctness: ok" if not problems else "FAILED: the figures disagree")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

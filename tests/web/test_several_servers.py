"""Several voxpop servers on one PostgreSQL database, as real processes: `voxpop serve --workers 2` on one port and a
plain `voxpop serve` on another, all three processes with the comment, case and sending workers running.

Responses go in through both ports at once (the collection API with retries sent to the other port, and the public
form fetched from one server and posted to the other); afterwards every acknowledged response is stored once, every
comment was analysed exactly once (a trigger the test puts on comment_analyses counts each write of an analysis,
and which server made it), and the daily rollups equal a rebuild. A staff login made on one server works on the
other, and the servers share the secret key they generated into one data folder. On SQLite more than one worker is
refused, and several processes generating the secret key at once agree on one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from tests.helpers import PASSWORD, apply_survey, csrf_from, form_token_from, make_user
from tests.smtp import free_port
from voxpop.analysis.rollups import rollup_differences
from voxpop.collection.models import Answer, Response
from voxpop.text.models import CommentAnalysis

SURVEY = """
key: pulse
title: How did we do?
status: live
questions:
  - {key: nps, kind: nps, text: "How likely are you to recommend us?", required: true}
  - {key: reason, kind: text, text: "What is the main reason for your score?"}
  - {key: csat, kind: csat, text: "How satisfied are you with your last order?"}
"""
REASONS = ["Fast delivery and friendly support", "The app keeps logging me out", "Good value for the price",
           "The parcel arrived late and nobody answered, terrible", "Call me on 0171 2345678 about the refund"]
CLIENTS, PER_CLIENT = 6, 15  # API submissions; every fifth is resent to the other server, as a retry
FORMS = 8  # public form submissions, each fetched from one server, posted to the other, then posted again
# Each write of an analysis (insert, or the upsert's update of analysed_at), with the server that made it.
OBSERVE_ANALYSES = """
CREATE TABLE test_analysis_writes (answer_id integer NOT NULL, server text NOT NULL);
CREATE FUNCTION test_count_analysis_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO test_analysis_writes VALUES (NEW.answer_id, current_setting('application_name')); RETURN NEW; END $$;
CREATE TRIGGER test_count_analysis_write AFTER INSERT OR UPDATE OF analysed_at ON comment_analyses
  FOR EACH ROW EXECUTE FUNCTION test_count_analysis_write();
"""
FORGET_OBSERVER = """
DROP TRIGGER IF EXISTS test_count_analysis_write ON comment_analyses;
DROP FUNCTION IF EXISTS test_count_analysis_write();
DROP TABLE IF EXISTS test_analysis_writes;
"""


def server_environment(database_url: str, data_dir: Path, name: str) -> dict[str, str]:
    """The environment of one server: the shared database (named per server, so the trigger can tell them apart),
    one shared data folder and no VOXPOP_SECRET_KEY, so the servers must agree on the key they generate there."""
    url = make_url(database_url).update_query_dict({"application_name": name})
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXPOP_")}
    return environment | {
        "VOXPOP_DATABASE_URL": url.render_as_string(hide_password=False), "VOXPOP_DATA_DIR": str(data_dir),
        "VOXPOP_RATE_LIMIT_PER_MINUTE": "1000000", "VOXPOP_LOGIN_RATE_LIMIT_PER_MINUTE": "1000",
        "VOXPOP_TEXT_WORKER_INTERVAL": "0.2", "VOXPOP_CASE_WORKER_INTERVAL": "0.5",
    }


def start_server(database_url: str, data_dir: Path, name: str, port: int, log: Path, workers: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "voxpop.cli", "serve", "--port", str(port), "--workers", str(workers)]
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=server_environment(database_url, data_dir, name), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


READY_WITHIN = 180  # seconds: three processes importing the app on two busy cores took up to a minute here


def wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server at {base} exited with {process.returncode}:\n{log.read_text()}"
        try:
            if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the server at {base} did not answer /healthz within {READY_WITHIN} s:\n{log.read_text()}")


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM lets uvicorn stop its worker processes and their background threads; the process group (this test
    started it with start_new_session) is killed only if that takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def submit_through_the_api(bases: list[str], client_number: int) -> tuple[list[str], list[str]]:
    """One client's submissions, alternating between the servers; returns the acknowledged keys and the problems."""
    acked, problems = [], []
    with httpx.Client(timeout=60.0) as client:
        for n in range(PER_CLIENT):
            key = str(uuid.uuid4())
            body = {"answers": {"nps": (client_number + n) % 11, "csat": 1 + n % 5,
                                "reason": f"{REASONS[n % len(REASONS)]} (client {client_number}, visit {n})"}}
            first = bases[(client_number + n) % 2]
            reply = client.post(f"{first}/api/v1/surveys/pulse/responses", json=body, headers={"Idempotency-Key": key})
            if reply.status_code != 201:
                problems.append(f"{reply.status_code}: {reply.text[:200]}")
                continue
            acked.append(key)
            if n % 5 == 4:  # the retry of a client that timed out, to the other server: answered with the first
                other = bases[(client_number + n + 1) % 2]
                again = client.post(f"{other}/api/v1/surveys/pulse/responses", json=body,
                                    headers={"Idempotency-Key": key})
                if again.status_code != 200 or again.json()["id"] != reply.json()["id"]:
                    problems.append(f"retry answered {again.status_code}: {again.text[:200]}")
    return acked, problems


def submit_the_form(bases: list[str], number: int) -> list[str]:
    """The public page from one server, its form posted to the other (the form token signed by one server checked by
    the other), then posted once more, as a double click would: still one response."""
    problems = []
    with httpx.Client(timeout=60.0) as client:
        page = client.get(f"{bases[number % 2]}/s/pulse", headers={"accept-language": "en"})
        data = {"form_token": form_token_from(page.text), "page": "0", "lang": "en", "q_nps": str(number % 11),
                "q_csat": "4", "q_reason": f"Friendly staff at the counter (form {number})"}
        for base in (bases[(number + 1) % 2], bases[number % 2]):
            done = client.post(f"{base}/s/pulse", data=data, follow_redirects=False)
            if done.status_code not in (200, 303):
                problems.append(f"form {number} via {base}: {done.status_code}: {done.text[:300]}")
    return problems


def wait_until_analysed(db, servers: dict[str, tuple[subprocess.Popen, Path]]) -> int:
    """Waits for the comment workers to analyse every comment; returns how many comments there are."""
    deadline = time.monotonic() + READY_WITHIN
    while True:
        with db.read() as db_session:
            comments = db_session.scalar(select(func.count()).select_from(Answer).where(Answer.text.is_not(None)))
            analysed = db_session.scalar(select(func.count()).select_from(CommentAnalysis))
        if analysed == comments:
            return comments
        if time.monotonic() > deadline:
            logs = "\n".join(log.read_text()[-2000:] for _, log in servers.values())
            pytest.fail(f"after {READY_WITHIN} s only {analysed} of {comments} comments were analysed:\n{logs}")
        time.sleep(0.2)


@pytest.fixture
def _forget_observer(db):
    yield
    if not db.is_sqlite:
        with db.write_connection() as connection:
            connection.exec_driver_sql(FORGET_OBSERVER)


@pytest.mark.usefixtures("_forget_observer")
def test_two_servers_on_one_postgresql_lose_nothing_and_analyse_each_comment_once(db, database_url, tmp_path):
    if db.is_sqlite:
        pytest.skip("several server processes need PostgreSQL; SQLite refuses them (tested below)")
    apply_survey(db, SURVEY)
    staff = make_user(db, "analyst")
    with db.write_connection() as connection:
        connection.exec_driver_sql(OBSERVE_ANALYSES)
    data_dir = tmp_path / "data"
    ports = {"two-workers": free_port(), "one-worker": free_port()}
    servers: dict[str, tuple[subprocess.Popen, Path]] = {}
    try:
        for name, port in ports.items():
            log = tmp_path / f"{name}.log"
            workers = 2 if name == "two-workers" else 1
            servers[name] = (start_server(database_url, data_dir, name, port, log, workers), log)
        bases = [f"http://127.0.0.1:{port}" for port in ports.values()]
        for (process, log), base in zip(servers.values(), bases):
            wait_ready(base, process, log)

        with ThreadPoolExecutor(CLIENTS + 2) as pool:
            api = [pool.submit(submit_through_the_api, bases, number) for number in range(CLIENTS)]
            forms = [pool.submit(submit_the_form, bases, number) for number in range(FORMS)]
            acked = [key for future in api for key in future.result()[0]]
            problems = [problem for future in api for problem in future.result()[1]]
            problems += [problem for future in forms for problem in future.result()]
        assert problems == []

        # A staff session and its CSRF token made by one server are good on the other.
        with httpx.Client(timeout=60.0) as staff_client:
            token = csrf_from(staff_client.get(f"{bases[0]}/login").text)
            login = staff_client.post(f"{bases[1]}/login", data={"csrf_token": token, "email": staff,
                                                                 "password": PASSWORD}, follow_redirects=False)
            assert login.status_code == 303, login.text[:500]
            assert staff_client.get(f"{bases[0]}/api/v1/surveys").status_code == 200

        comments = wait_until_analysed(db, servers)
    finally:
        for process, _ in servers.values():
            stop_server(process)
    logs = {name: log.read_text() for name, (_, log) in servers.items()}
    assert not [name for name, text_ in logs.items() if "Traceback" in text_], logs

    with db.read() as db_session:
        stored = Counter(db_session.scalars(select(Response.idempotency_key)))
        answers = db_session.scalar(select(func.count()).select_from(Answer))
        writes = db_session.execute(text("SELECT answer_id, server FROM test_analysis_writes")).all()
        comment_ids = set(db_session.scalars(select(Answer.id).where(Answer.text.is_not(None))))
    assert len(acked) == CLIENTS * PER_CLIENT
    assert set(acked) <= set(stored), "an acknowledged response was lost"
    assert max(stored.values()) == 1 and sum(stored.values()) == len(acked) + FORMS, "a response was stored twice"
    assert answers == 3 * (len(acked) + FORMS)
    assert comments == len(acked) + FORMS
    # Each comment analysed exactly once, across all three server processes.
    per_comment = Counter(answer_id for answer_id, _ in writes)
    assert set(per_comment) == comment_ids
    assert set(per_comment.values()) == {1}, f"analysed more than once: {per_comment.most_common(3)}"
    assert {server for _, server in writes} <= set(ports)
    assert rollup_differences(db, zone="UTC")[0] == 0


def test_serve_refuses_several_workers_on_sqlite(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXPOP_")}
    done = subprocess.run([sys.executable, "-m", "voxpop.cli", "serve", "--workers", "2"], capture_output=True,
                          text=True, env=environment | {"VOXPOP_DATA_DIR": str(tmp_path)}, timeout=120)
    assert done.returncode == 2
    message = " ".join(done.stderr.split())
    assert "--workers 2 needs PostgreSQL: SQLite takes one writer at a time" in message
    assert "VOXPOP_DATABASE_URL" in message and "docs/scaling.md" in message
    assert not (tmp_path / "voxpop.db").exists()  # refused before anything is opened


GENERATE_KEY = "import sys; from voxpop.settings import Settings; print(Settings(data_dir=sys.argv[1]).signing_key)"


def test_processes_starting_at_once_agree_on_the_generated_secret_key(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOXPOP_")}
    starting = [subprocess.Popen([sys.executable, "-c", GENERATE_KEY, str(tmp_path / "data")], env=environment,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    keys = {process.communicate(timeout=120)[0].strip() for process in starting}
    assert len(keys) == 1 and len(keys.pop()) >= 32
    assert [path.name for path in (tmp_path / "data").iterdir()] == ["secret_key"]  # no temporary file left

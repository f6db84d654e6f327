"""A schema-driven fuzzer (schemathesis) against the OpenAPI document: whatever it sends, within the schema or
just outside it, the API answers with a documented status and shape, and never with a server error (a 500 fails
the test: schemathesis's not_a_server_error check).

It runs on both stores, each in a database made for this module: PostgreSQL refuses what SQLite takes (a NUL
byte in text), so a route can fail on one alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import skip_or_fail
from tests.helpers import apply_survey, login, make_user
from voxpop.collection import flows
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.web.app import create_app

# Refusing a body as too large (413, VOXPOP_MAX_BODY_BYTES) is as good a rejection of invalid data as a 422.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
EXAMPLES = int(os.environ.get("VOXPOP_FUZZ_EXAMPLES", "25"))


def _postgres_url() -> str:
    """A fresh database of its own beside the configured one (voxpop_test_fuzz): the suite's fixtures drop and
    empty the configured one's tables between tests."""
    url = os.environ["VOXPOP_TEST_POSTGRES_URL"]
    own = make_url(url).set(database=f"{make_url(url).database}_fuzz")
    admin = Database(url)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    admin.dispose()
    return own.render_as_string(hide_password=False)


def _fuzzed(url: str, folder: Path):
    """The fuzz test of the app on one store, with a survey and three responses, sent with an admin's session."""
    db = Database(url)
    upgrade(db.write_engine)
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    for score in (2, 9, 10):
        flows.record_response(db, survey, flows.Submission(answers={"nps": score, "csat": 4}, channel="api"),
                              max_text_length=5000)
    app = create_app(Settings(data_dir=folder, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                              rate_limit_per_minute=1_000_000, login_rate_limit_per_minute=1_000_000,
                              text_worker=False, case_worker=False), db)
    staff = _staff_headers(app, db)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}))

    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=not os.environ.get("VOXPOP_FUZZ_EXAMPLES"),
              suppress_health_check=list(HealthCheck))
    def test_the_api_keeps_its_documented_promises(case):
        # A request can fit the schema and still say nothing importable (a CSV that is not an export, a filter on
        # a theme that does not exist): those are 4xx problems by design, so that one check is left out.
        case.call_and_validate(headers=staff, excluded_checks=[positive_data_acceptance])

    return test_the_api_keeps_its_documented_promises


def _staff_headers(app, db) -> dict[str, str]:
    """An admin's session cookie and CSRF token, as a script using the staff API sends them."""
    client = TestClient(app)
    login(client, make_user(db, "admin", "fuzz-admin@example.com"))
    token = client.get("/api/v1/me").json()["csrf_token"]
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": token}


_SQLITE = Path(tempfile.mkdtemp(prefix="voxpop-fuzz-"))
test_the_api_on_sqlite = _fuzzed(f"sqlite:///{_SQLITE / 'voxpop.db'}", _SQLITE)
if os.environ.get("VOXPOP_TEST_POSTGRES_URL"):
    test_the_api_on_postgresql = _fuzzed(_postgres_url(), Path(tempfile.mkdtemp(prefix="voxpop-fuzz-")))
else:
    def test_the_api_on_postgresql():
        skip_or_fail("the PostgreSQL fuzz run needs VOXPOP_TEST_POSTGRES_URL")

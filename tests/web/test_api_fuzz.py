"""A schema-driven fuzzer (schemathesis) against the OpenAPI document: whatever it sends, within the schema or
just outside it, the API answers with a documented status and shape, and never with a server error.

It runs on one SQLite store made for this module (the API's promises do not depend on the backend)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.helpers import apply_survey, login, make_user
from voxpop.collection import flows
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.web.app import create_app


def _app():
    folder = Path(tempfile.mkdtemp(prefix="voxpop-fuzz-"))
    url = f"sqlite:///{folder / 'voxpop.db'}"
    db = Database(url)
    upgrade(db.write_engine)
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    for score in (2, 9, 10):
        flows.record_response(db, survey, flows.Submission(answers={"nps": score, "csat": 4}, channel="api"),
                              max_text_length=5000)
    return create_app(Settings(data_dir=folder, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                               rate_limit_per_minute=1_000_000, text_worker=False, case_worker=False), db), db


APP, DB = _app()
# Refusing a body as too large (413, VOXPOP_MAX_BODY_BYTES) is as good a rejection of invalid data as a 422.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP, config=SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}))


def _staff_headers() -> dict[str, str]:
    """An admin's session cookie and CSRF token, as a script using the staff API sends them."""
    client = TestClient(APP)
    login(client, make_user(DB, "admin", "fuzz-admin@example.com"))
    token = client.get("/api/v1/me").json()["csrf_token"]
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"Cookie": cookie, "X-CSRF-Token": token}


STAFF = _staff_headers()


@schema.parametrize()
@settings(max_examples=int(os.environ.get("VOXPOP_FUZZ_EXAMPLES", "25")), deadline=None, derandomize=not os.environ.get("VOXPOP_FUZZ_EXAMPLES"), suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_documented_promises(case):
    # A request can fit the schema and still say nothing importable (a CSV that is not an export, a filter on a
    # theme that does not exist): those are 4xx problems by design, so that one check is left out.
    case.call_and_validate(headers=STAFF, excluded_checks=[positive_data_acceptance])

"""POST /api/v1/surveys/{key}/responses: problem+json errors, idempotency, rate limiting."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.helpers import apply_survey
from voxpop.collection.models import Response
from voxpop.web.app import create_app

URL = "/api/v1/surveys/feedback/responses"


def stored(db) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def test_a_response_is_created(client, db):
    apply_survey(db)
    reply = client.post(URL, json={"answers": {"nps": 10, "why_high": "Quick"}, "attributes": {"channel": "app"}})
    assert reply.status_code == 201
    body = reply.json()
    assert body["survey"] == "feedback" and body["version"] == 1 and len(body["id"]) == 36
    assert stored(db) == 1


def test_a_retry_with_the_same_idempotency_key_creates_nothing(client, db):
    apply_survey(db)
    headers = {"Idempotency-Key": "order-8812-nps"}
    first = client.post(URL, json={"answers": {"nps": 8}}, headers=headers)
    retry = client.post(URL, json={"answers": {"nps": 8}}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.headers["Idempotent-Replayed"] == "true" and retry.json() == first.json()
    other = client.post(URL, json={"answers": {"nps": 2}}, headers=headers)
    assert other.status_code == 422 and other.json()["type"] == "urn:voxpop:problem:idempotency-key-reused"
    assert stored(db) == 1


def test_a_score_of_11_is_a_clear_problem(client, db):
    apply_survey(db)
    reply = client.post(URL, json={"answers": {"nps": 11}})
    assert reply.status_code == 422
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["errors"] == [
        {"field": "answers.nps", "message": "11 is outside the scale; please choose a number from 0 to 10."}
    ]
    assert stored(db) == 0


def test_missing_required_answer(client, db):
    apply_survey(db)
    reply = client.post(URL, json={"answers": {"csat": 4}})
    assert reply.status_code == 422
    assert reply.json()["errors"] == [{"field": "answers.nps", "message": "Please answer this question."}]


def test_100_kb_of_text_is_refused_with_a_reason(client, db):
    apply_survey(db)
    reply = client.post(URL, json={"answers": {"nps": 2, "why_low": "x" * 100_000}})
    assert reply.status_code == 422
    assert "please shorten it to 5,000" in reply.json()["errors"][0]["message"]


def test_a_body_over_the_limit_is_413_not_500(client, db):
    apply_survey(db)
    reply = client.post(URL, content=b'{"answers": {"nps": 1, "why_low": "' + b"x" * 2_000_000 + b'"}}',
                        headers={"content-type": "application/json"})
    assert reply.status_code == 413 and reply.headers["content-type"] == "application/problem+json"


def test_malformed_json_and_unknown_survey(client, db):
    apply_survey(db)
    broken = client.post(URL, content=b"{nps: 9", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["type"] == "urn:voxpop:problem:invalid-request"
    wrong_type = client.post(URL, json={"answers": [9]})
    assert wrong_type.status_code == 422 and wrong_type.json()["errors"][0]["field"] == "answers"
    unknown = client.post("/api/v1/surveys/nope/responses", json={"answers": {"nps": 9}})
    assert unknown.status_code == 404 and unknown.json()["detail"] == "There is no survey with key 'nope'."


def test_closed_survey_is_a_conflict(client, db):
    apply_survey(db, status="closed")
    reply = client.post(URL, json={"answers": {"nps": 9}})
    assert reply.status_code == 409 and reply.json()["type"] == "urn:voxpop:problem:survey-closed"


def test_bad_idempotency_key(client, db):
    apply_survey(db)
    reply = client.post(URL, json={"answers": {"nps": 9}}, headers={"Idempotency-Key": "x" * 300})
    assert reply.status_code == 400 and stored(db) == 0


def test_public_endpoints_are_rate_limited_per_client(settings, db):
    apply_survey(db)
    strict = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(strict, db)) as limited:
        codes = [limited.post(URL, json={"answers": {"nps": 9}}).status_code for _ in range(5)]
        assert codes == [201, 201, 201, 429, 429]
        refused = limited.post(URL, json={"answers": {"nps": 9}})
        assert refused.headers["content-type"] == "application/problem+json" and int(refused.headers["retry-after"]) >= 1
        assert limited.get("/s/feedback").status_code == 429
    assert stored(db) == 3


def test_openapi_describes_the_collection_endpoint(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/surveys/{key}/responses"]["post"]
    assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]
    assert {"201", "409", "422"} <= set(operation["responses"])


@pytest.mark.parametrize("body", [
    b'{"answers": {"nps": 3, "why_low": "late\\u0000 again"}}',
    b'{"answers": {"nps": 3, "why_low": "\\ud800"}}',
    b'{"answers": {"nps": "\xc2\xb2"}}',
    b'{"answers": {"nps": 3, "why_low": {"x": [1, 2]}}}',
    b'{"answers": {"nps": 3}, "attributes": {"channel": "a\\u0000b"}}',
    b'{"answers": {"nps": 3}, "customer": {"external_id": "C-1"}}',
])
def test_odd_input_is_a_clear_422_never_a_500(client, db, body):
    apply_survey(db)
    reply = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert reply.status_code == 422, reply.text
    assert reply.json()["detail"] and stored(db) == 0


def test_a_nul_in_the_survey_key_is_not_found(client, db):
    assert client.post("/api/v1/surveys/%00/responses", json={"answers": {"nps": 1}}).status_code == 404

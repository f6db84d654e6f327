"""Inputs at the far edges get a clear refusal, never a server error (found by probing past the fuzzer)."""

from __future__ import annotations

from tests.helpers import login, make_user


def test_far_dates_and_huge_versions_are_refused_clearly(client, db):
    login(client, make_user(db, "admin"))
    for path in ("/api/v1/comments?until=9999-12-31", "/api/v1/comments?since=0001-01-01"):
        reply = client.get(path)
        assert reply.status_code == 422 and "from 1900-01-01 to 9998-12-31" in reply.json()["detail"]
    page = client.get("/comments?until=9999-12-31")
    assert page.status_code < 500 and "from 1900-01-01 to 9998-12-31" in page.text
    assert client.get("/codebook?load=9999999999999999999999999").status_code == 400


def test_a_method_a_mounted_folder_does_not_answer_is_refused_as_it_was(client):
    reply = client.post("/static/voxpop.css")
    assert reply.status_code == 405 and "answers ," not in reply.text and reply.headers.get("allow") != ""


def test_the_unsubscribe_link_is_rate_limited_per_client(settings, db):
    from fastapi.testclient import TestClient

    from voxpop.web.app import create_app

    strict = settings.model_copy(update={"rate_limit_per_minute": 3})
    with TestClient(create_app(strict, db)) as limited:
        codes = [limited.get("/u/not-a-token").status_code for _ in range(3)]
        assert 429 not in codes and max(codes) < 500
        refused = limited.post("/u/not-a-token")
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

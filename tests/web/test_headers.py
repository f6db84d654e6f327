"""Security headers: no-store on what holds customer or staff data, a Permissions-Policy, HSTS over HTTPS only;
and the plumbing's checks (upload names, form encoding, NUL bytes) on their own."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import apply_survey, login, make_user
from voxpop.web.app import create_app
from voxpop.web.middleware import nul_byte_problem, unreadable_form_field
from voxpop.web.uploads import upload_name


def test_staff_pages_the_staff_api_and_survey_pages_are_not_stored_by_any_cache(client, db):
    apply_survey(db)
    assert client.get("/s/feedback").headers["cache-control"] == "no-store"  # invitation tokens, answers
    assert client.get("/login").headers["cache-control"] == "no-store"
    login(client, make_user(db, "admin"))
    for path in ("/dashboard", "/comments", "/api/v1/me", "/api/v1/comments", "/api/v1/openapi.json"):
        reply = client.get(path)
        assert reply.status_code == 200 and reply.headers["cache-control"] == "no-store", path
    assert client.get("/api/v1/nothing-here").headers["cache-control"] == "no-store"  # errors too


def test_static_files_and_routes_that_choose_their_caching_keep_it(client):
    assert "cache-control" not in client.get("/static/voxpop.css").headers
    assert client.get("/favicon.ico").headers["cache-control"] == "public, max-age=86400"


def test_every_answer_carries_a_permissions_policy_and_hsts_only_with_secure_cookies(client, settings, db):
    for path in ("/login", "/healthz", "/static/voxpop.css", "/s/none"):
        headers = client.get(path).headers
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
            assert feature in headers["permissions-policy"], path
        assert "strict-transport-security" not in headers
    with TestClient(create_app(settings.model_copy(update={"secure_cookies": True}), db)) as secure:
        assert secure.get("/healthz").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


@given(st.text())
def test_an_upload_name_is_one_short_clean_path_part_whatever_the_client_sends(filename):
    name = upload_name(filename, "upload.csv")
    assert name and name not in (".", "..") and "/" not in name and "\\" not in name
    assert len(name) <= 100 and len(name.encode()) <= 200
    assert all(ch.isprintable() or ch == " " for ch in name)


def test_an_upload_name_keeps_what_a_person_reads():
    assert upload_name("C:\\Users\\ana\\Exports\\NPS März.csv", "x") == "NPS März.csv"
    assert upload_name("../../etc/passwd\x00.csv", "x") == "passwd.csv"
    assert upload_name("a" * 300 + ".xlsx", "x") == "a" * 94 + "….xlsx"
    assert upload_name("", "upload.csv") == upload_name(None, "upload.csv") == "upload.csv"


def test_a_form_that_is_not_utf8_is_found_by_its_field():
    assert unreadable_form_field(b"a=1&comment=caf%C3%A9+au+lait") is None
    assert unreadable_form_field(b"a=1&comment=caf%E9") == "comment"
    assert unreadable_form_field(b"a=1&comment=caf\xc3\xa9") == "comment"  # a browser never sends raw bytes
    assert unreadable_form_field(b"na%FFme=1") == "na\ufffdme"


def test_a_nul_byte_is_found_in_the_path_or_a_named_parameter():
    assert nul_byte_problem("/api/v1/comments", b"q=caf%C3%A9&survey=feedback") is None
    status, detail = nul_byte_problem("/api/v1/comments", b"q=x&survey=%00")
    assert status == 400 and "'survey'" in detail
    assert nul_byte_problem("/s/a\x00b", b"")[0] == 404

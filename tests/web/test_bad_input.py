"""Inputs at the far edges get a clear refusal, never a server error (found by probing past the fuzzer)."""

from __future__ import annotations

from tests.helpers import apply_survey, csrf_from, login, make_user


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


# -- the fuzzer's server errors (issue 17), on both stores ----------------------------------------------------------

def test_a_nul_byte_in_any_query_parameter_is_refused_naming_it(client, db):
    login(client, make_user(db, "admin"))
    for path, name in [("/api/v1/comments?q=%00", "q"), ("/api/v1/comments?survey=%00", "survey"),
                       ("/api/v1/comments?attribute=segment%3D%00", "attribute"), ("/api/v1/themes?survey=%00", "survey"),
                       ("/api/v1/comments?cursor=abc&q=x%00y", "q")]:
        reply = client.get(path)
        assert reply.status_code == 400, path
        assert reply.headers["content-type"] == "application/problem+json"
        assert f"query parameter '{name}' holds a NUL byte" in reply.json()["detail"]
    for page in ("/comments?q=%00", "/themes?survey=%00"):
        reply = client.get(page)
        assert reply.status_code == 400 and "holds a NUL byte" in reply.text and "text/html" in reply.headers["content-type"]
    assert client.get("/api/v1/cases/rules/a%00b").status_code == 404  # no address holds one
    assert client.get("/api/v1/comments?q=caf%C3%A9").status_code == 200  # other text passes as before


def _multipart(file_name: bytes, content: bytes, **fields: str) -> tuple[bytes, str]:
    """A multipart body built by hand, so the file name goes out byte for byte (a NUL, 300 bytes) as a script
    could send it; the client library would escape it."""
    boundary = "voxpop-boundary-7d3"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="'.encode() + file_name
                 + b'"\r\nContent-Type: text/csv\r\n\r\n' + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


CONTACTS = b"external_id,email\nC-1,ana@example.com\n"
TRANSACTIONS = b"customer,date,amount\nC-1,2026-01-05,12.50\n"
TRANSCRIPT = b"Moderator: Welcome.\nAna: The tent leaked.\n"


def test_an_upload_whose_name_is_long_or_holds_a_nul_is_imported_under_a_clean_name(client, db):
    login(client, make_user(db, "admin"))
    csrf = client.get("/api/v1/me").json()["csrf_token"]
    for raw_name, shown in [(b"a" * 300, "a" * 95 + "…"), (b"con\x00tacts", "contacts"), (b"dir/../x\x01y", "xy")]:
        routes = [("/api/v1/contacts/import", raw_name + b".csv", CONTACTS, {}),
                  ("/api/v1/imports/transactions", raw_name + b".csv", TRANSACTIONS, {}),
                  ("/api/v1/imports/responses", raw_name + b".csv", b"id,nps\n1,9\n", {"dry_run": "true"}),
                  ("/api/v1/sources", raw_name + b".txt", TRANSCRIPT,
                   {"kind": "interview", "title": "Tent", "held_on": "2026-11-20", "moderator": "Moderator"})]
        for path, file_name, content, fields in routes:
            body, content_type = _multipart(file_name, content, **fields)
            reply = client.post(path, content=body, headers={"content-type": content_type, "X-CSRF-Token": csrf})
            assert reply.status_code < 500, (path, raw_name[:10], reply.text)
            assert "\x00" not in reply.text and "\\u0000" not in reply.text
            if path == "/api/v1/contacts/import":
                assert reply.status_code == 200 and reply.json()["file"] == shown + ".csv"
            if path == "/api/v1/imports/transactions":
                assert reply.status_code == 200 and reply.json()["file"] == shown + ".csv"
    # The pages take the same names.
    page_csrf = csrf_from(client.get("/contacts/import").text)
    body, content_type = _multipart(b"x" * 300 + b"\x00.csv", CONTACTS, csrf_token=page_csrf)
    reply = client.post("/contacts/import", content=body, headers={"content-type": content_type})
    assert reply.status_code == 200 and "1 row read" in reply.text


def test_a_body_that_cannot_be_read_is_refused_saying_why(client, db):
    apply_survey(db)
    path = "/api/v1/surveys/feedback/responses"
    json_type = {"content-type": "application/json"}
    cases = [(b'{"answers": {"why_low": "caf\xe9"}}', "not valid UTF-8: byte 0xe9 at position 28"),
             (b"[" * 5000 + b"]" * 5000, "nested deeper than Python's JSON parser reads"),
             (b'{"answers": {"nps": ' + b"9" * 5000 + b"}}", "an integer with more than 4,300 digits")]
    for body, words in cases:
        reply = client.post(path, content=body, headers=json_type)
        assert reply.status_code == 400 and reply.headers["content-type"] == "application/problem+json"
        assert words in reply.json()["detail"] and "There was an error parsing the body" not in reply.text


def test_a_chunked_body_over_the_limit_is_a_413_like_one_with_a_content_length(client, db):
    apply_survey(db)
    path = "/api/v1/surveys/feedback/responses"
    oversized = b'{"answers": {"why_low": "' + b"x" * 1_100_000 + b'"}}'
    declared = client.post(path, content=oversized, headers={"content-type": "application/json"})

    def chunks():
        for start in range(0, len(oversized), 64 * 1024):
            yield oversized[start:start + 64 * 1024]

    chunked = client.post(path, content=chunks(), headers={"content-type": "application/json"})
    assert declared.status_code == chunked.status_code == 413
    assert chunked.json()["detail"] == declared.json()["detail"]
    assert "larger than 1,000,000 bytes" in chunked.json()["detail"]
    page = client.post("/s/feedback", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    assert page.status_code == 413 and "larger than 1,000,000 bytes" in page.text


def test_a_survey_form_that_is_not_utf8_is_refused_in_the_respondents_language(client, db):
    from tests.helpers import form_token_from

    apply_survey(db)
    token = form_token_from(client.get("/s/feedback").text)
    form = {"content-type": "application/x-www-form-urlencoded", "accept-language": "de"}
    for comment in (b"caf%E9", b"caf\xe9", b"caf\xc3\xa9"):  # Latin-1 percent-encoded; raw Latin-1; raw UTF-8
        body = b"form_token=" + token.encode() + b"&page=0&lang=en&q_nps=3&q_why_low=" + comment
        reply = client.post("/s/feedback", content=body, headers=form)
        assert reply.status_code == 400 and "nicht als UTF-8" in reply.text and "caf" not in reply.text
    accepted = client.post("/s/feedback", content=b"form_token=" + token.encode() + b"&page=0&lang=en&q_nps=3&q_why_low=caf%C3%A9",
                           headers=form)
    assert accepted.status_code == 200 and "café" in accepted.text  # kept for the next page, read right
    # A staff form is refused alike, naming the field.
    reply = client.post("/login", content=b"email=a%FF&password=x", headers=form)
    assert reply.status_code == 400 and "The form field &#x27;email&#x27; is not UTF-8 text" in reply.text


def test_login_attempts_have_their_own_budget(settings, db):
    from fastapi.testclient import TestClient

    from voxpop.web.app import create_app

    # A small public budget leaves the login alone...
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": 2,
                                                            "login_rate_limit_per_minute": 1000}), db)) as limited:
        assert [limited.get("/u/not-a-token").status_code == 429 for _ in range(3)] == [False, False, True]
        assert all(limited.post("/login", data={"email": "x@example.com", "password": "x"}).status_code != 429
                   for _ in range(5))
    # ...and a generous one does not raise the login's.
    with TestClient(create_app(settings.model_copy(update={"rate_limit_per_minute": 1000,
                                                            "login_rate_limit_per_minute": 2}), db)) as limited:
        codes = [limited.post("/login", data={"email": "x@example.com", "password": "x"}).status_code for _ in range(3)]
        assert codes[:2] != [429, 429] and codes[2] == 429
        assert limited.get("/login").status_code == 200  # the page itself is not counted
        assert all(limited.get("/u/not-a-token").status_code != 429 for _ in range(5))

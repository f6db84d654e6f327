"""The contacts pages and their JSON twins: roles on the server, CSRF on every form, errors at their field."""

import io

from tests.helpers import csrf_from, login, make_user


def upload(client, text: str, name: str = "contacts.csv", token: str | None = None):
    token = token or csrf_from(client.get("/contacts/import").text)
    return client.post("/contacts/import", data={"csrf_token": token},
                       files={"file": (name, io.BytesIO(text.encode("utf-8")), "text/csv")})


CONTACTS = ("external_id;email;language;consent;segment\n"
            + "".join(f"C{n:03d};c{n}@example.com;{'de' if n % 3 else 'en'};{'no' if n % 10 == 0 else 'yes'};"
                      f"{'SMB' if n % 4 else 'Enterprise'}\n" for n in range(1, 81))
            + "C081;;en;yes;SMB\n")


def test_a_manager_imports_and_the_list_counts_who_may_be_invited(client, db):
    login(client, make_user(db, "manager"))
    page = upload(client, CONTACTS)
    assert page.status_code == 200 and "81 rows read: 81 new contacts, 0 updated; attributes: segment." in page.text
    listed = client.get("/api/v1/contacts").json()
    assert listed["total"] == 81 and listed["counts"] == {"reachable": 72, "no e-mail address": 1, "suppressed": 0,
                                                         "no consent": 8}
    assert len(listed["contacts"]) == 50 and listed["pages"] == 2
    page = client.get("/contacts", params={"reach": "no consent", "attribute": "segment=Enterprise"})
    assert page.status_code == 200 and "c40@example.com" in page.text and "c20@example.com" in page.text
    assert "c30@example.com" not in page.text  # SMB
    filtered = client.get("/api/v1/contacts", params={"q": "C00", "language": "en"}).json()
    assert {row["external_id"] for row in filtered["contacts"]} == {"C003", "C006", "C009"}
    assert client.get("/contacts", params={"page": 2}).status_code == 200


def test_bad_rows_are_listed_by_row_and_column_and_nothing_is_imported(client, db):
    login(client, make_user(db, "admin"))
    page = upload(client, "id,email,consent\nA1,ana@example.com,yes\nA2,bob@,maybe\n")
    assert page.status_code == 400 and "2 problems in the file, so nothing was imported" in page.text
    assert "bob@" in page.text and "&#39;maybe&#39; is not a consent" in page.text and 'data-testid="row-errors"' in page.text
    assert client.get("/api/v1/contacts").json()["total"] == 0
    assert upload(client, "x", name="contacts.xlsx").status_code == 400
    token = csrf_from(client.get("/contacts/import").text)
    answer = client.post("/api/v1/contacts/import", headers={"x-csrf-token": token},
                         files={"file": ("c.csv", io.BytesIO(b"id,email\nA1,nope\n"), "text/csv")})
    assert answer.status_code == 422 and answer.json()["errors"] == [
        {"row": 2, "field": "email", "message": "'nope' is not an e-mail address"}]
    latin = client.post("/api/v1/contacts/import", headers={"x-csrf-token": token},
                        files={"file": ("c.csv", io.BytesIO("id,name\nA1,Müller\n".encode("latin-1")), "text/csv")})
    assert latin.status_code == 422 and "not UTF-8" in latin.json()["detail"]


def test_roles_and_csrf_are_enforced(client, db):
    login(client, make_user(db, "analyst"))
    assert client.get("/contacts").status_code == 200
    assert client.get("/contacts/import").status_code == 403
    token = csrf_from(client.get("/contacts").text)
    assert upload(client, CONTACTS, token=token).status_code == 403
    assert client.post("/contacts/suppressions", data={"csrf_token": token, "email": "a@example.com"}).status_code == 403
    assert client.post("/api/v1/contacts/samples", headers={"x-csrf-token": token},
                       json={"name": "w", "size": 1, "seed": 1}).status_code == 403
    client.cookies.clear()
    login(client, make_user(db, "manager"))
    assert client.post("/contacts/import", files={"file": ("c.csv", io.BytesIO(b"id\nA\n"), "text/csv")}).status_code == 403
    token = csrf_from(client.get("/contacts").text)
    # Managers draw samples but do not change the suppression list.
    assert client.post("/contacts/suppressions", data={"csrf_token": token, "email": "a@example.com"}).status_code == 403
    client.cookies.clear()
    assert client.get("/api/v1/contacts").status_code == 401
    assert client.get("/contacts", follow_redirects=False).status_code == 303


def test_an_admin_suppresses_and_removes_an_address(client, db):
    login(client, make_user(db, "admin"))
    upload(client, CONTACTS)
    token = csrf_from(client.get("/contacts/suppressions").text)
    added = client.post("/contacts/suppressions", data={"csrf_token": token, "email": " C5@Example.com ",
                                                        "reason": "complaint", "detail": "called the hotline"})
    assert added.status_code == 200 and "c5@example.com" in added.text and "called the hotline" in added.text
    assert client.get("/api/v1/contacts", params={"q": "c5@"}).json()["contacts"][0]["not_reachable"].startswith(
        "suppressed (complaint on ")
    bad = client.post("/contacts/suppressions", data={"csrf_token": token, "email": "nobody", "reason": "manual"})
    assert bad.status_code == 400 and 'href="#email"' in bad.text and "not an e-mail address" in bad.text
    table = client.get("/contacts/suppressions", params={"format": "csv"})
    assert table.text.splitlines()[0] == "email,reason,source,detail,created_at"
    assert table.text.splitlines()[1].startswith("c5@example.com,complaint,admin:admin@example.com")
    api = client.post("/api/v1/contacts/suppressions", headers={"x-csrf-token": token},
                      json={"email": "b@example.com", "reason": "bounced"})
    assert api.status_code == 201 and api.json()["reason"] == "bounced"
    assert client.get("/api/v1/contacts/suppressions").json()["total"] == 2
    removed = client.post("/contacts/suppressions/remove", data={"csrf_token": token, "email": "c5@example.com"})
    assert removed.status_code == 200 and "c5@example.com may be invited again" in removed.text
    assert client.delete("/api/v1/contacts/suppressions/b@example.com", headers={"x-csrf-token": token}).status_code == 204
    assert client.delete("/api/v1/contacts/suppressions/b@example.com", headers={"x-csrf-token": token}).status_code == 404
    assert client.get("/api/v1/contacts/suppressions").json()["total"] == 0


def test_a_manager_previews_then_draws_a_stratified_sample(client, db):
    login(client, make_user(db, "manager"))
    upload(client, CONTACTS)
    token = csrf_from(client.get("/contacts/samples").text)
    form = {"csrf_token": token, "name": "December wave", "size": "30", "method": "stratified",
            "stratify_by": "segment", "where": "", "seed": "7"}
    preview = client.post("/contacts/samples", data=form | {"action": "preview"})
    assert preview.status_code == 200 and 'data-testid="preview"' in preview.text and "Enterprise" in preview.text
    assert client.get("/api/v1/contacts/samples").json() == []  # a preview records nothing
    drawn = client.post("/contacts/samples", data=form | {"action": "draw"}, follow_redirects=False)
    assert drawn.status_code == 303
    detail = client.get(drawn.headers["location"])
    assert detail.status_code == 200 and "December wave" in detail.text and 'data-testid="strata"' in detail.text
    sample_id = int(drawn.headers["location"].rsplit("/", 1)[1])
    answer = client.get(f"/api/v1/contacts/samples/{sample_id}").json()
    assert answer["size_drawn"] == 30 and len(answer["customer_ids"]) == 30 and answer["audience_size"] == 72
    assert {row["stratum"]: row["drawn"] for row in answer["strata"]} == {"Enterprise": 7, "SMB": 23}
    roster = client.get(f"/contacts/samples/{sample_id}", params={"format": "csv"}).text.splitlines()
    assert roster[0] == "customer,email,stratum" and len(roster) == 31
    again = client.post("/contacts/samples", data=form | {"action": "draw"})
    assert again.status_code == 400 and "already called" in again.text and 'href="#name"' in again.text
    too_big = client.post("/contacts/samples", data=form | {"size": "lots", "action": "preview"})
    assert too_big.status_code == 400 and "whole number" in too_big.text
    dry = client.post("/api/v1/contacts/samples", headers={"x-csrf-token": token},
                      json={"name": "x", "size": 10, "method": "random", "where": {"segment": ["SMB"]}, "seed": 3,
                            "dry_run": True})
    assert dry.status_code == 200 and dry.json()["audience"] == 56
    refused = client.post("/api/v1/contacts/samples", headers={"x-csrf-token": token},
                          json={"name": "y", "size": 10, "method": "stratified", "stratify_by": "tier", "seed": 3})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "stratify_by"
    assert client.get("/contacts/samples/999").status_code == 404
    assert client.get("/api/v1/contacts/samples/999").status_code == 404


def test_a_filter_that_cannot_filter_is_a_sentence_at_its_field(client, db):
    login(client, make_user(db, "viewer"))
    page = client.get("/contacts", params={"consent": "maybe"})
    assert page.status_code == 400 and "consent must be one of" in page.text.lower()
    assert client.get("/api/v1/contacts", params={"attribute": "segment"}).status_code == 422
    assert "No contacts yet" in client.get("/contacts").text


def test_a_list_over_the_request_limit_imports_on_the_page_and_one_over_20_mb_is_sent_to_the_command(client, db):
    login(client, make_user(db, "manager"))
    rows = "".join(f"L{n:06d};l{n}@example.com;en;yes\n" for n in range(45_000))  # about 1.4 MB: over the 1 MB body limit
    page = upload(client, "external_id;email;language;consent\n" + rows)
    assert page.status_code == 200 and "45,000 rows read" in page.text
    too_big = upload(client, "external_id;email\n" + "x" * 20_000_001)
    assert too_big.status_code == 400 and "voxpop contacts import FILE" in too_big.text

"""The upload page and its API twin: roles, CSRF, dry run, import, clear refusals and escaped comments."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import csrf_from, damaged_parquet, login, make_user
from tests.imports.test_service import ROWS, qualtrics, row
from voxpop.collection.models import Response


def staff(client, db, role="manager"):
    login(client, make_user(db, role))
    return csrf_from(client.get("/imports").text)


def upload(client, path, token, **fields):
    with path.open("rb") as handle:
        return client.post("/imports", data={"csrf_token": token, **fields},
                           files={"file": (path.name, handle, "text/csv")}, follow_redirects=False)


def responses(db):
    with db.read() as db_session:
        return db_session.scalar(select(func.count()).select_from(Response))


def test_only_admins_and_managers_may_import(client, db, tmp_path):
    assert client.get("/imports", follow_redirects=False).status_code == 303  # to the login page
    login(client, make_user(db, "analyst"))
    assert client.get("/imports").status_code == 403
    path = qualtrics(tmp_path / "export.csv", ROWS)
    token = csrf_from(client.get("/dashboard").text)
    assert upload(client, path, token).status_code == 403 and responses(db) == 0


def test_a_dry_run_shows_the_mapping_and_samples_escaped_then_the_import_stores(client, db, tmp_path):
    token = staff(client, db)
    path = qualtrics(tmp_path / "export.csv", ROWS)
    checked = upload(client, path, token, dry_run="true")
    assert checked.status_code == 200 and "would add 40 new responses" in checked.text
    assert "Great &lt;b&gt;staff&lt;/b&gt;" in checked.text and "<b>staff</b>" not in checked.text
    assert responses(db) == 0
    imported = upload(client, path, token, dry_run="false")
    assert "added 40 new responses" in imported.text and responses(db) == 40
    assert "added 0 new responses" in upload(client, path, token, dry_run="false").text and responses(db) == 40


def test_a_bad_row_is_a_clear_400_page_and_nothing_is_stored(client, db, tmp_path):
    token = staff(client, db)
    path = qualtrics(tmp_path / "export.csv", [*ROWS[:3], row(50, nps=12)])
    reply = upload(client, path, token, dry_run="false")
    assert reply.status_code == 400 and "Row 7" in reply.text and "12" in reply.text and responses(db) == 0
    assert "list the rejected ones (tick “Import the valid rows and list the rejected ones”)." in reply.text
    assert "--skip-invalid" not in reply.text
    skipped = upload(client, path, token, dry_run="false", skip_invalid="true")
    assert "1 rejected" in skipped.text and responses(db) == 3


def test_messages_are_sentences_that_name_the_page_s_own_fields(client, db, tmp_path):
    token = staff(client, db)
    path = qualtrics(tmp_path / "export.csv", ROWS)
    checked = upload(client, path, token, dry_run="true", timezone="UTC")
    assert "<li>The times in this file do not state their time zone" in checked.text
    assert "give it (under “Time zone of the file&#39;s times”).</li>" in checked.text
    wrong = upload(client, path, token, dry_run="true", source="surveymonkey")
    assert wrong.status_code == 400 and "export.csv is not laid out as a surveymonkey export" in wrong.text
    assert "(choose “auto” under “Written by”)." in wrong.text and "--from" not in wrong.text


@pytest.mark.parametrize(("name", "content", "message"), [
    ("notes.docx", b"PK\x03\x04", "not an export file"),
    ("empty.csv", b"", "empty"),
    ("binary.csv", bytes(range(256)) * 8, "binary"),
])
def test_files_voxpop_cannot_read_are_refused_without_a_500(client, db, tmp_path, name, content, message):
    token = staff(client, db)
    path = tmp_path / name
    path.write_bytes(content)
    reply = upload(client, path, token, dry_run="true")
    assert reply.status_code == 400 and message in reply.text.lower()


def test_the_api_imports_with_a_header_token_and_answers_problems_as_json(client, db, tmp_path):
    login(client, make_user(db, "admin"))
    token = client.get("/api/v1/me").json()["csrf_token"]
    path = qualtrics(tmp_path / "export.csv", ROWS)
    with path.open("rb") as handle:
        reply = client.post("/api/v1/imports/responses", headers={"X-CSRF-Token": token},
                            data={"from": "qualtrics"}, files={"file": (path.name, handle, "text/csv")})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert (body["format"], body["new"], body["present"], body["rejected"]) == ("qualtrics", 40, 0, 0)
    bad = qualtrics(tmp_path / "bad.csv", [*ROWS, row(1, nps=-3)])
    with bad.open("rb") as handle:
        refused = client.post("/api/v1/imports/responses", headers={"X-CSRF-Token": token},
                              files={"file": (bad.name, handle, "text/csv")})
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    detail = refused.json()["detail"]
    assert detail.startswith("Row 44") and "-3" in detail and detail.endswith("(send skip_invalid=true).")
    with bad.open("rb") as handle:
        no_token = client.post("/api/v1/imports/responses", files={"file": (bad.name, handle, "text/csv")})
    assert no_token.status_code == 403


def test_an_upload_over_the_limit_is_413(client, db, tmp_path, settings):
    token = staff(client, db)
    path = tmp_path / "big.csv"
    path.write_bytes(b"a,b\n" + b"1,2\n" * (settings.max_upload_bytes // 4 + 10))
    assert upload(client, path, token, dry_run="true").status_code == 413


def test_transactions_upload_on_the_page_and_the_api(client, db, tmp_path):
    token = staff(client, db)
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\nc1,2024-01-05,10.5\nc2,2024-01-06,12\nc1,2024-02-01,9\n")
    with path.open("rb") as handle:
        page = client.post("/imports/transactions", data={"csrf_token": token},
                           files={"file": (path.name, handle, "text/csv")})
    assert page.status_code == 200 and "added 3 new transactions" in page.text
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,date,amount\nc1,2024-01-05,ten\n")
    with bad.open("rb") as handle:
        refused = client.post("/api/v1/imports/transactions", headers={"X-CSRF-Token": token},
                              files={"file": (bad.name, handle, "text/csv")})
    assert refused.status_code == 422 and "row 1" in refused.json()["detail"] and "/tmp" not in refused.json()["detail"]
    with path.open("rb") as handle:
        again = client.post("/api/v1/imports/transactions", headers={"X-CSRF-Token": token},
                            files={"file": (path.name, handle, "text/csv")})
    assert again.status_code == 200 and (again.json()["new"], again.json()["present"]) == (0, 3)


def test_a_dry_run_suggests_the_survey_key_and_title_and_the_import_uses_the_ones_chosen(client, db, tmp_path):
    token = staff(client, db)
    path = qualtrics(tmp_path / "2025 Northwind NPS export.csv", ROWS)
    checked = upload(client, path, token, dry_run="true")
    assert 'name="survey" value="northwind-nps-2025"' in checked.text
    assert 'name="title" value="Northwind NPS 2025"' in checked.text
    assert "read as a Qualtrics export (CSV, UTF-8)" in checked.text
    # The samples: a line per question, by its text, with each row's answer.
    assert "<th scope=\"row\" class=\"words\">How likely are you to recommend us to a friend?</th>" in checked.text
    refused = upload(client, path, token, dry_run="false", survey="Northwind NPS")
    assert refused.status_code == 400 and 'id="survey-error"' in refused.text and responses(db) == 0
    assert "lower-case letters, digits, - and _" in refused.text and "(under “Survey key”)." in refused.text
    imported = upload(client, path, token, dry_run="false", survey="northwind", title="Northwind relationship NPS")
    assert "added 40 new responses to survey &#39;northwind&#39;" in imported.text
    assert "titled “Northwind relationship NPS”" in imported.text


def test_a_damaged_parquet_upload_is_a_sentence_and_stores_nothing(client, db, tmp_path):
    token = staff(client, db)
    reply = upload(client, damaged_parquet(tmp_path / "export.parquet"), token)
    assert reply.status_code == 400 and "export.parquet is not a readable Parquet file (" in reply.text
    assert responses(db) == 0

"""The Privacy pages and their JSON twins: admins only, exports audited, an erasure confirmed, CSRF-checked and
audited with the admin, their address and counts only."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from tests.helpers import csrf_from, login, make_user
from tests.privacy.data import EMAIL, EXTERNAL_ID, make_customer
from voxpop.accounts.models import AuditEntry
from voxpop.customers.models import Customer


def audit_entries(db, action):
    with db.read() as db_session:
        entries = list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db_session.expunge_all()
        return entries


@pytest.mark.parametrize("role", ["manager", "analyst", "agent", "viewer"])
def test_only_admins_reach_the_privacy_pages_and_api(client, db, role):
    customer_id = make_customer(db)
    make_user(db, role)
    login(client, f"{role}@example.com")
    for path in ("/privacy", f"/privacy/customers/{customer_id}", f"/privacy/customers/{customer_id}/export",
                 "/api/v1/privacy", f"/api/v1/customers/{customer_id}/privacy", f"/api/v1/customers/{customer_id}/export"):
        assert client.get(path).status_code == 403, path
    token = csrf_from(client.get("/api-reference").text)
    assert client.post(f"/privacy/customers/{customer_id}/erase",
                       data={"csrf_token": token, "confirm": EXTERNAL_ID}).status_code == 403
    assert client.post(f"/api/v1/customers/{customer_id}/erase", json={"confirm": EXTERNAL_ID},
                       headers={"X-CSRF-Token": token}).status_code == 403
    with db.read() as db_session:
        assert db_session.get(Customer, customer_id).erased_at is None


def test_an_admin_finds_exports_and_erases_a_customer_on_the_page(client, db):
    customer_id = make_customer(db)
    token = admin_token(client, db)
    found = client.get("/privacy", params={"q": "erika.mustermann"})
    assert found.status_code == 200 and f'href="/privacy/customers/{customer_id}"' in found.text
    assert client.get("/privacy", params={"q": "nobody"}).text.count("No customer matches.") == 1
    page = client.get(f"/privacy/customers/{customer_id}")
    assert page.status_code == 200 and EMAIL in page.text and 'data-testid="privacy-held"' in page.text

    download = client.get(f"/privacy/customers/{customer_id}/export")
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    assert f"voxpop-customer-{customer_id}-" in download.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert json.loads(archive.read(f"customer-{customer_id}.json"))["customer"]["email"] == EMAIL
    [exported] = audit_entries(db, "customer.export")
    assert exported.target == f"customer:{customer_id}" and exported.actor_id is not None
    assert exported.details == {"via": "web"}

    no_token = client.post(f"/privacy/customers/{customer_id}/erase", data={"confirm": EXTERNAL_ID})
    assert no_token.status_code == 403
    wrong = client.post(f"/privacy/customers/{customer_id}/erase", data={"csrf_token": token, "confirm": "cust"})
    assert wrong.status_code == 400 and "Type the customer&#39;s external id exactly" in wrong.text
    assert audit_entries(db, "customer.erase") == []
    erased = client.post(f"/privacy/customers/{customer_id}/erase",
                         data={"csrf_token": token, "confirm": f" {EXTERNAL_ID} "})
    assert erased.status_code == 200 and f"Customer {customer_id} is erased" in erased.text
    assert EMAIL not in erased.text and 'name="confirm"' not in erased.text  # no second erasure offered
    [entry] = audit_entries(db, "customer.erase")
    assert entry.actor_id is not None and entry.client and entry.details["via"] == "web"
    assert EMAIL.lower() not in json.dumps(entry.details).lower()


def test_the_api_twins(client, db):
    customer_id = make_customer(db)
    token = admin_token(client, db)
    search = client.get("/api/v1/privacy", params={"q": EXTERNAL_ID}).json()
    assert search["customers"][0]["id"] == customer_id and search["retention"]["months"] is None
    held = client.get(f"/api/v1/customers/{customer_id}/privacy").json()
    assert held["held"]["responses"] == 2 and held["erased_at"] is None
    assert client.get(f"/api/v1/customers/{customer_id}/export").headers["content-type"] == "application/zip"
    missing = client.get("/api/v1/customers/999999/privacy")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/customers/999999/export").status_code == 404
    assert client.get("/privacy/customers/999999").status_code == 404

    refused = client.post(f"/api/v1/customers/{customer_id}/erase", json={"confirm": "no"},
                          headers={"X-CSRF-Token": token})
    assert refused.status_code == 422 and "external id" in refused.json()["detail"]
    done = client.post(f"/api/v1/customers/{customer_id}/erase", json={"confirm": EXTERNAL_ID},
                       headers={"X-CSRF-Token": token})
    assert done.status_code == 200 and done.json()["counts"]["responses_unlinked"] == 2
    again = client.post(f"/api/v1/customers/{customer_id}/erase", json={"confirm": f"erased-{customer_id}"},
                        headers={"X-CSRF-Token": token})
    assert again.status_code == 409 and "already erased" in again.json()["detail"]
    assert client.get(f"/api/v1/customers/{customer_id}/privacy").json()["erased_at"]


def test_the_page_shows_the_retention_setting_and_its_dry_run(client, db, settings):
    from fastapi.testclient import TestClient

    from voxpop.web.app import create_app

    make_customer(db)
    with TestClient(create_app(settings.model_copy(update={"retention_months": 1}), db)) as own:
        admin_token(own, db)
        page = own.get("/privacy")
        assert "Responses older than 1 months" in page.text and "No run has anonymised any yet." in page.text
        assert "would anonymise 0" not in page.text and 'name="dry_run"' in page.text
        assert "The next run would anonymise 0 responses" in own.get("/privacy", params={"dry_run": "true"}).text
        retention = own.get("/api/v1/privacy").json()["retention"]
        assert retention["months"] == 1 and retention["due"] is None
        assert own.get("/api/v1/privacy", params={"dry_run": "true"}).json()["retention"]["due"] == 0


def admin_token(client, db) -> str:
    if not has_admin(db):
        make_user(db, "admin")
    login(client, "admin@example.com")
    return csrf_from(client.get("/privacy").text)


def has_admin(db) -> bool:
    from voxpop.accounts.models import User

    with db.read() as db_session:
        return db_session.scalar(select(User.id).where(User.email == "admin@example.com")) is not None

"""The customer-outcomes page and its JSON twin, on the demo workspace (which has transactions)."""

from datetime import datetime, timezone

from tests.helpers import login, make_user
from voxpop.demo.workspace import load_demo


def test_the_page_needs_a_login_and_shows_an_empty_state(client, db):
    assert client.get("/customers", follow_redirects=False).status_code == 303
    login(client, make_user(db, "viewer"))
    page = client.get("/customers")
    assert page.status_code == 200 and "voxpop import transactions" in page.text
    assert client.get("/api/v1/customers/outcomes").json()["retention"] == []


def test_the_demo_shows_promoters_staying_and_spending_more(client, db):
    load_demo(db, now=datetime(2026, 11, 1, 12, tzinfo=timezone.utc))
    login(client, make_user(db, "analyst"))
    report = client.get("/api/v1/customers/outcomes").json()
    loyalty = report["loyalty"]
    assert loyalty["customers"] > 5000
    difference = loyalty["promoters_minus_detractors"]
    assert difference["retention"]["significant"] and difference["retention"]["difference"] > 0
    assert difference["revenue"]["difference"] > 0 and difference["clv"]["ci_low"] > 0
    assert report["cohorts"][0]["shares"][0] == 100.0 and report["holdout"]["buckets"]
    page = client.get("/customers")
    assert page.status_code == 200 and "Loyalty against behaviour" in page.text and "<svg" in page.text

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


def test_the_filter_s_days_narrow_the_retention_months_and_cohorts(client, db):
    load_demo(db, now=datetime(2026, 11, 1, 12, tzinfo=timezone.utc))
    login(client, make_user(db, "viewer"))
    whole = client.get("/api/v1/customers/outcomes").json()
    months = [row["period"][:7] for row in whole["retention"]]
    narrowed = client.get("/api/v1/customers/outcomes", params={"since": f"{months[1]}-15",
                                                                 "until": f"{months[2]}-01"}).json()
    assert [row["period"][:7] for row in narrowed["retention"]] == months[1:3]
    assert {row["cohort"][:7] for row in narrowed["cohorts"]} <= set(months[1:3])
    assert narrowed["loyalty"] == whole["loyalty"] and narrowed["clv"] == whole["clv"]  # over every transaction
    assert client.get("/api/v1/customers/outcomes", params={"since": "9000-01-01"}).json()["retention"] == []
    page = client.get("/customers", params={"since": f"{months[1]}-15", "until": f"{months[2]}-01"})
    assert page.status_code == 200 and f'value="{months[1]}-15"' in page.text
    assert "Attribute and answer filters do not apply here" in page.text
    table = client.get("/customers", params={"since": f"{months[1]}-15", "until": f"{months[2]}-01", "format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"] == "text/csv; charset=utf-8"
    lines = table.text.splitlines()
    assert lines[0] == "table,row,measure,value,ci_low,ci_high,n"
    assert {line.split(",")[1] for line in lines if line.startswith("retention,")} == set(months[1:3])
    assert any(line.startswith("loyalty,promoters,") for line in lines)


def test_days_that_cannot_be_read_are_a_sentence_at_their_field(client, db):
    load_demo(db, now=datetime(2026, 11, 1, 12, tzinfo=timezone.utc))
    login(client, make_user(db, "viewer"))
    page = client.get("/customers", params={"since": "2026-13-01"})
    assert page.status_code == 400 and 'href="#since"' in page.text and 'id="since"' in page.text
    assert "Loyalty against behaviour" not in page.text  # no figures that would read as unfiltered
    assert "Since must be a date written YYYY-MM-DD" in page.text
    problem = client.get("/api/v1/customers/outcomes", params={"period": "fortnight"})
    assert problem.status_code == 422 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json()["errors"][0]["field"] == "period"
    both = client.get("/api/v1/customers/outcomes", params={"period": "last-year", "since": "2026-01-01"})
    assert both.status_code == 422 and "either a period or since/until" in both.json()["detail"]


def test_the_csv_needs_a_login(client):
    assert client.get("/customers", params={"format": "csv"}, follow_redirects=False).status_code == 303

"""The demo's contacts on a small set of demo-like customers (the full demo is too slow for this)."""

from datetime import datetime, timezone

from sqlalchemy import func, insert, select

from voxpop.customers import contacts
from voxpop.customers.models import Customer, Sample, Suppression
from voxpop.demo import contacts as demo_contacts

NOW = datetime(2026, 12, 7, 9, tzinfo=timezone.utc)


def test_languages_consent_suppressions_and_a_stratified_sample(db, monkeypatch):
    monkeypatch.setattr(demo_contacts, "SAMPLE_SIZE", 150)
    with db.write() as db_session:
        db_session.execute(insert(Customer.__table__), [
            {"external_id": f"NW-{n:06d}", "email": f"customer{n}@example.com", "created_at": NOW,
             "attributes": {"segment": ("consumer", "business", "premium")[n % 10 // 7 + (n % 10 == 9)],
                            "region": ("UK", "DACH", "Nordics", "Benelux")[n % 4]}} for n in range(1, 1201)])
        line = demo_contacts.add_contacts(db_session, now=NOW, seed=7)
    assert line.startswith("contacts: 1,200 customers,") and "December NPS wave" in line
    with db.read() as db_session:
        by_region = dict(db_session.execute(
            select(Customer.language, func.count()).where(Customer.attributes["region"].as_string() == "DACH")
            .group_by(Customer.language)).all())
        consents = dict(db_session.execute(select(Customer.consent, func.count()).group_by(Customer.consent)).all())
        reasons = set(db_session.scalars(select(Suppression.reason)))
        sample = db_session.scalars(select(Sample)).one()
        members = contacts.sample_members(db_session, sample.id)
        reachable = contacts.reachable(db_session, members)
        assert db_session.scalar(select(func.count()).select_from(Suppression)) == 12
        method, strata = sample.stratify_by, {row["stratum"] for row in sample.strata}
    assert by_region["de"] > 5 * by_region.get("en", 0)
    assert consents["yes"] > consents["unknown"] > consents["no"] > 0
    assert "bounced" in reasons and "unsubscribed" in reasons
    assert len(members) == 150 and method == "segment" and all(v is None for v in reachable.values())
    assert strata == {"consumer", "business", "premium"}

"""Retention: responses older than the setting lose their free text and customer link, batch by batch; the dry
run counts exactly what a run does; the worker applies it; scores and rollups stay."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from tests.privacy.data import make_customer
from tests.privacy.test_erasure import metrics, rollup_rows
from voxpop.accounts.models import AuditEntry
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection.models import Answer, Response
from voxpop.privacy import retention
from voxpop.privacy.retention import apply_retention, cutoff_for, retention_worker

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


def age_responses(db, customer_id, days):
    """Move the customer's responses `days` back (the rollups are rebuilt to match)."""
    with db.write() as db_session:
        db_session.execute(update(Response).where(Response.customer_id == customer_id)
                           .values(submitted_at=NOW - timedelta(days=days)))
    rebuild_store(db, zone="UTC")


def held(db):
    with db.read() as db_session:
        linked = db_session.scalar(select(func.count()).select_from(Response).where(Response.customer_id.is_not(None)))
        texts = db_session.scalar(select(func.count()).select_from(Answer).where(Answer.text.is_not(None)))
        return linked, texts


@pytest.mark.parametrize(("now", "months", "cutoff"), [
    (datetime(2026, 12, 7, 9, 0), 6, datetime(2026, 6, 7, 9, 0)),
    (datetime(2026, 3, 31, 23, 59), 1, datetime(2026, 2, 28, 23, 59)),
    (datetime(2026, 1, 15), 13, datetime(2024, 12, 15)),
    (datetime(2024, 2, 29), 12, datetime(2023, 2, 28)),
])
def test_the_cutoff_is_calendar_months_back(now, months, cutoff):
    assert cutoff_for(now, months) == cutoff


def test_the_dry_run_counts_what_the_run_then_does_and_scores_stay(db, monkeypatch):
    old = make_customer(db)
    recent = make_customer(db, external_id="RECENT", email="recent@example.net", name="Rita Recent",
                           comment="Rita liked it")
    age_responses(db, old, days=400)
    age_responses(db, recent, days=20)
    before_metrics, before_rollups = metrics(db), rollup_rows(db)
    monkeypatch.setattr(retention, "BATCH", 1)  # one response per transaction: the batches add up

    dry = apply_retention(db, months=12, now=NOW, dry_run=True)
    assert (dry.responses, dry.text_answers, dry.customer_links, dry.dry_run) == (2, 2, 2, True)
    assert held(db) == (4, 4)  # a dry run changes nothing
    done = apply_retention(db, months=12, now=NOW)
    assert (done.responses, done.text_answers, done.customer_links) == (dry.responses, dry.text_answers,
                                                                       dry.customer_links)
    assert held(db) == (2, 2)  # the recent customer's two responses keep their link and text
    assert metrics(db) == before_metrics and rollup_rows(db) == before_rollups
    rebuild_store(db, zone="UTC")
    assert rollup_rows(db) == before_rollups
    again = apply_retention(db, months=12, now=NOW, dry_run=True)
    assert again.responses == 0  # idempotent: nothing left to anonymise
    with db.read() as db_session:
        entries = list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.retention")))
        assert len(entries) == 2 and all(entry.actor_id is None for entry in entries)
        assert sum(entry.details["responses"] for entry in entries) == 2
        assert {entry.details["via"] for entry in entries} == {"worker"}


def test_the_worker_anonymises_and_stops(db, settings):
    old = make_customer(db)
    age_responses(db, old, days=800)
    settings = settings.model_copy(update={"retention_months": 24})
    ran = threading.Event()
    worker = retention_worker(db, settings, interval=3600)
    step = worker.step
    worker.step = lambda should_stop: (step(should_stop), ran.set())
    worker.start()
    try:
        assert ran.wait(60)
    finally:
        worker.stop()
    assert held(db) == (0, 0)


def test_the_worker_needs_the_setting(settings):
    with pytest.raises(ValueError, match="retention_months is not set"):
        retention_worker(None, settings)

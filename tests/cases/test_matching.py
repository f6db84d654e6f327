"""Rules at work: responses open cases only when the worker step runs, once per customer and rule while a case is
open, never on history unless a backfill is asked for, with a repeatable random holdout."""

from __future__ import annotations

import math
import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from tests.cases.test_rules import RULES, answer, apply_text, shop
from voxpop.accounts.models import Department
from voxpop.cases import matching
from voxpop.cases.matching import backfill, held_out, preview, run_rules
from voxpop.cases.models import Case, CaseEvent, CaseRule, CaseTrigger
from voxpop.notify.models import OutgoingMail
from voxpop.store.database import Database
from voxpop.text.flows import catch_up

START = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
LATER = START + timedelta(hours=1)
DETRACTOR_ONLY = """
rules:
  - {key: detractor, name: Detractor, survey: shop, when: {answer: ["nps:0-6"]}, consent_question: may_contact,
     department: Customer care}
"""


def run(db, now=LATER, **kwargs) -> int:
    return run_rules(db, now=now, zone="UTC", public_url="http://voxpop.test", **kwargs)


def cases(db) -> list[Case]:
    with db.read() as db_session:
        found = db_session.scalars(select(Case).order_by(Case.id)).all()
        db_session.expunge_all()  # read as they were, after the read session ends
        return found


def triggers(db) -> list[tuple[int, str, int | None]]:
    with db.read() as db_session:
        return db_session.execute(select(CaseTrigger.response_id, CaseTrigger.outcome, CaseTrigger.case_id)
                                  .order_by(CaseTrigger.response_id)).all()


def test_a_response_opens_a_case_only_when_the_worker_step_runs(db):
    shop(db)
    apply_text(db, RULES, now=START)
    response_id = answer(db, {"nps": 3, "may_contact": "yes"}, customer="c1", at=START + timedelta(minutes=5))
    answer(db, {"nps": 9}, customer="c2", at=START + timedelta(minutes=6))
    assert cases(db) == []  # submitting never opens a case itself
    assert run(db) == 1
    [case] = cases(db)
    assert (case.response_id, case.priority, case.title, case.contact_consent) == (response_id, "high", "NPS 3 — shop", True)
    with db.read() as db_session:
        assert case.department_id == db_session.scalar(select(Department.id).where(Department.name == "Customer care"))
        assert db_session.scalar(select(func.count()).select_from(OutgoingMail)) == 0  # nobody owns it yet
    assert triggers(db) == [(response_id, "opened", case.id)]
    assert run(db) == 0  # a kept response is kept once


def test_a_rule_never_matches_responses_from_before_it_became_active(db):
    shop(db)
    answer(db, {"nps": 2}, customer="old", at=START - timedelta(days=3))
    apply_text(db, RULES, now=START)
    assert run(db) == 0 and cases(db) == []
    # New conditions start again from now, so the older response stays history.
    answer(db, {"nps": 5}, customer="c1", at=START + timedelta(minutes=1))
    apply_text(db, RULES.replace('"nps:0-6"', '"nps:0-5"'), now=START + timedelta(minutes=2))
    assert run(db) == 0 and cases(db) == []


def test_one_open_case_per_customer_and_rule_and_further_answers_join_it(db):
    shop(db)
    apply_text(db, DETRACTOR_ONLY, now=START)
    first = answer(db, {"nps": 3}, customer="c1", at=START + timedelta(minutes=1))
    assert run(db) == 1
    second = answer(db, {"nps": 1}, customer="c1", at=START + timedelta(minutes=2))
    anonymous = [answer(db, {"nps": 0}, at=START + timedelta(minutes=3)) for _ in range(2)]
    assert run(db) == 3
    [opened, *anonymous_cases] = cases(db)
    assert len(anonymous_cases) == 2  # anonymous responses cannot join anything: a case each
    assert triggers(db)[:2] == [(first, "opened", opened.id), (second, "joined", opened.id)]
    assert [outcome for _, outcome, _ in triggers(db)[2:]] == ["opened", "opened"]
    with db.read() as db_session:
        event = db_session.scalar(select(CaseEvent).where(CaseEvent.kind == "answered_again"))
        assert (event.case_id, event.note, event.details["score"]) == (opened.id, "answered again: NPS 1", 1)
    assert anonymous and opened.contact_consent is False  # asked, and no yes given


def test_a_paused_rule_opens_nothing_and_resuming_starts_from_then(db):
    shop(db)
    apply_text(db, DETRACTOR_ONLY.replace("department: Customer care}", "department: Customer care, paused: true}"),
               now=START)
    answer(db, {"nps": 2}, customer="c1", at=START + timedelta(minutes=1))
    assert run(db) == 0 and cases(db) == []
    apply_text(db, DETRACTOR_ONLY, now=START + timedelta(minutes=5))
    assert run(db) == 0  # the answer given while paused is history now: only a backfill reaches it
    answer(db, {"nps": 2}, customer="c2", at=START + timedelta(minutes=6))
    assert run(db) == 1


def test_routes_send_a_case_to_the_department_of_the_response_s_attribute(db):
    shop(db)
    apply_text(db, RULES, now=START)
    answer(db, {"nps": 4}, customer="c1", attributes={"channel": "app"}, at=START + timedelta(minutes=1))
    run(db)
    with db.read() as db_session:
        digital = db_session.scalar(select(Department.id).where(Department.name == "Digital"))
    assert cases(db)[0].department_id == digital


def test_the_holdout_is_a_repeatable_share_within_binomial_tolerance(db):
    keys = [f"response-{i}" for i in range(2000)]
    drawn = [held_out("detractor", key, 0.05) for key in keys]
    assert drawn == [held_out("detractor", key, 0.05) for key in keys]  # a rerun decides the same
    expected, sd = 2000 * 0.05, math.sqrt(2000 * 0.05 * 0.95)
    assert abs(sum(drawn) - expected) < 4 * sd
    assert not any(held_out("detractor", key, 0.0) for key in keys)


def test_the_holdout_is_drawn_per_customer_so_a_customer_stays_in_one_arm(db):
    shop(db)
    apply_text(db, DETRACTOR_ONLY.replace("department: Customer care}", "department: Customer care, holdout: 0.5}"),
               now=START)
    for round_ in range(3):  # every customer answers as a detractor three times, the worker running in between
        for number in range(30):
            answer(db, {"nps": 2}, customer=f"c{number}", at=START + timedelta(minutes=10 * round_ + 1, seconds=number))
        run(db, now=START + timedelta(minutes=10 * round_ + 5), limit=1000)
    with db.read() as db_session:
        arms: dict[int, set[str]] = {}
        for customer_id, outcome in db_session.execute(select(CaseTrigger.customer_id, CaseTrigger.outcome)):
            arms.setdefault(customer_id, set()).add(outcome)
    assert len(arms) == 30
    assert all(outcomes in ({"held_out"}, {"opened", "joined"}) for outcomes in arms.values()), arms
    assert 0 < sum(outcomes == {"held_out"} for outcomes in arms.values()) < 30
    assert matching.holdout_unit(7, "r-1") == "customer:7" and matching.holdout_unit(None, "r-1") == "r-1"


def test_held_out_responses_are_recorded_and_open_no_case(db):
    shop(db)
    apply_text(db, DETRACTOR_ONLY.replace("department: Customer care}", "department: Customer care, holdout: 0.5}"),
               now=START)
    ids = [answer(db, {"nps": 2}, at=START + timedelta(seconds=i)) for i in range(200)]
    run(db, limit=1000)
    outcomes = [outcome for _, outcome, _ in triggers(db)]
    assert len(outcomes) == len(ids)
    held = outcomes.count("held_out")
    assert abs(held - 100) < 4 * math.sqrt(200 * 0.25)
    assert len(cases(db)) == 200 - held


def test_a_theme_condition_waits_for_the_comment_to_be_analysed(db):
    shop(db)
    apply_text(db, """
rules:
  - {key: late, name: Late parcel, survey: shop, when: {answer: ["nps:0-6"], theme: delivery, sentiment: negative}}
""", now=START)
    late = answer(db, {"nps": 2, "why": "The parcel arrived late and the courier was rude. Terrible."},
                  customer="c1", at=START + timedelta(minutes=1))
    answer(db, {"nps": 2, "why": "Terrible prices, far too expensive."}, customer="c2", at=START + timedelta(minutes=1))
    assert run(db) == 0  # not analysed yet: not a non-match, just not known; looked at again next time
    assert triggers(db) == []
    catch_up(db, keep_original=False)
    assert run(db) == 1
    assert [response for response, _, _ in triggers(db)] == [late]


def test_a_response_another_worker_kept_a_moment_before_is_skipped(db, monkeypatch):
    shop(db)
    apply_text(db, DETRACTOR_ONLY, now=START)
    answer(db, {"nps": 2}, customer="c1", at=START + timedelta(minutes=1))
    with db.read() as db_session:
        rule = db_session.scalar(select(CaseRule))
        [candidate] = matching._candidates(db_session, rule, zone="UTC", history=False, limit=9)
    assert run(db) == 1
    # The second worker read the same candidate before the first committed: its trigger insert collides.
    monkeypatch.setattr(matching, "_candidates", lambda *args, **kwargs: [candidate])
    assert run(db) == 0
    assert len(cases(db)) == 1 and len(triggers(db)) == 1


def test_concurrent_workers_never_duplicate_a_case_or_trigger(database_url, db):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the race needs PostgreSQL")
    shop(db)
    apply_text(db, DETRACTOR_ONLY, now=START)
    for i in range(60):
        answer(db, {"nps": i % 7}, customer=f"c{i % 20}", at=START + timedelta(seconds=i))
    errors = []

    def work():
        other = Database(database_url)
        try:
            while run_rules(other, now=LATER, zone="UTC", public_url="", limit=500):
                pass
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            other.dispose()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(triggers(db)) == 60
    assert len(cases(db)) == 20  # one per customer: their other answers joined
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(CaseTrigger)
                                 .where(CaseTrigger.outcome == "joined")) == 40


def test_backfill_runs_on_history_only_when_asked_and_quietly_for_old_responses(db):
    shop(db)
    now = START + timedelta(days=1)
    with db.write() as db_session:
        from voxpop.accounts import service as accounts

        care = db_session.scalar(select(Department).where(Department.name == "Customer care"))
        accounts.create_user(db_session=db_session, email="agent@example.com", password=None, role="agent",
                             department_id=care.id)
    old = answer(db, {"nps": 1}, customer="c1", at=START - timedelta(days=200))
    recent = answer(db, {"nps": 1}, customer="c2", at=now - timedelta(days=1))
    answer(db, {"nps": 9}, customer="c3", at=now - timedelta(days=1))
    apply_text(db, DETRACTOR_ONLY, now=now)
    assert run(db, now=now) == 0
    dry = backfill(db, now=now, zone="UTC", public_url="", dry_run=True)
    assert dry.lines() == ["detractor: would look at 2 matching stored responses"] and cases(db) == []
    seen = []
    report = backfill(db, now=now, zone="UTC", public_url="", since=date(2026, 1, 1),
                      progress=lambda key, done: seen.append((key, done)))
    assert report.lines() == ["detractor: 2 cases opened, 0 joined an open case, 0 held out"] and seen
    with db.read() as db_session:
        assert db_session.execute(select(CaseTrigger.response_id, CaseTrigger.backfill)
                                  .order_by(CaseTrigger.response_id)).all() == [(old, True), (recent, True)]
        # Only the recent response's owner is told: nobody should be e-mailed about a case of last spring.
        assert db_session.scalars(select(OutgoingMail.related)).all() == [f"case:{cases(db)[1].id}"]
    again = backfill(db, now=now, zone="UTC", public_url="")
    assert again.lines() == ["detractor: 0 cases opened, 0 joined an open case, 0 held out"]
    with pytest.raises(matching.BackfillError, match="no rule 'nope'"):
        backfill(db, now=now, zone="UTC", public_url="", rule_keys=["nope"])


def test_the_preview_counts_cases_per_week_with_joins(db):
    shop(db)
    monday = datetime(2026, 11, 2, 12, tzinfo=timezone.utc)
    for week in range(4):
        for i in range(week + 1):
            answer(db, {"nps": 2}, at=monday + timedelta(days=7 * week, hours=i))
    # A customer answering twice within the open period would have had one case.
    answer(db, {"nps": 1}, customer="again", at=monday + timedelta(days=1))
    answer(db, {"nps": 1}, customer="again", at=monday + timedelta(days=3))
    answer(db, {"nps": 9}, at=monday)
    apply_text(db, DETRACTOR_ONLY, now=START)
    with db.read() as db_session:
        rule = db_session.scalar(select(CaseRule))
        shown = preview(db_session, rule=rule, since=date(2026, 11, 2), until=date(2026, 11, 29), zone="UTC")
    assert shown.matching == 12 and shown.cases == 11
    assert [count for _, count in shown.weeks] == [2, 2, 3, 4]
    assert shown.per_week == 11 / 4
    assert shown.last_month is None  # November is not over on the 29th, and October is before the window
    with db.read() as db_session:
        rule = db_session.scalar(select(CaseRule))
        shown = preview(db_session, rule=rule, since=date(2026, 10, 1), until=date(2026, 11, 30), zone="UTC")
    assert shown.last_month == (date(2026, 11, 1), 11)
    assert shown.months == [(date(2026, 10, 1), 0), (date(2026, 11, 1), 11)]
    assert "11 cases in November 2026" in shown.sentence()


def test_the_rule_tables_stay_empty_without_rules(db):
    shop(db)
    answer(db, {"nps": 0}, customer="c1")
    assert run(db) == 0
    with db.read() as db_session:
        assert db_session.execute(text("SELECT count(*) FROM case_triggers")).scalar() == 0


def test_a_worker_s_cursors_read_only_new_responses_and_sweep_all_now_and_then(db, monkeypatch):
    shop(db)
    apply_text(db, DETRACTOR_ONLY, now=START)
    first = answer(db, {"nps": 2}, customer="c1", at=START + timedelta(minutes=1))
    cursors = matching.Cursors()
    assert run(db, cursors=cursors) == 1
    second = answer(db, {"nps": 3}, customer="c2", at=START + timedelta(minutes=2))
    asked = []
    real = matching._candidates
    monkeypatch.setattr(matching, "_candidates", lambda *a, **k: asked.append(k["after_id"]) or real(*a, **k))
    assert run(db, cursors=cursors) == 1
    assert asked == [first]  # only responses after the first one were read
    # A response the cursor passed without a trigger (a race another worker won) comes back on the full sweep.
    with db.write_engine.begin() as connection:
        connection.execute(text("DELETE FROM case_triggers WHERE response_id = :id"), {"id": second})
        connection.execute(text("DELETE FROM case_events"))
        connection.execute(text("DELETE FROM cases WHERE response_id = :id"), {"id": second})
    assert run(db, cursors=cursors) == 0
    cursors.steps = matching.FULL_SWEEP_EVERY
    assert run(db, cursors=cursors) == 1 and asked[-1] == 0


def test_a_worker_s_cursor_waits_at_a_comment_not_yet_analysed(db):
    shop(db)
    apply_text(db, """
rules:
  - {key: late, name: Late parcel, survey: shop, when: {answer: ["nps:0-6"], theme: delivery}}
""", now=START)
    answer(db, {"nps": 9}, customer="c0", at=START + timedelta(minutes=1))
    late = answer(db, {"nps": 2, "why": "The parcel arrived late."}, customer="c1", at=START + timedelta(minutes=1))
    answer(db, {"nps": 2}, customer="c2", at=START + timedelta(minutes=2))
    cursors = matching.Cursors()
    assert run(db, cursors=cursors) == 0
    assert list(cursors.looked_at.values()) == [late - 1]
    catch_up(db, keep_original=False)
    assert run(db, cursors=cursors) == 1
    assert [response for response, _, _ in triggers(db)] == [late]


def test_imported_responses_are_history_whenever_they_were_given(db):
    shop(db)
    apply_text(db, DETRACTOR_ONLY, now=START)
    imported = answer(db, {"nps": 1}, customer="c1", at=START + timedelta(minutes=1), channel="import")
    assert run(db) == 0  # an import never opens cases by itself
    dry = backfill(db, now=LATER, zone="UTC", public_url="", dry_run=True)
    assert dry.lines() == ["detractor: would look at 1 matching stored response"]
    backfill(db, now=LATER, zone="UTC", public_url="")
    assert triggers(db) == [(imported, "opened", cases(db)[0].id)]

"""The rules file: its problems named by their place in the file, and applying it (idempotent, rules keep their id,
new conditions start from now, root causes are never deleted, a dry run changes nothing)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from tests.helpers import apply_survey
from voxpop.accounts import service as accounts
from voxpop.accounts.models import AuditEntry
from voxpop.cases.models import CasePolicy, CaseRoute, CaseRule, RootCause
from voxpop.cases.rules import RulesError, apply_rules, describe_conditions, load_rules
from voxpop.collection.models import Response
from voxpop.collection.service import get_or_create_customer, version_questions
from voxpop.collection.writer import insert_response
from voxpop.surveys.models import Survey

SHOP_SURVEY = """
key: shop
title: How was your order?
status: live
attributes: [channel, segment]
questions:
  - {key: nps, kind: nps, required: true, text: "How likely are you to recommend us?"}
  - {key: why, kind: text, text: "What is the main reason for your score?"}
  - {key: csat, kind: csat, text: "How satisfied are you?"}
  - key: may_contact
    kind: single_choice
    text: "May we contact you about your answer?"
    options: [{value: "yes"}, {value: "no"}]
"""

RULES = """
policy:
  first_contact_hours: {urgent: 4, high: 8, normal: 24, low: 40}
  workday: "08:00-16:00"
  workdays: [mon, tue, wed, thu, fri]
  assignment: round-robin
  default_department: Customer care
  followup: {survey: shop, days: 10}
routes:
  - {attribute: channel, value: app, department: Digital}
root_causes:
  - {key: late-delivery, name: Late delivery, theme: delivery}
  - {key: rude-staff, name: Rude staff}
rules:
  - key: detractor
    name: Detractor in the shop survey
    survey: shop
    when: {answer: ["nps:0-6"]}
    priority: high
    department: Customer care
    consent_question: may_contact
  - key: unhappy
    name: Very unhappy with the order
    survey: shop
    when: {answer: ["csat:1-2"], attribute: ["segment=SMB"]}
"""


def shop(db) -> None:
    """The shop survey and the departments the rules name."""
    apply_survey(db, SHOP_SURVEY)
    with db.write() as db_session:
        for name in ("Customer care", "Digital"):
            accounts.create_department(db_session=db_session, name=name)


def answer(db, answers: dict, *, customer: str | None = None, attributes: dict | None = None,
           at: datetime | None = None, channel: str = "web") -> int:
    """One response to the shop survey, stored as a submission stores it; returns its id."""
    with db.read() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "shop"))
        version_id, survey_id = survey.current_version.id, survey.id
        questions = version_questions(db_session=db_session, version_id=version_id)
    customer_id = None
    if customer:
        with db.write() as db_session:
            customer_id = get_or_create_customer(db_session=db_session, external_id=customer).id
    with db.write_connection() as connection:
        stored = insert_response(db_session=connection, survey_id=survey_id, version_id=version_id,
                                 questions=questions, answers=answers, language="en", channel=channel,
                                 attributes=attributes or {}, customer_id=customer_id)
        response_id = connection.scalar(select(Response.id).where(Response.public_id == stored.public_id))
        if at is not None:
            connection.execute(update(Response).where(Response.id == response_id).values(submitted_at=at))
    return response_id


def apply_text(db, text: str, *, dry_run: bool = False, now: datetime | None = None, actor=None):
    rules = load_rules(text, source="rules.yaml")
    with db.write() as db_session:
        return apply_rules(db_session=db_session, rules=rules, dry_run=dry_run, now=now, actor=actor, source="rules.yaml")


def problems_of(db, text: str) -> dict[str, str]:
    with pytest.raises(RulesError) as caught:
        apply_text(db, text)
    return dict(caught.value.problems)


@pytest.mark.parametrize(("text", "path", "words"), [
    ("rules: [", "line 1, column 9", "not valid YAML"),
    ("- a list", "(top level)", "expected a mapping"),
    ("rules: [{key: a, name: A, when: {answer: [nps]}}]", "rules[0].when.answer[0]", "question:test"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:0-6', 'nps:9-3']}}]", "rules[0].when.answer[1]", "backwards"),
    ("rules: [{key: a, name: A, when: {attribute: [segment]}}]", "rules[0].when.attribute[0]", "name=value"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:0-6']}, priority: asap}]", "rules[0].priority", "urgent"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:0-6']}, holdout: 0.6}]", "rules[0].holdout", "0.5"),
    ("rules: [{key: a, name: A, when: {}}]", "rules[0].when", "at least one condition"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:1']}, colour: red}]", "rules[0].colour", "not a field"),
    ("rules: [{key: A!, name: A, when: {answer: ['nps:1']}}]", "rules[0].key", "lower-case"),
    ("rules: [{key: a, name: A, when: {answer: ['nps:1']}}, {key: a, name: B, when: {answer: ['nps:2']}}]",
     "rules[1].key", "used twice"),
    ("rules: [{key: a, name: A, when: {sentiment: angry}}]", "rules[0].when.sentiment", "negative"),
    ("policy: {workday: '9 to 5'}", "policy.workday", "HH:MM-HH:MM"),
    ("policy: {workday: '17:00-09:00'}", "policy.workday", "end after"),
    ("policy: {workdays: [monday]}", "policy.workdays[0]", "mon"),
    ("policy: {assignment: random}", "policy.assignment", "round-robin"),
])
def test_a_file_problem_names_its_place_in_the_file(text, path, words):
    with pytest.raises(RulesError) as caught:
        load_rules(text, source="rules.yaml")
    problems = dict(caught.value.problems)
    assert path in problems, problems
    assert words in problems[path]
    assert "rules.yaml" in str(caught.value)


def test_the_file_is_checked_against_the_workspace(db):
    shop(db)
    problems = problems_of(db, """
routes: [{attribute: colour, value: red, department: Digital}]
root_causes: [{key: lost, name: Lost parcel, theme: teleportation}]
policy: {default_department: Sales, followup: {survey: nope}}
rules:
  - {key: a, name: A, survey: shop, when: {answer: ['nps:0-11']}}
  - {key: b, name: B, survey: shop, when: {answer: ['nps:0-6', 'effort:1-2']}, department: Billing}
  - {key: c, name: C, survey: shop, when: {attribute: ['store=Berlin']}, consent_question: phone}
  - {key: d, name: D, survey: missing, when: {answer: ['nps:0-6']}}
  - {key: e, name: E, when: {answer: ['csat:0-2'], theme: nonsense}}
""")
    assert "the NPS scale is 0-10" in problems["rules[0].when.answer[0]"]
    assert "'nps:0-11'" in problems["rules[0].when.answer[0]"]
    assert "no question 'effort'" in problems["rules[1].when.answer[1]"]
    assert "rules[1].when.answer[0]" not in problems
    assert "no department called 'Billing'" in problems["rules[1].department"]
    assert "Customer care, Digital" in problems["rules[1].department"]
    assert "does not declare the attribute 'store'" in problems["rules[2].when.attribute[0]"]
    assert "no question 'phone'" in problems["rules[2].consent_question"]
    assert "no survey with key 'missing'" in problems["rules[3].survey"]
    assert "the CSAT scale is 1-5" in problems["rules[4].when.answer[0]"]
    assert "not a theme of the codebook" in problems["rules[4].when.theme"]
    assert "no response has the attribute 'colour'" in problems["routes[0].attribute"]
    assert "not a theme" in problems["root_causes[0].theme"]
    assert "no department called 'Sales'" in problems["policy.default_department"]
    assert "no survey with key 'nope'" in problems["policy.followup.survey"]
    with db.read() as db_session:  # nothing was applied
        assert db_session.scalars(select(CaseRule)).all() == []


def test_applying_the_same_file_twice_changes_nothing_the_second_time(db):
    shop(db)
    first = apply_text(db, RULES)
    assert {(change.part, change.key, change.action) for change in first.changes} >= {
        ("rule", "detractor", "create"), ("rule", "unhappy", "create"), ("root cause", "late-delivery", "create"),
        ("policy", "", "update"), ("routes", "(1)", "replace")}
    with db.read() as db_session:
        before = {rule.key: (rule.id, rule.active_from) for rule in db_session.scalars(select(CaseRule))}
        policy = db_session.scalar(select(CasePolicy))
        assert (policy.workday_start, policy.workday_end, policy.workdays) == ("08:00", "16:00", [1, 2, 3, 4, 5])
        assert policy.assignment == "round-robin" and policy.followup_days == 10
        assert policy.first_contact_hours["normal"] == 24
        detractor = db_session.scalar(select(CaseRule).where(CaseRule.key == "detractor"))
        assert detractor.conditions == {"answer": ["nps:0-6"], "attribute": []}
        assert detractor.priority == "high" and detractor.consent_question == "may_contact"
        assert [(route.attribute, route.value) for route in db_session.scalars(select(CaseRoute))] == [("channel", "app")]
    second = apply_text(db, RULES)
    assert second.changed == []
    with db.read() as db_session:
        assert {rule.key: (rule.id, rule.active_from) for rule in db_session.scalars(select(CaseRule))} == before


def test_new_conditions_keep_the_rule_and_start_it_from_now(db):
    shop(db)
    start = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    apply_text(db, RULES, now=start)
    later = start + timedelta(days=2)
    report = apply_text(db, RULES.replace("priority: high", "priority: urgent"), now=later)
    with db.read() as db_session:
        rule = db_session.scalar(select(CaseRule).where(CaseRule.key == "detractor"))
        rule_id = rule.id
        assert rule.priority == "urgent" and rule.active_from == start  # a new priority is not a new condition
    assert [change.details for change in report.changed] == [["priority"]]
    report = apply_text(db, RULES.replace('"nps:0-6"', '"nps:0-5"'), now=later)
    with db.read() as db_session:
        rule = db_session.scalar(select(CaseRule).where(CaseRule.key == "detractor"))
        assert (rule.id, rule.active_from, rule.conditions["answer"]) == (rule_id, later, ["nps:0-5"])
    assert "matches responses from now on" in report.changed[0].sentence()


def test_a_dry_run_says_what_would_change_and_changes_nothing(db):
    shop(db)
    report = apply_text(db, RULES, dry_run=True)
    assert report.dry_run and "rule detractor: new (matches responses from now on)" in report.lines()
    with db.read() as db_session:
        assert db_session.scalars(select(CaseRule)).all() == []
        assert db_session.scalars(select(RootCause)).all() == []
        assert db_session.scalars(select(CaseRoute)).all() == []


def test_a_root_cause_left_out_of_the_file_is_kept_inactive_and_comes_back(db):
    shop(db)
    apply_text(db, RULES)
    without = RULES.replace("  - {key: rude-staff, name: Rude staff}\n", "")
    report = apply_text(db, without)
    assert ("root cause", "rude-staff", "deactivate") in {(c.part, c.key, c.action) for c in report.changes}
    with db.read() as db_session:
        assert {cause.key: cause.active for cause in db_session.scalars(select(RootCause))} == {
            "late-delivery": True, "rude-staff": False}
    report = apply_text(db, RULES)
    with db.read() as db_session:
        assert all(cause.active for cause in db_session.scalars(select(RootCause)))
    assert ["made active again"] in [change.details for change in report.changed]


def test_applying_is_audited_with_what_changed(db):
    shop(db)
    with db.write() as db_session:
        admin = accounts.create_user(db_session=db_session, email="admin@example.com", password=None, role="admin")
        rules = load_rules(RULES, source="rules.yaml")
        apply_rules(db_session=db_session, rules=rules, actor=admin, source="rules.yaml")
    with db.read() as db_session:
        entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "case_rules.apply"))
        assert entry.target == "rules.yaml" and "rule detractor: new (matches responses from now on)" in entry.details["changes"]


def test_conditions_in_words():
    assert describe_conditions({"answer": ["nps:0-6"], "attribute": ["segment=SMB"], "theme": "delivery",
                                "sentiment": "negative"}) == [
        "segment is SMB", "nps is 0-6", "the comment is about delivery, with negative sentiment"]

"""The scorecard pages and their JSON twins: every staff role reads them, unknown keys and bad periods are clear 4xx,
statuses are words (within noise of target, no data), a locked period says so, and names are escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.cases.loop_data import add_answers, month_of
from tests.helpers import apply_survey, login, make_user
from tests.scorecard import builders as build
from voxpop.accounts.models import User
from voxpop.analysis.periods import period_days, period_series, period_shift
from voxpop.cases.models import Initiative
from voxpop.scorecard.evaluation import evaluate, result_to_json, review_period
from voxpop.scorecard.models import Commentary, Objective, ObjectiveInitiative, Review, Scorecard
from voxpop.scorecard.views import tree_context
from voxpop.web.templating import templates

ROLES = ["admin", "manager", "analyst", "agent", "viewer"]
NPS = {"kind": "survey", "survey": "feedback", "metric": "nps", "question": "nps"}
# The pages score the last period that has ended by the real clock, so the data is placed relative to it.
LATEST = review_period(datetime.now(UTC), "UTC", "month")


def owner_id(db, email: str) -> int:
    with db.read() as db_session:
        return db_session.scalar(select(User.id).where(User.email == email))


def build_scorecard(db, *, measure_name: str = "Customer satisfaction") -> None:
    """An organisation's scorecard (customer: loyalty with three measures) and a department's cascading into it."""
    owner = owner_id(db, make_user(db, "manager", "owner@example.com"))
    months = period_series(LATEST, 6)
    with db.write() as s:
        card = build.scorecard(s, "org", name="Northwind")
        customer = build.perspective(s, card, "customer")
        build.perspective(s, card, "learning", name="Learning and growth", position=1)
        loyalty = build.objective(s, customer, "loyalty", owner_id=owner)
        satisfaction = build.measure(s, loyalty, "csat", unit="%", owner_id=owner)
        satisfaction.name = measure_name
        build.target(s, satisfaction, months[0], target=80, minimum=50, maximum=100)
        build.values(s, satisfaction, {month: (70 + step, 200) for step, month in enumerate(months)})
        flags = build.measure(s, loyalty, "revenue", scoring="goal_red_flag", position=1)
        build.target(s, flags, months[0], goal=700, red_flag=500)
        build.values(s, flags, {LATEST: 700})
        build.measure(s, loyalty, "empty", position=2)
        initiative = Initiative(title="Faster delivery", stage="do")
        s.add(initiative)
        s.flush()
        s.add(ObjectiveInitiative(objective_id=loyalty.id, initiative_id=initiative.id))
        department = build.scorecard(s, "support", name="Support", parent=card)
        team = build.objective(s, build.perspective(s, department, "customer"), "quick_answers", rolls_up_to=loyalty)
        quick = build.measure(s, team, "first_reply")
        build.target(s, quick, months[0], target=90, minimum=0, maximum=100)
        build.values(s, quick, {LATEST: 95})
        s.add(Commentary(measure_id=satisfaction.id, period=LATEST, analysis="Deliveries were late <b>twice</b>.",
                         recommendation="Add a carrier.", author_id=owner))


def staff(db, client, role: str) -> None:
    login(client, make_user(db, role, f"{role}@example.com"))


@pytest.mark.parametrize("path", ["/scorecards", "/scorecards/org", "/scorecards/org/measures/csat"])
def test_pages_need_a_login(client, db, path):
    build_scorecard(db)
    assert client.get(path, follow_redirects=False).status_code in (302, 303)
    assert client.get("/api/v1" + path).status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_every_staff_role_reads_the_pages_and_their_twins(client, db, role):
    build_scorecard(db)
    staff(db, client, role)
    listed = client.get("/scorecards")
    assert listed.status_code == 200
    assert ('href="/scorecards/new"' in listed.text) == (role in ("admin", "manager"))
    assert "Northwind" in listed.text and "Support" in listed.text
    page = client.get("/scorecards/org")
    assert page.status_code == 200
    assert f"Scores for {LATEST}" in page.text
    for link in ("/scorecards/org/map?period=", "/scorecards/org/review?period=", "/scorecards/org/export.pdf",
                 "/scorecards/org/export.csv"):
        assert link in page.text
    assert ('href="/scorecards/org/edit"' in page.text) == (role in ("admin", "manager"))
    # agents may not open initiatives (the improvement pages), so theirs is named, not linked
    assert ('href="/improvement/initiatives/' in page.text) == (role != "agent")
    assert "Faster delivery" in page.text and "Do" in page.text
    assert client.get("/scorecards/org/measures/csat").status_code == 200

    data = client.get("/api/v1/scorecards").json()
    assert [card["key"] for card in data["scorecards"]] == ["org", "support"]
    assert data["scorecards"][1]["parent_key"] == "org"
    assert data["scorecards"][0]["measures"] == 3 and data["scorecards"][0]["period"] == LATEST
    card = client.get("/api/v1/scorecards/org").json()
    assert card["period"] == LATEST and card["perspectives"][0]["key"] == "customer"
    measure = client.get("/api/v1/scorecards/org/measures/csat").json()
    assert measure["measure"]["key"] == "csat" and measure["commentary"]["recommendation"] == "Add a carrier."
    assert len(measure["series"]) == 24


def test_the_tree_shows_values_scores_statuses_and_the_cascade(client, db):
    build_scorecard(db)
    staff(db, client, "viewer")
    text = client.get("/scorecards/org").text
    csat = text[text.index('data-testid="measure-csat"'):text.index('data-testid="measure-revenue"')]
    assert "75.0%" in csat and "n = 200" in csat  # the latest of 70..75 with its n
    assert "80.0%" in csat  # the target
    assert 'class="badge rag rag-amber">Caution<' in csat  # the status is a word, the colour repeats it
    assert 'class="sparkline"' in csat
    revenue = text[text.index('data-testid="measure-revenue"'):text.index('data-testid="measure-empty"')]
    assert "6.67 / 10" in revenue
    empty = text[text.index('data-testid="measure-empty"'):]
    assert f"No data for {LATEST}" in empty and "Too few periods for a trend" in empty
    assert "Rolls up the department objectives" in text and 'href="/scorecards/support?period=' in text
    assert "Learning and growth" in text and "No objectives in this perspective yet." in text


def test_the_period_picker_moves_between_ended_periods(client, db):
    build_scorecard(db)
    staff(db, client, "viewer")
    text = client.get("/scorecards/org").text
    earlier = period_shift(LATEST, -1)
    assert f'href="/scorecards/org?period={earlier}"' in text
    assert 'rel="next"' not in text  # nothing after the last period that has ended
    older = client.get(f"/scorecards/org?period={earlier}").text
    assert f'href="/scorecards/org?period={LATEST}" rel="next"' in older
    assert older.count("<option") == 24 and f'<option value="{earlier}" selected>' in older


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26-11", "0000-01", "0001-01", "1899-Q4", "9999-12",
                                    "2026-11' or 1=1"])
def test_a_bad_period_is_a_sentence_not_a_500(client, db, period):
    build_scorecard(db)
    staff(db, client, "analyst")
    for path in ("/scorecards/org", "/scorecards/org/measures/csat"):
        page = client.get(path, params={"period": period})
        assert page.status_code == 400, path
        assert any(words in page.text for words in ("write a month as 2026-11 or a quarter as 2026-Q4",
                                                    "has not started yet", "pick a later period"))
        twin = client.get("/api/v1" + path, params={"period": period})
        assert twin.status_code == 422 and twin.headers["content-type"].startswith("application/problem+json")
        assert twin.json()["errors"][0]["field"] == "period"
    page = client.get("/scorecards/org", params={"period": "2026-13"})
    assert "&#39;2026-13&#39; is not a period: write a month as 2026-11 or a quarter as 2026-Q4." in page.text


def test_unknown_keys_are_404_with_a_sentence(client, db):
    build_scorecard(db)
    staff(db, client, "viewer")
    assert client.get("/scorecards/nowhere").status_code == 404
    assert "There is no scorecard with the key" in client.get("/scorecards/nowhere").text
    assert client.get("/scorecards/org/measures/nothing").status_code == 404
    for path, code in (("/api/v1/scorecards/nowhere", "no-such-scorecard"),
                       ("/api/v1/scorecards/org/measures/nothing", "no-such-measure"),
                       ("/api/v1/scorecards/nowhere/measures/csat", "no-such-measure")):
        answer = client.get(path)
        assert answer.status_code == 404 and answer.json()["type"] == f"urn:voxpop:problem:{code}", path


def test_a_new_workspace_says_how_to_start(client, db):
    staff(db, client, "manager")
    text = client.get("/scorecards").text
    assert "No scorecard yet" in text and "voxpop scorecard apply FILE" in text and "docs/scorecard-file.md" in text
    assert 'href="/scorecards/new"' in text
    assert client.get("/api/v1/scorecards").json() == {"scorecards": []}


def test_a_measure_name_and_commentary_are_escaped(client, db):
    build_scorecard(db, measure_name="<script>alert(1)</script>")
    staff(db, client, "viewer")
    for path in ("/scorecards", "/scorecards/org", "/scorecards/org/measures/csat"):
        text = client.get(path).text
        assert "<script>alert(1)</script>" not in text, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/scorecards/org").text
    measure = client.get("/scorecards/org/measures/csat").text
    assert "Deliveries were late &lt;b&gt;twice&lt;/b&gt;." in measure


def test_the_measure_page_shows_definition_chart_targets_values_and_commentary(client, db):
    build_scorecard(db)
    login(client, "owner@example.com")
    text = client.get("/scorecards/org/measures/csat").text
    assert "Linear performance" in text and "Higher is better" in text and "Monthly" in text
    assert 'class="chart"' in text and "natural process limits" in text
    assert 'data-testid="values"' in text and 'data-testid="targets"' in text
    assert "Add a carrier." in text and "Write the commentary in the review" in text  # the owner may write it
    staff(db, client, "analyst")
    other = client.get("/scorecards/org/measures/csat").text
    assert "Open the review of" in other
    earlier = client.get(f"/scorecards/org/measures/csat?period={period_shift(LATEST, -1)}").text
    assert "No commentary for" in earlier


def test_a_live_nps_within_noise_of_its_target_says_so(client, db):
    apply_survey(db)
    first, _ = period_days(LATEST)
    # 100 answers: 40 promoters, 40 passives, 20 detractors: NPS 20, 95% interval about ±15 around it
    add_answers(db, month_of(first.year, first.month, {10: 40, 8: 40, 3: 20}))
    with db.write() as s:
        loyalty = build.objective(s, build.perspective(s, build.scorecard(s, "org")), "loyalty")
        measure = build.measure(s, loyalty, "nps", source=NPS)
        build.target(s, measure, LATEST, target=25, minimum=0, maximum=100)
    staff(db, client, "viewer")
    text = client.get("/scorecards/org").text
    assert ">Within noise of target<" in text and "rag-amber" in text
    assert "(95% CI" in text and "n = 100" in text
    measure_page = client.get("/scorecards/org/measures/nps").text
    assert 'data-testid="within-noise"' in measure_page
    twin = client.get("/api/v1/scorecards/org").json()
    found = twin["perspectives"][0]["objectives"][0]["measures"][0]
    assert (found["status"], found["within_noise"], found["colour"]) == ("within noise of target", True, "amber")


def test_a_locked_period_says_so_and_shows_its_snapshot(client, db):
    build_scorecard(db)
    with db.write() as s:
        card = s.scalar(select(Scorecard).where(Scorecard.key == "org"))
        snapshot = result_to_json(evaluate(s, scorecard=card, period=LATEST, zone="UTC", min_base=30,
                                           now=datetime.now(UTC)))
        s.add(Review(scorecard_id=card.id, period=LATEST, locked_at=datetime.now(UTC), snapshot=snapshot))
    staff(db, client, "viewer")
    text = client.get("/scorecards/org").text
    assert f"{LATEST} is locked" in text and "not live values" in text
    assert client.get("/api/v1/scorecards/org").json()["locked"] is True
    assert client.get("/api/v1/scorecards").json()["scorecards"][0]["locked"] is True


def test_the_new_scorecard_form_is_not_taken_for_a_key(client, db):
    staff(db, client, "manager")
    page = client.get("/scorecards/new")
    assert page.status_code == 200 and "There is no scorecard with the key" not in page.text


def test_a_colour_change_the_control_chart_does_not_flag_is_marked_not_a_signal(client, db):
    months = period_series(LATEST, 6)
    with db.write() as s:
        loyalty = build.objective(s, build.perspective(s, build.scorecard(s, "org")), "loyalty")
        measure = build.measure(s, loyalty, "csat", unit="%")
        build.target(s, measure, months[0], target=80, minimum=50, maximum=100)
        # red (score 20) last period, amber (score 50) now, inside the usual ups and downs of the months before
        build.values(s, measure, dict(zip(months, (70, 62, 72, 65, 60, 75))))
    staff(db, client, "viewer")
    row = client.get("/scorecards/org").text.split('data-testid="measure-csat"')[1].split("</tr>")[0]
    assert ">Caution<" in row and "Colour changed from red, not a signal" in row
    found = client.get("/api/v1/scorecards/org").json()["perspectives"][0]["objectives"][0]["measures"][0]
    assert (found["previous_colour"], found["colour"], found["change_is_signal"]) == ("red", "amber", False)


def test_a_stabilised_measure_shows_its_band_as_its_target_never_no_target(client, db):
    build_scorecard(db)
    with db.write() as s:
        loyalty = s.scalar(select(Objective).where(Objective.key == "loyalty"))
        hours = build.measure(s, loyalty, "training_hours", scoring="stabilise", direction="middle", unit="hours",
                              position=3)
        build.target(s, hours, period_shift(LATEST, -5), low=8, high=16, minimum=0, maximum=30)
        build.values(s, hours, {LATEST: 12})
        hours_id = hours.id
    with db.read() as s:
        card = s.scalar(select(Scorecard).where(Scorecard.key == "org"))
        result = evaluate(s, scorecard=card, period=LATEST, zone="UTC", min_base=30, now=datetime.now(UTC))
    tree = templates.env.get_template("scorecard/_tree.html")

    def target_cell(bands):
        text = tree.render(tree_context(result, min_base=30) | ({"bands": bands} if bands is not None else {}))
        row = text[text.index('data-testid="measure-training_hours"'):]
        return re.search(r'data-label="Target">(.*?)</td>', row, re.S).group(1)

    assert "8 to 16 hours" in target_cell({hours_id: (8.0, 16.0)})
    assert "7.5 to 16.5 hours" in target_cell({hours_id: (7.5, 16.5)})
    without = target_cell(None)  # a page that has not read the bands still never says "No target" for a score
    assert "No target" not in without and "Best in a band" in without
    staff(db, client, "viewer")
    page = client.get("/scorecards/org").text
    row = page[page.index('data-testid="measure-training_hours"'):]
    assert "No target" not in re.search(r'data-label="Target">(.*?)</td>', row, re.S).group(1)

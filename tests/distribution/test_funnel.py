"""The response funnel (invited -> delivered -> started -> completed) with Wilson intervals checked against a
published value, time to complete by type-7 quartiles, and the log and funnel pages with their JSON twins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.distribution.conftest import NOW
from tests.distribution.sent import inline, opened, respond, send_wave
from tests.helpers import login, make_user
from voxpop.distribution import funnel
from voxpop.distribution.delivery import sync_outcomes

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def row(*, delivered=True, started=False, completed_after: float | None = None, language="en", clicked=None,
        **attributes):
    return funnel.Invited(language=language, attributes=attributes, delivered=delivered, clicked_score=clicked,
                          started=started or completed_after is not None, completed=completed_after is not None,
                          invited_at=T0, completed_at=T0 + timedelta(hours=completed_after)
                          if completed_after is not None else None)


def test_a_stage_share_has_newcombes_wilson_interval():
    # Newcombe (1998), Statistics in Medicine 17, p. 861, example (a): 81/263, Wilson 95% interval 0.2553 to 0.3662
    rows = [row(completed_after=1.0) for _ in range(81)] + [row() for _ in range(182)]
    completed = funnel.funnel(rows, "All").stages[3]
    assert completed.count == 81
    assert completed.of_invited.value == pytest.approx(100 * 81 / 263)
    assert (round(completed.of_invited.ci_low / 100, 4), round(completed.of_invited.ci_high / 100, 4)) == (0.2553, 0.3662)


def test_time_to_complete_is_the_median_and_quartiles_of_the_hours():
    rows = [row(completed_after=hours) for hours in (1, 2, 3, 4)] + [row(started=True)]
    time = funnel.funnel(rows, "All").time_to_complete
    # type 7 (numpy's default, R's quantile default): 1.75, 2.5, 3.25
    assert (time.n, time.q1, time.median, time.q3) == (4, 1.75, 2.5, 3.25)
    assert funnel.funnel([row()], "All").time_to_complete == funnel.Duration(n=0, median=None, q1=None, q3=None)


def test_clicked_scores_are_counted_with_those_never_submitted():
    result = funnel.funnel([row(clicked=9, completed_after=1), row(clicked=3, started=True), row()], "All")
    assert (result.clicked, result.clicked_not_completed) == (2, 1)


def test_the_funnel_splits_by_an_attribute_or_the_language():
    rows = [row(segment="SMB", completed_after=2), row(segment="SMB"), row(language="de", segment="Enterprise"),
            row(language="de", delivered=False)]
    by_segment = funnel.report(rows)  # segment by default
    assert by_segment.by == "segment" and by_segment.group_options == ("language", "segment")
    assert [(group.label, group.stages[0].count) for group in by_segment.groups] == [
        ("SMB", 2), ("(none)", 1), ("Enterprise", 1)]
    by_language = funnel.report(rows, by="language")
    assert [(group.label, group.stages[1].count) for group in by_language.groups] == [("de", 1), ("en", 2)]
    assert funnel.report(rows, by="no such thing").by == "segment"


@given(st.lists(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.sampled_from(["a", "b", "c"])),
                max_size=40))
def test_shares_stay_in_bounds_and_groups_add_up(flags):
    rows = [row(delivered=delivered, started=started, completed_after=1.0 if completed else None, segment=segment)
            for delivered, started, completed, segment in flags]
    result = funnel.report(rows)
    assert sum(group.stages[0].count for group in result.groups) == len(rows)
    for each in (result.overall, *result.groups):
        for stage in each.stages[1:]:
            for share in (stage.of_invited, stage.of_previous):
                if share is not None:
                    assert 0 <= share.ci_low <= share.value <= share.ci_high <= 100


@pytest.fixture
def answered(db, settings, feedback, smtp_server):
    """Ann opened and answered after 3 hours, Bernd opened only, Gus bounced."""
    world = send_wave(db, settings, smtp_server)
    opened(db, world.invitations["C-ann"], NOW + timedelta(hours=1))
    respond(db, world.invitations["C-ann"], NOW + timedelta(hours=3))
    opened(db, world.invitations["C-bernd"], NOW + timedelta(hours=5))
    with db.write() as db_session:
        sync_outcomes(db_session, now=NOW + timedelta(days=1))
    return world


def test_the_funnel_pages_and_json(client, db, answered):
    login(client, make_user(db, "viewer"))
    data = client.get("/api/v1/sends/wave/funnel").json()
    assert [(stage["name"], stage["count"]) for stage in data["overall"]["stages"]] == [
        ("invited", 3), ("delivered", 2), ("started", 2), ("completed", 1)]
    assert data["overall"]["time_to_complete"] == {"n": 1, "median_hours": 3.0, "q1_hours": 3.0, "q3_hours": 3.0}
    assert data["by"] == "segment" and [group["label"] for group in data["groups"]] == ["SMB", "Enterprise"]
    assert client.get("/api/v1/surveys/feedback/funnel").json()["overall"] == data["overall"]
    page = client.get("/sends/wave/funnel?by=language")
    assert page.status_code == 200 and 'data-testid="funnel-completed"' in page.text and "3.0 h" in page.text
    assert not inline(page.text)
    assert client.get("/surveys/feedback/funnel").status_code == 200
    assert client.get("/sends/nope/funnel").status_code == 404
    assert client.get("/api/v1/surveys/nope/funnel").status_code == 404


def test_the_log_page_filters_pages_and_downloads(client, db, answered):
    login(client, make_user(db, "viewer"))
    page = client.get("/sends/wave/log")
    assert page.status_code == 200 and not inline(page.text)
    assert "550 5.1.1 No such user here" in page.text and "C-gone" in page.text
    only_sent = client.get("/api/v1/sends/wave/log?kind=sent").json()
    assert only_sent["total"] == 2 and {event["customer"] for event in only_sent["events"]} == {"C-ann", "C-bernd"}
    assert only_sent["counts"]["started"] == 2 and only_sent["counts"]["completed"] == 1
    csv = client.get("/sends/wave/log?kind=bounced&format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and "gone@example.com" in csv.text
    bad = client.get("/sends/wave/log?kind=opened")
    assert bad.status_code == 400 and "kind must be one of" in bad.text
    assert client.get("/api/v1/sends/wave/log?kind=opened").status_code == 422
    assert client.get("/sends/nope/log").status_code == 404


def test_the_pages_need_a_login(client, db, answered):
    assert client.get("/sends/wave/log", follow_redirects=False).status_code in (302, 303)
    assert client.get("/api/v1/sends/wave/funnel").status_code == 401

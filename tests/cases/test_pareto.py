"""Paretos of root causes and of the cases' themes: largest first, the cumulative share ending at 100%."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.cases.loop_data import add_answers
from tests.helpers import apply_survey
from voxpop.accounts.models import Department
from voxpop.cases.models import Case, RootCause
from voxpop.cases.pareto import ranked, root_cause_pareto, theme_pareto
from voxpop.collection.models import Answer, Response
from voxpop.text.models import CommentTheme

NOVEMBER = datetime(2026, 11, 10, 9, tzinfo=timezone.utc)


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(0, 1000), max_size=12))
def test_the_cumulative_share_rises_to_100(counts):
    rows = ranked(counts)
    assert [row.cases for row in rows] == sorted((count for count in counts.values() if count), reverse=True)
    if rows:
        assert rows[-1].cumulative_share == pytest.approx(100.0)
        assert all(0 <= row.share <= 100 and 0 < row.cumulative_share <= 100 + 1e-9 for row in rows)
        assert all(a.cumulative_share <= b.cumulative_share for a, b in zip(rows, rows[1:]))


def test_root_causes_and_themes_of_closed_cases(db):
    apply_survey(db)
    add_answers(db, [(NOVEMBER, {"nps": 2})] * 4)
    with db.write() as db_session:
        care = Department(name="Care")
        late = RootCause(key="late-delivery", name="Late delivery", theme="delivery")
        rude = RootCause(key="rude", name="Rude staff")
        db_session.add_all([care, late, rude])
        db_session.flush()
        responses = db_session.scalars(select(Response.id).order_by(Response.id)).all()
        causes = [late.id, late.id, rude.id, None]
        for response_id, cause in zip(responses, causes):
            db_session.add(Case(title="x", department_id=care.id, response_id=response_id, opened_at=NOVEMBER,
                                status="closed" if cause else "new", root_cause_id=cause))
            # each case's response gets a comment tagged "delivery"; the first also "price"
            answer = Answer(response_id=response_id, question_id=db_session.scalar(
                select(Answer.question_id).where(Answer.response_id == response_id)), text="late again")
            db_session.add(answer)
            db_session.flush()
            db_session.add(CommentTheme(answer_id=answer.id, theme="delivery", source="codebook", matches=[]))
            if response_id == responses[0]:
                db_session.add(CommentTheme(answer_id=answer.id, theme="price", source="codebook", matches=[]))
        care_id = care.id
    with db.read() as db_session:
        causes = root_cause_pareto(db_session, zone="UTC", department_id=care_id)
        themes = theme_pareto(db_session, zone="UTC", since=date(2026, 11, 1), until=date(2026, 11, 30))
        assert theme_pareto(db_session, zone="UTC", since=date(2026, 12, 1)) == []
    assert [(row.label, row.cases, round(row.cumulative_share, 1)) for row in causes] == [
        ("Late delivery", 2, 66.7), ("Rude staff", 1, 100.0)]
    assert [(row.key, row.label, row.cases) for row in themes] == [("delivery", "Delivery", 4),
                                                                  ("price", "Price and value", 1)]

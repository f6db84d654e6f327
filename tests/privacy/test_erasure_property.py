"""For any customers, answers and choice of whom to erase: the metrics and rollups stay as they were and equal a
rebuild, and the erased customers keep no response and no free text."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import empty
from tests.helpers import apply_survey
from tests.privacy.test_erasure import metrics, rollup_rows
from voxpop.analysis.rollups import rebuild_store
from voxpop.collection import flows
from voxpop.collection.models import Answer, Response
from voxpop.collection.service import create_invitation
from voxpop.customers.models import Customer
from voxpop.privacy.erasure import erase_customer
from voxpop.surveys.models import Survey

ANSWER = st.fixed_dictionaries({"nps": st.integers(0, 10), "csat": st.integers(1, 5),
                                "comment": st.one_of(st.none(), st.text("abcxyz", min_size=1, max_size=20)),
                                "segment": st.sampled_from(["smb", "enterprise"])})
CUSTOMERS = st.lists(st.tuples(st.lists(ANSWER, min_size=0, max_size=3), st.booleans()), min_size=1, max_size=4)


def store(db, customers) -> list[tuple[int, bool]]:
    apply_survey(db)
    with db.write() as db_session:
        survey = db_session.scalar(select(Survey).where(Survey.key == "feedback"))
        made = []
        for number, (answers, erased) in enumerate(customers):
            customer = Customer(external_id=f"C{number}", email=f"c{number}@example.com")
            db_session.add(customer)
            db_session.flush()
            made.append((customer.id, erased, [create_invitation(db_session=db_session, survey=survey,
                                                                 customer=customer) for _ in answers], answers))
    survey = flows.load_survey(db, "feedback")
    for _, _, tokens, answers in made:
        for token, answer in zip(tokens, answers, strict=True):
            given_answers = {"nps": answer["nps"], "csat": answer["csat"]}
            if answer["comment"] and answer["nps"] <= 6:
                given_answers["why_low"] = answer["comment"]
            flows.record_response(db, survey, flows.Submission(answers=given_answers, channel="api", invitation_token=token,
                                                               attributes={"segment": answer["segment"]}),
                                  max_text_length=5000)
    return [(customer_id, erased) for customer_id, erased, _, _ in made]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CUSTOMERS)
def test_erasing_any_customers_keeps_every_metric(db, customers):
    empty(db)
    made = store(db, customers)
    before_metrics, before_rollups = metrics(db), rollup_rows(db)
    for customer_id, erased in made:
        if erased:
            with db.write() as db_session:
                erasure = erase_customer(db_session, db_session.get(Customer, customer_id),
                                         now=datetime.now(timezone.utc), actor=None)
            assert erasure.counts["responses_unlinked"] == len(customers[made.index((customer_id, erased))][0])
    assert metrics(db) == before_metrics and rollup_rows(db) == before_rollups
    rebuild_store(db, zone="UTC")
    assert rollup_rows(db) == before_rollups
    erased_ids = [customer_id for customer_id, erased in made if erased]
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(Response)
                                 .where(Response.customer_id.in_(erased_ids))) == 0
        kept_texts = db_session.scalar(select(func.count()).select_from(Answer).where(Answer.text.is_not(None)))
    expected_texts = sum(1 for answers, erased in customers if not erased
                         for answer in answers if answer["comment"] and answer["nps"] <= 6)
    assert kept_texts == expected_texts

"""An invited audience where one segment under-responds and scores lower, for the non-response tests.

200 customers are invited to the shop survey: 100 Enterprise (20 answer, NPS −60) and 100 SMB (60 answer,
NPS +58.3), each half north and half south with the same response rate in both regions. Unweighted, the 80
answers give NPS 28.75; weighted to the audience's 50/50 segment split, about −0.8."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import select

from tests.results.stored import shop
from voxpop.collection.models import Invitation
from voxpop.collection.service import create_invitation, version_questions
from voxpop.collection.writer import insert_response
from voxpop.customers.models import Customer, Transaction
from voxpop.surveys.models import Survey

# segment: (invited, answered scores); north and south alternate, so each region answers alike.
AUDIENCE = {
    "Enterprise": (100, [3] * 14 + [8] * 4 + [10] * 2),
    "SMB": (100, [10] * 40 + [8] * 15 + [4] * 5),
}
UNWEIGHTED_NPS = 100 * (42 - 19) / 80
WEIGHTED_NPS = 100 * (0.5 * (2 - 14) / 20 + 0.5 * (40 - 5) / 60)


def invited_audience(db, *, spend: bool = True) -> None:
    """The audience above; with `spend`, each Enterprise customer bought 300 and each SMB customer 100 in the year
    before the invitation (and a cancellation and a postage line that must not count), after one to four older
    purchases (Enterprise ones larger), the first 800 to 806 days ago."""
    shop(db)
    invitations = []
    rng = np.random.default_rng(16)  # older purchases' amounts: each customer's typical spend times gamma noise
    typical = {f"{segment}-{i}": float(rng.gamma(3.0, (150.0 if segment == "Enterprise" else 30.0)))
               for segment, (count, _) in AUDIENCE.items() for i in range(count)}
    with db.write() as session:
        survey = session.scalar(select(Survey).where(Survey.key == "shop"))
        customers = [(segment, i, Customer(external_id=f"{segment}-{i}", attributes={
            "segment": segment, "region": "north" if i % 2 == 0 else "south", "code": f"C{segment}{i}"}))
            for segment, (count, _) in AUDIENCE.items() for i in range(count)]
        session.add_all([customer for _, _, customer in customers])
        session.flush()
        for segment, i, customer in customers:
            create_invitation(db_session=session, survey=survey, customer=customer)
            if spend:
                amount = 300.0 if segment == "Enterprise" else 100.0
                day = date.today() - timedelta(days=30 + i)
                session.add_all([
                    Transaction(customer_id=customer.id, source_key=f"{segment}-{i}-sale", day=day, amount=amount + 20,
                                kind="sale"),
                    Transaction(customer_id=customer.id, source_key=f"{segment}-{i}-back", day=day, amount=-20,
                                kind="cancellation"),
                    Transaction(customer_id=customer.id, source_key=f"{segment}-{i}-post", day=day, amount=7,
                                kind="non_product"),
                ])
                # Older purchases, outside the year before the invitation: 1 to 4 of them, the first 800 days ago.
                session.add_all([Transaction(customer_id=customer.id, source_key=f"{segment}-{i}-old-{j}",
                                             day=date.today() - timedelta(days=800 - 90 * j - i % 7),
                                             amount=round(typical[customer.external_id] * float(rng.gamma(4.0, 0.25)), 2),
                                             kind="sale")
                                 for j in range(1 + i % 4)])
            invitations.append((segment, i, customer.id))
        survey_id, version_id = survey.id, survey.current_version.id
        questions = version_questions(db_session=session, version_id=version_id)
        ids = dict(session.execute(select(Invitation.customer_id, Invitation.id)).all())
    answered = {segment: scores for segment, (_, scores) in AUDIENCE.items()}
    with db.write_connection() as connection:
        for segment, i, customer_id in invitations:
            scores = answered[segment]
            # Answer every other customer in each region alike: the first len(scores) of each segment, alternating
            # north and south, so the regions' response rates match.
            if i >= len(scores):
                continue
            score = scores[i]
            insert_response(db_session=connection, survey_id=survey_id, version_id=version_id, questions=questions,
                            answers={"nps": score, "csat": 5 if score >= 9 else 2}, language="en", channel="email",
                            attributes={"segment": segment}, customer_id=customer_id, invitation_id=ids[customer_id])

"""A shop survey with a question of every kind, and live responses to it, for the results tests."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from tests.helpers import apply_survey
from tests.text.stored import submit

SHOP_SURVEY = """
key: shop
title: Shop survey
status: live
attributes: [segment]
questions:
  - {key: nps, kind: nps, text: "How likely are you to recommend us?"}
  - {key: csat, kind: csat, text: "How satisfied are you?"}
  - {key: ease, kind: ces, ces_version: "2.0", text: "It was easy to order."}
  - {key: quality, kind: rating, scale: {min: 1, max: 5}, text: "Rate the quality."}
  - key: agree
    kind: single_choice
    ordered: true
    text: "The staff were helpful."
    options: [{value: disagree, label: Disagree}, {value: neutral, label: Neutral}, {value: agree, label: Agree}]
  - key: bought
    kind: multiple_choice
    text: "What did you buy?"
    options: [{value: boots, label: Boots}, {value: tents, label: Tents}, {value: socks, label: Socks}]
  - {key: why, kind: text, text: "Why?"}
"""


def shop(db) -> None:
    apply_survey(db, SHOP_SURVEY)


def answer(db, answers: dict, *, segment: str = "SMB", when: datetime | None = None) -> None:
    """One live response to the shop survey, stored as a submission stores it, at `when` (UTC) if given."""
    submit(db, answers, {"segment": segment}, survey_key="shop")
    if when is not None:
        with db.write_engine.begin() as connection:
            last = connection.execute(text("SELECT max(id) FROM responses")).scalar_one()
            connection.execute(text("UPDATE responses SET submitted_at = :when WHERE id = :id"),
                               {"when": when.astimezone(timezone.utc).replace(tzinfo=None) if db.is_sqlite else when,
                                "id": last})

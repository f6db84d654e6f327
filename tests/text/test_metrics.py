"""Theme metrics from stored comments: share, sentiment, and NPS of those who mention a theme against the rest."""

from sqlalchemy import select

from tests.text.stored import analyse, submit
from voxpop.text.metrics import theme_metrics
from voxpop.text.models import CommentTheme


def test_a_delivery_theme_raised_by_detractors_shows_in_its_nps_difference(db):
    for i in range(40):
        submit(db, {"nps": 2, "why_low": f"The parcel arrived late again, order {i}"})
        submit(db, {"nps": 10, "why_high": f"Lovely staff in the shop, visit {i}"})
        submit(db, {"nps": 9})
    analyse(db)
    with db.read_connection() as connection:
        result = theme_metrics(connection, min_base=30)
    assert result["analysed_comments"] == 80
    delivery = next(row for row in result["themes"] if row["theme"] == "delivery")
    assert delivery["comments"] == 40 and delivery["share"]["value"] == 50.0
    assert delivery["nps_mentioning"]["value"] == -100.0 and delivery["nps_not_mentioning"]["value"] == 100.0
    assert delivery["nps_difference"]["significant"] and delivery["sentiment"]["value"] < 0


def test_a_theme_a_person_removed_no_longer_counts(db):
    submit(db, {"nps": 3, "why_low": "The parcel arrived late"})
    analyse(db)
    with db.write() as db_session:
        answer_id = db_session.scalar(select(CommentTheme.answer_id).where(CommentTheme.theme == "delivery"))
        db_session.add(CommentTheme(answer_id=answer_id, theme="delivery", source="correction", removed=True,
                                    matches=[]))
    with db.read_connection() as connection:
        themes = {row["theme"] for row in theme_metrics(connection, min_base=1)["themes"]}
    assert "delivery" not in themes


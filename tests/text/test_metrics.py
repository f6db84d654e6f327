"""Theme metrics from stored comments: share, sentiment, and NPS of those who mention a theme against the rest."""

from sqlalchemy import select

from tests.text.stored import analyse, months_of_comments, submit
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



def test_a_theme_rising_in_the_last_months_is_flagged_as_emerging(db):


    from voxpop.text.metrics import emerging_themes, theme_metrics

    months_of_comments(db, [2] * 6 + [12] * 2)  # delivery complaints jump in July
    with db.read_connection() as connection:
        found = {row["theme"]: row for row in emerging_themes(connection)}
    assert "delivery" in found and "staff" not in found
    assert found["delivery"]["periods"][-1] == "2025-08-01" and found["delivery"]["shares"][-1] == 60.0
    with db.read_connection() as connection:
        result = theme_metrics(connection)
    delivery = next(row for row in result["themes"] if row["theme"] == "delivery")
    assert result["months"] == [f"2025-{month:02d}-01" for month in range(1, 9)]
    assert delivery["monthly_share"] == [10.0] * 6 + [60.0, 60.0]  # 2 then 12 of 20 comments a month


def test_corrections_give_the_codebook_its_precision_and_recall(db):
    from voxpop.text.metrics import codebook_accuracy

    for i in range(4):
        submit(db, {"nps": 3, "why_low": f"The parcel arrived late, order {i}"})
    analyse(db)
    with db.read_connection() as connection:
        assert codebook_accuracy(connection) == []
    with db.write() as db_session:
        first, second = db_session.scalars(select(CommentTheme.answer_id).where(CommentTheme.theme == "delivery")
                                           .order_by(CommentTheme.answer_id)).all()[:2]
        db_session.add(CommentTheme(answer_id=first, theme="delivery", source="correction", removed=True, matches=[]))
        db_session.add(CommentTheme(answer_id=second, theme="delivery", source="correction", removed=False, matches=[]))
    with db.read_connection() as connection:
        delivery = next(row for row in codebook_accuracy(connection) if row["theme"] == "delivery")
    assert delivery["n"] == 2 and delivery["precision"] == 0.5 and delivery["recall"] == 1.0


def test_a_jump_in_the_running_month_raises_no_signal_until_the_month_ends(db):
    from datetime import datetime, timezone

    from voxpop.text.metrics import emerging_themes, theme_metrics

    months_of_comments(db, [2, 3, 2, 1, 2, 3, 2, 14])  # 14 of 20 in August, 1 to 3 before
    with db.read_connection() as connection:
        in_august = theme_metrics(connection, now=datetime(2025, 8, 20, tzinfo=timezone.utc))
        in_september = emerging_themes(connection, now=datetime(2025, 9, 2, tzinfo=timezone.utc))
    assert in_august["emerging"] == []
    assert next(row for row in in_august["themes"] if row["theme"] == "delivery")["monthly_share"][-1] == 70.0
    delivery = next(row for row in in_september if row["theme"] == "delivery")
    assert [(signal["rule"], signal["periods"]) for signal in delivery["signals"]] == [("nelson-1", ["2025-08-01"])]
    assert not any(delivery["partial"]) and delivery["upper"][-1] is not None


def test_the_running_month_is_a_partial_point_outside_the_limits(db):
    from datetime import datetime, timezone

    from voxpop.text.metrics import emerging_themes

    months_of_comments(db, [2, 3, 2, 1, 2, 3, 12, 20])  # up in July; every comment so far in August
    with db.read_connection() as connection:
        delivery = next(row for row in emerging_themes(connection, now=datetime(2025, 8, 20, tzinfo=timezone.utc))
                        if row["theme"] == "delivery")
        ended = next(row for row in emerging_themes(connection, now=datetime(2025, 9, 2, tzinfo=timezone.utc))
                     if row["theme"] == "delivery")
    assert delivery["periods"] == [f"2025-{month:02d}-01" for month in range(1, 9)]
    assert delivery["partial"] == [False] * 7 + [True]
    assert (delivery["shares"][-1], delivery["n"][-1], delivery["upper"][-1]) == (100.0, 20, None)
    assert delivery["centre"] == round(100 * 25 / 140, 2)  # the p̄ of January to July: August is left out
    assert [(signal["rule"], signal["periods"]) for signal in delivery["signals"]] == [("nelson-1", ["2025-07-01"])]
    assert ended["centre"] == round(100 * 45 / 160, 2) and not any(ended["partial"])  # August counted once it ends
    assert ["2025-08-01"] in [signal["periods"] for signal in ended["signals"]]

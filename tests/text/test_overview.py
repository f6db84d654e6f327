"""The themes overview, one data function for the page, the API and the command line: labels beside keys, and the
month still running shown as partial, outside the emerging themes' limits and signals."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import text

from tests.helpers import login, make_user
from tests.text.stored import analyse, submit
from voxpop.text.overview import theme_overview


def _month_start(now: datetime, back: int) -> datetime:
    """The first instant (UTC) of the month `back` months before the one `now` falls in."""
    months = now.year * 12 + now.month - 1 - back
    return datetime(months // 12, months % 12 + 1, 1)


def test_the_page_draws_the_running_month_apart_from_an_emerging_theme(client, db):
    # Delivery complaints jump last month; in the month still running every comment so far is about delivery.
    now = datetime.now(timezone.utc)
    late = [2, 3, 2, 1, 2, 3, 12, 20]
    months = []
    for back, complaints in zip(range(len(late) - 1, -1, -1), late):
        for i in range(20):
            comment = f"The parcel arrived late, order {back}-{i}" if i < complaints else f"Nice staff, visit {back}-{i}"
            submit(db, {"nps": 5 if i < complaints else 9, "why_low" if i < complaints else "why_high": comment})
            months.append(_month_start(now, back))
    analyse(db)
    with db.write_engine.begin() as connection:
        ids = connection.execute(text("SELECT id FROM responses ORDER BY id")).scalars().all()
        for response_id, when in zip(ids, months):
            connection.execute(text("UPDATE responses SET submitted_at = :when WHERE id = :id"),
                               {"when": when, "id": response_id})
    with db.read_connection() as connection:
        overview = theme_overview(connection, survey=None, min_base=30)
    delivery = next(row for row in overview.emerging if row.theme == "delivery")
    assert delivery.label == "Delivery" and delivery.partial[-1] and delivery.upper[-1] is None
    assert all(signal.periods[-1] != delivery.periods[-1] for signal in delivery.signals)
    assert {row.theme: row.label for row in overview.pareto}["delivery"] == "Delivery"
    login(client, make_user(db, "viewer"))
    page = client.get("/themes")
    assert page.status_code == 200 and "so far" in page.text
    signals = re.search(r'data-testid="emerging-signals">(.*?)</ul>', page.text, re.DOTALL).group(1)
    assert "(Nelson rule 1)" in signals and "so far" not in signals  # no signal read from the running month

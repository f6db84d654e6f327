"""`voxpop metrics --survey` with the staff pages' response filter (--since, --until, --during, --answer): the command
a results page shows prints the page's figures exactly, for a filtered view."""

from __future__ import annotations

import json
import shlex
from datetime import date, datetime, timedelta, timezone

from typer.testing import CliRunner

from tests.results.stored import answer, shop
from voxpop.cli import app
from voxpop.collection.filters import parse_response_filter
from voxpop.results.service import survey_results

runner = CliRunner()
TODAY = date(2026, 12, 6)


def _spread(db) -> None:
    start = datetime(2026, 6, 20, 12, tzinfo=timezone.utc)
    for index in range(60):
        answer(db, {"nps": (index * 7) % 11, "csat": 1 + index % 5, "ease": 1 + (index * 3) % 7,
                    "quality": 1 + index % 5, "agree": "agree" if index % 3 else "neutral"},
               segment=("SMB", "Enterprise", "Big Co")[index % 3], when=start + timedelta(days=2 * index))


def test_the_pages_command_prints_the_pages_figures_for_a_filtered_view(configured):
    shop(configured)
    _spread(configured)
    chosen = parse_response_filter(today=TODAY, since="2026-07-01", until="2026-09-30",
                                   attribute=["segment=SMB", "segment=Big Co"], answer=["agree:agree"])
    with configured.read_connection() as connection:
        found = survey_results(connection, survey="shop", response_filter=chosen, zone="UTC", min_base=5, today=TODAY)
    assert 0 < found.responses < 60
    compared = 0
    for question in found.questions:
        if not question.command:
            continue
        result = runner.invoke(app, shlex.split(question.command)[1:])
        assert result.exit_code == 0, result.output
        printed = {row["metric"]: row for row in json.loads(result.stdout)["rows"]}
        for headline in question.headlines:
            row, shown = printed[headline.metric], headline.estimate
            assert row["n"] == shown.n == question.answered
            assert (row["value"], row["ci_low"], row["ci_high"]) == (shown.value, shown.ci_low, shown.ci_high)
            compared += 1
    assert compared == 5  # NPS, CSAT, CES 2.0 mean and % agreeing, the rating's mean


def test_a_preset_period_and_its_mistakes(configured):
    shop(configured)
    _spread(configured)
    result = runner.invoke(app, ["metrics", "--survey", "shop", "--metric", "nps", "--during", "last-12-months",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, ["metrics", "--survey", "shop", "--metric", "nps", "--during", "fortnight"])
    assert bad.exit_code == 2 and "--during must be one of" in bad.stderr
    backwards = runner.invoke(app, ["metrics", "--survey", "shop", "--metric", "nps", "--answer", "nps:9-3"])
    assert backwards.exit_code == 2 and "runs backwards" in backwards.stderr
    on_a_file = runner.invoke(app, ["metrics", "some.csv", "--metric", "nps", "--score", "q", "--since", "2026-01-01"])
    assert on_a_file.exit_code == 2 and "--filter COLUMN=VALUE" in on_a_file.stderr

"""`voxpop scorecard values import FILE`: values approved by the command line, errors naming the row, nothing
written when a row is wrong."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from tests.scorecard.builders import measure, objective, perspective, scorecard
from voxpop.cli import app
from voxpop.scorecard.models import MeasureValue

runner = CliRunner()


def _scorecards(db):
    with db.write() as db_session:
        for key in ("org", "service"):
            goal = objective(db_session, perspective(db_session, scorecard(db_session, key)), f"{key}-skills")
            measure(db_session, goal, "trained")


def test_values_are_imported_and_approved(configured, tmp_path):
    _scorecards(configured)
    path = tmp_path / "values.csv"
    path.write_text("measure,period,value,comment\ntrained,2026-10,55,from HR\ntrained,2026-11,57,\n")
    ambiguous = runner.invoke(app, ["scorecard", "values", "import", str(path)])
    assert ambiguous.exit_code == 2 and "row 2: measure 'trained' is in 2 scorecards" in ambiguous.output
    result = runner.invoke(app, ["scorecard", "values", "import", str(path), "--scorecard", "service"])
    assert result.exit_code == 0, result.output
    assert "2 rows read: 2 values entered or changed, 0 unchanged, 2 approved" in result.output
    with configured.read() as db_session:
        stored = [(row.period, row.value, row.origin, row.approved_at is not None)
                  for row in db_session.scalars(select(MeasureValue).order_by(MeasureValue.period))]
    assert stored == [
        ("2026-10", 55.0, "csv", True), ("2026-11", 57.0, "csv", True)]


def test_a_bad_row_is_named_and_nothing_is_written(configured, tmp_path):
    _scorecards(configured)
    path = tmp_path / "values.csv"
    path.write_text("measure,period,value,comment\ntrained,2026-10,55,\ntrained,2026-13,3,\n")
    result = runner.invoke(app, ["scorecard", "values", "import", str(path), "--scorecard", "org"])
    assert result.exit_code == 2
    assert "row 3: period '2026-13' is not a month; write 2026-11" in " ".join(result.output.split())
    unknown = runner.invoke(app, ["scorecard", "values", "import", str(path), "--scorecard", "nope"])
    assert "There is no scorecard 'nope'" in unknown.output
    missing = runner.invoke(app, ["scorecard", "values", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    with configured.read() as db_session:
        assert db_session.scalar(select(MeasureValue)) is None

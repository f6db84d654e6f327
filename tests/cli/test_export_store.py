"""`voxpop export responses`: the whole store as a Parquet folder, and its refusals (exit 2, a sentence each)."""

import duckdb
from typer.testing import CliRunner

from tests.results.test_store_export import two_surveys
from voxpop.cli import app

runner = CliRunner()


def test_it_writes_every_survey_by_month(configured, tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOP_TIMEZONE", "Europe/Berlin")
    kept = two_surveys(configured)
    path = tmp_path / "store"
    result = runner.invoke(app, ["export", "responses", "--format", "parquet", str(path)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 responses of 2 surveys" in result.output and "(4 survey-month files)" in result.output
    with duckdb.connect() as connection:
        rows = connection.execute(f"SELECT response_id, survey, month FROM read_parquet('{path}/*/*/*.parquet', "
                                  "hive_partitioning = true, union_by_name = true)").fetchall()
    assert sorted(rows) == sorted((response_id, *where) for response_id, where in kept.items())
    result = runner.invoke(app, ["export", "responses", str(path), "--survey", "onboarding", "--replace"])
    assert result.exit_code == 0 and "wrote 1 response of 1 survey" in result.output, result.output
    assert [folder.name for folder in path.iterdir() if folder.is_dir()] == ["survey=onboarding"]


def test_it_refuses_bad_input_with_a_sentence(configured, tmp_path):
    two_surveys(configured)
    earlier = tmp_path / "earlier"
    assert runner.invoke(app, ["export", "responses", str(earlier)]).exit_code == 0
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    cases = [
        (["--format", "csv", str(tmp_path / "new")], "--format must be parquet, not 'csv'"),
        (["--period", "fortnight", str(tmp_path / "new")], "Period must be one of"),
        (["--survey", "nothing", str(tmp_path / "new")], "There is no survey 'nothing'"),
        ([str(earlier)], "holds an earlier export; choose a new folder, or pass --replace"),
        ([str(other), "--replace"], "holds files that are not a voxpop export"),
        ([str(other / "notes.txt")], "is a file; name a folder"),
        ([str(tmp_path / "missing" / "store")], "does not exist; create it"),
    ]
    for arguments, message in cases:
        result = runner.invoke(app, ["export", "responses", *arguments])
        assert result.exit_code == 2 and message in " ".join(result.output.split()), (arguments, result.output)
    assert not (tmp_path / "new").exists() and (other / "notes.txt").read_text() == "mine"


def test_a_failed_write_is_a_sentence_and_leaves_nothing(configured, tmp_path, monkeypatch):
    from voxpop.results import store_export

    two_surveys(configured)

    def full_disk(schema, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_export, "arrow_table", full_disk)
    result = runner.invoke(app, ["export", "responses", str(tmp_path / "store")])
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert list(tmp_path.iterdir()) == []

"""`voxpop export responses`: the whole store as a Parquet folder, and its refusals (exit 2, a sentence each)."""

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from tests.results.test_store_export import two_surveys
from voxpop.cli import app
from voxpop.settings import get_settings

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
    assert result.exit_code == 1, result.output
    assert f"The export to {tmp_path / 'store'} failed (No space left on device); what it had written was removed" \
        in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []
    # "removed" only when it was: a hidden folder that could not be deleted is named
    monkeypatch.setattr(store_export.shutil, "rmtree", lambda path, ignore_errors=False: None)
    result = runner.invoke(app, ["export", "responses", str(tmp_path / "store")])
    left = list(tmp_path.iterdir())
    assert result.exit_code == 1 and len(left) == 1 and left[0].name.startswith(".store.partial-"), result.output
    message = " ".join(result.output.split())
    assert f"the unfinished export is left in {left[0]}; delete it" in message and "removed" not in message


def test_it_refuses_the_folder_it_is_in_those_holding_it_the_root_home_and_data_folder(configured, tmp_path,
                                                                                      monkeypatch):
    two_surveys(configured)
    here, home, data = tmp_path / "exp1", tmp_path / "elsewhere" / "home", tmp_path / "elsewhere" / "data"
    for folder in (here, home, data):
        folder.mkdir(parents=True)
    monkeypatch.chdir(here)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(data))
    get_settings.cache_clear()
    instead = "name a new folder for the export instead, such as voxpop-export inside the folder you are in"
    cases = [
        (".", f"{here} is the folder you are in; {instead}"),
        ("", f"{here} is the folder you are in"),
        ("./", f"{here} is the folder you are in"),
        (f"{here}/../exp1/", f"{here} is the folder you are in"),
        ("..", f"{tmp_path} holds the folder you are in ({here}); {instead}"),
        ("/", f"/ is the filesystem's root; {instead}"),
        (str(home), f"{home} is your home folder; {instead}"),
        (str(data), f"{data} is voxpop's data folder (VOXPOP_DATA_DIR); {instead}"),
        (str(data.parent), f"{data.parent} holds voxpop's data folder {data} (VOXPOP_DATA_DIR)"),
    ]
    for path, message in cases:
        for replace in ([], ["--replace"]):
            result = runner.invoke(app, ["export", "responses", "--format", "parquet", path, *replace])
            assert result.exit_code == 2 and message in " ".join(result.output.split()), (path, result.output)
    assert list(here.iterdir()) == [] and sorted(item.name for item in tmp_path.iterdir()) == ["elsewhere", "exp1"]
    assert runner.invoke(app, ["export", "responses", "voxpop-export"]).exit_code == 0  # what the message offers
    assert (here / "voxpop-export" / "_voxpop_export.json").is_file()
    # in an earlier export, `. --replace` leaves it as it was
    here = tmp_path / "exp2"
    assert runner.invoke(app, ["export", "responses", str(here)]).exit_code == 0
    monkeypatch.chdir(here)
    before = sorted(item.relative_to(here) for item in here.rglob("*"))
    result = runner.invoke(app, ["export", "responses", ".", "--replace"])
    assert result.exit_code == 2 and "is the folder you are in" in result.output, result.output
    assert sorted(item.relative_to(here) for item in here.rglob("*")) == before


def test_a_trailing_slash_and_a_symlink_name_the_folder_itself(configured, tmp_path, monkeypatch):
    two_surveys(configured)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["export", "responses", "store/", "--survey", "onboarding"])
    assert result.exit_code == 0 and f"to {tmp_path / 'store'} " in result.output, result.output
    Path("latest").symlink_to("store")
    result = runner.invoke(app, ["export", "responses", "latest/", "--replace"])
    assert result.exit_code == 0 and f"to {tmp_path / 'store'} " in result.output, result.output
    assert Path("latest").is_symlink() and Path("latest").readlink() == Path("store")  # the link still points there
    assert sorted(item.name for item in Path("store").iterdir()) == ["_voxpop_export.json", "survey=onboarding",
                                                                    "survey=post-purchase"]
    result = runner.invoke(app, ["export", "responses", "latest"])
    assert result.exit_code == 2 and f"{tmp_path / 'store'} holds an earlier export" in result.output, result.output
    assert sorted(item.name for item in tmp_path.iterdir() if item.name.startswith(".")) == []

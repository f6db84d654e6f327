"""CLI errors read as sentences, and a file's name at their start is left as the user typed it."""

from typer.testing import CliRunner

from voxpop.cli import app

runner = CliRunner()


def test_an_error_is_a_sentence_that_keeps_a_file_name_as_typed(tmp_path):
    missing = runner.invoke(app, ["metrics", "nonexistent.csv", "--metric", "nps", "--score", "x"])
    assert missing.exit_code == 2 and "error: nonexistent.csv does not exist" in missing.stderr

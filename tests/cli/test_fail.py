"""CLI errors read as sentences, and a file's name at their start is left as the user typed it."""

from typer.testing import CliRunner

from voxpop.cli import app

runner = CliRunner()


def test_an_error_is_a_sentence_that_keeps_a_file_name_as_typed(tmp_path):
    missing = runner.invoke(app, ["metrics", "nonexistent.csv", "--metric", "nps", "--score", "x"])
    assert missing.exit_code == 2 and "error: nonexistent.csv does not exist" in missing.stderr


def test_a_database_url_that_is_not_one_is_a_sentence_not_a_traceback(monkeypatch, tmp_path):
    from voxpop.settings import get_settings

    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    for url, why in (("not a url", "Could not parse"), ("foo://host/db", "Can't load plugin")):
        monkeypatch.setenv("VOXPOP_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            for verb in (["db", "check"], ["serve", "--workers", "2"]):
                done = runner.invoke(app, verb)
                assert done.exit_code == 2, done.output
                assert "VOXPOP_DATABASE_URL is not a database URL voxpop can open" in done.stderr and why in done.stderr
        finally:
            get_settings.cache_clear()

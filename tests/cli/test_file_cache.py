"""The analysis verbs keep a Parquet copy of a big export in the data directory and say when they use it."""

import os
import time

from voxpop.analysis import file_cache


def test_the_command_line_says_when_it_uses_a_copy_and_no_cache_reads_the_file(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from voxpop.cli import app
    from voxpop.settings import get_settings

    monkeypatch.setattr(file_cache, "MIN_BYTES", 0)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    runner = CliRunner()
    path = tmp_path / "export.csv"
    path.write_text("score,segment\n" + "".join(f"{i % 11},{'ab'[i % 2]}\n" for i in range(100)))
    moment = time.time() - 3600  # an export written a while ago: copies are kept only of settled files
    os.utime(path, (moment, moment))
    command = ["metrics", str(path), "--metric", "nps", "--score", "score", "--by", "segment", "--format", "json"]
    first = runner.invoke(app, [*command, "--verbose"])
    assert first.exit_code == 0, first.output
    assert "parallel CSV reader" in first.stderr and "kept a Parquet copy" in first.stderr
    second = runner.invoke(app, command)
    assert "read the Parquet copy an earlier command kept" in second.stderr
    assert second.stdout == first.stdout
    third = runner.invoke(app, [*command, "--no-cache"])
    assert "Parquet copy" not in third.stderr and third.stdout == first.stdout
    assert list((tmp_path / "data" / "cache" / "files").glob("*.parquet"))
    get_settings.cache_clear()

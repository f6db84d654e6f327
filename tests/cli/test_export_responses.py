"""`voxpop survey export-responses`: the filtered responses as a file, and its refusals."""

import pyarrow.parquet as pq
from typer.testing import CliRunner

from tests.results.test_export import sample
from voxpop.cli import app

runner = CliRunner()


def test_it_writes_the_filtered_responses(configured, tmp_path):
    sample(configured)
    output = tmp_path / "detractors.parquet"
    result = runner.invoke(app, ["survey", "export-responses", "post-purchase", "--format", "parquet", "--output",
                                 str(output), "--answer", "nps:detractors", "--since", "2026-07-01"])
    assert result.exit_code == 0, result.output
    assert "wrote 1 response of 'post-purchase'" in result.output
    assert pq.read_table(output).column("nps").to_pylist() == [2]


def test_it_refuses_bad_input_with_a_sentence(configured, tmp_path):
    sample(configured)
    output = str(tmp_path / "out.csv")
    cases = [
        (["post-purchase", "--format", "pdf"], "--format must be one of csv, xlsx, parquet, sav"),
        (["post-purchase", "--period", "fortnight"], "Period must be one of"),
        (["nothing"], "There is no survey 'nothing'"),
    ]
    for arguments, message in cases:
        result = runner.invoke(app, ["survey", "export-responses", *arguments, "--output", output])
        assert result.exit_code == 2 and message in result.output, result.output

"""Errors below the interface name the parameter as the Python API spells it; the command line says its option."""

import click
import pytest
import typer
from typer.testing import CliRunner

from voxpop.cli import OPTIONS, app
from voxpop.metrics import MetricError, metrics

runner = CliRunner()


@pytest.fixture
def scores(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text("score,when\n" + "".join(f"{n % 7 + 1},2024-0{n % 3 + 1}-10\n" for n in range(30)))
    return path


@pytest.mark.parametrize("api, cli, parameter, option", [
    ({"metric": "nps", "scale": (1, 7)}, ["--metric", "nps", "--scale", "1-7"], "cuts", "--cuts"),
    ({"metric": "mean"}, ["--metric", "mean"], "scale", "--scale"),
    ({"metric": "ces", "scale": (1, 10)}, ["--metric", "ces", "--scale", "1-10"], "scale", "--scale"),
    ({"metric": "mean", "scale": (1, 7), "period": "month"}, ["--metric", "mean", "--scale", "1-7", "--period", "month"],
     "time", "--time"),
])
def test_the_api_names_the_parameter_and_the_cli_its_option(scores, api, cli, parameter, option):
    with pytest.raises(MetricError, match=f"`{parameter}`") as refused:
        metrics(scores, score="score", **api)
    assert refused.value.parameter == parameter and str(refused.value)[0].isupper()
    result = runner.invoke(app, ["metrics", str(scores), "--score", "score", *cli])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2 and option in said and "`" not in said, said


def test_the_transaction_commands_say_their_options(tmp_path):
    cdnow = tmp_path / "cdnow.txt"
    cdnow.write_text("a;b;c\n1;2;3\n")
    refused = runner.invoke(app, ["clv", "fit", str(cdnow), "--from", "cdnow"])
    assert refused.exit_code == 2 and "read other files with --from csv" in " ".join(refused.stderr.split())
    orders = tmp_path / "orders.csv"
    orders.write_text("customer,date,amount\nA,2024-01-05,10\n")
    refused = runner.invoke(app, ["retention", str(orders), "--period", "quarter", "--window", "30"])
    said = " ".join(refused.stderr.split())
    assert refused.exit_code == 2 and "Give --window as 92 days or more, or a shorter --period" in said


def test_every_parameter_maps_to_an_option_the_command_line_has():
    def options(command: click.Command):
        yield from (name for parameter in command.params for name in parameter.opts)
        for child in getattr(command, "commands", {}).values():
            yield from options(child)

    assert set(OPTIONS.values()) <= set(options(typer.main.get_command(app)))

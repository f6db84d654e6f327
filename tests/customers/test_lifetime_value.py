"""One CLV fit: the customers page and `voxpop clv` fit the same models the same way, and say why when they cannot."""

import json
import random

import pytest
from typer.testing import CliRunner

from voxpop.cli import app
from voxpop.customers.service import import_transactions, outcomes_report
from voxpop.customers.transaction_files import read_transactions

runner = CliRunner()


def orders(path, repeat_buyers: int, customers: int = 60):
    """Half a year of first orders, and `repeat_buyers` customers buying again a few times later."""
    pick = random.Random(7)
    lines = ["customer,date,amount"]
    for number in range(customers):
        lines.append(f"c{number:03d},2024-{1 + number % 6:02d}-{1 + number % 27:02d},{pick.uniform(5, 80):.2f}")
        for _ in range(pick.randint(1, 5) if number < repeat_buyers else 0):
            lines.append(f"c{number:03d},2024-{pick.randint(7, 12):02d}-{pick.randint(1, 28):02d},{pick.uniform(5, 80):.2f}")
    path.write_text("\n".join(lines) + "\n")
    return path


def fit(path, verb="fit"):
    return runner.invoke(app, ["clv", verb, str(path), "--format", "json"])


def test_the_page_and_the_cli_give_the_same_parameters(db, real_data):
    path = real_data / "lifetimes" / "CDNOW_sample.txt"
    import_transactions(db, read_transactions(path))
    page = outcomes_report(db, min_base=30)["clv"]
    result = fit(path)
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)
    for name in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        assert page[name] == pytest.approx(cli[name], rel=1e-6), name


@pytest.mark.parametrize("repeat_buyers, message", [
    (0, "None of the 60 customers bought more than once"),
    (1, "Spend per purchase (Gamma-Gamma) needs at least 2 customers who bought again and spent money, and the "
        "data have 1"),
])
def test_too_few_repeat_buyers_are_said_on_the_page_and_by_the_cli(db, tmp_path, repeat_buyers, message):
    path = orders(tmp_path / "orders.csv", repeat_buyers=repeat_buyers)
    import_transactions(db, read_transactions(path))
    report = outcomes_report(db, min_base=30)
    assert report["clv_unavailable"].startswith(message) and "clv" not in report
    fitted, predicted = fit(path), fit(path, "predict")
    assert predicted.exit_code == 2 and message in " ".join(predicted.stderr.split())
    if repeat_buyers:  # the purchase model still fits, and the CLI says why spend is missing
        assert fitted.exit_code == 0 and json.loads(fitted.stdout)["spend_unavailable"].startswith(message)
    else:
        assert fitted.exit_code == 2 and message in " ".join(fitted.stderr.split())

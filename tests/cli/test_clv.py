"""`voxpop clv fit` and `clv predict` on transaction files: the published CDNOW parameters, and clear refusals."""

import json

import pytest
from typer.testing import CliRunner

from voxpop.cli import app

runner = CliRunner()


def clv(*arguments):
    return runner.invoke(app, ["clv", *map(str, arguments)])


@pytest.fixture
def cdnow_sample(real_data):
    return real_data / "lifetimes" / "CDNOW_sample.txt"


def test_fit_on_the_cdnow_sample_gives_fader_hardie_and_lees_parameters(cdnow_sample):
    result = clv("fit", cdnow_sample, "--calibration-end", "1997-09-30", "--time-unit", "week",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert fitted["n_customers"] == 2357
    assert [round(fitted[name], 3) for name in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert round(fitted["log_likelihood"], 1) == -9582.4
    assert [round(fitted[name], 2) for name in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]


def test_holdout_and_predictions_on_the_sample(cdnow_sample):
    fitted = clv("fit", cdnow_sample, "--calibration-end", "1997-09-30", "--holdout-end", "1998-06-30")
    assert fitted.exit_code == 0 and "purchases predicted" in fitted.stdout and "7+" in fitted.stdout
    predicted = json.loads(clv("predict", cdnow_sample, "--calibration-end", "1997-09-30",
                               "--months", "12", "--top", "3", "--format", "json").stdout)
    assert predicted["n_customers"] == 2357 and len(predicted["rows"]) == 3
    values = [row["clv"] for row in predicted["rows"]]
    assert values == sorted(values, reverse=True) and all(0 <= row["p_alive"] <= 1 for row in predicted["rows"])


def test_a_csv_with_a_mapping_and_the_refusals(tmp_path):
    import random
    from datetime import date, timedelta

    rng = random.Random(3)
    lines = []
    for customer in range(300):  # customers who buy at their own rate for a while, then may lapse
        day, rate, typical = rng.randint(0, 60), rng.expovariate(1 / 20), rng.gammavariate(3, 12)
        dropout = rng.betavariate(1, 3)  # customers differ in how likely they are to lapse after a purchase
        while day < 365:
            lines.append(f"c{customer},{date(2024, 1, 1) + timedelta(days=day)},{rng.gammavariate(6, typical / 6):.2f}\n")
            if rng.random() < dropout:
                break
            day += 1 + int(rng.expovariate(1 / (rate + 1)))
    path = tmp_path / "orders.csv"
    path.write_text("Client,Day,Total\n" + "".join(lines))
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("customer: Client\ndate: Day\namount: Total\n")
    fitted = clv("fit", path, "--mapping", mapping, "--format", "json")
    assert fitted.exit_code == 0, fitted.output
    assert json.loads(fitted.stdout)["n_customers"] == 300
    missing = clv("fit", path)
    assert missing.exit_code == 2 and "customer" in missing.stderr
    assert clv("fit", path, "--mapping", mapping, "--calibration-end", "30/09/1997").exit_code == 2
    assert clv("fit", path, "--mapping", mapping, "--from", "spss").exit_code == 2
    assert clv("fit", path, "--mapping", mapping, "--holdout-end", "2024-12-31").exit_code == 2
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert clv("fit", empty).exit_code == 2


def test_retention_on_a_file_and_on_the_store_agree(configured, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\n" + "".join(
        f"c{i},2024-{month:02d}-{1 + i % 27:02d},10\n" for i in range(60) for month in range(1, 13)
        if month == 1 or (i + month) % 3))  # everyone starts in January; some skip months
    from_file = json.loads(runner.invoke(app, ["retention", str(path), "--format", "json"]).stdout)["rows"]
    assert runner.invoke(app, ["import", "transactions", str(path)]).exit_code == 0
    from_store = json.loads(runner.invoke(app, ["retention", "--store", "--format", "json"]).stdout)["rows"]
    assert from_file == from_store
    february = next(row for row in from_file if row["period"] == "2024-02-01" and row["metric"] == "retention")
    assert february["start"] == 60 and february["value"] == pytest.approx(100 * (february["end"] - february["new"]) / 60)
    assert runner.invoke(app, ["retention"]).exit_code == 2
    assert runner.invoke(app, ["retention", str(path), "--period", "fortnight"]).exit_code == 2


def test_fit_on_the_store_matches_the_file(configured, cdnow_sample):
    assert runner.invoke(app, ["import", "transactions", str(cdnow_sample)]).exit_code == 0
    from_store = json.loads(clv("fit", "--store", "--calibration-end", "1997-09-30", "--format", "json").stdout)
    from_file = json.loads(clv("fit", cdnow_sample, "--calibration-end", "1997-09-30",
                               "--format", "json").stdout)
    assert from_store["n_customers"] == from_file["n_customers"] == 2357
    assert from_store["r"] == pytest.approx(from_file["r"]) and from_store["gamma"] == pytest.approx(from_file["gamma"])
    assert clv("fit").exit_code == 2


def test_market_share_of_revenue_and_of_customers(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount\nc1,2024-01-05,100\nc2,2024-01-06,50\nc1,2024-02-01,30\n")
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("period,size\n2024-01-01,1000\n2024-02-01,600\n")
    rows = json.loads(runner.invoke(app, ["market-share", str(path), "--sizes", str(sizes), "--format", "json"]).stdout)["rows"]
    assert [(row["period"], row["value"]) for row in rows] == [("2024-01-01", 15.0), ("2024-02-01", 5.0)]
    customers = tmp_path / "customers.csv"
    customers.write_text("period,size\n2024-01-01,40\n")
    [row] = json.loads(runner.invoke(app, ["market-share", str(path), "--sizes", str(customers), "--basis", "customers",
                                           "--format", "json"]).stdout)["rows"]
    assert row["value"] == 5.0 and row["ci_low"] < 5.0 < row["ci_high"]
    bad = tmp_path / "bad.csv"
    bad.write_text("period,size\nJanuary,lots\n")
    refused = runner.invoke(app, ["market-share", str(path), "--sizes", str(bad)])
    assert refused.exit_code == 2 and "line 2" in refused.stderr


def test_retention_and_market_share_by_segment(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("customer,date,amount,segment\n" + "".join(
        f"c{i},2024-{month:02d}-10,10,{'smb' if i % 2 else 'enterprise'}\n" for i in range(40) for month in (1, 2)
        if month == 1 or i % 4 < 2))
    rows = json.loads(runner.invoke(app, ["retention", str(path), "--by", "segment", "--format", "json"]).stdout)["rows"]
    february = {row["segment"]: row for row in rows if row["period"] == "2024-02-01" and row["metric"] == "retention"}
    assert (february["enterprise"]["value"], february["smb"]["value"]) == (50.0, 50.0)
    assert february["smb"]["start"] == 20
    sizes = tmp_path / "sizes.csv"
    sizes.write_text("period,segment,size\n2024-01-01,smb,1000\n2024-01-01,enterprise,400\n")
    shares = json.loads(runner.invoke(app, ["market-share", str(path), "--sizes", str(sizes), "--by", "segment",
                                            "--format", "json"]).stdout)["rows"]
    assert {row["segment"]: row["value"] for row in shares} == {"enterprise": 50.0, "smb": 20.0}
    missing = runner.invoke(app, ["market-share", str(path), "--sizes", str(sizes)])
    assert missing.exit_code == 2 and "--by" in missing.stderr

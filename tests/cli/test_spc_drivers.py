"""`voxpop spc` and `voxpop drivers` on export files and the store: the engine counts, core charts and weighs."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tests.core.test_drivers import (
    MTCARS,
    PREDICTORS,
    REFERENCE_R_SQUARED,
    REFERENCE_RAW,
    REFERENCE_RESCALED,
    VARIABLES,
)
from tests.helpers import apply_survey
from voxpop.cli import app
from voxpop.collection import flows
from voxpop.core import spc as control
from voxpop.metrics import drivers

runner = CliRunner()


def write_csv(path, header, rows):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def nps_answers(promoters, passives, detractors):
    return [10] * promoters + [8] * passives + [3] * detractors


@pytest.fixture
def monthly_nps(tmp_path):
    """Twelve months of 200 answers at NPS 30, except August 2024 at NPS −30."""
    rows = []
    for month in range(1, 13):
        scores = nps_answers(40, 60, 100) if month == 8 else nps_answers(100, 60, 40)
        rows += [(score, f"2024-{month:02d}-{1 + i % 28:02d} 10:{i % 60:02d}:00") for i, score in enumerate(scores)]
    return write_csv(tmp_path / "nps.csv", ["Q1 recommend", "Submitted"], rows)


def spc_json(*arguments):
    result = runner.invoke(app, ["spc", *map(str, arguments), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_shifted_month_is_a_nelson_1_signal_on_the_nps_chart(monthly_nps):
    chart = spc_json(monthly_nps, "--metric", "nps", "--score", "Q1 recommend", "--period", "month",
                     "--time", "Submitted")
    assert (chart["metric"], chart["chart"], chart["rules"]) == ("nps", "nps", "nelson")
    assert [row["period"] for row in chart["rows"]] == [f"2024-{month:02d}-01" for month in range(1, 13)]
    august = chart["rows"][7]
    assert (august["n"], august["value"], august["centre"]) == (200, pytest.approx(-30), pytest.approx(25))
    assert august["value"] < august["lower"] < august["centre"] < august["upper"]
    assert august["signals"] == [{"rule": "nelson-1", "description": "1 point more than 3σ from the centre line",
                                  "direction": "down"}]
    assert [row["signals"] for i, row in enumerate(chart["rows"]) if i != 7] == [[]] * 11
    assert chart["signals"] == [{"rule": "nelson-1", "description": "1 point more than 3σ from the centre line",
                                 "direction": "down", "periods": ["2024-08-01"]}]
    # The chart's points are `voxpop metrics`' values for the same periods.
    metrics = runner.invoke(app, ["metrics", str(monthly_nps), "--metric", "nps", "--score", "Q1 recommend",
                                  "--period", "month", "--time", "Submitted", "--format", "json"])
    assert [row["value"] for row in json.loads(metrics.stdout)["rows"]] == [row["value"] for row in chart["rows"]]


def test_the_table_marks_the_signal_and_explains_the_rule(monthly_nps):
    result = runner.invoke(app, ["spc", str(monthly_nps), "--metric", "nps", "--score", "Q1 recommend",
                                 "--period", "month", "--time", "Submitted"])
    assert result.exit_code == 0, result.output
    august = next(line for line in result.stdout.splitlines() if line.strip().startswith("2024-08-01"))
    assert "-30.0 ◆" in august and "nelson-1 ↓" in august
    assert "nelson-1: 1 point more than 3σ from the centre line" in result.stdout
    assert "NPS chart" in result.stdout


def test_csv_output_and_western_electric_rules(monthly_nps):
    result = runner.invoke(app, ["spc", str(monthly_nps), "--metric", "nps", "--score", "Q1 recommend", "--period",
                                 "month", "--time", "Submitted", "--rules", "western-electric", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 12 and rows[7]["signals"] == "we-1 down" and rows[0]["signals"] == ""
    assert list(rows[0]) == ["period", "chart", "n", "value", "centre", "lower", "upper", "low_base", "signals"]


def ratings_with_mean(mean: float, count: int = 10) -> list[int]:
    """`count` ratings on 1–5 whose mean is `mean` (a multiple of 1/count)."""
    base = int(mean)
    above = round((mean - base) * count)
    return [base + 1] * above + [base] * (count - above)


def test_means_go_on_an_xmr_chart_and_a_rising_run_is_a_trend(tmp_path):
    means = [3.1, 3.3, 3.0, 3.2, 3.1, 3.3, 3.4, 3.6, 3.8, 3.9, 4.1, 4.3]
    rows = [(rating, f"2024-{month:02d}-10") for month, mean in enumerate(means, start=1)
            for rating in ratings_with_mean(mean)]
    path = write_csv(tmp_path / "ratings.csv", ["rating", "date"], rows)
    result = runner.invoke(app, ["spc", str(path), "--metric", "mean", "--scale", "1-5", "--score", "rating",
                                 "--period", "month", "--time", "date", "--min-base", "30", "--format", "json"])
    assert result.exit_code == 0, result.output
    chart = json.loads(result.stdout)
    expected = control.xmr_chart(observations=means).individuals
    assert chart["chart"] == "xmr" and chart["metric"] == "mean"
    assert [row["value"] for row in chart["rows"]] == pytest.approx(means)
    assert [row["lower"] for row in chart["rows"]] == pytest.approx(expected.lower)
    assert [row["upper"] for row in chart["rows"]] == pytest.approx(expected.upper)
    trend = next(signal for signal in chart["signals"] if signal["rule"] == "nelson-3")
    assert trend["direction"] == "up" and trend["periods"][-1] == "2024-12-01"
    assert any(said["rule"] == "nelson-3" for said in chart["rows"][-1]["signals"])
    # Ten answers a month: XmR limits do not widen for them, and the user is told so.
    assert "12 of the 12 periods have fewer than 30 answers" in " ".join(result.stderr.split())


def test_csat_goes_on_a_p_chart_in_percent(tmp_path):
    tops = [30, 32, 29, 31, 30, 28, 33, 30]  # of 40 answers per week, 4–5 on 1–5
    first_monday = date(2024, 3, 4)
    rows = [(5 if i < top else 2, (first_monday + timedelta(days=7 * week + i % 7)).isoformat())
            for week, top in enumerate(tops) for i in range(40)]
    path = write_csv(tmp_path / "csat.csv", ["csat", "day"], rows)
    chart = spc_json(path, "--metric", "csat", "--score", "csat", "--period", "week", "--time", "day",
                     "--chart", "p")
    expected = control.p_chart(nonconforming=tops, sizes=[40] * len(tops))
    assert chart["chart"] == "p" and chart["metric"] == "csat"
    assert [row["value"] for row in chart["rows"]] == pytest.approx([100 * top / 40 for top in tops])
    assert [row["upper"] for row in chart["rows"]] == pytest.approx([100 * limit for limit in expected.upper])
    auto = spc_json(path, "--metric", "csat", "--score", "csat", "--period", "week", "--time", "day")
    assert auto["chart"] in ("p", "laney-p")


def test_one_chart_per_group_with_by(tmp_path):
    rows = [(score, f"2024-{month:02d}-05", region) for region in ("north", "south") for month in (1, 2, 3)
            for score in nps_answers(5, 3, 2 if region == "north" else 4)]
    path = write_csv(tmp_path / "regions.csv", ["score", "when", "region"], rows)
    chart = spc_json(path, "--metric", "nps", "--score", "score", "--period", "month", "--time", "when",
                     "--by", "region")
    assert [(row["region"], row["period"]) for row in chart["rows"]] == [
        (region, f"2024-0{month}-01") for region in ("north", "south") for month in (1, 2, 3)]
    assert [row["centre"] for row in chart["rows"]] == pytest.approx([30] * 3 + [100 / 12] * 3)


@pytest.mark.parametrize("arguments, message", [
    (["--score", "Q1 recomend", "--period", "month"], "has no column 'Q1 recomend'; did you mean 'Q1 recommend'?"),
    (["--score", "Q1 recommend", "--period", "fortnight"], "--period must be day, week, month or quarter"),
    (["--score", "Q1 recommend", "--period", "month", "--chart", "p"], "The p chart does not fit nps; choose --chart from auto, nps or xmr"),
    (["--score", "Q1 recommend", "--period", "month", "--rules", "mine"], "Choose --rules from nelson or western-electric"),
    (["--score", "Q1 recommend", "--period", "month", "--format", "xml"], "--format must be table, json or csv"),
])
def test_bad_options_exit_2_with_a_message(monthly_nps, arguments, message):
    result = runner.invoke(app, ["spc", str(monthly_nps), "--metric", "nps", "--time", "Submitted", *arguments])
    assert result.exit_code == 2 and message in result.stderr, result.stderr


def test_bad_files_exit_2_with_a_message(tmp_path):
    def spc_error(path, *extra):
        result = runner.invoke(app, ["spc", str(path), "--metric", "nps", "--score", "score", "--period", "month",
                                     "--time", "when", *extra])
        assert result.exit_code == 2, result.output
        return " ".join(result.stderr.split())

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "is empty" in spc_error(empty)
    assert "has a header but no data rows" in spc_error(write_csv(tmp_path / "header.csv", ["score", "when"], []))
    out_of_scale = write_csv(tmp_path / "scale.csv", ["score", "when"], [(9, "2024-01-01"), (11, "2024-02-01")])
    assert "column 'score' has the value '11' in data row 2, outside the 0–10 NPS scale" in spc_error(out_of_scale)
    one_month = write_csv(tmp_path / "one.csv", ["score", "when"], [(9, "2024-01-01"), (3, "2024-01-20")])
    assert "needs answers in at least 2 periods, and the data has 1 month with answers" in spc_error(one_month)
    no_time = runner.invoke(app, ["spc", str(one_month), "--metric", "nps", "--score", "score", "--period", "month"])
    assert no_time.exit_code == 2 and "the time column with --time" in no_time.stderr
    no_file = runner.invoke(app, ["spc", "--metric", "nps", "--period", "month"])
    assert no_file.exit_code == 2
    assert "Give either an export FILE, --survey KEY or --connect URL with --table NAME" in no_file.stderr


def test_spc_on_a_survey_in_the_database(configured):
    db = configured
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    months = [1] * 6 + [2] * 6 + [3] * 6
    scores = [10, 10, 9, 8, 3, 10] + [10, 9, 8, 7, 2, 1] + [10, 10, 10, 9, 8, 6]
    for score in scores:
        flows.record_response(db, survey, flows.Submission(answers={"nps": score}, channel="api"),
                              max_text_length=5000)
    with db.write_engine.begin() as connection:
        ids = connection.execute(text("SELECT id FROM responses ORDER BY id")).scalars().all()
        for response_id, month in zip(ids, months):
            connection.execute(text("UPDATE responses SET submitted_at = :when WHERE id = :id"),
                               {"when": datetime(2025, month, 15, 12), "id": response_id})
    chart = spc_json("--survey", "feedback", "--metric", "nps", "--period", "month")
    assert chart["chart"] == "nps"
    assert [(row["period"], row["n"]) for row in chart["rows"]] == [("2025-01-01", 6), ("2025-02-01", 6),
                                                                     ("2025-03-01", 6)]
    assert [round(row["value"], 1) for row in chart["rows"]] == [50.0, 0.0, 50.0]
    assert all(row["low_base"] for row in chart["rows"])


@pytest.fixture
def mtcars_csv(tmp_path):
    return write_csv(tmp_path / "mtcars.csv", VARIABLES, [[f"{value:g}" for value in row] for row in MTCARS])


def drivers_json(*arguments):
    result = runner.invoke(app, ["drivers", *map(str, arguments), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def mtcars_arguments(path):
    return [path, "--outcome", "mpg", *(part for name in PREDICTORS for part in ("--driver", name))]


def test_drivers_reproduce_johnsons_weights_on_mtcars_through_duckdb(mtcars_csv):
    result = drivers_json(*mtcars_arguments(mtcars_csv))
    assert result["n"] == 32 and result["r_squared"] == pytest.approx(REFERENCE_R_SQUARED, abs=5e-8)
    by_driver = {row["driver"]: row for row in result["rows"]}
    assert [by_driver[name]["raw_weight"] for name in PREDICTORS] == pytest.approx(REFERENCE_RAW, abs=5e-8)
    assert [round(by_driver[name]["rescaled"], 2) for name in PREDICTORS] == list(REFERENCE_RESCALED)
    # Performance is each driver's mean (computed by the engine), and the rows come most important first.
    assert [by_driver[name]["performance"] for name in PREDICTORS] == pytest.approx(MTCARS[:, 1:].mean(axis=0))
    assert [row["driver"] for row in result["rows"]] == ["hp", "cyl", "disp", "gear"]
    assert [row["quadrant"] for row in result["rows"]] == ["keep up", "fix first", "keep up", "secondary"]
    assert result["resamples"] == 0 and result["rows"][0]["ci_low"] is None


def test_bootstrap_intervals_surround_the_weights_and_repeat_with_a_seed(mtcars_csv):
    arguments = [*mtcars_arguments(mtcars_csv), "--bootstrap", "200", "--seed", "3"]
    first, second = drivers_json(*arguments), drivers_json(*arguments)
    assert first == second and first["seed"] == 3 and 0 < first["resamples"] <= 200 and first["confidence"] == 0.95
    for row in first["rows"]:
        assert row["ci_low"] <= row["rescaled"] <= row["ci_high"]
        assert row["raw_ci_low"] <= row["raw_weight"] <= row["raw_ci_high"]


def test_a_seed_gives_the_same_intervals_whatever_order_the_rows_come_in():
    """PostgreSQL hands a pivot's rows back in no fixed order, and the page and the command read them separately:
    the same seed must still give the same intervals."""
    import pandas as pd

    frame = pd.DataFrame(MTCARS, columns=VARIABLES)
    results = [drivers(frame.sample(frac=1, random_state=shuffle), outcome="mpg", drivers=list(PREDICTORS),
                       bootstrap=100, seed=5) for shuffle in (1, 2)]
    first, second = ({row["driver"]: row for row in result["rows"]} for result in results)
    assert first.keys() == second.keys()
    for driver, row in first.items():  # sums in another order differ in the last bits, not more
        for name in ("rescaled", "ci_low", "ci_high", "raw_ci_low", "raw_ci_high"):
            assert row[name] == pytest.approx(second[driver][name], rel=1e-9), (driver, name)


def test_drivers_table_and_csv(mtcars_csv):
    table = runner.invoke(app, ["drivers", *map(str, mtcars_arguments(mtcars_csv))])
    assert table.exit_code == 0, table.output
    assert "R² = 0.779 on 32 complete rows" in table.stdout and "fix first" in table.stdout
    assert "the quadrants compare those means" in " ".join(table.stderr.split())  # drivers on different scales
    rows = list(csv.DictReader(io.StringIO(runner.invoke(
        app, ["drivers", *map(str, mtcars_arguments(mtcars_csv)), "--format", "csv"]).stdout)))
    assert [row["driver"] for row in rows] == ["hp", "cyl", "disp", "gear"] and rows[0]["n"] == "32"


def test_drivers_api_takes_a_dataframe_and_drops_incomplete_rows():
    import pandas as pd

    frame = pd.DataFrame(MTCARS, columns=VARIABLES)
    frame.loc[len(frame)] = [np.nan, 6, 160.0, 110, 4]
    result = drivers(frame, outcome="mpg", drivers=list(PREDICTORS))
    assert result["n"] == 32 and result["r_squared"] == pytest.approx(REFERENCE_R_SQUARED, abs=5e-8)


def test_drivers_on_rating_scales_check_every_value(tmp_path):
    rows = [(9, 4, 5), (10, 5, 5), (6, 2, 3), (7, 3, 4), (8, 4, 3), (3, 1, 2), ("", 5, 5), (10, 5, 4)]
    path = write_csv(tmp_path / "ratings.csv", ["recommend", "service", "price"], rows)
    result = drivers_json(path, "--outcome", "recommend", "--outcome-scale", "0-10", "--driver", "service",
                          "--driver", "price", "--scale", "1-5")
    assert result["n"] == 7  # the row without an outcome is left out, listwise
    assert {row["driver"]: row["performance"] for row in result["rows"]} == pytest.approx(
        {"service": 24 / 7, "price": 26 / 7})


@pytest.mark.parametrize("change, message", [
    ({"--outcome-scale": "1-5"}, "column 'recommend' has the value '9' in data row 1, outside the 1–5 rating scale "
                                 "(4 such values in all); fix the file, or state the real scale with --outcome-scale"),
    ({"--scale": "1-4"}, "column 'service' has the value '5' in data row 2, outside the 1–4 rating scale"),
    ({"--driver": "servce"}, "has no column 'servce'; did you mean 'service'?"),
    ({"--driver": "recommend"}, "Name one or more --driver, each once, none of them the outcome"),
])
def test_drivers_refuse_bad_input_with_exit_2(tmp_path, change, message):
    rows = [(9, 4), (10, 5), (6, 2), (7, 3)]
    path = write_csv(tmp_path / "ratings.csv", ["recommend", "service"], rows)
    options = {"--outcome": "recommend", "--driver": "service", "--outcome-scale": "0-10", "--scale": "1-5", **change}
    result = runner.invoke(app, ["drivers", str(path), *(part for pair in options.items() for part in pair)])
    assert result.exit_code == 2 and message in " ".join(result.stderr.split()), result.stderr


def test_drivers_name_the_row_that_is_not_a_number_and_need_three_rows(tmp_path):
    path = write_csv(tmp_path / "cars.csv", ["mpg", "hp"], [(21.0, 110), ("N/A", 93), (18.7, 175)])
    result = runner.invoke(app, ["drivers", str(path), "--outcome", "mpg", "--driver", "hp"])
    assert result.exit_code == 2
    assert "column 'mpg' has the value 'N/A' in data row 2, which is not a number" in " ".join(result.stderr.split())
    path = write_csv(tmp_path / "few.csv", ["mpg", "hp"], [(21.0, 110), ("", 93), (18.7, 175)])
    result = runner.invoke(app, ["drivers", str(path), "--outcome", "mpg", "--driver", "hp"])
    assert result.exit_code == 2 and "has 2 rows where 'mpg' and every driver have a value" in result.stderr


def test_a_constant_driver_is_refused_with_exit_2(tmp_path):
    path = write_csv(tmp_path / "flat.csv", ["recommend", "service", "price"],
                     [(9, 4, 3), (10, 5, 3), (6, 2, 3), (7, 3, 3)])
    result = runner.invoke(app, ["drivers", str(path), "--outcome", "recommend", "--driver", "service", "--driver",
                                 "price"])
    assert result.exit_code == 2
    assert "'price' has the same value in every complete row" in " ".join(result.stderr.split())


def test_metrics_compare_marks_only_holm_significant_groups(tmp_path):
    from typer.testing import CliRunner

    from voxpop.cli import app

    lines = ["segment,score"] + [f"a,{s}" for s in [10] * 100 + [8] * 60 + [3] * 40] + \
        [f"b,{s}" for s in [9] * 110 + [7] * 70 + [0] * 70]
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["metrics", str(path), "--metric", "nps", "--score", "score", "--by", "segment",
                                      "--compare", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    rows = json.loads(result.stdout)["rows"]
    assert [round(row["p_holm"], 3) for row in rows] == [0.133, 0.133]
    assert [row["significant"] for row in rows] == [False, False]


def test_drivers_on_a_survey_match_the_same_answers_as_a_dataframe(configured):
    """The database pivots answers to one row per response; a response that skipped a driver drops out."""
    import pandas as pd

    from voxpop.metrics import drivers

    db = configured
    apply_survey(db)
    survey = flows.load_survey(db, "feedback")
    rng = random.Random(5)
    rows = []
    for _ in range(60):
        csat, ease = rng.randint(1, 5), rng.randint(1, 7)
        nps = max(0, min(10, round(csat + ease / 2 + rng.gauss(0, 1.5))))
        answers = {"nps": nps, "csat": csat} | ({} if rng.random() < 0.2 else {"ease": ease})
        flows.record_response(db, survey, flows.Submission(answers=answers, channel="api"), max_text_length=5000)
        rows.append({"nps": nps, "csat": csat, "ease": answers.get("ease")})
    from_survey = drivers_json("--survey", "feedback", "--outcome", "nps", "--driver", "csat", "--driver", "ease")
    expected = drivers(pd.DataFrame(rows), outcome="nps", drivers=["csat", "ease"])
    assert from_survey["n"] == expected["n"] == sum(row["ease"] is not None for row in rows)
    for got, want in zip(from_survey["rows"], expected["rows"]):
        assert got["driver"] == want["driver"] and got["raw_weight"] == pytest.approx(want["raw_weight"])
    unknown = runner.invoke(app, ["drivers", "--survey", "feedback", "--outcome", "nps", "--driver", "bought"])
    assert unknown.exit_code == 2 and "no scored question 'bought'" in unknown.stderr

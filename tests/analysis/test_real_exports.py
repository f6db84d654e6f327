"""The metrics engine on real export files from the real-data folder (read in place, never copied)."""

import pandas as pd
import pytest

from voxpop.metrics import MetricError, metrics

RECOMMEND_R = "How likely are you to recommend R to a colleague, friend, or family member?"


@pytest.fixture(scope="module")
def rstudio(real_data):
    return real_data / "rstudio_r_community_survey"


def test_google_forms_tsv_2018_gives_the_published_nps_of_72(rstudio):
    # SOURCES.md: 2018 NPS 72, reproducible; 1–10 scale, 61 blanks, 3,062 responses.
    [row] = metrics(rstudio / "Learning R Internet Survey - Form Responses 1.tsv", metric="nps", score=RECOMMEND_R,
                    scale=(1, 10))
    assert (row["n"], row["promoters"], row["detractors"]) == (3001, 2294, 130)
    assert round(row["value"]) == 72 and row["ci_low"] < row["value"] < row["ci_high"]


def test_the_2019_csv_and_xlsx_exports_agree(rstudio):
    # The same 1,838 responses as CSV (line breaks inside quoted comments) and XLSX (floats such as 10.0).
    csv_rows = metrics(rstudio / "2019 English R Community Survey Responses.csv", metric="nps", score=RECOMMEND_R,
                       scale=(1, 10))
    xlsx_rows = metrics(rstudio / "2019 English R Community Survey Responses.xlsx", metric="nps", score=RECOMMEND_R,
                        scale=(1, 10))
    assert csv_rows == xlsx_rows
    assert csv_rows[0]["n"] == 1838 - 43


def test_a_1_to_10_question_read_as_0_to_10_says_so(rstudio):
    with pytest.warns(UserWarning, match="No answer .* is 0"):
        metrics(rstudio / "Learning R Internet Survey - Form Responses 1.tsv", metric="nps", score=RECOMMEND_R)


def test_typeform_yes_no_recommendation_by_month(real_data):
    path = real_data / "freecodecamp_2016_new_coder_survey" / "2016 New Coders Survey Part 1.csv"
    rows = metrics(path, metric="mean", scale=(0, 1), score="Based on your experience, would you recommend this bootcamp to your friends?",
                   period="month", time="Submit Date (UTC)")
    assert sum(row["n"] for row in rows) == 939  # SOURCES.md: 939 non-blank answers
    assert [row["period"] for row in rows] == sorted(row["period"] for row in rows)


def test_a_value_outside_the_scale_names_the_row(real_data):
    path = real_data / "freecodecamp_2016_new_coder_survey" / "2016 New Coders Survey Part 1.csv"
    with pytest.raises(MetricError, match=r"value '168' in data row \d+, outside the 0–100"):
        metrics(path, metric="mean", scale=(0, 100), score="About how many hours do you spend learning each week?")


def test_parquet_and_dataframe_inputs_give_the_same_answer(rstudio, tmp_path):
    frame = pd.read_csv(rstudio / "Learning R Internet Survey - Form Responses 1.tsv", sep="\t", dtype=str)
    frame = frame[[RECOMMEND_R]]
    frame.to_parquet(tmp_path / "recommend.parquet")
    from_parquet = metrics(tmp_path / "recommend.parquet", metric="nps", score=RECOMMEND_R, scale=(1, 10))
    numbers = pd.DataFrame({"score": pd.to_numeric(frame[RECOMMEND_R])})
    from_frame = metrics(numbers, metric="nps", score="score", scale=(1, 10))
    assert from_parquet[0]["value"] == from_frame[0]["value"] and from_frame[0]["n"] == 3001

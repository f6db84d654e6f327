"""Each tool's real export, imported, gives the figures `voxpop metrics` gives on the same file: the dashboard's
rollup numbers (dashboard.metrics.survey_estimates), which the results page shows, with equal n, value and
interval. Choice questions, which `voxpop metrics` does not measure, are counted against the file itself."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from voxpop.cli import app
from voxpop.collection.models import Answer
from voxpop.dashboard.metrics import survey_estimates
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.merges import merged_choice_counts
from voxpop.imports.service import import_responses
from voxpop.surveys import service as surveys
from voxpop.surveys.models import Question, Survey, SurveyVersion

RSTUDIO = "rstudio_r_community_survey"
RECOMMEND_R = "How likely are you to recommend R to a colleague, friend, or family member?"
RECOMMEND_PYTHON = "How likely are you to recommend Python to a colleague, friend, or family member?"


def imported(db, path, key: str):
    export = open_export(path)
    mapping = detect_mapping(export)
    import_responses(db, export, mapping, survey_key=key)
    return mapping


def rollup_figures(db, key: str) -> dict[str, dict]:
    """question key -> the dashboard's estimate of it, as `voxpop metrics --format json` prints a row."""
    with db.read_connection() as connection:
        rows = survey_estimates(connection, min_base=30, survey=key)
    return {row.keys["question"]: {"metric": row.metric, "n": row.estimate.n, "value": row.estimate.value,
                                   "ci_low": row.estimate.ci_low, "ci_high": row.estimate.ci_high} for row in rows}


def metrics_on_file(path, metric: str, score: str, scale: str) -> dict:
    result = CliRunner().invoke(app, ["metrics", str(path), "--metric", metric, "--score", score, "--scale", scale,
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["rows"]
    return {name: row[name] for name in ("metric", "n", "value", "ci_low", "ci_high")}


def key_of(mapping, header: str) -> str:
    return next(column.key for column in mapping.columns if column.header == header)


def same(stored: dict, computed: dict) -> bool:
    return stored["n"] == computed["n"] and all(stored[name] == pytest.approx(computed[name], abs=1e-9)
                                                for name in ("value", "ci_low", "ci_high"))


@pytest.mark.parametrize("name", ["2019 English R Community Survey Responses.csv",
                                  "Learning R Internet Survey - Form Responses 1.tsv"])
def test_google_forms_nps_and_ratings_equal_voxpop_metrics_on_the_file(db, real_data, name):
    path = real_data / RSTUDIO / name
    mapping = imported(db, path, "r-survey")
    figures = rollup_figures(db, "r-survey")
    recommend = figures[key_of(mapping, RECOMMEND_R)]
    assert recommend["metric"] == "nps" and same(recommend, metrics_on_file(path, "nps", RECOMMEND_R, "1-10"))
    enjoy = next(column for column in mapping.columns if column.header.startswith("Please rate how much you enjoy using R"))
    assert enjoy.role == "rating" and enjoy.scale == (1, 5)
    assert same(figures[enjoy.key], metrics_on_file(path, "mean", enjoy.header, "1-5"))
    if name.startswith("2019"):
        python = figures[key_of(mapping, RECOMMEND_PYTHON)]
        assert python["n"] == 1838 - 823 and same(python, metrics_on_file(path, "nps", RECOMMEND_PYTHON, "1-10"))


def test_qualtrics_ratings_equal_voxpop_metrics_on_the_file_as_exported(db, real_data):
    path = real_data / "QualtricsTools" / "Long_Exhaustive_Sample_Survey.csv"
    mapping = imported(db, path, "qualtrics-sample")
    figures = rollup_figures(db, "qualtrics-sample")
    with path.open(newline="", encoding="utf-8") as handle:
        responses = list(csv.reader(handle))[3:]  # under Qualtrics' three header rows
    rated = [column for column in mapping.columns if column.role == "rating" and column.header.startswith("Q8_")]
    assert [column.scale for column in rated] == [(1, 3)] * 4
    for column in rated:
        computed = metrics_on_file(path, "mean", column.header, "1-3")
        assert computed["n"] == 31 - sum(1 for record in responses if not record[column.position].strip())
        assert same(figures[column.key], computed)


def choice_counts(db, key: str, question: str) -> dict[str, int]:
    with db.read() as db_session:
        return dict(db_session.execute(
            select(Answer.choice, func.count()).join(Question, Question.id == Answer.question_id)
            .join(SurveyVersion, SurveyVersion.id == Question.version_id).join(Survey, Survey.id == SurveyVersion.survey_id)
            .where(Survey.key == key, Question.key == question).group_by(Answer.choice)).all())


def test_surveymonkey_agreement_questions_are_ordered_scales_counted_as_the_file_says(db, real_data):
    path = real_data / "monkeyreadr" / "test-responses.csv"
    mapping = imported(db, path, "lead")
    with path.open(newline="") as handle:
        records = list(csv.reader(handle))[2:]
    with db.read() as db_session:
        definition = surveys.definition_of(surveys.get_by_key(db_session=db_session, key="lead").current_version)
    ordered = {question.key: [option.value for option in question.options] for question in definition.questions
               if question.ordered}
    assert ordered == {
        "to_what_extent_do_you_agree_with_the_following": ["Strongly disagree", "Disagree", "Disgree", "Agree",
                                                           "Strongly agree"],
        "to_what_extent_do_you_agree_with_this_statement": ["Agree", "Strongly agree"],
        "to_what_extent_do_you_agree_with_this_statement_2": ["Agree", "Aagree", "Strongly agree"],
    }
    for key in ordered:
        position = next(column.position for column in mapping.columns if column.key == key)
        in_file = Counter(record[position] for record in records if record[position])
        assert choice_counts(db, "lead", key) == in_file
    counts = {option: choice_counts(db, "lead", "to_what_extent_do_you_agree_with_the_following").get(option, 0)
              for option in ordered["to_what_extent_do_you_agree_with_the_following"]}
    assert merged_choice_counts(counts, {"Disgree": "Disagree"}) == {"Strongly disagree": 2, "Disagree": 2,
                                                                     "Agree": 11, "Strongly agree": 1}


def test_typeform_yes_no_questions_are_counted_as_the_file_says(db, real_data):
    path = real_data / "freecodecamp_2016_new_coder_survey" / "2016 New Coders Survey Part 1.csv"
    mapping = imported(db, path, "new-coders")
    figures = rollup_figures(db, "new-coders")
    assert figures == {}  # no rating scale in this survey: nothing for `voxpop metrics` to compare
    recommend = next(column for column in mapping.columns if column.header.startswith("Based on your experience"))
    assert recommend.role == "yes_no"
    with path.open(newline="", encoding="utf-8") as handle:
        values = Counter(record[recommend.position] for record in list(csv.reader(handle))[1:])
    assert choice_counts(db, "new-coders", recommend.key) == {"yes": values["1"], "no": values["0"]}
    assert values["1"] + values["0"] == 939  # SOURCES.md

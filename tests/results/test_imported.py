"""Imported surveys get results like live ones: real exports from Qualtrics, SurveyMonkey, Typeform and Google Forms
go in through the import service, and each scored question's headline equals `voxpop metrics FILE` on the file."""

from __future__ import annotations

import csv
import json
from datetime import date

import pytest
from typer.testing import CliRunner

from voxpop.cli import app
from voxpop.collection.filters import ResponseFilter
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.service import import_responses
from voxpop.results.service import survey_results

runner = CliRunner()
GOOGLE = "rstudio_r_community_survey/Learning R Internet Survey - Form Responses 1.tsv"
QUALTRICS = "QualtricsTools/Long_Exhaustive_Sample_Survey.csv"
SURVEYMONKEY = "monkeyreadr/test-responses.csv"
TYPEFORM = "freecodecamp_2016_new_coder_survey/2016 New Coders Survey Part 1.csv"


@pytest.fixture(scope="module")
def imported(_session_db, real_data):
    """Each export imported once per backend, with its mapping (to find a question's column); then emptied."""
    from tests.conftest import empty

    found = {}
    for number, name in enumerate((GOOGLE, QUALTRICS, SURVEYMONKEY, TYPEFORM)):
        export = open_export(real_data / name)
        mapping = detect_mapping(export)
        import_responses(_session_db, export, mapping, survey_key=f"real-{number}")
        found[name] = (f"real-{number}", {column.key: column.header for column in mapping.columns})
    yield _session_db, found
    empty(_session_db)


def results(db, key: str):
    with db.read_connection() as connection:
        return survey_results(connection, survey=key, response_filter=ResponseFilter(), zone="UTC", min_base=30,
                              today=date(2026, 12, 6))


def from_the_file(path, *, metric: str, column: str, scale: str) -> dict:
    result = runner.invoke(app, ["metrics", str(path), "--metric", metric, "--score", column, "--scale", scale,
                                 "--min-base", "30", "--format", "json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["rows"]
    return row


def assert_same(headline, row) -> None:
    shown = headline.estimate
    assert (shown.n, shown.value, shown.ci_low, shown.ci_high, shown.low_base) == \
        (row["n"], row["value"], row["ci_low"], row["ci_high"], row["low_base"])


def test_google_forms_nps_and_ratings_equal_the_files(imported, real_data):
    db, found = imported
    key, headers = found[GOOGLE]
    scored = [question for question in results(db, key).questions if question.headlines]
    assert {question.kind for question in scored} == {"nps", "rating"}
    for question in scored:
        metric = "nps" if question.kind == "nps" else "mean"
        row = from_the_file(real_data / GOOGLE, metric=metric, column=headers[question.key],
                            scale=f"{question.scale_min}-{question.scale_max}")
        assert_same(question.headlines[0], row)
    nps = next(question for question in scored if question.kind == "nps")
    assert (nps.headlines[0].estimate.n, round(nps.headlines[0].estimate.value)) == (3001, 72)  # SOURCES.md


def test_qualtrics_ratings_equal_the_file_without_its_two_extra_header_rows(imported, real_data, tmp_path):
    db, found = imported
    key, headers = found[QUALTRICS]
    # Qualtrics writes the question texts and import ids as two rows under the header; `voxpop metrics` reads plain
    # tables, so it reads the same answers from a copy without them.
    with open(real_data / QUALTRICS, encoding="utf-8-sig", newline="") as source:
        rows = list(csv.reader(source))
    plain = tmp_path / "plain.csv"
    with open(plain, "w", encoding="utf-8", newline="") as target:
        csv.writer(target).writerows([rows[0], *rows[3:]])
    scored = [question for question in results(db, key).questions if question.headlines]
    assert len(scored) >= 20
    for question in scored[:6]:
        row = from_the_file(plain, metric="mean", column=headers[question.key],
                            scale=f"{question.scale_min}-{question.scale_max}")
        assert_same(question.headlines[0], row)


def test_surveymonkey_and_typeform_choices_count_every_respondent(imported):
    db, found = imported
    for name, responses in ((SURVEYMONKEY, 16), (TYPEFORM, 15653)):
        shown = results(db, found[name][0])
        assert shown.responses == responses
        choices = [question for question in shown.questions if question.options]
        assert choices, name
        for question in choices:
            counted = sum(option.count for option in question.options)
            if question.kind == "single_choice":
                assert counted == question.answered, question.key
            else:
                assert counted >= question.answered, question.key
    monkey = results(db, found[SURVEYMONKEY][0])
    labels = {option.label for question in monkey.questions for option in question.options}
    assert {"Disgree", "Aagree"} <= labels  # as the file says, until someone merges them

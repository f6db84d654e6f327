"""Every real survey export in the real-data folder goes into the store, as the file says (read in place)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from voxpop.collection.models import Answer, Response, response_attributes
from voxpop.dashboard.metrics import survey_estimates
from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.service import import_responses
from voxpop.surveys.models import Question, Survey

EXPORTS = {  # file in the real-data folder: (format, responses stored)
    "qualtRics/sample.csv": ("qualtrics", 1),
    "qualtRics/sample_legacy.csv": ("qualtrics-legacy", 1),
    "QualtricsTools/No_Basis_for_Evaluation (Legacy).csv": ("qualtrics-legacy", 15),
    "QualtricsTools/No_Basis_for_Evaluation (Insights).csv": ("qualtrics", 15),
    "QualtricsTools/Long_Exhaustive_Sample_Survey.csv": ("qualtrics", 31),
    "QualtricsTools/Questions_with_Text_Entry_Components.csv": ("qualtrics", 15),
    "QualtricsTools/Test_Survey_for_Coded_Comments.csv": ("qualtrics", 10),
    "QualtricsTools/Better_Sample_Survey.csv": ("qualtrics", 10),
    "monkeyreadr/test-responses.csv": ("surveymonkey", 16),
    "rstudio_r_community_survey/Learning R Internet Survey - Form Responses 1.tsv": ("googleforms", 3062),
    "rstudio_r_community_survey/Learning R Internet Survey (Spanish Version) - Form Responses 1.tsv": ("googleforms", 295),
    "rstudio_r_community_survey/2019 English R Community Survey Responses.csv": ("googleforms", 1838),
    "rstudio_r_community_survey/2019 English R Community Survey Responses.xlsx": ("googleforms", 1838),
    "rstudio_r_community_survey/2019 Spanish R Community Survey Responses.csv": ("googleforms", 338),
    "freecodecamp_2016_new_coder_survey/2016 New Coders Survey Part 1.csv": ("typeform", 15653),
}


def imported(db, path: Path, key: str):
    export = open_export(path)
    return export, import_responses(db, export, detect_mapping(export), survey_key=key)


@pytest.fixture(scope="module")
def stored(_session_db, real_data):
    """Each export imported once per backend (twice: the second adds nothing), then the store emptied."""
    from tests.conftest import empty

    summaries = {}
    for number, name in enumerate(EXPORTS):
        export, first = imported(_session_db, real_data / name, f"real-{number}")
        _, second = imported(_session_db, real_data / name, f"real-{number}")
        summaries[name] = (export, first, second, f"real-{number}")
    yield _session_db, summaries
    empty(_session_db)


@pytest.mark.parametrize("name", EXPORTS)
def test_each_export_is_stored_once_and_only_once(stored, name):
    _, summaries = stored
    export, first, second, _ = summaries[name]
    expected_format, responses = EXPORTS[name]
    assert (export.format, first.new, first.rejected) == (expected_format, responses, 0)
    assert (second.new, second.present) == (0, first.rows)


def rows_of(db, key, statement):
    with db.read() as db_session:
        return db_session.execute(statement.join(Survey, Survey.id == Response.survey_id).where(Survey.key == key)).all()


def test_the_2018_recommend_question_keeps_its_1_to_10_scale_and_gives_the_published_nps(stored):
    db, summaries = stored
    key = summaries["rstudio_r_community_survey/Learning R Internet Survey - Form Responses 1.tsv"][3]
    with db.read() as db_session:
        scale = db_session.execute(select(Question.kind, Question.scale_min, Question.scale_max)
                                   .join(Survey.versions).join(Question).where(Survey.key == key,
                                                                                Question.kind == "nps")).one()
    assert tuple(scale) == ("nps", 1, 10)
    with db.read_connection() as connection:
        [nps] = [row for row in survey_estimates(connection, min_base=30, survey=key) if row.metric == "nps"]
    assert (nps.estimate.n, round(nps.estimate.value)) == (3001, 72)  # SOURCES.md: NPS 72, 61 blanks


def test_surveymonkey_misspelt_options_are_kept_and_times_are_read_as_am_pm(stored):
    db, summaries = stored
    key = summaries["monkeyreadr/test-responses.csv"][3]
    choices = {choice for (choice,) in rows_of(db, key, select(Answer.choice).join(Response, Answer.response_id == Response.id))}
    assert {"Disgree", "Aagree"} <= choices
    times = sorted(moment for (moment,) in rows_of(db, key, select(Response.submitted_at)))
    assert all(moment.year >= 2022 for moment in times) and len(times) == 16


def test_qualtrics_legacy_and_insights_exports_of_the_same_responses_differ_by_the_documented_two_hours(stored):
    db, summaries = stored
    legacy = dict(rows_of(db, summaries["QualtricsTools/No_Basis_for_Evaluation (Legacy).csv"][3],
                          select(Response.idempotency_key, Response.submitted_at)))
    insights = dict(rows_of(db, summaries["QualtricsTools/No_Basis_for_Evaluation (Insights).csv"][3],
                            select(Response.idempotency_key, Response.submitted_at)))
    assert set(legacy) == set(insights) and len(legacy) == 15  # keyed by the same ResponseIDs
    assert {insights[key] - legacy[key] for key in legacy} == {timedelta(hours=2)}


def test_typeform_network_ids_that_look_like_numbers_stay_text(stored):
    db, summaries = stored
    key = summaries["freecodecamp_2016_new_coder_survey/2016 New Coders Survey Part 1.csv"][3]
    values = [value for (value,) in rows_of(db, key, select(response_attributes.c.value).join(Response, response_attributes.c.response_id == Response.id)
                                             .where(response_attributes.c.name == "network_id"))]
    assert len(values) == 15653 and all(len(value) == 10 for value in values)
    assert sum(1 for value in values if "e" in value and value.replace("e", "").isdigit()) >= 100


def test_qualtrics_seen_but_unanswered_is_a_skipped_answer_not_a_value(stored):
    db, summaries = stored
    key = summaries["QualtricsTools/Questions_with_Text_Entry_Components.csv"][3]
    values = rows_of(db, key, select(Answer.score, Answer.choice, Answer.text).join(Response, Answer.response_id == Response.id))
    assert values and all("-99" not in (str(score), choice, text) for score, choice, text in values)

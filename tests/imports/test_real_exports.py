"""Every survey export in the real-data folder read, mapped and converted (read in place, never copied)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from voxpop.imports.formats import open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.rows import ParsedResponse, reader

RECOMMEND_R = "how_likely_are_you_to_recommend_r_to_a"


@pytest.fixture(scope="module")
def rstudio(real_data):
    return real_data / "rstudio_r_community_survey"


@pytest.fixture(scope="module")
def qualtrics_tools(real_data):
    return real_data / "QualtricsTools"


def imported(path: Path, **options):
    """(export, mapping, responses), asserting that no row is refused."""
    export = open_export(path)
    mapping = detect_mapping(export, **options)
    read = reader(mapping)
    responses = [read(row, cells) for row, cells in export.rows()]
    refused = [str(r) for r in responses if not isinstance(r, ParsedResponse)]
    assert refused == []
    return export, mapping, responses


def column(mapping, key):
    return next(c for c in mapping.columns if c.key == key)


def test_qualtrics_current_export_with_german_labels(real_data):
    export, mapping, [response] = imported(real_data / "qualtRics" / "sample.csv")
    assert export.format == "qualtrics" and len(export.columns) == 20
    assert export.columns[9].label == "Nachname des Empfängers"
    assert response.row == 4 and response.source_id == "R_2YPOQ602ER1jkf1"
    assert response.started_at == datetime(2017, 7, 18, 8, 28, 9, tzinfo=UTC)
    assert response.submitted_at == datetime(2017, 7, 18, 8, 28, 48, tzinfo=UTC)
    assert response.answers == {"q1": "2", "q2": "Hello World!"}
    assert response.attributes == {"channel": "anonymous", "language": "DE"} and response.customer == {}
    assert column(mapping, "q2_topics").role == "ignore"  # the empty Text-iQ column


def test_qualtrics_legacy_export_of_the_same_response(real_data):
    export, _, [response] = imported(real_data / "qualtRics" / "sample_legacy.csv")
    assert (export.format, export.encoding, len(export.columns)) == ("qualtrics-legacy", "utf-8-sig", 15)
    assert any("dropped 1 unnamed column" in warning for warning in export.warnings)
    assert response.source_id == "R_2YPOQ602ER1jkf1"
    assert response.submitted_at == datetime(2017, 7, 18, 8, 28, 48, tzinfo=UTC)
    assert response.answers["q2"] == "Hello World!"


def test_qualtrics_tools_legacy_and_insights_exports_of_the_same_15_responses(qualtrics_tools):
    _, legacy_mapping, legacy = imported(qualtrics_tools / "No_Basis_for_Evaluation (Legacy).csv")
    insights_export, insights_mapping, insights = imported(qualtrics_tools / "No_Basis_for_Evaluation (Insights).csv")
    assert insights_export.columns[12].import_id == "QID2-1"  # the single-quoted 2016 ImportId row
    assert [r.source_id for r in legacy] == [r.source_id for r in insights] and len(legacy) == 15
    # Each file's own clock: the Insights export says 14:27:08 where the legacy one says 12:27:08.
    assert legacy[0].submitted_at == datetime(2016, 6, 24, 12, 27, 8, tzinfo=UTC)
    assert insights[0].submitted_at == datetime(2016, 6, 24, 14, 27, 8, tzinfo=UTC)
    # "No basis" (-1) and "never had" (-2) are real answer codes, not missing values.
    assert column(insights_mapping, "q4_1").options == ["-2", "-1", "1", "2", "3"]
    assert insights[0].answers["q2"] == ["Squash are tolerable", "Squash cause me anguish", "No basis for evaluation"]
    assert legacy[0].answers["q1"] == insights[0].answers["q1"] == "3"
    assert column(legacy_mapping, "q2").role == "multi_choice"


def test_qualtrics_minus_99_means_seen_but_not_answered(qualtrics_tools):
    path = qualtrics_tools / "Questions_with_Text_Entry_Components.csv"
    export, _, responses = imported(path)
    cells = Counter(cell for _, row in export.rows() for cell in row)
    assert cells["-99"] == 12 and len(responses) == 15
    assert not any(value == "-99" for r in responses for value in r.answers.values())


@pytest.mark.parametrize("name", ["Long_Exhaustive_Sample_Survey.csv", "Test_Survey_for_Coded_Comments.csv",
                                  "Better_Sample_Survey.csv"])
def test_other_qualtrics_tools_exports(qualtrics_tools, name):
    export, _mapping, responses = imported(qualtrics_tools / name)
    assert export.format == "qualtrics"
    assert len(responses) == {"Long_Exhaustive_Sample_Survey.csv": 31, "Test_Survey_for_Coded_Comments.csv": 10,
                              "Better_Sample_Survey.csv": 10}[name]
    assert all(r.source_id.startswith("R_") for r in responses)


def test_surveymonkey_export_with_misspelt_options_and_comment_boxes(real_data):
    export, mapping, responses = imported(real_data / "monkeyreadr" / "test-responses.csv")
    assert export.format == "surveymonkey" and len(responses) == 16
    first = responses[0]
    assert (first.row, first.source_id, first.attributes) == (3, "19085864118", {"collector": "414754235"})
    assert first.submitted_at == datetime(2023, 7, 31, 16, 29, 8, tzinfo=UTC)  # 04:29:08 PM
    agree = column(mapping, "to_what_extent_do_you_agree_with_the_following")
    assert (agree.role, agree.ordered) == ("choice", True)
    assert agree.options == ["Strongly disagree", "Disagree", "Disgree", "Agree", "Strongly agree"]
    feedback = column(mapping, "to_what_extent_do_you_agree_with_this_statement_2")
    assert (feedback.ordered, feedback.options) == (True, ["Agree", "Aagree", "Strongly agree"])
    flagged = [warning for warning in mapping.warnings if "misspelling" in warning]
    assert len(flagged) == 2 and "'Disgree' looks like a misspelling of 'Disagree'" in flagged[0]
    assert {response.answers.get(feedback.key) for response in responses} == {None, "Aagree", "Strongly agree"}
    comment = column(mapping, "to_what_extent_do_you_agree_with_this_statement_comment")
    assert comment.role == "text" and comment.label.endswith("Is there anything else you would like to say about this?")
    assert responses[1].answers["to_what_extent_do_you_agree_with_this_statement_comment"].startswith("I do have an")


def test_google_forms_2018_tsv_with_a_1_to_10_recommend_question(rstudio):
    _, mapping, responses = imported(rstudio / "Learning R Internet Survey - Form Responses 1.tsv")
    assert len(responses) == 3062
    nps = column(mapping, RECOMMEND_R)
    assert (nps.role, nps.scale, nps.cuts) == ("nps", (1, 10), (6, 9))
    scores = [r.answers[RECOMMEND_R] for r in responses if RECOMMEND_R in r.answers]
    assert len(scores) == 3062 - 61
    # The published NPS of 72: 2,294 promoters (9–10) and 130 detractors (1–6).
    assert (sum(s >= 9 for s in scores), sum(s <= 6 for s in scores)) == (2294, 130)
    assert responses[0].submitted_at == datetime(2018, 12, 6, 11, 57, 58, tzinfo=UTC)
    enjoy = column(mapping, "please_rate_how_much_you_enjoy_using_r_on_a")
    assert (enjoy.role, enjoy.scale) == ("rating", (1, 5))
    assert column(mapping, "column_28").role == "ignore"  # the empty, unnamed column
    assert "Visualization" in column(mapping, "what_applications_do_you_use_r_for_most_check").options


def test_google_forms_spanish_tsv_with_repeated_headers(rstudio):
    export, mapping, responses = imported(rstudio / "Learning R Internet Survey (Spanish Version) - Form Responses 1.tsv")
    assert len(responses) == 295 and len({c.key for c in mapping.columns}) == len(export.columns) == 44


def test_google_forms_2019_csv_and_xlsx_hold_the_same_responses(rstudio):
    _, csv_mapping, from_csv = imported(rstudio / "2019 English R Community Survey Responses.csv")
    _, xlsx_mapping, from_xlsx = imported(rstudio / "2019 English R Community Survey Responses.xlsx")
    assert len(from_csv) == len(from_xlsx) == 1838
    assert column(csv_mapping, RECOMMEND_R).scale == column(xlsx_mapping, RECOMMEND_R).scale == (1, 10)
    assert [r.answers.get(RECOMMEND_R) for r in from_csv] == [r.answers.get(RECOMMEND_R) for r in from_xlsx]
    assert sum(RECOMMEND_R in r.answers for r in from_csv) == 1838 - 43
    # The CSV rounds to the second; the XLSX keeps the milliseconds.
    assert from_csv[0].submitted_at == datetime(2019, 12, 13, 9, 50, 30, tzinfo=UTC)
    assert from_xlsx[0].submitted_at == datetime(2019, 12, 13, 9, 50, 29, 878000, tzinfo=UTC)
    # Line breaks inside quoted comments keep each response one row.
    assert any("\n" in value for r in from_csv for value in r.answers.values() if isinstance(value, str))


def test_google_forms_2019_spanish_csv(rstudio):
    _, _, responses = imported(rstudio / "2019 Spanish R Community Survey Responses.csv")
    assert len(responses) == 338


def test_typeform_export_keeps_network_ids_as_text(real_data):
    export, mapping, responses = imported(real_data / "freecodecamp_2016_new_coder_survey" / "2016 New Coders Survey Part 1.csv")
    assert export.format == "typeform" and len(responses) == 15653
    assert responses[0].source_id == "995106cd710ec2af0e371cbe5e1f68fb"
    assert responses[0].submitted_at == datetime(2016, 3, 29, 21, 23, 43, tzinfo=UTC)
    network_ids = [r.attributes["network_id"] for r in responses]
    assert sum(bool(re.fullmatch(r"\d+e\d+", n)) for n in network_ids) == 119 and "809298e033" in network_ids
    assert sum(n.isdigit() for n in network_ids) == 141 and "2096874299" in network_ids
    assert [c.key for c in mapping.columns if c.header == "Other"] == ["other", "other_2", "other_3", "other_4"]
    bootcamp = column(mapping, "based_on_your_experience_would_you_recommend")
    assert bootcamp.role == "yes_no"  # a 0/1 answer, not an NPS question
    assert sum(bootcamp.key in r.answers for r in responses) == 939

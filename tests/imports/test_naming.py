"""How an import names what it finds: survey keys and titles from file names, the layout in words, counts in
their number, question texts with HTML entities decoded, and the sample rows as question → answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.imports.test_formats import workbook, write
from voxpop.core.wording import counted
from voxpop.imports.formats import ImportParameterError, layout_name, open_export
from voxpop.imports.mapping import detect_mapping
from voxpop.imports.samples import sample_table
from voxpop.imports.service import ImportSummary, checked_survey_key, suggested_title, survey_key_for

RSTUDIO = "rstudio_r_community_survey"


@pytest.mark.parametrize(("name", "title", "key"), [
    (f"{RSTUDIO}/2019 English R Community Survey Responses.csv", "English R Community Survey 2019",
     "english-r-community-survey-2019"),
    (f"{RSTUDIO}/2019 Spanish R Community Survey Responses.csv", "Spanish R Community Survey 2019",
     "spanish-r-community-survey-2019"),
    # The XLSX download of the same form hashes its rows differently: it must not fall into the CSV's survey.
    (f"{RSTUDIO}/2019 English R Community Survey Responses.xlsx", "English R Community Survey 2019",
     "english-r-community-survey-2019-xlsx"),
    (f"{RSTUDIO}/Learning R Internet Survey - Form Responses 1.tsv", "Learning R Internet Survey",
     "learning-r-internet-survey"),
    (f"{RSTUDIO}/Learning R Internet Survey (Spanish Version) - Form Responses 1.tsv",
     "Learning R Internet Survey (Spanish Version)", "learning-r-internet-survey-spanish-version"),
    ("freecodecamp_2016_new_coder_survey/2016 New Coders Survey Part 1.csv", "New Coders Survey Part 1 2016",
     "new-coders-survey-part-1-2016"),
    ("QualtricsTools/No_Basis_for_Evaluation (Legacy).csv", "No Basis for Evaluation (Legacy)",
     "no-basis-for-evaluation-legacy"),
    ("monkeyreadr/test-responses.csv", "test", "test"),
])
def test_real_file_names_give_readable_keys_and_titles(real_data, name, title, key):
    export = open_export(real_data / name)
    assert (suggested_title(export.path.name), survey_key_for(export)) == (title, key)


def test_keys_keep_what_tells_files_apart_and_fall_back_to_the_file_name(tmp_path):
    rows = [["Timestamp", "Q"], ["1/2/2024 10:00:00", "yes"]]
    keys = [survey_key_for(open_export(write(tmp_path, name, rows))) for name in
            ("NPS_Q1_2024.csv", "NPS_Q2_2024.csv", "2024-03-01 NPS export.csv", "export.csv", "2019.csv",
             "Umfrage Ärzte.csv")]
    assert keys == ["nps-q1-2024", "nps-q2-2024", "nps-2024-03-01", "export", "s-2019", "umfrage-arzte"]


def test_a_survey_key_that_is_not_one_is_refused_with_what_a_key_may_hold():
    assert checked_survey_key("r-survey_2019") == "r-survey_2019"
    with pytest.raises(ImportParameterError, match="lower-case letters, digits, - and _") as refused:
        checked_survey_key("R Survey 2019")
    assert refused.value.parameter == "survey_key"


def test_the_layout_is_named_with_the_file_s_kind(real_data, tmp_path):
    xlsx = open_export(real_data / RSTUDIO / "2019 English R Community Survey Responses.xlsx")
    assert layout_name(xlsx) == "a Google Forms export (XLSX)"
    tsv = open_export(real_data / RSTUDIO / "Learning R Internet Survey - Form Responses 1.tsv")
    assert layout_name(tsv) == "a Google Forms export (TSV, UTF-8)"
    sheet = open_export(workbook(tmp_path, "scores.xlsx", [["when", "score"], ["2024-01-02", 4]]))
    assert layout_name(sheet) == "a table with one header row (XLSX)"  # not "a csv export"


def test_counts_are_in_their_number(real_data):
    assert [counted(n, "row") for n in (0, 1, 2, 1838)] == ["0 rows", "1 row", "2 rows", "1,838 rows"]
    summary = ImportSummary("sample", True, "qualtrics", rows=1, new=1, dry_run=True)
    assert summary.sentence() == ("1 row read: would add 1 new response to survey 'sample', 0 already present, "
                                  "0 rejected")
    legacy = open_export(real_data / "qualtRics" / "sample_legacy.csv")  # a comma ends every line
    assert any("dropped 1 unnamed column at the end" in warning for warning in legacy.warnings)


def test_html_entities_in_question_texts_and_options_are_decoded(real_data, tmp_path):
    export = open_export(real_data / "QualtricsTools" / "Long_Exhaustive_Sample_Survey.csv")
    mapping = detect_mapping(export)
    options = {option for column in mapping.columns for option in column.options}
    assert "Chocolate with >80% cocoa" in options and not any("&gt;" in option for option in options)
    labels = [column.label for column in export.columns if column.label]
    assert any(">80% cocoa" in label for label in labels) and not any("&gt;" in label for label in labels)
    path = write(tmp_path, "f.csv", [["Timestamp", "Name", "Team", "Fish &amp; chips &lt;3?"],
                                     ["1/2/2024 10:00:00", "Ann", "A", "a &amp; b"]])
    column = open_export(path).columns[3]
    assert (column.header, column.label) == ("Fish &amp; chips &lt;3?", "Fish & chips <3?")  # the tag stays as given


def test_the_samples_read_as_a_question_per_line_with_each_row_s_answer():
    samples = [
        {"row": 3, "submitted_at": "2023-07-31T16:29:08+00:00", "answers": {"agree": "Disgree", "tools": ["R", "Python"]},
         "attributes": {"collector": "41"}, "customer": {}},
        {"row": 4, "submitted_at": "2023-06-30T16:11:15+00:00", "answers": {"comment": "x" * 200},
         "attributes": {}, "customer": {"email": "a@example.com"}},
    ]
    questions = {"agree": "I feel equipped", "unanswered": "Never shown", "tools": "Which tools?", "comment": "Why?"}
    lines = sample_table(samples, questions)
    assert lines[:3] == [("Submitted (UTC)", ["2023-07-31 16:29:08", "2023-06-30 16:11:15"]),
                         ("I feel equipped", ["Disgree", ""]), ("Which tools?", ["R; Python", ""])]
    assert lines[3][0] == "Why?" and len(lines[3][1][1]) == 120 and lines[3][1][1].endswith("…")
    assert lines[4:] == [("Attribute collector", ["41", ""]), ("Customer email", ["", "a@example.com"])]


def test_no_survey_key_comes_from_the_temporary_folder(tmp_path):
    path = Path(write(tmp_path, "Kundenumfrage März.csv", [["Timestamp", "Q"], ["1/2/2024 10:00:00", "yes"]]))
    assert survey_key_for(open_export(path)) == "kundenumfrage-marz"

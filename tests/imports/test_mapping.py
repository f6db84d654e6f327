"""What each column becomes: scales with their evidence, choices and texts, metadata, and mapping-file overrides."""

from __future__ import annotations

import pickle

import pytest

from tests.imports.test_formats import write
from voxpop.imports.formats import ImportFileError, open_export
from voxpop.imports.mapping import (
    apply_overrides,
    describe,
    detect_mapping,
    load_overrides,
)


def mapped(tmp_path, header: list[str], rows: list[list[str]], **options):
    mapping = detect_mapping(open_export(write(tmp_path, "f.csv", [header, *rows])), **options)
    return mapping, {column.header: column for column in mapping.columns}


def times(n: int) -> list[str]:
    return [f"2024-01-{day % 28 + 1:02d} 10:00:00" for day in range(n)]


def test_nps_on_0_to_10(tmp_path):
    rows = [[t, str(i % 11)] for i, t in enumerate(times(30))]
    _mapping, columns = mapped(tmp_path, ["Submitted At", "How likely are you to recommend us?"], rows)
    nps = columns["How likely are you to recommend us?"]
    assert (nps.role, nps.scale, nps.cuts, nps.key) == ("nps", (0, 10), (6, 9), "how_likely_are_you_to_recommend_us")
    assert columns["Submitted At"].role == "submitted_at"


def test_a_1_to_10_recommend_question_keeps_its_scale_and_is_reported(tmp_path):
    rows = [[t, str(i % 10 + 1)] for i, t in enumerate(times(40))]
    mapping, columns = mapped(tmp_path, ["Timestamp", "Would you recommend R to a friend?"], rows)
    nps = columns["Would you recommend R to a friend?"]
    assert (nps.role, nps.scale, nps.cuts) == ("nps", (1, 10), (6, 9))
    assert any("1–10 scale" in warning and "detractors 1–6" in warning for warning in mapping.warnings)


def test_a_stated_scale_wins_over_the_answers_seen(tmp_path):
    rows = [[t, str(i % 3 + 7)] for i, t in enumerate(times(20))]
    _, columns = mapped(tmp_path, ["Timestamp", "On a scale from 0-10, how likely are you to recommend us?"], rows)
    assert columns["On a scale from 0-10, how likely are you to recommend us?"].scale == (0, 10)


@pytest.mark.parametrize(("question", "values", "role", "scale", "ces_version"), [
    ("How satisfied were you with the visit?", "12345", "csat", (1, 5), None),
    ("How much effort did you personally have to put forth?", "12345", "ces", (1, 5), "1.0"),
    ("The company made it easy for me to handle my issue", "1234567", "ces", (1, 7), "2.0"),
    ("How easy was it to find what you needed?", "12345", "rating", None, None),
    ("Please rate how much you enjoy using R on a scale of 1 to 5", "345", "rating", (1, 5), None),
    ("Please rate our delivery", "2345", "rating", (1, 5), None),
    ("Did you buy?", "01", "yes_no", None, None),
])
def test_scored_questions_by_wording_and_range(tmp_path, question, values, role, scale, ces_version):
    rows = [[t, values[i % len(values)]] for i, t in enumerate(times(30))]
    _, columns = mapped(tmp_path, ["Timestamp", question], rows)
    column = columns[question]
    assert (column.role, column.ces_version) == (role, ces_version)
    if scale:
        assert column.scale == scale
    elif role == "rating":  # "easy" on 1–5 is not CES 1.0, which asks about effort: a rating on the seen scale
        assert column.scale == (1, 5)


def test_likert_labels_become_an_ordered_scale_keeping_their_misspellings_next_to_the_level_they_mean(tmp_path):
    answers = ["Agree", "Disgree", "Strongly agree", "Aagree"]
    rows = [[t, answers[i % 4]] for i, t in enumerate(times(20))]
    mapping, columns = mapped(tmp_path, ["Timestamp", "I feel more equipped"], rows)
    column = columns["I feel more equipped"]
    assert (column.role, column.ordered) == ("choice", True)
    assert column.options == ["Disagree", "Disgree", "Agree", "Aagree", "Strongly agree"]
    [flagged] = [warning for warning in mapping.warnings if "misspelling" in warning]
    assert "'Disgree' looks like a misspelling of 'Disagree'" in flagged and "'Aagree'" in flagged
    assert flagged.parameter == "merge_option" and "question i_feel_more_equipped" in flagged
    assert "in this order: Disagree, Disgree, Agree" in describe(mapping)[1]["detail"]


def test_a_choice_that_is_not_an_agreement_scale_keeps_the_order_of_its_answers(tmp_path):
    answers = ["Yes", "Not sure", "No"]
    rows = [[t, answers[i % 3]] for i, t in enumerate(times(12))]
    _, columns = mapped(tmp_path, ["Timestamp", "Would you come again?"], rows)
    column = columns["Would you come again?"]
    assert (column.role, column.ordered, column.options) == ("choice", False, answers)


def test_a_note_that_many_columns_share_is_given_once(tmp_path):
    header = ["Timestamp", *(f"Rate item {n}" for n in range(1, 7)), "Empty 1", "Empty 2"]
    rows = [[t, *[str(i % 3 + 1)] * 6, "", ""] for i, t in enumerate(times(12))]
    mapping, _ = mapped(tmp_path, header, rows)
    scale_notes = [warning for warning in mapping.warnings if "scale is taken from the answers" in warning]
    assert scale_notes == ["columns 'Rate item 1', 'Rate item 2', 'Rate item 3' and 3 more: the 1–3 scale is taken from "
                           "the answers; state the scale in the mapping file if the question offered more"]
    assert "columns 'Empty 1' and 'Empty 2': empty in every row, so not imported" in mapping.warnings


def test_varied_long_answers_are_text(tmp_path):
    rows = [[t, f"comment number {i}, with words"] for i, t in enumerate(times(20))]
    _, columns = mapped(tmp_path, ["Timestamp", "Anything else?"], rows)
    assert columns["Anything else?"].role == "text"


def test_google_forms_multi_select_joined_with_comma_space(tmp_path):
    answers = ["Excel, Python", "Excel", "Python", "Online course (e.g., Coursera, edX)", "SPSS, Excel"]
    rows = [[f"1/{i % 28 + 1}/2024 10:00:00", answers[i % 5]] for i in range(30)]
    path = write(tmp_path, "g.csv", [["Timestamp", "Tools (check all that apply)"], *rows])
    mapping = detect_mapping(open_export(path))
    column = mapping.columns[1]
    assert column.role == "multi_choice"
    assert column.options == ["Excel", "Python", "Online course (e.g., Coursera, edX)", "SPSS"]


def test_single_choices_whose_options_hold_commas_are_not_multi_selects(tmp_path):
    answers = ["Rarely -- I know how, but seldom do", "Never", "Often"]
    rows = [[f"1/{i % 28 + 1}/2024 10:00:00", answers[i % 3]] for i in range(30)]
    path = write(tmp_path, "g.csv", [["Timestamp", "How often?"], *rows])
    assert detect_mapping(open_export(path)).columns[1].role == "choice"


def test_qualtrics_metadata_missing_code_and_check_all_columns(tmp_path):
    head = [["ResponseId", "EndDate", "IPAddress", "RecipientEmail", "Q1", "Q2_1", "Q2_2", "Q2_3"],
            ["Response ID", "End Date", "IP Address", "Email", "How satisfied are you?", "Pick-Apples", "Pick-Pears",
             "Pick-Plums"],
            ['{"ImportId":"_recordId"}', '{"ImportId":"endDate"}', '{"ImportId":"ipAddress"}',
             '{"ImportId":"recipientEmail"}', '{"ImportId":"QID1"}', '{"ImportId":"QID2_1"}', '{"ImportId":"QID2_2"}',
             '{"ImportId":"QID2_3"}']]
    rows = [[f"R_{i}", t, "1.2.3.4", "", ["4", "5", "-99"][i % 3], "1", "" if i % 2 else "1", ""]
            for i, t in enumerate(times(12))]
    mapping = detect_mapping(open_export(write(tmp_path, "q.csv", [*head, *rows])))
    by_header = {column.header: column for column in mapping.columns}
    assert [by_header[name].role for name in ("ResponseId", "EndDate", "IPAddress", "RecipientEmail")] == [
        "response_id", "submitted_at", "ignore", "customer_email"]
    assert (by_header["Q1"].role, by_header["Q1"].missing) == ("csat", frozenset({"-99"}))
    assert [(by_header[h].role, by_header[h].key, by_header[h].options) for h in ("Q2_1", "Q2_2")] == [
        ("multi_choice", "q2", ["Apples"]), ("multi_choice", "q2", ["Pears"])]
    assert by_header["Q2_3"].role == "ignore"  # nobody picked plums: empty in every row, and said so
    assert "column 'Q2_3': empty in every row, so not imported" in mapping.warnings


def test_limesurvey_codes_and_subquestion_options(tmp_path):
    header = ["id", "submitdate", "lastpage", "startlanguage", "seed", "Q1", "Q2[SQ001]", "Q2[SQ002]"]
    rows = [[str(i), t, "2", "de", "9", str(i % 11), "Y", "" if i % 2 else "Y"] for i, t in enumerate(times(20), 1)]
    _, columns = mapped(tmp_path, header, rows)
    assert columns["id"].role == "response_id" and columns["submitdate"].role == "submitted_at"
    assert (columns["startlanguage"].role, columns["startlanguage"].key) == ("attribute", "language")
    assert [(columns[h].key, columns[h].options) for h in ("Q2[SQ001]", "Q2[SQ002]")] == [
        ("q2", ["SQ001"]), ("q2", ["SQ002"])]


def test_repeated_and_empty_headers_get_unique_keys(tmp_path):
    rows = [[t, "a", f"x{i}", "", f"y{i}"] for i, t in enumerate(times(10))]
    mapping, _ = mapped(tmp_path, ["Timestamp", "Other", "Other ", "", "Other"], rows)
    assert [column.key for column in mapping.columns] == ["submitted_at", "other", "other_2", "column_4", "other_3"]


def test_ids_that_look_like_numbers_are_never_numbers(tmp_path):
    rows = [[t, ["702979e085", "1e1234", "0012"][i % 3]] for i, t in enumerate(times(9))]
    _, columns = mapped(tmp_path, ["Timestamp", "Code"], rows)
    assert columns["Code"].role == "choice" and columns["Code"].options == ["702979e085", "1e1234", "0012"]


def test_without_a_known_time_column_the_first_column_of_times_is_taken_and_said(tmp_path):
    mapping, columns = mapped(tmp_path, ["When", "Score"], [[t, "1"] for t in times(5)])
    assert (columns["When"].role, columns["When"].time_format) == ("submitted_at", "ISO 8601")
    assert any("taken as the submit time" in warning for warning in mapping.warnings)


def test_describe_lists_every_column(tmp_path):
    mapping, _ = mapped(tmp_path, ["Timestamp", "How likely are you to recommend us?"],
                        [[t, str(i % 11)] for i, t in enumerate(times(22))])
    described = describe(mapping)
    assert described[1]["scale"] == "0–10" and described[1]["role"] == "nps"
    assert described[0]["time_zone"] == "UTC" and described[0]["time_format"] == "ISO 8601"


def test_times_without_a_zone_are_read_as_utc_with_advice_to_give_theirs(tmp_path):
    rows = [[t, "1"] for t in times(5)]
    [advice] = [warning for warning in mapped(tmp_path, ["Timestamp", "Score"], rows)[0].warnings if "UTC" in warning]
    assert advice.parameter == "timezone" and "--" not in advice  # each interface names its own control
    assert pickle.loads(pickle.dumps(advice)).parameter == "timezone"  # a mapping crosses to the parsing process
    berlin, _ = mapped(tmp_path, ["Timestamp", "Score"], rows, timezone="Europe/Berlin")
    assert not any("UTC" in warning for warning in berlin.warnings)


def test_an_unknown_timezone_is_refused(tmp_path):
    with pytest.raises(ImportFileError, match="unknown time zone 'Mars/Base'"):
        mapped(tmp_path, ["Timestamp"], [[t] for t in times(2)], timezone="Mars/Base")


# --- the mapping file -------------------------------------------------------------------------------------------

def overrides_from(tmp_path, text: str) -> dict:
    (path := tmp_path / "mapping.yaml").write_text(text, encoding="utf-8")
    return load_overrides(path)


def test_overrides_change_roles_scales_and_keys(tmp_path):
    path = write(tmp_path, "f.csv", [["Timestamp", "Score", "Plan", "Other", "Other"],
                                     *[[t, str(i % 10 + 1), "Pro", "a", "b"] for i, t in enumerate(times(20))]])
    export = open_export(path)
    overrides = overrides_from(tmp_path, """
timezone: Europe/Berlin
columns:
  Score: {role: nps, key: recommend, scale: [1, 10]}
  Plan: {role: choice, options: [Yes, No, Pro]}
  other_2: ignore
  2: {label: "How likely?"}
""")
    mapping = apply_overrides(detect_mapping(export), overrides, export)
    score, plan = mapping.columns[1], mapping.columns[2]
    assert (score.role, score.key, score.scale, score.cuts, score.label) == ("nps", "recommend", (1, 10), (6, 9),
                                                                             "How likely?")
    assert plan.options == ["Yes", "No", "Pro"]  # YAML 1.2 booleans: Yes stays text
    assert mapping.columns[4].role == "ignore" and mapping.timezone == "Europe/Berlin"


def test_a_mapping_file_orders_a_scale_voxpop_did_not_recognise(tmp_path):
    answers = ["Often", "Never", "Sometimes"]
    path = write(tmp_path, "f.csv", [["Timestamp", "How often?"], *[[t, answers[i % 3]] for i, t in enumerate(times(12))]])
    export = open_export(path)
    assert not detect_mapping(export).columns[1].ordered
    overrides = overrides_from(tmp_path, "columns:\n  How often?: {options: [Never, Sometimes, Often], ordered: true}\n")
    column = apply_overrides(detect_mapping(export), overrides, export).columns[1]
    assert (column.role, column.ordered, column.options) == ("choice", True, ["Never", "Sometimes", "Often"])
    unordered = overrides_from(tmp_path, "columns:\n  How often?: {ordered: false}\n")
    assert not apply_overrides(detect_mapping(export), unordered, export).columns[1].ordered


def test_a_mapping_naming_a_missing_column_lists_close_matches(tmp_path):
    export = open_export(write(tmp_path, "f.csv", [["Timestamp", "Recommend score"], ["2024-01-01 10:00:00", "9"]]))
    overrides = overrides_from(tmp_path, "columns:\n  Recommend scor: nps\n")
    with pytest.raises(ImportFileError, match=r"names column 'Recommend scor', which is not in the file; did you mean "
                                              r"'Recommend score'"):
        apply_overrides(detect_mapping(export), overrides, export)


def test_a_repeated_header_must_be_named_by_key_or_number(tmp_path):
    export = open_export(write(tmp_path, "f.csv", [["Timestamp", "Other", "Other"], ["2024-01-01 10:00:00", "a", "b"]]))
    overrides = overrides_from(tmp_path, "columns:\n  Other: text\n")
    with pytest.raises(ImportFileError, match=r"2 columns have that header; name one by its key \(other, other_2\) "
                                              r"or its number \(2, 3\)"):
        apply_overrides(detect_mapping(export), overrides, export)


@pytest.mark.parametrize(("text", "message"), [
    ("columns:\n  Score: {role: score}\n", "unknown role 'score'"),
    ("columns:\n  Timestamp: {role: rating}\n", "needs its scale"),
    ("columns:\n  Score: {role: nps, cuts: [8, 7]}\n", "NPS cuts"),
    ("columns:\n  Score: {key: Bad Key}\n", "must start with a letter"),
    ("columns:\n  Score: {colour: red}\n", "unknown setting 'colour'"),
    ("columns:\n  Score: {role: nps, scale: [0]}\n", "two whole numbers"),
    ("columns: [Score]\n", "'columns' must map"),
    ("columns:\n  Score: {role: nps\n", "not valid YAML at line"),
    ("columns:\n  Score: {role: choice, ordered: yes}\n", "ordered must be true or false, not 'yes'"),
    ("columns:\n  Score: {role: text, ordered: true}\n", "ordered applies only to a single choice"),
])
def test_mapping_file_mistakes_are_named(tmp_path, text, message):
    export = open_export(write(tmp_path, "f.csv", [["Timestamp", "Score"], ["2024-01-01 10:00:00", "9"]]))
    with pytest.raises(ImportFileError, match=message):
        apply_overrides(detect_mapping(export), overrides_from(tmp_path, text), export)


def test_a_new_submit_time_column_replaces_the_detected_one(tmp_path):
    export = open_export(write(tmp_path, "f.csv", [["Timestamp", "Ordered"], ["2024-01-01 10:00:00", "02.01.2024 11:30"]]))
    overrides = overrides_from(tmp_path, "columns:\n  Ordered: submitted_at\n")
    mapping = apply_overrides(detect_mapping(export), overrides, export)
    assert [column.role for column in mapping.columns] == ["ignore", "submitted_at"]
    assert mapping.columns[1].time_format == "%d.%m.%Y %H:%M"

import pytest

from tests.helpers import FEEDBACK_SURVEY
from voxpop.surveys.service import SurveyFileError, parse_definition


def problems_of(source: str) -> list[tuple[str, str]]:
    with pytest.raises(SurveyFileError) as caught:
        parse_definition(source, source="survey.yaml")
    return caught.value.problems


def test_the_feedback_survey_is_valid():
    definition = parse_definition(FEEDBACK_SURVEY, source="test")
    assert [question.kind for question in definition.questions][:2] == ["nps", "text"]
    assert definition.questions[4].bounds == (1, 7)


def test_errors_name_the_path_to_the_field():
    source = """
key: s
title: T
questions:
  - {key: nps, kind: nps, text: "Recommend?"}
  - {key: quality, kind: rating, text: "Quality?", scale: {min: 1, max: 40}}
"""
    assert problems_of(source) == [("questions[1].scale.max", "Input should be less than or equal to 11")]


def test_ces_needs_its_version_stated():
    source = 'key: s\ntitle: T\nquestions:\n  - {key: e, kind: ces, text: "Easy?"}\n'
    [(path, message)] = problems_of(source)
    assert path == "questions[0]" and "ces_version" in message


def test_nps_is_zero_to_ten_or_an_imported_one_to_ten():
    source = 'key: s\ntitle: T\nquestions:\n  - {key: n, kind: nps, text: "R?", scale: {min: 1, max: 9}}\n'
    [(path, message)] = problems_of(source)
    assert "0–10 (or 1–10" in message
    one_to_ten = parse_definition(source.replace("max: 9", "max: 10"), source="test")
    assert one_to_ten.questions[0].bounds == (1, 10)
    assert parse_definition(source.replace(", scale: {min: 1, max: 9}", ""), source="test").questions[0].bounds == (0, 10)


def test_condition_must_point_at_an_earlier_question():
    source = """
key: s
title: T
questions:
  - {key: why, kind: text, text: "Why?", show_if: {question: nps, lte: 6}}
  - {key: nps, kind: nps, text: "Recommend?"}
"""
    assert ("questions[0].show_if.question", "'nps' is not an earlier question") in problems_of(source)


def test_every_language_needs_every_text():
    source = """
key: s
title: {en: T, de: T}
languages: [en, de]
questions:
  - {key: nps, kind: nps, text: {en: "Recommend?"}}
"""
    assert problems_of(source) == [
        ("questions[0].text", "missing the 'de' text (the survey's languages are ['en', 'de'])")
    ]


def test_duplicate_keys_and_unknown_fields():
    source = """
key: s
title: T
colour: red
questions:
  - {key: a, kind: text, text: "A?"}
  - {key: a, kind: text, text: "B?"}
"""
    problems = problems_of(source)
    assert ("colour", "Extra inputs are not permitted") in problems


def test_duplicate_question_keys():
    source = 'key: s\ntitle: T\nquestions:\n  - {key: a, kind: text, text: "A?"}\n  - {key: a, kind: text, text: "B?"}\n'
    assert problems_of(source) == [("questions[1].key", "the key 'a' is used twice")]


def test_broken_yaml_names_the_line():
    [(where, message)] = problems_of("key: s\ntitle: [unclosed\n")
    assert where.startswith("line ") and "not valid YAML" in message


def test_conditions_that_can_never_hold_are_refused():
    base = 'key: s\ntitle: T\nquestions:\n  - {key: c, kind: single_choice, text: "C?", options: [{value: a}, {value: b}]}\n'
    assert problems_of(base + '  - {key: x, kind: text, text: "X?", show_if: {question: c, eq: z}}\n') == [
        ("questions[1].show_if", "'z' is not an option of 'c' (a, b)")]
    assert "use eq, ne, in or answered" in problems_of(
        base + '  - {key: x, kind: text, text: "X?", show_if: {question: c, lt: 3}}\n')[0][1]
    nps = 'key: s\ntitle: T\nquestions:\n  - {key: n, kind: nps, text: "R?"}\n'
    assert "outside 'n'" in problems_of(nps + '  - {key: x, kind: text, text: "X?", show_if: {question: n, gte: 12}}\n')[0][1]
    problems = problems_of(nps + '  - {key: x, kind: text, text: "X?", show_if: {question: n, eq: yes}}\n')
    assert all(path.startswith("questions[1].show_if") for path, _ in problems)


def test_reserved_attribute_names_and_the_csat_scale():
    source = 'key: s\ntitle: T\nattributes: [t]\nquestions:\n  - {key: c, kind: csat, text: "S?", scale: {min: 1, max: 7}}\n'
    problems = problems_of(source)
    assert any("always 1–5" in message for _, message in problems)

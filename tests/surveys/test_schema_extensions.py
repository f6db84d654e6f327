"""Ordered choice scales, the "Other" option with its text box, page breaks, and the translations check."""

import json

import pytest
import yaml

from tests.helpers import FEEDBACK_SURVEY
from voxpop.surveys.schemas import OTHER, SurveyDefinition, missing_translations
from voxpop.surveys.service import SurveyFileError, fingerprint, parse_definition

AGREEMENT = """
key: s
title: T
questions:
  - key: agree
    kind: single_choice
    ordered: true
    text: "The staff were helpful."
    options: [{value: disagree}, {value: neutral}, {value: agree}]
  - key: bought
    kind: multiple_choice
    other: true
    text: "What did you buy?"
    options: [{value: boots}, {value: tents}]
  - key: why
    kind: text
    page_break: true
    show_if: {question: bought, eq: other}
    text: "What else would you like us to sell?"
"""


def problems_of(source: str) -> list[tuple[str, str]]:
    with pytest.raises(SurveyFileError) as caught:
        parse_definition(source, source="survey.yaml")
    return caught.value.problems


def round_trip(source: str):
    definition = parse_definition(source, source="test")
    dumped = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    again = parse_definition(json.dumps(dumped), source="again")
    assert again == definition and fingerprint(again) == fingerprint(definition)
    return definition, dumped


def test_the_new_fields_are_read_and_survive_a_round_trip():
    definition, dumped = round_trip(AGREEMENT)
    agree, bought, why = definition.questions
    assert agree.ordered and not bought.ordered
    assert bought.other is True and bought.choice_values == ["boots", "tents", OTHER]
    assert why.page_break and not agree.page_break
    assert dumped["questions"][0]["ordered"] is True and dumped["questions"][2]["page_break"] is True


def test_a_survey_without_the_new_fields_dumps_and_hashes_as_before():
    definition = parse_definition(FEEDBACK_SURVEY, source="test")
    for question in definition.model_dump(mode="json", by_alias=True)["questions"]:
        assert not {"ordered", "other", "page_break"} & question.keys()
    with_falses = FEEDBACK_SURVEY.replace("kind: text\n", "kind: text\n    page_break: false\n", 1)
    assert fingerprint(parse_definition(with_falses, source="test")) == fingerprint(definition)


def test_other_false_means_no_other_option():
    definition = parse_definition(AGREEMENT.replace("other: true", "other: false")
                                  .replace("show_if: {question: bought, eq: other}", "show_if: {question: bought, eq: boots}"),
                                  source="test")
    assert definition.questions[1].other is None and definition.questions[1].choice_values == ["boots", "tents"]


def test_ordered_is_refused_on_other_kinds():
    [(path, message)] = problems_of(AGREEMENT.replace("kind: multiple_choice\n    other: true", "kind: multiple_choice\n    ordered: true"))
    assert path == "questions[1]" and "ordered applies only to single_choice questions" in message


def test_other_is_refused_on_kinds_without_options():
    source = 'key: s\ntitle: T\nquestions:\n  - {key: n, kind: nps, text: "R?", other: true}\n'
    [(path, message)] = problems_of(source)
    assert path == "questions[0]" and message.startswith("other (an Other option with a text box) applies only to choice")


def test_an_empty_other_label_is_refused():
    [(path, message)] = problems_of(AGREEMENT.replace("other: true", 'other: ""'))
    assert path.startswith("questions[1].other") and "other: true for the standard one" in message


def test_an_option_named_other_is_refused_when_the_question_adds_other():
    source = AGREEMENT.replace("options: [{value: boots}, {value: tents}]", "options: [{value: boots}, {value: other}]")
    assert problems_of(source) == [("questions[1].options[1].value", "'other' is the value of the Other option that "
                                    "`other` adds; give this option another value, or remove `other`")]
    # Without `other`, "other" is an ordinary option (imports make one).
    plain = source.replace("    other: true\n", "", 1)
    assert parse_definition(plain, source="test").questions[1].choice_values == ["boots", OTHER]


def test_a_condition_may_test_the_other_option_only_when_the_question_has_it():
    without = AGREEMENT.replace("    other: true\n", "", 1)
    [(path, message)] = problems_of(without)
    assert path == "questions[2].show_if" and message.startswith("'other' is not an option of 'bought'")


def test_the_other_label_is_checked_in_every_language():
    source = """
key: s
title: {en: T, de: T}
languages: [en, de]
questions:
  - key: bought
    kind: single_choice
    other: {en: "Something else"}
    text: {en: "Bought?", de: "Gekauft?"}
    options: [{value: a, label: {en: A, de: A}}, {value: b, label: {en: B, de: B}}]
"""
    assert problems_of(source) == [("questions[0].other", "missing the 'de' text (the survey's languages are ['en', 'de'])")]
    assert parse_definition(source.replace('{en: "Something else"}', "{en: Something else, de: Etwas anderes}"),
                            source="test").questions[0].other == {"en": "Something else", "de": "Etwas anderes"}


def test_a_condition_may_look_back_across_pages():
    definition = parse_definition(AGREEMENT, source="test")
    assert definition.questions[2].show_if.question == "bought"
    assert problems_of(AGREEMENT.replace("question: bought", "question: later")) == [
        ("questions[2].show_if.question", "'later' is not an earlier question")]


def test_missing_translations_lists_each_text_and_language():
    source = """
key: s
title: {en: T, de: T}
languages: [en, de, fr]
questions:
  - key: bought
    kind: single_choice
    other: {en: "Something else", fr: "Autre chose"}
    text: "Bought?"
    options: [{value: a, label: {en: A, de: A, fr: A}}, {value: b}]
"""
    definition = SurveyDefinition.model_validate(yaml.safe_load(source))  # cross_check would refuse it
    assert missing_translations(definition) == [
        ("title", "fr"), ("questions[0].text", "de"), ("questions[0].text", "fr"), ("questions[0].other", "de")]
    assert missing_translations(parse_definition(FEEDBACK_SURVEY, source="test")) == []

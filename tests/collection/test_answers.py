from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import FEEDBACK_SURVEY
from voxpop.collection.answers import clean_answer, is_shown, pages, validate
from voxpop.surveys.service import parse_definition

DEFINITION = parse_definition(FEEDBACK_SURVEY, source="test")
NPS, WHY_LOW, WHY_HIGH = DEFINITION.questions[:3]


def test_conditional_questions_start_a_new_page():
    assert [[question.key for question in page] for page in pages(DEFINITION)] == [
        ["nps"], ["why_low", "why_high", "csat", "ease", "bought"]
    ]


def test_detractors_and_promoters_are_asked_differently():
    assert is_shown(WHY_LOW, {"nps": 3}) and not is_shown(WHY_HIGH, {"nps": 3})
    assert is_shown(WHY_HIGH, {"nps": 10}) and not is_shown(WHY_LOW, {"nps": 10})
    assert not is_shown(WHY_LOW, {"nps": 7}) and not is_shown(WHY_HIGH, {"nps": 7})


def test_answers_to_hidden_questions_are_dropped():
    cleaned, errors = validate(DEFINITION, {"nps": "10", "why_low": "bad", "why_high": "good"}, max_text_length=100)
    assert errors == [] and cleaned == {"nps": 10, "why_high": "good"}


def test_out_of_range_and_missing_required():
    _, errors = validate(DEFINITION, {"nps": "11"}, max_text_length=100)
    assert [(error.question, error.code, error.params) for error in errors] == [
        ("nps", "error.out_of_range", {"value": 11, "low": 0, "high": 10})
    ]
    _, errors = validate(DEFINITION, {}, max_text_length=100)
    assert [(error.question, error.english()) for error in errors] == [("nps", "Please answer this question.")]


def test_too_long_text_says_how_long():
    _, errors = validate(DEFINITION, {"nps": 2, "why_low": "x" * 102_400}, max_text_length=5000)
    assert errors[0].english() == "Your answer has 102,400 characters; please shorten it to 5,000."


def test_choices_must_be_offered_options():
    bought = DEFINITION.questions[5]
    assert clean_answer(bought, ["tents", "shoes", "tents"], max_text_length=10) == (["shoes", "tents"], None)
    assert clean_answer(bought, ["boats"], max_text_length=10)[1].code == "error.unknown_option"


@given(st.one_of(st.integers(), st.text(max_size=8), st.floats(allow_nan=True), st.booleans(), st.none()))
def test_a_score_is_either_on_the_scale_or_refused(value):
    cleaned, error = clean_answer(NPS, value, max_text_length=10)
    assert (cleaned is None) != (error is None) or (cleaned is None and error is None and value in (None, ""))
    if cleaned is not None:
        assert isinstance(cleaned, int) and 0 <= cleaned <= 10

"""Codebook tagging: deterministic, explainable, hierarchical, with exclusions."""

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.text.codebook import (
    DEFAULT_CODEBOOK,
    CodebookError,
    codebook_from_dict,
    codebook_from_yaml,
    tag_comment,
)

ALWAYS = re.compile("")

CODEBOOK_YAML = """
themes:
  - key: delivery
    phrases: [delivery, parcel]
    children:
      - key: late
        label: late delivery
        patterns: ['\\blate\\b']
  - key: wait_time
    phrases: [wait, queue]
    exclude: ["can't wait"]
"""


def themes_of(text, codebook=DEFAULT_CODEBOOK):
    return {tag.theme: [word for word, _, _ in tag.matches] for tag in tag_comment(codebook, text)}


def test_tags_say_which_words_matched_and_where():
    codebook = codebook_from_yaml(CODEBOOK_YAML)
    [delivery, late] = tag_comment(codebook, "The parcel came late.")
    assert (delivery.theme, delivery.matches) == ("delivery", (("parcel", 4, 10), ("late", 16, 20)))
    assert (late.theme, late.matches) == ("delivery.late", (("late", 16, 20),))


def test_a_sub_theme_implies_its_parent_and_keys_are_dotted():
    codebook = codebook_from_yaml(CODEBOOK_YAML)
    assert codebook.keys() == ["delivery", "delivery.late", "wait_time"]
    assert themes_of("It was late", codebook) == {"delivery": ["late"], "delivery.late": ["late"]}


def test_an_exclusion_removes_only_the_match_it_overlaps():
    codebook = codebook_from_yaml(CODEBOOK_YAML)
    assert themes_of("I can't wait to order again", codebook) == {}
    assert themes_of("Can't wait to order again, but the queue was long", codebook) == {"wait_time": ["queue"]}


def test_phrases_match_whole_words_in_any_case_and_spacing():
    assert "price" in themes_of("VALUE  FOR\nMONEY was poor")
    assert "app_website" not in themes_of("I am happy")  # "app" inside "happy" is no match


def test_the_default_codebook_tags_typical_feedback():
    assert themes_of("great staff but the app keeps crashing") == {"staff": ["staff"], "app_website": ["app", "crashing"]}
    found = themes_of("The parcel arrived late, the box was damaged and I want a refund. Waited 40 minutes on hold!")
    assert set(found) == {"delivery", "delivery.late", "delivery.damaged", "returns_refunds", "wait_time"}
    assert themes_of("I will return for sure, can't wait!") == {}


@given(st.text(max_size=300))
def test_tagging_is_deterministic(text):
    assert tag_comment(DEFAULT_CODEBOOK, text) == tag_comment(DEFAULT_CODEBOOK, text)


def without_cues(theme):
    """The theme with a cue that is always there, so its full matcher runs on every comment."""
    return dataclasses.replace(theme, cue_patterns=ALWAYS, children=tuple(map(without_cues, theme.children)))


CODEBOOK_WORDS = ["delivery", "Late", "parcel", "DAMAGED", "box", "price", "rip off", "staff", "user-friendly", "app",
                  "crashed", "return", "in return", "refund", "wait", "can't wait", "waited", "40 mins", "queue", "$5"]


@given(st.lists(st.sampled_from(CODEBOOK_WORDS) | st.text(max_size=8), max_size=12),
       st.sampled_from([" ", ", ", "\n", "  ", "-"]))
def test_checking_cues_first_never_changes_the_tags(words, separator):
    text = separator.join(words)
    full = dataclasses.replace(DEFAULT_CODEBOOK, themes=tuple(map(without_cues, DEFAULT_CODEBOOK.themes)))
    assert tag_comment(DEFAULT_CODEBOOK, text) == tag_comment(full, text)


def test_a_phrase_that_starts_with_a_symbol_is_searched_like_a_pattern():
    codebook = codebook_from_dict({"themes": [{"key": "fees", "phrases": ["$5 fee", "surcharge"]}]})
    assert themes_of("They added a US$5 fee at checkout", codebook) == {"fees": ["$5 fee"]}
    assert themes_of("a SURCHARGE again", codebook) == {"fees": ["SURCHARGE"]}


def test_the_same_definition_gives_the_same_tags_on_every_load():
    assert tag_comment(codebook_from_yaml(CODEBOOK_YAML), "late parcel") == tag_comment(
        codebook_from_yaml(CODEBOOK_YAML), "late parcel")


@pytest.mark.parametrize(("definition", "message"), [
    ({"themes": [{"key": "Bad Key", "phrases": ["x"]}]}, "lower-case letters"),
    ({"themes": [{"key": "a", "patterns": ["("]}]}, "theme 'a' has an invalid pattern"),
    ({"themes": [{"key": "a"}]}, "needs at least one phrase"),
    ({"themes": [{"key": "a", "phrases": ["x"]}, {"key": "a", "phrases": ["y"]}]}, "repeated: a"),
])
def test_a_bad_codebook_is_refused_with_a_sentence(definition, message):
    with pytest.raises(CodebookError, match=message):
        codebook_from_dict(definition)

"""Codebook tagging: deterministic, explainable, hierarchical, with exclusions."""

import dataclasses
import re

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

from voxpop.text.codebook import (
    DEFAULT_CODEBOOK,
    DEFAULT_CODEBOOK_YAML,
    MAX_CODEBOOK_CHARS,
    CodebookError,
    add_theme,
    codebook_from_dict,
    codebook_from_yaml,
    tag_comment,
)

ALWAYS = regex.compile("")

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


@pytest.mark.parametrize(("text", "says"), [
    ("themes:\n- key: parking\n  phrase: [parking]\n", "unknown field phrase"),
    ("themes:\n- key: parking\n  phrases: parking\n", "phrases must be a list"),
    ("themes:\n- key: parking\n  phrases:\n  - [car, park]\n", "read as the list"),
    ("themes:\n- key: parking\n  phrases: [parking\n", "line 4"),
    ("themes:\n- key: Parking\n  phrases: [parking]\n", "lower-case"),
    ("themes: []\n", "at least one theme"),
    ("themes:\n- key: parking\n  phrases: [parking]\nthemez: []\n", "remove themez"),
    ("themes:\n- parking\n", "must be a mapping"),
    ("themes:\n- key: parking\n  patterns: ['(unclosed']\n", "invalid pattern"),
    ("themes:\n- key: a\n  phrases: [x]\n  children: a\n", "children must be a list"),
    ("themes:\n- key: a\n  patterns: ['(a|aa)+b']\n", "would stall on real comments"),
    ("themes:\n- key: a\n  phrases: [x]\n  exclude_patterns: ['(?:ha|haha)+ parcel']\n", "would stall on real comments"),
    ("themes:\n- key: a\n  phrases: [10:30]\n", "read as the int 630, not as text; put it in single quotes"),
    ("themes:\n- key: a\n  phrases: [yes]\n", "read as the bool True"),
    ("themes:\n- &t {key: a, phrases: [x]}\n- *t\n", "cannot use YAML aliases"),
    ("[" * 3000 + "]" * 3000, "nested too deeply"),
    ("themes:\n- key: a\n  children:\n  - key: b\n    children:\n    - key: c\n      children:\n"
     "      - key: d\n        children:\n        - key: e\n          children:\n          - key: f\n"
     "            phrases: [x]\n", "nest at most 5 deep"),
])
def test_a_codebook_that_cannot_be_used_is_refused_with_a_sentence(text, says):
    with pytest.raises(CodebookError, match=re.escape(says)):
        codebook_from_yaml(text)


def test_an_oversized_codebook_is_refused_before_it_is_parsed():
    with pytest.raises(CodebookError, match="the limit is"):
        codebook_from_yaml("#" * (MAX_CODEBOOK_CHARS + 1))


def test_the_built_in_codebook_ships_as_yaml_people_can_read():
    assert DEFAULT_CODEBOOK_YAML.startswith("# voxpop's built-in codebook")
    assert DEFAULT_CODEBOOK.keys() == ["delivery", "delivery.late", "delivery.damaged", "price", "staff", "app_website",
                                       "quality", "returns_refunds", "wait_time"]


def test_adding_a_theme_keeps_the_comments_and_layout_people_wrote():
    text = "# our themes\nthemes:\n- key: delivery  # couriers too\n  phrases: [delivery, courier]\n  children:\n" \
           "  - key: late\n    phrases: [late]\n- key: price\n  patterns: ['\\bprices?\\b']\n"
    added = add_theme(text, {"key": "lost", "phrases": ["lost parcel"]}, "delivery")
    assert added.startswith("# our themes\n") and "# couriers too" in added and "'\\bprices?\\b'" in added
    assert codebook_from_yaml(added).keys() == ["delivery", "delivery.late", "delivery.lost", "price"]
    top = add_theme(text, {"key": "parking", "label": "car park", "phrases": ["parking"]})
    assert codebook_from_yaml(top).keys()[-1] == "parking"
    assert [tag.theme for tag in tag_comment(codebook_from_yaml(added), "my lost parcel")] == ["delivery", "delivery.lost"]


def test_safe_patterns_pass_the_probe_and_a_slow_search_leaves_the_comment_untagged(caplog):
    # The regex module does not backtrack catastrophically on a plain repeat in a repeat such as (a+)+b.
    safe = ("themes:\n- key: a\n  patterns: ['(?>a+)+b', '\\b(?:late|slow)\\b(?=.{0,40}parcel)', '([+*]x)+', "
            "'a++b', '(a+)+b', '(?:\\w+\\s?)*x']\n")
    assert codebook_from_yaml(safe).keys() == ["a"]
    many = "themes:\n" + "".join(f"- key: t{i}\n  phrases: [w{i}]\n" for i in range(900))
    assert len(codebook_from_yaml(many).keys()) == 900
    with pytest.raises(CodebookError, match="at most 1,000 themes"):
        codebook_from_yaml(many + "".join(f"- key: u{i}\n  phrases: [v{i}]\n" for i in range(101)))
    # A pattern slow only on long texts passes the 30-character probe; the search timeout still bounds it.
    polynomial = codebook_from_yaml("themes:\n- key: slow\n  patterns: ['(.*a){12}b']\n")
    with caplog.at_level("WARNING", logger="voxpop.text"):
        assert tag_comment(polynomial, "a" * 2000) == []
    assert "gave up after" in caplog.text


def test_adding_a_theme_quotes_what_yaml_would_misread_and_fills_an_empty_children():
    text = "themes:\n- key: shop\n  phrases: [shop]\n  children:\n"
    added = add_theme(text, {"key": "hours", "label": "yes", "phrases": ["10:30", "on"]}, "shop")
    assert codebook_from_yaml(added).keys() == ["shop", "shop.hours"]
    assert "'10:30'" in added and [tag.theme for tag in tag_comment(codebook_from_yaml(added), "open at 10:30")] == \
        ["shop", "shop.hours"]


def test_adding_a_theme_refuses_a_clash_or_an_unknown_parent():
    with pytest.raises(CodebookError, match="repeated: price"):
        add_theme(DEFAULT_CODEBOOK_YAML, {"key": "price", "phrases": ["cost"]})
    with pytest.raises(CodebookError, match="no theme 'nowhere'"):
        add_theme(DEFAULT_CODEBOOK_YAML, {"key": "x", "phrases": ["x"]}, "nowhere")

from pathlib import Path

import pytest
import yaml

from tests.helpers import FEEDBACK_SURVEY, apply_survey
from voxpop.demo import scorecard as demo_scorecard
from voxpop.demo import workspace as demo_workspace
from voxpop.surveys.service import definition_of, dump_definition, fingerprint, parse_definition

# The survey files the demo applies, by the demo's own list: its folder also holds a rules file and scorecards.
DEMO_SURVEYS = sorted(Path(demo_workspace.__file__).parent / f"{name}.yaml"
                      for name in [*demo_workspace.VOLUMES, demo_scorecard.PULSE])

# Every question kind, every condition test, two languages, and texts a file writer can get wrong: YAML's
# booleans, numbers as text, quotes, colons, line breaks, runs of spaces and characters outside ASCII.
EVERY_KIND = """
key: every-kind
title: {en: "Every kind: a test", fr: "Chaque type « test »"}
status: live
languages: [en, fr]
intro: {en: "Two minutes.\\nThank you!", fr: "Deux minutes.\\nMerci !"}
thanks: {en: "Thanks  —  really", fr: "Merci   vraiment "}
attributes: [segment, channel]
questions:
  - {key: nps, kind: nps, required: true, text: {en: "Recommend?", fr: "Recommander ?"},
     anchors: {low: {en: Never, fr: Jamais}, high: {en: Surely, fr: Sûrement}}}
  - {key: nps_imported, kind: nps, scale: {min: 1, max: 10}, text: {en: "Again?", fr: "Encore ?"}}
  - {key: csat, kind: csat, text: {en: "Satisfied?", fr: "Satisfait ?"}, show_if: {question: nps, lte: 6}}
  - {key: effort, kind: ces, ces_version: "1.0", text: {en: "Effort?", fr: "Effort ?"}, show_if: {question: csat, gt: 2}}
  - {key: easy, kind: ces, ces_version: "2.0", text: {en: "Easy.", fr: "Facile."}, show_if: {question: effort, gte: 1}}
  - {key: quality, kind: rating, scale: {min: 0, max: 11}, text: {en: "Quality?", fr: "Qualité ?"},
     help: {en: "0 is worst", fr: "0 est le pire"}, show_if: {question: easy, lt: 8}}
  - key: resolved
    kind: single_choice
    required: true
    text: {en: "Resolved?", fr: "Résolu ?"}
    options:
      - {value: "yes", label: {en: "Yes", fr: "Oui"}}
      - {value: "no", label: {en: "No", fr: "Non"}}
      - {value: "1.0", label: {en: "'1.0'", fr: "\\"1.0\\""}}
      - {value: "null", label: {en: "null", fr: "~"}}
  - {key: because, kind: text, max_length: 500, text: {en: "Why?", fr: "Pourquoi ?"}, show_if: {question: resolved, eq: "no"}}
  - {key: not_yes, kind: text, text: {en: "Why not?", fr: "Pourquoi pas ?"}, show_if: {question: resolved, ne: "yes"}}
  - key: bought
    kind: multiple_choice
    text: {en: "What did you buy?", fr: "Qu'avez-vous acheté ?"}
    show_if: {question: resolved, in: ["yes", "1.0"]}
    options: [{value: boots}, {value: tents, label: {en: "Tents: 2–4 people", fr: "Tentes : 2–4 personnes"}}]
  - {key: scored_in, kind: text, text: {en: "Low?", fr: "Bas ?"}, show_if: {question: nps, in: [0, 1, 2]}}
  - {key: said, kind: text, text: {en: "More?", fr: "Plus ?"}, show_if: {question: because, answered: true}}
  - {key: silent, kind: text, text: {en: "Nothing?", fr: "Rien ?"}, show_if: {question: because, answered: false}}
"""


@pytest.mark.parametrize("file_format", ["yaml", "json"])
@pytest.mark.parametrize(
    "source", [EVERY_KIND, FEEDBACK_SURVEY, *(path.read_text(encoding="utf-8") for path in DEMO_SURVEYS)],
    ids=["every-kind", "feedback", *(path.stem for path in DEMO_SURVEYS)],
)
def test_a_dumped_definition_reads_back_equal(source, file_format):
    definition = parse_definition(source, source="test")
    text = dump_definition(definition, format=file_format)
    again = parse_definition(text, source="dumped")
    assert again == definition
    assert fingerprint(again) == fingerprint(definition)
    assert dump_definition(again, format=file_format) == text


def test_the_file_keeps_its_natural_order_aliases_and_unicode():
    definition = parse_definition(EVERY_KIND, source="test")
    text = dump_definition(definition, format="yaml")
    assert list(yaml.safe_load(text)) == ["key", "title", "status", "languages", "intro", "thanks", "attributes", "questions"]
    assert "Chaque type « test »" in text and "Qualité ?" in text
    assert "in:" in text and "any_of" not in text
    assert "max_length: 500" in text and "help: null" not in text and "null\n" not in text.replace("'null'", "")
    as_json = dump_definition(definition, format="json")
    assert '"in": [' in as_json and "Sûrement" in as_json and "null," not in as_json


@pytest.mark.parametrize("file_format", ["yaml", "json"])
def test_texts_a_yaml_reader_would_bend_come_back_as_written(file_format):
    awkward = "line\u2028break\x85next\u00a0nbsp\x07bell \ttab 😀 \ufeffbom  two  spaces " + "long " * 40
    definition = parse_definition(EVERY_KIND, source="test").model_copy(update={"intro": {"en": awkward, "fr": awkward}})
    assert parse_definition(dump_definition(definition, format=file_format), source="dumped").intro == definition.intro


def test_a_stored_version_gives_back_its_definition(db):
    applied = apply_survey(db, EVERY_KIND)
    definition = parse_definition(EVERY_KIND, source="test")
    assert definition_of(applied.version) == definition
    assert definition_of(applied.version, status="closed") == definition.model_copy(update={"status": "closed"})

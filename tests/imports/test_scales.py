"""Agreement scales recognised in a choice question's answers: ordered, the file's wording kept."""

from __future__ import annotations

import pytest

from voxpop.imports.scales import agreement_scale


def test_a_five_point_scale_comes_back_in_scale_order():
    found = agreement_scale(["Agree", "Strongly disagree", "Neither agree nor disagree", "Strongly agree", "Disagree"])
    assert found.options == ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
    assert found.misspelt == {}


def test_a_seven_point_scale_and_the_file_s_capitals_are_kept():
    found = agreement_scale(["Somewhat Agree", "Strongly Agree", "Slightly disagree", "Neutral", "AGREE"])
    assert found.options == ["Slightly disagree", "Neutral", "Somewhat Agree", "AGREE", "Strongly Agree"]


def test_surveymonkey_s_misspellings_stay_as_written_next_to_the_level_they_mean():
    # monkeyreadr/test-responses.csv, column 12: no answer spells "Disagree", so it is added for the merge.
    found = agreement_scale(["Strongly disagree", "Agree", "Strongly agree", "Disgree"])
    assert found.options == ["Strongly disagree", "Disagree", "Disgree", "Agree", "Strongly agree"]
    assert found.misspelt == {"Disgree": "Disagree"}
    # Column 19: "Aagree" and "Strongly agree" only.
    found = agreement_scale(["Aagree", "Strongly agree"])
    assert (found.options, found.misspelt) == (["Agree", "Aagree", "Strongly agree"], {"Aagree": "Agree"})


def test_a_misspelling_of_a_level_the_file_spells_points_to_the_file_s_text():
    found = agreement_scale(["agree", "Aagree", "disagree"])
    assert (found.options, found.misspelt) == (["disagree", "agree", "Aagree"], {"Aagree": "agree"})


@pytest.mark.parametrize("options", [
    ["Yes", "No"],
    ["Agree", "Other"],  # one text that is no level: not a scale
    ["Agree"],  # a single level says nothing of a scale
    ["All of it", "Most of it", "Some of it"],
])
def test_other_choices_are_not_taken_for_a_scale(options):
    assert agreement_scale(options) is None

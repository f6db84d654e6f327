"""Agreement scales recognised in a choice question's answers, kept in scale order with the file's own wording.

A tool writes a Likert question's answers as the option texts the survey author typed, misspellings included
(SurveyMonkey's "Disgree", "Aagree"). The options stay exactly as the file has them; recognising the scale
only orders them, and a text that is close to a level without being it is placed next to that level and
reported, so the user can merge it (imports.merges) instead of voxpop guessing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

# The levels of the 5- and 7-point agreement scales, lower case, by their place on the 7-point one.
AGREEMENT_LEVELS = {
    "strongly disagree": 0, "disagree": 1, "somewhat disagree": 2, "slightly disagree": 2,
    "neither agree nor disagree": 3, "neither agree or disagree": 3, "neutral": 3,
    "somewhat agree": 4, "slightly agree": 4, "agree": 5, "strongly agree": 6,
}
LEVEL_NAMES = {  # how a level missing from the file is written when a misspelling points to it
    "strongly disagree": "Strongly disagree", "disagree": "Disagree", "somewhat disagree": "Somewhat disagree",
    "slightly disagree": "Slightly disagree", "neither agree nor disagree": "Neither agree nor disagree",
    "neither agree or disagree": "Neither agree or disagree", "neutral": "Neutral", "somewhat agree": "Somewhat agree",
    "slightly agree": "Slightly agree", "agree": "Agree", "strongly agree": "Strongly agree",
}
CLOSE = 0.85  # difflib's ratio: "disgree"/"disagree" 0.93 and "aagree"/"agree" 0.91, "agree"/"disagree" 0.77


@dataclass
class OrderedScale:
    """A choice question's options in scale order, and the ones that look like a misspelt level."""

    options: list[str]
    misspelt: dict[str, str] = field(default_factory=dict)  # the file's text -> the option it most likely means


def agreement_scale(options: list[str]) -> OrderedScale | None:
    """The options as an agreement scale, or None unless every one is a level or close to one and at least two
    levels are written correctly. A level a misspelling points to but no answer spells is added, so the misspelt
    option has an option to be merged into."""
    placed: list[tuple[int, int, str]] = []  # (place on the scale, 0 for the level itself else 1, text)
    misspelt: dict[str, str] = {}
    exact = 0
    for option in options:
        text = " ".join(option.lower().split())
        if text in AGREEMENT_LEVELS:
            placed.append((AGREEMENT_LEVELS[text], 0, option))
            exact += 1
            continue
        close = difflib.get_close_matches(text, AGREEMENT_LEVELS, n=1, cutoff=CLOSE)
        if not close:
            return None
        placed.append((AGREEMENT_LEVELS[close[0]], 1, option))
        misspelt[option] = close[0]
    if exact < 2 and not (exact == 1 and misspelt):
        return None
    written = {" ".join(text.lower().split()) for _, rank, text in placed if rank == 0}
    for option, level in misspelt.items():
        same_place = [text for place, rank, text in placed if rank == 0 and place == AGREEMENT_LEVELS[level]]
        if same_place:
            misspelt[option] = same_place[0]
        else:
            if level not in written:
                placed.append((AGREEMENT_LEVELS[level], 0, LEVEL_NAMES[level]))
                written.add(level)
            misspelt[option] = LEVEL_NAMES[level]
    return OrderedScale([text for _, _, text in sorted(placed)], misspelt)

"""What people read instead of keys: theme labels from the codebook, and the words of the filters' choices.

Keys (`delivery.late`, `app_website`) are for the YAML and the API's parameters; every page shows labels.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from voxpop.core.counts import NPS_GROUP_LABELS
from voxpop.core.wording import as_sentence as as_sentence  # the text domain's callers read it here
from voxpop.core.wording import sentence
from voxpop.surveys.models import Survey
from voxpop.text.codebook import Codebook, walk

SENTIMENT_WORDS = {"positive": "Positive", "neutral": "Neutral", "negative": "Negative",
                   "unscored": "Not scored"}
# keyed by the comment filter's values (promoter, passive, detractor)
NPS_GROUP_WORDS = {group.removesuffix("s"): label for group, label in NPS_GROUP_LABELS.items()}
INDENT = "\u00a0" * 3


def in_sentence(label: str) -> str:
    """A label inside a sentence: "Late delivery" as "late delivery"; "NPS survey" stays as it is."""
    first = label.split(" ", 1)[0]
    return label if first[1:2].isupper() else label[:1].lower() + label[1:]


def theme_labels(codebook: Codebook) -> dict[str, str]:
    """Each theme key's label as a page shows it: "Late delivery" for `delivery.late`."""
    return {theme.key: sentence(theme.label) for theme in walk(codebook.themes)}


def theme_label(labels: dict[str, str], key: str) -> str:
    """A key's label; a theme no longer in the codebook (a person's old correction) reads as its key in words."""
    return labels.get(key) or sentence(key.rpartition(".")[2].replace("_", " "))


def theme_choices(codebook: Codebook) -> list[tuple[str, str]]:
    """(key, label) of every theme for a select, each sub-theme under its parent and indented (by no-break
    spaces, which a screen reader passes over): narrow enough for a filter's column."""
    labels = theme_labels(codebook)
    return [(theme.key, INDENT * theme.key.count(".") + labels[theme.key]) for theme in walk(codebook.themes)]


def survey_choices(connection: Connection) -> list[tuple[str, str]]:
    """(key, title) of every survey, by title, for a filter."""
    rows = connection.execute(select(Survey.key, Survey.title).order_by(Survey.title, Survey.key))
    return [(key, title) for key, title in rows]

"""A dry run's sample rows as a person reads them: one line per question (its text) with each sample's answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

ANSWER_LENGTH = 120


def sample_table(samples: Sequence[Mapping[str, Any]], questions: Mapping[str, str]) -> list[tuple[str, list[str]]]:
    """(what, one value per sample) lines: the submit time, each question answered in any sample (by its text,
    in file order), then attributes and customer fields. `questions` maps question keys to their texts."""
    lines = [("Submitted (UTC)", [str(sample["submitted_at"]).replace("T", " ").removesuffix("+00:00")
                                  for sample in samples])]
    answered = {key for sample in samples for key in sample["answers"]}
    for key, text in questions.items():
        if key in answered:
            lines.append((text, [_shown(sample["answers"].get(key)) for sample in samples]))
    for part, named in (("attributes", "Attribute"), ("customer", "Customer")):
        for name in dict.fromkeys(name for sample in samples for name in sample.get(part, {})):
            lines.append((f"{named} {name}", [_shown(sample.get(part, {}).get(name)) for sample in samples]))
    return lines


def _shown(value: object) -> str:
    """An answer as text: chosen options joined with "; ", long texts cut, no answer as ""."""
    if value is None:
        return ""
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= ANSWER_LENGTH else text[:ANSWER_LENGTH - 1] + "…"

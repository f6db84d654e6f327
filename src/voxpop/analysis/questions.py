"""A question as it is looked up and passed around, light to import: the import's parsing process takes these
(no Ibis or pandas behind this module)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuestionRef:
    """A question of a survey as it is looked up and passed around: its key, kind and scale, and the id of its row
    when it is one survey version's question (None when its answers are pooled across versions)."""

    key: str
    kind: str
    scale_min: int | None = None
    scale_max: int | None = None
    ces_version: str | None = None
    id: int | None = None

    @property
    def scale(self) -> tuple[int, int]:
        """The lowest and highest point of a scored question's scale."""
        return int(self.scale_min), int(self.scale_max)

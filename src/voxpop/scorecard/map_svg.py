"""The strategy map as an SVG string: perspectives as bands from top to bottom in their order, each objective a box
in its band with its name, status word and score, and each cause-and-effect link an arrow drawn by its verdict
(solid: supported; dashed: not enough periods or no link found; crossed: contradicted), numbered as the links
table below the map numbers them. Classes only, no inline style (the CSP): scorecard-map.css draws them. The same
facts are in words in the title, the description and each arrow's title, never in colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from voxpop.core import lagged
from voxpop.core.wording import counted
from voxpop.scorecard.evaluation import NO_DATA, STATUS_BY_COLOUR
from voxpop.scorecard.measured import ScorecardResult
from voxpop.scorecard.models import Link
from voxpop.scorecard.strategy_map import LinkTest

WIDTH = 1000
BAND = 150  # a perspective's height
LABEL = 30  # the perspective's name above its boxes
BOX_HEIGHT = 74
GAP = 24
CHAR = 8.2  # an average character's width at the boxes' bold font size, to wrap names
VERDICT_CLASSES = {lagged.SUPPORTED: "supported", lagged.CONTRADICTED: "contradicted",
                   lagged.NOT_ENOUGH: "not-enough", lagged.NO_LINK: "no-link"}
UNTESTED = "not tested"


def _wrap(text: str, width: float, lines: int = 2) -> list[str]:
    """The name in at most `lines` lines of the box's width, the last one cut with an ellipsis."""
    limit = max(6, int(width / CHAR))
    words, out, line = text.split(), [], ""
    for word in words:
        candidate = f"{line} {word}".strip()
        if len(candidate) <= limit:
            line = candidate
            continue
        if line:
            out.append(line)
        line = word
    if line:
        out.append(line)
    out = [item if len(item) <= limit else item[:limit - 1] + "…" for item in out]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][:limit - 1].rstrip() + "…"
    return out or [""]


def _status(colour: str, score: float | None) -> str:
    word = STATUS_BY_COLOUR.get(colour, NO_DATA)
    return word if score is None else f"{word} · {score:.0f}"


def _anchor(box: tuple[float, float, float, float], other: tuple[float, float, float, float]) -> tuple[float, float]:
    """Where an arrow leaves or reaches `box` towards `other`: its top or bottom centre between bands, its side
    within a band."""
    x, y, width, height = box
    if abs(other[1] - y) < 1:
        return (x + width, y + height / 2) if other[0] > x else (x, y + height / 2)
    return (x + width / 2, y) if other[1] < y else (x + width / 2, y + height)


def _free_point(start: tuple[float, float], end: tuple[float, float],
                boxes) -> tuple[float, float]:
    """A point on the line from `start` to `end`, nearest its middle, that lies outside every box (the middle when
    none does), for the link's number."""
    for share in (0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8):
        x, y = start[0] + share * (end[0] - start[0]), start[1] + share * (end[1] - start[1])
        if not any(left - 12 <= x <= left + width + 12 and top - 12 <= y <= top + height + 12
                   for left, top, width, height in boxes):
            return x, y
    return (start[0] + end[0]) / 2, (start[1] + end[1]) / 2


def strategy_map_svg(result: ScorecardResult, links: Sequence[Link], tests: Sequence[LinkTest]) -> str:
    """The map of `result`'s objectives with `links` drawn by their `tests`' verdicts, as an SVG element."""
    boxes: dict[int, tuple[float, float, float, float]] = {}
    bands: list[str] = []
    parts: list[str] = []  # the objectives' boxes
    height = max(1, len(result.perspectives)) * BAND
    for index, perspective in enumerate(result.perspectives):
        top = index * BAND
        bands.append(f'<g class="band band-{index % 2}"><rect class="band-area" x="0" y="{top}" width="{WIDTH}" '
                     f'height="{BAND}"/><text class="band-name" x="12" y="{top + 21}">{escape(perspective.name)}'
                     "</text></g>")
        count = max(1, len(perspective.objectives))
        width = min(230.0, (WIDTH - GAP * (count + 1)) / count)
        start = (WIDTH - count * width - (count - 1) * GAP) / 2
        for position, objective in enumerate(perspective.objectives):
            x, y = start + position * (width + GAP), top + LABEL + (BAND - LABEL - BOX_HEIGHT) / 2
            boxes[objective.objective_id] = (x, y, width, BOX_HEIGHT)
            lines = _wrap(objective.name, width - 16)
            names = "".join(f'<tspan x="{x + width / 2:.1f}" dy="{0 if number == 0 else 17}">{escape(line)}</tspan>'
                            for number, line in enumerate(lines))
            status = _status(objective.colour, objective.score)
            parts.append(
                f'<g class="objective objective-{escape(objective.colour)}"><title>{escape(objective.name)}: '
                f'{escape(status)}</title><rect class="objective-box" x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                f'height="{BOX_HEIGHT}" rx="6"/><text class="objective-name" x="{x + width / 2:.1f}" '
                f'y="{y + 24:.1f}">{names}</text><text class="objective-status" x="{x + width / 2:.1f}" '
                f'y="{y + BOX_HEIGHT - 12:.1f}">{escape(status)}</text></g>')
    by_link = {test.link_id: test for test in tests}
    counts: dict[str, int] = {}
    lines: list[str] = []  # drawn under the boxes, which hide where a line passes behind one
    labels: list[str] = []  # drawn over them, at a point of the line outside every box
    for number, link in enumerate(links, start=1):
        if link.cause_id not in boxes or link.effect_id not in boxes:
            continue
        test = by_link.get(link.id)
        verdict = test.verdict if test else UNTESTED
        counts[verdict] = counts.get(verdict, 0) + 1
        css = VERDICT_CLASSES.get(verdict, "not-tested")
        (x1, y1), (x2, y2) = (_anchor(boxes[link.cause_id], boxes[link.effect_id]),
                              _anchor(boxes[link.effect_id], boxes[link.cause_id]))
        label_x, label_y = _free_point((x1, y1), (x2, y2), boxes.values())
        cause = test.cause if test else str(link.cause_id)
        effect = test.effect if test else str(link.effect_id)
        sign = "+" if link.polarity >= 0 else "−"
        title = f"<title>Link {number}: {escape(cause)} → {escape(effect)} ({sign}, lag {link.lag}): {escape(verdict)}</title>"
        lines.append(f'<g class="link link-{css}">{title}<line class="link-line" x1="{x1:.1f}" y1="{y1:.1f}" '
                     f'x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow-{css})"/></g>')
        cross = ""
        if verdict == lagged.CONTRADICTED:
            cross = f'<path class="link-cross" d="M{label_x + 12:.1f},{label_y - 7:.1f} l14,14 m0,-14 l-14,14"/>'
        labels.append(f'<g class="link-label link-{css}">{title}{cross}<circle class="link-badge" cx="{label_x:.1f}" '
                      f'cy="{label_y:.1f}" r="10"/><text class="link-number" x="{label_x:.1f}" '
                      f'y="{label_y + 4:.1f}">{number}</text></g>')
    parts = bands + lines + parts + labels
    markers = "".join(
        f'<marker id="arrow-{css}" class="arrow arrow-{css}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        for css in (*VERDICT_CLASSES.values(), "not-tested"))
    objectives = sum(len(perspective.objectives) for perspective in result.perspectives)
    found = ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) or "none drawn"
    title = f"Strategy map of {result.name}, {result.period}"
    description = (f"{counted(objectives, 'objective')} in {counted(len(result.perspectives), 'perspective')}, "
                   f"{counted(sum(counts.values()), 'cause-and-effect link')}: {found}. The table below the map "
                   "lists each link with its test.")
    return (f'<svg class="strategy-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-labelledby="strategy-map-title strategy-map-desc">'
            f'<title id="strategy-map-title">{escape(title)}</title><desc id="strategy-map-desc">'
            f"{escape(description)}</desc><defs>{markers}</defs>{''.join(parts)}</svg>")

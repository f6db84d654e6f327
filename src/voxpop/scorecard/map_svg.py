"""The strategy map as an SVG string: perspectives as bands from top to bottom in their order, each objective a box
in its band with its name, status word and score, and each cause-and-effect link an arrow drawn by its verdict
(solid: supported; dashed: not enough periods or no link found; crossed: contradicted), numbered as the links
table below the map numbers them. Classes only, no inline style (the CSP): scorecard-map.css draws them. The same
facts are in words in the title, the description and each arrow's title, never in colour alone.

Arrows never cross a box. A band is its name's row, a free lane, the row of boxes and another free lane: a link
within one band arcs through the lane above (or, for every second such link, below) the boxes; a link between
bands leaves one box's facing edge and enters the other's, and where it passes a band in between it goes down the
gap between two of that band's boxes. Each number sits on its arrow at a point clear of every box, band name and
other number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from voxpop.core import lagged
from voxpop.core.wording import counted
from voxpop.scorecard.evaluation import NO_DATA, STATUS_BY_COLOUR
from voxpop.scorecard.measured import ScorecardResult
from voxpop.scorecard.models import Link
from voxpop.scorecard.strategy_map import LinkTest

WIDTH = 1000
LABEL = 30  # the perspective's name, above its boxes
LANE = 36  # free rows above and below the boxes, where links run
BOX_HEIGHT = 88  # room for three lines of name and the status line
BAND = LABEL + LANE + BOX_HEIGHT + LANE  # a perspective's height
GAP = 36  # between boxes: wide enough for an arrow passing down between them
MAX_WIDTH = 230.0
CHAR = 8.4  # an average character's width at the boxes' bold font size, to wrap names
STATUS_CHAR = 6.8  # the same at the status line's size, which is made smaller when the line would not fit
SMALL_CHAR = 7.0  # the same at the smaller size a name takes when three lines of the larger do not hold it
NAME_LINES = 3
BADGE = 10  # a link number's circle's radius
CLEARANCE = 10  # between a number's circle and a box, a name or another number
VERDICT_CLASSES = {lagged.SUPPORTED: "supported", lagged.CONTRADICTED: "contradicted",
                   lagged.NOT_ENOUGH: "not-enough", lagged.NO_LINK: "no-link"}
UNTESTED = "not tested"

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def distance(self, point: Point) -> float:
        """How far `point` lies outside the box (0 inside it)."""
        dx = max(self.left - point[0], 0.0, point[0] - self.right)
        dy = max(self.top - point[1], 0.0, point[1] - self.bottom)
        return math.hypot(dx, dy)


# --- names ----------------------------------------------------------------------------------------------------


def _lines(text: str, limit: int) -> list[str]:
    """The words of `text` in lines of at most `limit` characters (a longer word alone on its line)."""
    out, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if len(candidate) <= limit or not line:
            line = candidate
            continue
        out.append(line)
        line = word
    return out + [line] if line else out


def _cut(line: str, limit: int) -> str:
    return line if len(line) <= limit else line[:limit - 1].rstrip() + "…"


def wrap_name(text: str, width: float) -> tuple[list[str], bool]:
    """The name in at most three lines of the box's width, and whether it needs the smaller size to fit; only a
    name too long even for that ends in an ellipsis (the whole name is in the box's title and the links table)."""
    for char, small in ((CHAR, False), (SMALL_CHAR, True)):
        limit = max(6, int(width / char))
        lines = _lines(text, limit)
        if len(lines) <= NAME_LINES and all(len(line) <= limit for line in lines):
            return lines or [""], small
    kept = [_cut(line, limit) for line in lines[:NAME_LINES]]
    if len(lines) > NAME_LINES and not kept[-1].endswith("…"):
        kept[-1] = kept[-1][:limit - 1].rstrip() + "…"
    return kept, True


def _status(colour: str, score: float | None) -> str:
    word = STATUS_BY_COLOUR.get(colour, NO_DATA)
    return word if score is None else f"{word} · {score:.0f}"


def _objective(objective, box: Box) -> str:
    lines, small = wrap_name(objective.name, box.width - 16)
    step = 14 if small else 16
    centre = box.left + box.width / 2
    first = box.top + 39 - (len(lines) - 1) * step / 2  # the name's lines centred above the status line
    names = "".join(f'<tspan x="{centre:.1f}" y="{first + number * step:.1f}">{escape(line)}</tspan>'
                    for number, line in enumerate(lines))
    status = _status(objective.colour, objective.score)
    size = " objective-name-small" if small else ""
    status_size = " objective-status-small" if len(status) * STATUS_CHAR > box.width - 12 else ""
    return (f'<g class="objective objective-{escape(objective.colour)}"><title>{escape(objective.name)}: '
            f'{escape(status)}</title><rect class="objective-box" x="{box.left:.1f}" y="{box.top:.1f}" '
            f'width="{box.width:.1f}" height="{box.height}" rx="6"/><text class="objective-name{size}">{names}</text>'
            f'<text class="objective-status{status_size}" x="{centre:.1f}" y="{box.bottom - 12:.1f}">{escape(status)}</text></g>')


# --- routes -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """An arrow's path data and points along it, from cause to effect, where its number may go."""

    path: str
    points: list[Point]
    straight: bool = False  # drawn as a line from its first point to its last


def _bezier(start: Point, control1: Point, control2: Point, end: Point, steps: int = 40) -> list[Point]:
    points = []
    for step in range(steps + 1):
        t = step / steps
        a, b, c, d = (1 - t) ** 3, 3 * (1 - t) ** 2 * t, 3 * (1 - t) * t ** 2, t ** 3
        points.append((a * start[0] + b * control1[0] + c * control2[0] + d * end[0],
                       a * start[1] + b * control1[1] + c * control2[1] + d * end[1]))
    return points


def arc(start: Point, end: Point, *, above: bool) -> Route:
    """A link within one band: from the top (or bottom) edge of one box, over (or under) the boxes between, into the
    same edge of the other; its highest point is three quarters of `LANE` from the edge, inside the lane."""
    rise = -LANE if above else LANE
    control1, control2 = (start[0], start[1] + rise), (end[0], end[1] + rise)
    return Route(f"M{start[0]:.1f},{start[1]:.1f} C{control1[0]:.1f},{control1[1]:.1f} "
                 f"{control2[0]:.1f},{control2[1]:.1f} {end[0]:.1f},{end[1]:.1f}",
                 _bezier(start, control1, control2, end))


def polyline(points: list[Point], corner: float = 14.0) -> Route:
    """Straight runs between the points, their corners rounded."""
    path = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for before, here, after in zip(points, points[1:], points[2:]):
        cut_in, cut_out = (min(corner, math.dist(before, here) / 2), min(corner, math.dist(here, after) / 2))
        enter = _towards(here, before, cut_in)
        leave = _towards(here, after, cut_out)
        path.append(f"L{enter[0]:.1f},{enter[1]:.1f} Q{here[0]:.1f},{here[1]:.1f} {leave[0]:.1f},{leave[1]:.1f}")
    path.append(f"L{points[-1][0]:.1f},{points[-1][1]:.1f}")
    samples = []
    for here, after in zip(points, points[1:]):
        steps = max(1, int(math.dist(here, after) / 6))
        samples += [(here[0] + (after[0] - here[0]) * s / steps, here[1] + (after[1] - here[1]) * s / steps)
                    for s in range(steps)]
    return Route(" ".join(path), samples + [points[-1]], straight=len(points) == 2)


def _towards(point: Point, other: Point, length: float) -> Point:
    distance = math.dist(point, other) or 1.0
    return (point[0] + (other[0] - point[0]) * length / distance, point[1] + (other[1] - point[1]) * length / distance)


def gaps(row: Sequence[Box]) -> list[tuple[float, float]]:
    """The free spans of a row of boxes, left to right, the margins at either side included."""
    edges = [0.0] + [edge for box in sorted(row, key=lambda box: box.left) for edge in (box.left, box.right)] + [WIDTH]
    return [(left, right) for left, right in zip(edges[::2], edges[1::2]) if right - left >= 12]


def through_gap(row: Sequence[Box], x: float, used: dict[tuple[float, float], int]) -> float:
    """Where a link passing a row of boxes near `x` goes down between them: the middle of the nearest gap, or beside
    the box in a margin; each further link through the same gap 7 pixels aside (away from the box in a margin)."""
    def first(span: tuple[float, float]) -> float:
        left, right = span
        if left == 0.0 and right > GAP:
            return right - GAP / 2
        if right == WIDTH and WIDTH - left > GAP:
            return left + GAP / 2
        return (left + right) / 2

    span = min(gaps(row), key=lambda span: abs(first(span) - x))
    count = used.get(span, 0)
    used[span] = count + 1
    if span[0] == 0.0:
        offset = -7 * count
    elif span[1] == WIDTH:
        offset = 7 * count
    else:
        offset = 7 * ((count + 1) // 2) * (1 if count % 2 else -1)
    return max(span[0] + 6, min(span[1] - 6, first(span) + offset))


def _clears(start: Point, end: Point, row: Sequence[Box]) -> bool:
    """Whether the straight line from `start` to `end` passes `row` between its boxes."""
    top, bottom = row[0].top, row[0].bottom
    at = [start[0] + (end[0] - start[0]) * (y - start[1]) / (end[1] - start[1]) for y in (top, bottom)]
    return not any(min(at) <= box.right + 8 and max(at) >= box.left - 8 for box in row)


def across(start: Point, end: Point, rows: Sequence[Sequence[Box]], used: dict) -> Route:
    """A link between bands: straight from edge to edge once that line clears every band still to pass; until then,
    down the gap of the next band's boxes. `rows` are the boxes of the bands in between, in the order passed."""
    points = [start]
    rows = [row for row in rows if row]
    for index, row in enumerate(rows):
        if all(_clears(points[-1], end, later) for later in rows[index:]):
            break
        here = points[-1]
        entry_y, exit_y = (row[0].bottom, row[0].top) if end[1] < here[1] else (row[0].top, row[0].bottom)
        at = [here[0] + (end[0] - here[0]) * (y - here[1]) / (end[1] - here[1]) for y in (entry_y, exit_y)]
        x = through_gap(row, sum(at) / 2, used)
        step = LANE / 2 if end[1] > here[1] else -LANE / 2
        points += [(x, entry_y - step), (x, exit_y + step)]
    return polyline(points + [end])


# --- numbers ----------------------------------------------------------------------------------------------------


def place_number(route: Route, obstacles: Sequence[Box], taken: Sequence[Point], *, wide: bool = False) -> Point:
    """The point of the route nearest its middle whose number (and cross, when `wide`) is clear of every box and name
    in `obstacles` and every number in `taken`; the clearest point when none is fully clear."""
    points = route.points
    count = len(points)
    usable = [index for index in range(count) if 0.12 * count <= index <= 0.85 * count] or list(range(count))
    order = sorted(usable, key=lambda index: abs(index - count / 2))

    def room(point: Point) -> float:
        footprint = [point, (point[0] + 2 * BADGE, point[1])] if wide else [point]
        from_boxes = min((box.distance(spot) for box in obstacles for spot in footprint), default=math.inf)
        from_numbers = min((math.dist(point, other) - BADGE for other in taken), default=math.inf)
        return min(from_boxes, from_numbers) - BADGE

    for index in order:
        if room(points[index]) >= CLEARANCE:
            return points[index]
    return max((points[index] for index in order), key=room)


# --- the map ----------------------------------------------------------------------------------------------------


def layout(result: ScorecardResult) -> tuple[dict[int, Box], dict[int, int], list[list[Box]]]:
    """Each objective's box, its band's index, and each band's row of boxes."""
    boxes: dict[int, Box] = {}
    band_of: dict[int, int] = {}
    rows: list[list[Box]] = []
    for index, perspective in enumerate(result.perspectives):
        count = max(1, len(perspective.objectives))
        width = min(MAX_WIDTH, (WIDTH - GAP * (count + 1)) / count)
        start = (WIDTH - count * width - (count - 1) * GAP) / 2
        row = []
        for position, objective in enumerate(perspective.objectives):
            box = Box(start + position * (width + GAP), index * BAND + LABEL + LANE, width, BOX_HEIGHT)
            boxes[objective.objective_id], band_of[objective.objective_id] = box, index
            row.append(box)
        rows.append(row)
    return boxes, band_of, rows


def _edges(links: Sequence[Link], boxes: dict[int, Box], band_of: dict[int, int]) -> dict[int, tuple[str, str]]:
    """Which edge of its cause and of its effect each drawn link uses: facing edges between bands; within a band,
    both tops, and for every second link within that band both bottoms."""
    edges, within = {}, {}
    for link in links:
        cause, effect = band_of[link.cause_id], band_of[link.effect_id]
        if cause == effect:
            count = within.get(cause, 0)
            within[cause] = count + 1
            side = "top" if count % 2 == 0 else "bottom"
            edges[link.id] = (side, side)
        else:
            edges[link.id] = ("top", "bottom") if effect < cause else ("bottom", "top")
    return edges


def anchors(links: Sequence[Link], boxes: dict[int, Box], edges: dict[int, tuple[str, str]]) -> dict[int, tuple[Point, Point]]:
    """Where each link leaves its cause and reaches its effect: the ends on one edge of a box spread along it in the
    order of the boxes at their other ends, so that two arrows never share a point."""
    ends: dict[tuple[int, str], list[tuple[float, int, int]]] = {}
    for link in links:
        cause_edge, effect_edge = edges[link.id]
        ends.setdefault((link.cause_id, cause_edge), []).append((_centre(boxes[link.effect_id]), link.id, 0))
        ends.setdefault((link.effect_id, effect_edge), []).append((_centre(boxes[link.cause_id]), link.id, 1))
    found: dict[int, list[Point]] = {link.id: [(0.0, 0.0), (0.0, 0.0)] for link in links}
    for (objective_id, edge), on_edge in ends.items():
        box = boxes[objective_id]
        on_edge.sort()
        for place, (_, link_id, end) in enumerate(on_edge):
            x = box.left + box.width * (0.15 + 0.7 * (place + 1) / (len(on_edge) + 1))
            y = box.top - 2 if edge == "top" else box.bottom + 2
            found[link_id][end] = (x, y)
    return {link_id: (points[0], points[1]) for link_id, points in found.items()}


def _centre(box: Box) -> float:
    return box.left + box.width / 2


def strategy_map_svg(result: ScorecardResult, links: Sequence[Link], tests: Sequence[LinkTest]) -> str:
    """The map of `result`'s objectives with `links` drawn by their `tests`' verdicts, as an SVG element."""
    boxes, band_of, rows = layout(result)
    height = max(1, len(result.perspectives)) * BAND
    bands, names = [], []
    for index, perspective in enumerate(result.perspectives):
        top = index * BAND
        bands.append(f'<g class="band band-{index % 2}"><rect class="band-area" x="0" y="{top}" width="{WIDTH}" '
                     f'height="{BAND}"/><text class="band-name" x="12" y="{top + 21}">{escape(perspective.name)}'
                     "</text></g>")
        names.append(Box(8, top + 4, 16 + len(perspective.name) * CHAR, 22))  # the band's name, kept clear
    objectives = [_objective(objective, boxes[objective.objective_id])
                  for perspective in result.perspectives for objective in perspective.objectives]
    drawn = [(number, link) for number, link in enumerate(links, start=1)
             if link.cause_id in boxes and link.effect_id in boxes]
    edges = _edges([link for _, link in drawn], boxes, band_of)
    ends = anchors([link for _, link in drawn], boxes, edges)
    by_link = {test.link_id: test for test in tests}
    counts: dict[str, int] = {}
    arrows: list[str] = []
    labels: list[str] = []  # drawn last, over everything
    taken: list[Point] = []
    used: dict = {}
    obstacles = list(boxes.values()) + names
    for number, link in drawn:
        test = by_link.get(link.id)
        verdict = test.verdict if test else UNTESTED
        counts[verdict] = counts.get(verdict, 0) + 1
        css = VERDICT_CLASSES.get(verdict, "not-tested")
        start, end = ends[link.id]
        cause_band, effect_band = band_of[link.cause_id], band_of[link.effect_id]
        if cause_band == effect_band:
            route = arc(start, end, above=edges[link.id][0] == "top")
        else:
            step = 1 if effect_band > cause_band else -1
            route = across(start, end, [rows[band] for band in range(cause_band + step, effect_band, step)], used)
        contradicted = verdict == lagged.CONTRADICTED
        label_x, label_y = place_number(route, obstacles, taken, wide=contradicted)
        taken += [(label_x, label_y)] + ([(label_x + 2 * BADGE, label_y)] if contradicted else [])
        cause = test.cause if test else str(link.cause_id)
        effect = test.effect if test else str(link.effect_id)
        sign = "+" if link.polarity >= 0 else "−"
        title = f"<title>Link {number}: {escape(cause)} → {escape(effect)} ({sign}, lag {link.lag}): {escape(verdict)}</title>"
        if route.straight:
            (x1, y1), (x2, y2) = route.points[0], route.points[-1]
            line = f'<line class="link-line" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
        else:
            line = f'<path class="link-line" d="{route.path}"'
        arrows.append(f'<g class="link link-{css}">{title}{line} marker-end="url(#arrow-{css})"/></g>')
        cross = ""
        if contradicted:
            cross = f'<path class="link-cross" d="M{label_x + 13:.1f},{label_y - 7:.1f} l14,14 m0,-14 l-14,14"/>'
        labels.append(f'<g class="link-label link-{css}">{title}{cross}<circle class="link-badge" cx="{label_x:.1f}" '
                      f'cy="{label_y:.1f}" r="{BADGE}"/><text class="link-number" x="{label_x:.1f}" '
                      f'y="{label_y + 4:.1f}">{number}</text></g>')
    markers = "".join(
        f'<marker id="arrow-{css}" class="arrow arrow-{css}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" '
        f'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        for css in (*VERDICT_CLASSES.values(), "not-tested"))
    total = sum(len(perspective.objectives) for perspective in result.perspectives)
    found = ", ".join(f"{count} {verdict}" for verdict, count in counts.items()) or "none drawn"
    title = f"Strategy map of {result.name}, {result.period}"
    description = (f"{counted(total, 'objective')} in {counted(len(result.perspectives), 'perspective')}, "
                   f"{counted(sum(counts.values()), 'cause-and-effect link')}: {found}. The table below the map "
                   "lists each link with its test.")
    return (f'<svg class="strategy-map" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-labelledby="strategy-map-title strategy-map-desc">'
            f'<title id="strategy-map-title">{escape(title)}</title><desc id="strategy-map-desc">'
            f"{escape(description)}</desc><defs>{markers}</defs>{''.join(bands + objectives + arrows + labels)}</svg>")

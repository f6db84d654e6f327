"""The scorecard file: one scorecard's perspectives, objectives, measures with their targets, and the strategy map's
links, in YAML or JSON (docs/scorecard-file.md has the format).

`load_definition` checks the document on its own (shapes, duplicate keys, what each scoring type needs, period
labels, formulas) and gives it back normalised; `voxpop.scorecard.service.apply_definition` checks it against the
workspace (owners, department, parent scorecard, initiatives, sources) and applies it. Every problem names its
place in the document, e.g. "measures[3].targets[0].goal", as the rules file does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from voxpop.analysis.periods import DaysError, period_kind
from voxpop.core.formula import FormulaError, parse_formula
from voxpop.core.scoring import OTHERWISE
from voxpop.core.wording import listed
from voxpop.surveys.schemas import KEY, DocumentProblems, format_location, read_mapping

Key = Annotated[str, StringConstraints(pattern=KEY)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3, max_length=254)]
Weight = Annotated[float, Field(ge=0, le=1000)]
InitiativeId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # an initiative's id: a 32-bit integer column
SCORINGS = ("linear", "progress", "goal_red_flag", "status_rules", "stabilise", "yes_no")
# What each scoring type reads from a target row (the anchors' own parameters; see voxpop.core.scoring).
NEEDS = {"linear": ("minimum", "maximum"), "progress": ("baseline", "target"), "goal_red_flag": ("goal", "red_flag"),
         "status_rules": ("rules",), "stabilise": ("low", "high", "minimum", "maximum"), "yes_no": ()}
DEFAULT_PERSPECTIVES = [{"key": "financial", "name": "Financial"}, {"key": "customer", "name": "Customer"},
                        {"key": "internal", "name": "Internal process"},
                        {"key": "learning", "name": "Learning and growth"}]


class DefinitionError(ValueError):
    """A scorecard document that cannot be applied; `problems` holds (field path, what to do) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        super().__init__(f"{source} is not a valid scorecard file:\n{lines}")


def _polarity(value: Any) -> Any:
    # YAML reads a bare - as the start of a list, so 1 and -1 are accepted beside the quoted "+" and "-".
    return {1: "+", -1: "-", "1": "+", "-1": "-", "+1": "+"}.get(value, value)


class Strict(BaseModel):
    # No NaN or infinity: a threshold that is not a number would be stored as nothing (SQLite keeps NaN as NULL).
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False)


class StatusRuleFile(Strict):
    when: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    status: Name
    colour: Literal["green", "amber", "red", "none"]


class TargetFile(Strict):
    from_period: str = Field(alias="from")
    target: float | None = None
    baseline: float | None = None
    minimum: float | None = None
    maximum: float | None = None
    goal: float | None = None
    red_flag: float | None = None
    low: float | None = None
    high: float | None = None
    rules: list[StatusRuleFile] = Field(default_factory=list, max_length=20)


class PerspectiveFile(Strict):
    key: Key
    name: Name


class ObjectiveFile(Strict):
    key: Key
    name: Name
    description: str = ""
    perspective: Key
    owner: Email | None = None
    weight: Weight = 1.0
    rolls_up_to: Key | None = None
    initiatives: list[InitiativeId] = Field(default_factory=list, max_length=100)


class MeasureFile(Strict):
    key: Key
    name: Name
    description: str = ""
    objective: Key
    owner: Email | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] = ""
    direction: Literal["up", "down", "middle"] = "up"
    period: Literal["month", "quarter"] = "month"
    weight: Weight = 1.0
    scoring: Literal["linear", "progress", "goal_red_flag", "status_rules", "stabilise", "yes_no"] = "linear"
    source: dict = Field(default_factory=lambda: {"kind": "manual"})
    targets: list[TargetFile] = Field(default_factory=list, max_length=200)


class LinkFile(Strict):
    cause: Key
    effect: Key
    cause_measure: Key | None = None
    effect_measure: Key | None = None
    polarity: Annotated[Literal["+", "-"], BeforeValidator(_polarity)] = "+"
    lag: int = Field(0, ge=0, le=24)
    strength: Literal["weak", "moderate", "strong"] = "moderate"
    units: Key | None = None


class ScorecardFile(Strict):
    key: Key
    name: Name
    description: str = ""
    parent: Key | None = None
    department: Name | None = None
    owner: Email | None = None
    perspectives: list[PerspectiveFile] = Field(default_factory=lambda: [PerspectiveFile(**default) for default
                                                                         in DEFAULT_PERSPECTIVES], max_length=12)
    objectives: list[ObjectiveFile] = Field(default_factory=list, max_length=200)
    measures: list[MeasureFile] = Field(default_factory=list, max_length=500)
    links: list[LinkFile] = Field(default_factory=list, max_length=500)


def load_definition(text: str, *, source: str) -> dict:
    """Parse a YAML or JSON scorecard file, check it on its own and give back the normalised document."""
    try:
        raw = read_mapping(text, expected="a mapping with key, name, objectives and measures")
    except DocumentProblems as exc:
        raise DefinitionError(source, exc.problems) from None
    return normalise(raw, source=source)


def normalise(document: dict, *, source: str) -> dict:
    """The document checked on its own, with every default filled in, as a ScorecardVersion keeps it."""
    return read_definition(document, source=source).model_dump(mode="json", by_alias=True, exclude_none=True)


def read_definition(document: dict, *, source: str) -> ScorecardFile:
    """The document as a ScorecardFile, or DefinitionError naming each problem's field path."""
    try:
        scorecard = ScorecardFile.model_validate(document)
    except ValidationError as exc:
        raise DefinitionError(source, [(format_location(error["loc"]), _sentence(error))
                                       for error in exc.errors()]) from None
    problems = file_problems(scorecard)
    if problems:
        raise DefinitionError(source, problems)
    return scorecard


def _sentence(error: dict) -> str:
    if error["type"] == "extra_forbidden":
        return "is not a field of this part of the file; check its spelling against docs/scorecard-file.md"
    if error["type"] == "string_pattern_mismatch":
        return "a key is lower-case letters, digits, - and _, starting with a letter"
    if error["loc"][-1] == "from" and error["type"] == "string_type":
        return f"write the first period as a month such as 2026-01 or a quarter such as 2026-Q1, not {error['input']}"
    if error["type"] == "literal_error":
        return f"write {error['ctx']['expected']}, not {error['input']!r}"
    if error["type"] == "missing":
        return "is missing; add it (docs/scorecard-file.md lists what each part needs)"
    return error["msg"].removeprefix("Value error, ")


def _duplicates(name: str, keys: list[str]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    problems = []
    for index, key in enumerate(keys):
        if key in seen:
            problems.append((f"{name}[{index}].key", f"the key {key!r} is used twice; give each its own"))
        seen.add(key)
    return problems


def file_problems(scorecard: ScorecardFile) -> list[tuple[str, str]]:
    """What the shapes alone cannot see: duplicate keys, references inside the file, thresholds, periods,
    formulas."""
    problems = _duplicates("perspectives", [item.key for item in scorecard.perspectives])
    problems += _duplicates("objectives", [item.key for item in scorecard.objectives])
    problems += _duplicates("measures", [item.key for item in scorecard.measures])
    if scorecard.key == "new":  # /scorecards/new is the form for a new scorecard: such a page could not be reached
        problems.append(("key", "'new' is the address of the new-scorecard form; choose another key"))
    if not scorecard.perspectives:
        problems.append(("perspectives", "give at least one perspective, or leave perspectives out for the four "
                                         "defaults"))
    perspectives = {item.key for item in scorecard.perspectives}
    objectives = {item.key for item in scorecard.objectives}
    measures = {item.key: item for item in scorecard.measures}
    if scorecard.parent == scorecard.key:
        problems.append(("parent", "a scorecard cannot be its own parent; name the organisation's scorecard"))
    for index, objective in enumerate(scorecard.objectives):
        if objective.perspective not in perspectives:
            problems.append((f"objectives[{index}].perspective", f"there is no perspective {objective.perspective!r}"
                                                                 f" in this file; use one of {listed(perspectives)}"))
        if objective.rolls_up_to is not None and scorecard.parent is None:
            problems.append((f"objectives[{index}].rolls_up_to", "only a scorecard with a parent can roll up into "
                                                                 "it; add parent, or remove rolls_up_to"))
    for index, measure in enumerate(scorecard.measures):
        if measure.objective not in objectives:
            problems.append((f"measures[{index}].objective", f"there is no objective {measure.objective!r} in this "
                                                             f"file; use one of {listed(objectives)}"))
        if measure.direction == "middle" and measure.scoring in ("linear", "progress", "goal_red_flag"):
            problems.append((f"measures[{index}].direction", f"{measure.scoring} scoring reads a measure that is "
                                                             f"better up or down; for one best in the middle choose "
                                                             f"scoring: stabilise, with the band from low to high"))
        problems += _target_problems(f"measures[{index}]", measure)
    problems += _formula_cycles(scorecard.measures)
    problems += _link_problems(scorecard, objectives, measures)
    return problems


def _target_problems(path: str, measure: MeasureFile) -> list[tuple[str, str]]:
    problems = []
    seen: set[str] = set()
    for number, target in enumerate(measure.targets):
        where = f"{path}.targets[{number}]"
        try:
            kind = period_kind(target.from_period)
        except DaysError as exc:
            problems.append((f"{where}.from", str(exc)))
        else:
            if kind != measure.period:
                example = "2026-01" if measure.period == "month" else "2026-Q1"
                problems.append((f"{where}.from", f"{target.from_period!r} is a {kind} but the measure is measured "
                                                  f"by {measure.period}; write a {measure.period} such as {example}"))
        if target.from_period in seen:
            problems.append((f"{where}.from", f"two targets start in {target.from_period}; keep one"))
        seen.add(target.from_period)
        for needed in NEEDS[measure.scoring]:
            if needed == "rules" and not target.rules:
                problems.append((f"{where}.rules", "status_rules scoring needs its rules, in order: "
                                                   "[{when: actual >= target, status: on target, colour: green}, ...]"))
            elif needed != "rules" and getattr(target, needed) is None:
                problems.append((f"{where}.{needed}", f"{measure.scoring} scoring needs {needed}; give it "
                                                      f"(it needs {' and '.join(NEEDS[measure.scoring])})"))
        for index, rule in enumerate(target.rules):
            problems += _rule_problems(f"{where}.rules[{index}].when", rule.when)
        problems += [(f"{where}.{name}", message) for name, message in _order_problems(measure.scoring, target)]
        if measure.scoring == "goal_red_flag" and target.goal is not None and target.goal == target.red_flag:
            problems.append((f"{where}.red_flag", "the red flag must differ from the goal"))
        if measure.scoring == "progress" and target.target is not None and target.target == target.baseline:
            problems.append((f"{where}.baseline", "the baseline must differ from the target"))
    return problems


def _order_problems(scoring: str, target: TargetFile) -> list[tuple[str, str]]:
    """Thresholds in the order their scoring reads them: minimum < maximum; minimum < low ≤ high < maximum."""
    if scoring == "linear" and None not in (target.minimum, target.maximum) and target.minimum >= target.maximum:
        return [("maximum", "maximum must be above minimum")]
    if scoring != "stabilise" or None in (target.minimum, target.low, target.high, target.maximum):
        return []
    if target.minimum >= target.low:
        return [("low", "low must be above minimum")]
    if target.low > target.high:
        return [("high", "high must not be below low")]
    if target.high >= target.maximum:
        return [("maximum", "maximum must be above high")]
    return []


def _rule_problems(path: str, when: str) -> list[tuple[str, str]]:
    """A status rule's condition reads only actual and target (or is the last line, otherwise)."""
    if when == OTHERWISE:
        return []
    try:
        names = set(parse_formula(when).names)
    except FormulaError as exc:
        return [(path, str(exc))]
    if names - {"actual", "target"}:
        return [(path, f"a status rule reads only actual and target, not {listed(names - {'actual', 'target'})}; "
                       f"e.g. actual >= 0.9 * target, or otherwise for the last rule")]
    return []


def _formula_cycles(measures: list[MeasureFile]) -> list[tuple[str, str]]:
    """Formulas that reach their own measure through other formulas. Whether each formula reads and names only
    measures of the scorecard is voxpop.scorecard.sources.check_source's to say, when the file is applied."""
    uses: dict[str, set[str]] = {}
    for measure in measures:
        if measure.source.get("kind") == "formula":
            try:
                uses[measure.key] = set(parse_formula(str(measure.source.get("formula") or "")).names)
            except FormulaError:
                continue
    return [(f"measures[{index}].source.formula", f"{measure.key!r} depends on itself through formulas "
                                                  f"({' → '.join(_cycle(measure.key, uses))}); break the cycle")
            for index, measure in enumerate(measures) if measure.key in _reached(measure.key, uses)]


def _cycle(start: str, uses: dict[str, set[str]]) -> list[str]:
    """One path from `start` back to itself, for the message: each step goes to a measure that leads back."""
    path = [start]
    while start not in uses.get(path[-1], ()) and len(path) <= len(uses):
        path.append(min(key for key in uses.get(path[-1], ()) if start in _reached(key, uses)))
    return [*path, start]


def _reached(start: str, uses: dict[str, set[str]]) -> set[str]:
    reached: set[str] = set()
    todo = list(uses.get(start, ()))
    while todo:
        key = todo.pop()
        if key not in reached:
            reached.add(key)
            todo += uses.get(key, ())
    return reached


def _link_problems(scorecard: ScorecardFile, objectives: set[str],
                   measures: dict[str, MeasureFile]) -> list[tuple[str, str]]:
    problems = []
    pairs: set[tuple[str, str]] = set()
    for index, link in enumerate(scorecard.links):
        path = f"links[{index}]"
        for end in ("cause", "effect"):
            key = getattr(link, end)
            if key not in objectives:
                problems.append((f"{path}.{end}", f"there is no objective {key!r} in this file; use one of "
                                                  f"{listed(objectives)}"))
            measure_key = getattr(link, f"{end}_measure")
            if measure_key is None:
                continue
            if measure_key not in measures:
                problems.append((f"{path}.{end}_measure", f"there is no measure {measure_key!r} in this file"))
            elif measures[measure_key].objective != key:
                problems.append((f"{path}.{end}_measure", f"{measure_key!r} measures the objective "
                                                          f"{measures[measure_key].objective!r}, not {key!r}; name "
                                                          f"one of {key!r}'s measures"))
        if link.cause == link.effect:
            problems.append((f"{path}.effect", "a link joins two different objectives"))
        if (link.cause, link.effect) in pairs:
            problems.append((path, f"the link from {link.cause!r} to {link.effect!r} is given twice; keep one"))
        pairs.add((link.cause, link.effect))
    return problems

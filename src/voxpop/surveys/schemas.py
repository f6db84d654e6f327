"""The shape of a survey definition file (YAML or JSON), and the rules a valid one follows."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    field_validator,
    model_validator,
)

KEY = r"^[a-z][a-z0-9_-]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$")]
# A text in one language ("How did we do?") or several ({"en": "...", "de": "..."}).
LocalText = str | dict[Language, Annotated[str, StringConstraints(min_length=1, max_length=2000)]]

# Names the survey form itself uses: an attribute with one of them would collide (and `t` would store the
# invitation token in clear).
RESERVED_ATTRIBUTES = ("t", "lang", "page", "form_token", "back")
SCORED_KINDS = ("nps", "csat", "ces", "rating")
# CES 1.0 asks for effort on 1–5 (lower is better); CES 2.0 asks for agreement on 1–7 (higher is better).
CES_SCALES = {"1.0": (1, 5), "2.0": (1, 7)}
# NPS is asked 0–10; a 1–10 recommend question (imported from tools that offer no 0) keeps its real scale and
# the standard cut points, detractors up to 6 and promoters from 9; it is never shifted onto 0–10.
NPS_SCALES = ((0, 10), (1, 10))
DEFAULT_SCALES = {"nps": (0, 10), "csat": (1, 5)}
CHOICE_KINDS = ("single_choice", "multiple_choice")
# The choice value of the "Other" option a question adds with `other:`; the respondent's words go in the answer's text.
OTHER = "other"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scale(Strict):
    min: int = Field(ge=0, le=1)
    max: int = Field(ge=2, le=11)


class Option(Strict):
    value: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    label: LocalText | None = None


class Anchors(Strict):
    low: LocalText | None = None
    high: LocalText | None = None


class Condition(Strict):
    """Show a question only when an earlier answer meets one test, e.g. {question: nps, lte: 6}."""

    question: Key
    # Strict: YAML reads `eq: yes` as true, which must not silently become the number 1.
    eq: StrictInt | StrictStr | None = None
    ne: StrictInt | StrictStr | None = None
    lt: StrictInt | None = None
    lte: StrictInt | None = None
    gt: StrictInt | None = None
    gte: StrictInt | None = None
    any_of: list[StrictInt | StrictStr] | None = Field(None, alias="in")
    answered: bool | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Condition:
        tests = [name for name in ("eq", "ne", "lt", "lte", "gt", "gte", "any_of", "answered") if getattr(self, name) is not None]
        if len(tests) != 1:
            raise ValueError("a condition needs exactly one test: eq, ne, lt, lte, gt, gte, in or answered")
        return self

    def holds(self, answer: Any) -> bool:
        """Whether the condition is met by the earlier answer (None when it was not given)."""
        if self.answered is not None:
            return (answer not in (None, "", [])) == self.answered
        if answer in (None, "", []):
            return False
        values = answer if isinstance(answer, list) else [answer]
        if self.eq is not None:
            return self.eq in values
        if self.ne is not None:
            return self.ne not in values
        if self.any_of is not None:
            return any(value in self.any_of for value in values)
        numbers = [value for value in values if isinstance(value, int)]
        bound, compare = next(
            (getattr(self, name), op)
            for name, op in (("lt", int.__lt__), ("lte", int.__le__), ("gt", int.__gt__), ("gte", int.__ge__))
            if getattr(self, name) is not None
        )
        return any(compare(number, bound) for number in numbers)


class QuestionDefinition(Strict):
    """One question. `ordered` says a single choice's options form a scale, in their order; `page_break` starts a
    new page at this question.

    `other` adds an "Other" option with a text box after the options (true for the standard label, or a label of
    its own). A live answer stores it as one answer row whose choice is OTHER and whose text is what the respondent
    typed. An import stores what a respondent typed under "Other" as the row's choice itself (Google Forms writes it
    among the chosen options), with no text. So, to the results, an "Other" answer is any choice row whose value is
    not one of the question's listed options, and its words are the row's text, else its choice."""

    key: Key
    kind: Literal["nps", "csat", "ces", "rating", "single_choice", "multiple_choice", "text"]
    text: LocalText
    help: LocalText | None = None
    required: bool = False
    scale: Scale | None = None
    ces_version: Literal["1.0", "2.0"] | None = None
    anchors: Anchors | None = None
    options: list[Option] | None = None
    max_length: int | None = Field(None, ge=1)
    show_if: Condition | None = None
    # Left out of dumps when unset, so a survey that does not use them keeps its fingerprint (and its version).
    ordered: bool = Field(False, exclude_if=lambda value: not value)
    other: LocalText | bool | None = Field(None, exclude_if=lambda value: value is None)
    page_break: bool = Field(False, exclude_if=lambda value: not value)

    @field_validator("other")
    @classmethod
    def _other_label(cls, value: LocalText | bool | None) -> LocalText | bool | None:
        if value is False:
            return None  # `other: false` means what leaving it out means
        if value == "":
            raise ValueError("give the Other option's label, or other: true for the standard one")
        return value

    @model_validator(mode="after")
    def _kind_rules(self) -> QuestionDefinition:
        if self.kind == "nps" and self.scale is not None and (self.scale.min, self.scale.max) not in NPS_SCALES:
            raise ValueError("an NPS question is 0–10 (or 1–10 for an imported one); use kind 'rating' for another scale")
        if self.kind == "csat" and self.scale is not None and (self.scale.min, self.scale.max) != (1, 5):
            raise ValueError("a CSAT question is always 1–5; use kind 'rating' for another scale")
        if self.kind == "ces":
            if self.ces_version is None:
                raise ValueError("a CES question needs ces_version: '1.0' (1–5, lower is better) or '2.0' (1–7 agreement)")
            if self.scale is not None and (self.scale.min, self.scale.max) != CES_SCALES[self.ces_version]:
                low, high = CES_SCALES[self.ces_version]
                raise ValueError(f"CES {self.ces_version} is on a {low}–{high} scale")
        elif self.ces_version is not None:
            raise ValueError("ces_version applies only to kind 'ces'")
        if self.kind == "rating" and self.scale is None:
            raise ValueError("a rating question needs a scale, e.g. scale: {min: 1, max: 5}")
        if self.kind in CHOICE_KINDS:
            if not self.options or len(self.options) < 2:
                raise ValueError("a choice question needs at least two options")
            values = [option.value for option in self.options]
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
        elif self.options is not None:
            raise ValueError(f"options apply only to choice questions, not to kind {self.kind!r}")
        if self.ordered and self.kind != "single_choice":
            raise ValueError("ordered applies only to single_choice questions: an ordered scale (strongly disagree … "
                             f"strongly agree) takes one answer, and kind {self.kind!r} does not")
        if self.other is not None and self.kind not in CHOICE_KINDS:
            raise ValueError(f"other (an Other option with a text box) applies only to choice questions, not to kind {self.kind!r}")
        if self.kind not in SCORED_KINDS and self.scale is not None:
            raise ValueError(f"a scale applies only to scored questions, not to kind {self.kind!r}")
        if self.kind not in SCORED_KINDS and self.anchors is not None:
            raise ValueError(f"anchors (the scale's end labels) apply only to scored questions, not to kind {self.kind!r}")
        if self.kind != "text" and self.max_length is not None:
            raise ValueError("max_length applies only to kind 'text'")
        return self

    @property
    def bounds(self) -> tuple[int, int] | None:
        """The (low, high) of a scored question's scale."""
        if self.kind == "ces":
            return CES_SCALES[self.ces_version or "2.0"]
        if self.scale is not None:
            return (self.scale.min, self.scale.max)
        return DEFAULT_SCALES.get(self.kind)

    @property
    def choice_values(self) -> list[str]:
        """The values a choice answer may take, in order: the options, then OTHER when the question adds it."""
        values = [option.value for option in self.options or []]
        return values + [OTHER] if self.other is not None else values


def link_value(text: str) -> str:
    """An attribute value as links and lists are compared: NFC-normalised and trimmed, so "Mu\u0308nchen " (a
    decomposed ü, as some systems write it, and a stray space) is the listed "München"."""
    return unicodedata.normalize("NFC", text).strip()


class ListedAttribute(Strict):
    """An attribute a public link may set only to one of `values`, e.g. {key: store, values: [Berlin, Munich]}."""

    key: Key
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(min_length=1)

    @field_validator("values", mode="before")
    @classmethod
    def _written_values(cls, values: Any) -> Any:
        """Store numbers (`values: [12, 14]`) are read as text; YAML's yes/no would silently become true/false."""
        if not isinstance(values, list):
            return values
        if any(isinstance(value, bool) for value in values):
            raise ValueError("a value reads as true/false: put it in quotes, e.g. 'yes'")
        return [link_value(str(value)) if isinstance(value, int | str) else value for value in values]


# A plain name, or a mapping with the values: told apart up front so that an error names only the form written.
DeclaredAttribute = Annotated[
    Annotated[Key, Tag("attribute-name")] | Annotated[ListedAttribute, Tag("listed-attribute")],
    Discriminator(lambda each: "listed-attribute" if isinstance(each, dict | ListedAttribute) else "attribute-name"),
]


class SurveyDefinition(Strict):
    key: Key
    title: LocalText
    status: Literal["draft", "live", "closed"] = "draft"
    languages: list[Language] = Field(default_factory=lambda: ["en"], min_length=1)
    intro: LocalText | None = None
    thanks: LocalText | None = None
    # Written `attributes: [channel, {key: store, values: [Berlin, Munich]}]`; `attributes` reads the names.
    declared_attributes: list[DeclaredAttribute] = Field(default_factory=list, alias="attributes")
    questions: list[QuestionDefinition] = Field(min_length=1)

    @property
    def attributes(self) -> list[str]:
        """The names of the attributes a response may carry, in the file's order."""
        return [each if isinstance(each, str) else each.key for each in self.declared_attributes]

    @property
    def allowed_values(self) -> dict[str, list[str]]:
        """The values a public link may give, for each attribute that lists them."""
        return {each.key: list(each.values) for each in self.declared_attributes if isinstance(each, ListedAttribute)}


def text_in(text: LocalText | None, language: str, fallback: str) -> str:
    """The text in `language`, else in `fallback`, else empty."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(fallback) or ""


def localised_texts(definition: SurveyDefinition) -> Iterator[tuple[str, LocalText]]:
    """Every text a respondent may read, with its path in the file (`questions[1].options[0].label`)."""
    for name in ("title", "intro", "thanks"):
        if (text := getattr(definition, name)) is not None:
            yield name, text
    for index, question in enumerate(definition.questions):
        path = f"questions[{index}]"
        texts = [("text", question.text), ("help", question.help)]
        if question.anchors:
            texts += [("anchors.low", question.anchors.low), ("anchors.high", question.anchors.high)]
        texts += [(f"options[{number}].label", option.label) for number, option in enumerate(question.options or [])]
        if not isinstance(question.other, bool):  # true takes voxpop's own label, in each language it ships
            texts.append(("other", question.other))
        yield from ((f"{path}.{name}", text) for name, text in texts if text is not None)


def missing_translations(definition: SurveyDefinition) -> list[tuple[str, str]]:
    """The (path, language) of each text not given in one of the survey's languages; a plain string counts as the
    first language's text."""
    missing = []
    for path, text in localised_texts(definition):
        given = text.keys() if isinstance(text, dict) else definition.languages[:1]
        missing += [(path, language) for language in definition.languages if language not in given]
    return missing


def cross_check(definition: SurveyDefinition) -> list[tuple[str, str]]:
    """The (path, problem) pairs a field-by-field check cannot see: keys, conditions and languages."""
    problems: list[tuple[str, str]] = []
    seen: dict[str, QuestionDefinition] = {}
    if len(set(definition.languages)) != len(definition.languages):
        problems.append(("languages", "a language is listed twice"))
    if len(set(definition.attributes)) != len(definition.attributes):
        problems.append(("attributes", "an attribute is listed twice"))
    for index, name in enumerate(definition.attributes):
        if name in RESERVED_ATTRIBUTES:
            problems.append((f"attributes[{index}]", f"{name!r} is reserved by the survey form; choose another name"))
    for index, each in enumerate(definition.declared_attributes):
        if isinstance(each, ListedAttribute):
            problems += _listed_value_problems(f"attributes[{index}]", each)

    for path, text in localised_texts(definition):
        if isinstance(text, dict):
            for language in definition.languages:
                if language not in text:
                    problems.append((path, f"missing the {language!r} text (the survey's languages are {definition.languages})"))
            for language in text:
                if language not in definition.languages:
                    problems.append((path, f"has a {language!r} text, but {language!r} is not in the survey's languages"))
        elif len(definition.languages) > 1:
            problems.append((path, f"give the text in each language: {definition.languages}"))

    for index, question in enumerate(definition.questions):
        path = f"questions[{index}]"
        if question.key in seen:
            problems.append((f"{path}.key", f"the key {question.key!r} is used twice"))
        if question.other is not None:
            problems += [(f"{path}.options[{number}].value", f"{OTHER!r} is the value of the Other option that "
                          "`other` adds; give this option another value, or remove `other`")
                         for number, option in enumerate(question.options or []) if option.value == OTHER]
        condition = question.show_if
        if condition is not None:
            earlier = seen.get(condition.question)
            if earlier is None:
                problems.append((f"{path}.show_if.question", f"{condition.question!r} is not an earlier question"))
            elif earlier.kind == "text" and condition.answered is None:
                problems.append((f"{path}.show_if", "a text answer can only be tested with 'answered'"))
            else:
                problems += [(f"{path}.show_if", problem) for problem in _condition_problems(condition, earlier)]
        seen[question.key] = question
    return problems


def _listed_value_problems(path: str, listed: ListedAttribute) -> list[tuple[str, str]]:
    problems, seen = [], set()
    for number, value in enumerate(listed.values):
        if value in seen:
            problems.append((f"{path}.values[{number}]", f"{value!r} is listed twice (compared after trimming and "
                             "Unicode normalisation)"))
        seen.add(value)
        if "|" in value or ";" in value:  # the survey builder writes a list as `store = Berlin | Munich; channel`
            problems.append((f"{path}.values[{number}]", f"{value!r} holds '|' or ';', which separate values in the "
                             "survey builder; write it without them"))
    return problems


def _condition_problems(condition: Condition, earlier: QuestionDefinition) -> list[str]:
    """Why a condition on `earlier` could never hold as written (empty when it can)."""
    compared = [value for value in (condition.eq, condition.ne, *(condition.any_of or [])) if value is not None]
    ordered = [value for value in (condition.lt, condition.lte, condition.gt, condition.gte) if value is not None]
    if earlier.kind in SCORED_KINDS:
        low, high = earlier.bounds  # type: ignore[misc]
        if any(isinstance(value, str) for value in compared):
            return [f"{condition.question!r} is scored: compare it with numbers"]
        outside = [value for value in compared + ordered if not low - 1 <= value <= high + 1]
        if outside:
            return [f"{outside[0]} is outside {condition.question!r}'s {low}–{high} scale"]
    elif earlier.kind in CHOICE_KINDS:
        if ordered:
            return [f"{condition.question!r} is a choice: use eq, ne, in or answered, not lt/lte/gt/gte"]
        options = set(earlier.choice_values)
        unknown = [value for value in compared if value not in options]
        if unknown:
            return [f"{unknown[0]!r} is not an option of {condition.question!r} ({', '.join(sorted(options))})"]
    return []


class DocumentProblems(ValueError):
    """A YAML/JSON document that is not a mapping at all; `problems` holds (where, what) pairs as a file error
    lists them."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{where}: {what}" for where, what in problems))
        self.problems = problems


def read_mapping(text: str, *, expected: str) -> dict:
    """YAML or JSON text (JSON is valid YAML) as a mapping; a syntax error names its line and column, and
    anything but a mapping says what was `expected` ("a mapping with key, title and questions")."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise DocumentProblems([(where, f"not valid YAML or JSON: {getattr(exc, 'problem', exc)}")]) from None
    if not isinstance(raw, dict):
        raise DocumentProblems([("(top level)", f"expected {expected}")])
    return raw


def format_location(location: tuple[Any, ...]) -> str:
    """('questions', 2, 'scale', 'max') -> 'questions[2].scale.max'."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.match(r"^(str|int|dict\[.*\]|function-after\[.*\]|literal\[.*\]|list\[.*\]|attribute-name|listed-attribute)$",
                      str(part)):
            continue  # pydantic names the union branch it tried; the user does not need it
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"

"""The survey builder's logic: starting points, the edit form as flat fields and back, structural edits, where a
problem belongs on the form, what changes between two versions, and the texts side by side for translation.

A draft being edited is a plain dict in the shape of a survey file, valid or not: the form carries it between
steps, and it becomes a SurveyDefinition only through `service.parse_definition`, as `voxpop survey apply` does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voxpop.surveys.schemas import (
    CES_SCALES,
    KEY,
    SCORED_KINDS,
    QuestionDefinition,
    SurveyDefinition,
)
from voxpop.surveys.service import SurveyFileError, parse_definition

STARTERS_FOLDER = Path(__file__).resolve().parent / "starters"
# (name, label, file): the starting points offered on the new-survey page, in the order shown.
STARTERS = (
    ("relationship-nps", "Relationship NPS: how likely customers are to recommend you, and why", "relationship-nps.yaml"),
    ("transactional-csat", "Transactional CSAT: satisfaction after a support request, and whether it was resolved",
     "transactional-csat.yaml"),
    ("ces-after-support", "CES 2.0 after support: how easy it was to get an issue handled", "ces-after-support.yaml"),
    ("employee-nps", "Employee NPS: how likely staff are to recommend you as a place to work", "employee-nps.yaml"),
    ("blank", "A blank survey with one question", "blank.yaml"),
)
KIND_LABELS = {
    "nps": "NPS (0–10 recommend)",
    "csat": "CSAT (1–5 satisfaction)",
    "ces": "CES (customer effort)",
    "rating": "Rating on a scale",
    "single_choice": "Single choice",
    "multiple_choice": "Multiple choice",
    "text": "Free text",
}
# What a new question of each kind starts with, so it is valid as soon as its text is written.
NEW_QUESTION = {
    "ces": {"ces_version": "2.0"},
    "rating": {"scale": {"min": 1, "max": 5}},
    "single_choice": {"options": [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]},
    "multiple_choice": {"options": [{"value": "a", "label": "First option"}, {"value": "b", "label": "Second option"}]},
}
# show_if tests as the form offers them: (form value, words); "unanswered" is `answered: false`.
CONDITION_TESTS = (
    ("eq", "is"), ("ne", "is not"), ("in", "is one of (comma-separated)"), ("lt", "is below"),
    ("lte", "is at most"), ("gt", "is above"), ("gte", "is at least"), ("answered", "was answered"),
    ("unanswered", "was not answered"),
)
# Yes/no settings of a question that apply to one group of kinds: (field, label, kinds).
QUESTION_FLAGS = (
    ("ordered", "The options are an ordered scale (e.g. disagree … agree): results keep their order",
     ("single_choice",)),
    ("page_break", "Start a new page with this question", tuple(KIND_LABELS)),
)
MAX_QUESTIONS = 200
FORM = "the form"


@dataclass(frozen=True)
class TextRow:
    """One text of a survey in every language: its path in the file, what it is, and its text per language."""

    path: str
    label: str
    texts: dict[str, str]


def starter(name: str, *, key: str, title: str, organisation: str) -> dict:
    """A starting point as a draft, with its key and title, and the organisation's name put into its texts."""
    file = next(file for starter_name, _, file in STARTERS if starter_name == name)
    draft = yaml.safe_load((STARTERS_FOLDER / file).read_text(encoding="utf-8"))
    named = _replace_in_texts(draft, "{organisation}", organisation.strip() or "us")
    named["key"] = key
    named["title"] = title
    return named


def _replace_in_texts(value: Any, placeholder: str, replacement: str) -> Any:
    if isinstance(value, str):
        return value.replace(placeholder, replacement)
    if isinstance(value, list):
        return [_replace_in_texts(item, placeholder, replacement) for item in value]
    if isinstance(value, dict):
        return {name: _replace_in_texts(item, placeholder, replacement) for name, item in value.items()}
    return value


def duplicate(definition: SurveyDefinition, *, key: str, title: str) -> dict:
    """A copy of a survey as a new draft: its title replaced in the first language, the others kept."""
    draft = draft_of(definition)
    draft["key"] = key
    draft["status"] = "draft"
    if isinstance(draft["title"], dict):
        draft["title"] = draft["title"] | {definition.languages[0]: title}
    else:
        draft["title"] = title
    return draft


def key_problem(key: str, *, taken_by: str | None) -> str | None:
    """Why a new survey cannot have this key, in words, or None when it can."""
    if not re.fullmatch(KEY, key):
        return ("A survey key is 1 to 64 lower-case letters, digits, hyphens or underscores, starting with a letter, "
                "e.g. support-csat-2027.")
    if taken_by is not None:
        return f"The key {key!r} is already used by the survey {taken_by!r}: choose another."
    return None


def draft_of(definition: SurveyDefinition) -> dict:
    """A valid definition as a draft, in the shape its file has."""
    return definition.model_dump(mode="json", by_alias=True, exclude_none=True)


def validated(draft: dict, problems: list[tuple[str, str]] | None = None) -> SurveyDefinition:
    """The draft as a definition, through the parser `survey apply` uses; raises SurveyFileError with every problem."""
    try:
        definition = parse_definition(json.dumps(draft, ensure_ascii=False), source=FORM)
    except SurveyFileError as error:
        raise SurveyFileError(FORM, (problems or []) + error.problems) from None
    if problems:
        raise SurveyFileError(FORM, problems)
    return definition


# The edit form: a draft as flat named fields, and back.

def languages_of(draft: dict) -> list[str]:
    """The draft's languages, the first being the one a text given without a language is in."""
    languages = draft.get("languages") or ["en"]
    return [language for language in languages if isinstance(language, str)] or ["en"]


def _in_language(text: Any, language: str, first: str) -> str:
    if isinstance(text, dict):
        value = text.get(language)
        return value if isinstance(value, str) else ""
    return text if isinstance(text, str) and language == first else ""


def _options_lines(options: list, language: str, first: str) -> str:
    lines = []
    for option in options or []:
        value = str(option.get("value", ""))
        label = _in_language(option.get("label"), language, first)
        lines.append(f"{value} = {label}" if label else value)
    return "\n".join(lines)


def form_values(draft: dict) -> dict[str, str]:
    """The edit form's field values for a draft, by field name (a checked box has the value "on")."""
    languages = languages_of(draft)
    first = languages[0]
    values = {
        "key": str(draft.get("key", "")),
        "languages": ", ".join(languages),
        "attributes": attributes_text(draft.get("attributes") or []),
    }
    for name in ("title", "intro", "thanks"):
        for language in languages:
            values[f"{name}.{language}"] = _in_language(draft.get(name), language, first)
    for index, question in enumerate(draft.get("questions") or []):
        prefix = f"q{index}"
        kind = question.get("kind", "text")
        values[f"{prefix}.key"] = str(question.get("key", ""))
        values[f"{prefix}.kind"] = kind
        if question.get("required"):
            values[f"{prefix}.required"] = "on"
        anchors = question.get("anchors") or {}
        for language in languages:
            values[f"{prefix}.text.{language}"] = _in_language(question.get("text"), language, first)
            values[f"{prefix}.help.{language}"] = _in_language(question.get("help"), language, first)
            values[f"{prefix}.anchors_low.{language}"] = _in_language(anchors.get("low"), language, first)
            values[f"{prefix}.anchors_high.{language}"] = _in_language(anchors.get("high"), language, first)
            values[f"{prefix}.options.{language}"] = _options_lines(question.get("options"), language, first)
            values[f"{prefix}.other_label.{language}"] = _in_language(question.get("other"), language, first)
        scale = question.get("scale") or {}
        values[f"{prefix}.scale_min"] = str(scale.get("min", ""))
        values[f"{prefix}.scale_max"] = str(scale.get("max", ""))
        values[f"{prefix}.ces_version"] = str(question.get("ces_version") or "2.0")
        values[f"{prefix}.max_length"] = str(question.get("max_length") or "")
        if question.get("other") is not None:
            values[f"{prefix}.other"] = "on"
        for flag, _, _ in QUESTION_FLAGS:
            if question.get(flag):
                values[f"{prefix}.{flag}"] = "on"
        condition = question.get("show_if") or {}
        test, value = _condition_test(condition)
        values[f"{prefix}.show_if_question"] = str(condition.get("question", ""))
        values[f"{prefix}.show_if_test"] = test
        values[f"{prefix}.show_if_value"] = value
    return values


def _condition_test(condition: dict) -> tuple[str, str]:
    if "answered" in condition:
        return ("answered" if condition["answered"] else "unanswered", "")
    for test in ("eq", "ne", "in", "lt", "lte", "gt", "gte"):
        if test in condition:
            value = condition[test]
            return test, ", ".join(str(item) for item in value) if isinstance(value, list) else str(value)
    return "eq", ""


def split_names(text: str) -> list[str]:
    """Names typed in one field, separated by commas or spaces ("en, de" -> ["en", "de"])."""
    return [name for name in re.split(r"[\s,;]+", text.strip()) if name]


def attributes_text(attributes: list) -> str:
    """The attributes field for a draft's list, in its order: names by commas, a listed one as
    `store = Berlin | Munich`, and `;` around a listed one ("channel, segment; store = Berlin | Munich")."""
    parts: list[str] = []
    names: list[str] = []
    for each in attributes:
        if isinstance(each, dict):
            parts += [", ".join(names)] if names else []
            parts.append(f"{each.get('key', '')} = {' | '.join(str(value) for value in each.get('values') or [])}")
            names = []
        else:
            names.append(str(each))
    return "; ".join(parts + ([", ".join(names)] if names else []))


def attributes_from_text(text: str) -> list[str | dict]:
    """The draft's attributes from the field `attributes_text` writes (the same order, names first)."""
    attributes: list[str | dict] = []
    for part in text.split(";"):
        name, equals, values = part.partition("=")
        if equals:
            attributes.append({"key": name.strip(), "values": [value.strip() for value in values.split("|") if value.strip()]})
        else:
            attributes += split_names(part)
    return attributes


def _local(form: Mapping[str, str], name: str, languages: list[str]) -> str | dict[str, str] | None:
    texts = {language: form.get(f"{name}.{language}", "").strip() for language in languages}
    texts = {language: text for language, text in texts.items() if text}
    if len(languages) == 1:
        return texts.get(languages[0])
    return texts or None


def _whole_number(text: str, path: str, what: str, problems: list[tuple[str, str]]) -> int | None:
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d{1,6}", text):
        return int(text)
    problems.append((path, f"the {what} must be a whole number, not {text!r}"))
    return None


def _options(form: Mapping[str, str], prefix: str, path: str, languages: list[str],
             problems: list[tuple[str, str]]) -> list[dict]:
    """Options from one textarea per language, a line each: "value = label" (a bare value has no label)."""
    labels: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for language in languages:
        for line in form.get(f"{prefix}.options.{language}", "").splitlines():
            if not line.strip():
                continue
            value, _, label = (part.strip() for part in line.partition("="))
            if language == languages[0]:
                order.append(value)
            elif value not in order:
                problems.append((f"{path}.options", f"the {language!r} list names {value!r}, which is not an option in "
                                                    f"the {languages[0]!r} list; write each line as value = label"))
                continue
            if label:
                labels.setdefault(value, {})[language] = label
    options = []
    for value in order:
        option: dict[str, Any] = {"value": value}
        texts = labels.get(value, {})
        if len(languages) == 1 and texts:
            option["label"] = texts[languages[0]]
        elif texts:
            option["label"] = texts
        options.append(option)
    return options


def _condition(form: Mapping[str, str], prefix: str, path: str, earlier: dict[str, str],
               problems: list[tuple[str, str]]) -> dict | None:
    question = form.get(f"{prefix}.show_if_question", "").strip()
    if not question:
        return None
    test = form.get(f"{prefix}.show_if_test", "eq")
    if test in ("answered", "unanswered"):
        return {"question": question, "answered": test == "answered"}
    if test not in {name for name, _ in CONDITION_TESTS}:
        problems.append((f"{path}.show_if", f"{test!r} is not a test the form offers; choose one from the list"))
        return None
    text = form.get(f"{prefix}.show_if_value", "").strip()
    scored = earlier.get(question) in SCORED_KINDS or test in ("lt", "lte", "gt", "gte")
    parts = [part.strip() for part in text.split(",") if part.strip()] if test == "in" else [text]
    if not any(parts):
        problems.append((f"{path}.show_if", f"give the value to compare {question!r} with"))
        return None
    values: list[int | str] = []
    for part in parts:
        if scored:
            number = _whole_number(part, f"{path}.show_if", f"value compared with {question!r}", problems)
            if number is None:
                return None
            values.append(number)
        else:
            values.append(part)
    return {"question": question, test: values if test == "in" else values[0]}


def draft_from_form(form: Mapping[str, str]) -> tuple[dict, list[tuple[str, str]]]:
    """The draft the edit form describes, and the problems only the form can have (a scale that is not a number)."""
    problems: list[tuple[str, str]] = []
    languages = split_names(form.get("languages", "")) or ["en"]
    draft: dict[str, Any] = {"key": form.get("key", "").strip()}
    for name in ("title", "intro", "thanks"):
        text = _local(form, name, languages)
        if text is not None:
            draft[name] = text
    draft["languages"] = languages
    attributes = attributes_from_text(form.get("attributes", ""))
    if attributes:
        draft["attributes"] = attributes
    questions: list[dict] = []
    kinds: dict[str, str] = {}
    for index in range(MAX_QUESTIONS):
        prefix, path = f"q{index}", f"questions[{index}]"
        kind = form.get(f"{prefix}.kind")
        if kind is None:
            break
        question: dict[str, Any] = {"key": form.get(f"{prefix}.key", "").strip(), "kind": kind}
        for name in ("text", "help"):
            text = _local(form, f"{prefix}.{name}", languages)
            if text is not None:
                question[name] = text
        if form.get(f"{prefix}.required"):
            question["required"] = True
        if kind in SCORED_KINDS:
            low = _whole_number(form.get(f"{prefix}.scale_min", ""), f"{path}.scale", "lowest point", problems)
            high = _whole_number(form.get(f"{prefix}.scale_max", ""), f"{path}.scale", "highest point", problems)
            if low is not None or high is not None:
                question["scale"] = {"min": low, "max": high}
            anchors = {end: text for end, text in (("low", _local(form, f"{prefix}.anchors_low", languages)),
                                                   ("high", _local(form, f"{prefix}.anchors_high", languages)))
                       if text is not None}
            if anchors:
                question["anchors"] = anchors
        if kind == "ces":
            version = form.get(f"{prefix}.ces_version", "2.0")
            question["ces_version"] = version if version in CES_SCALES else "2.0"
        if kind in ("single_choice", "multiple_choice"):
            question["options"] = _options(form, prefix, path, languages, problems)
            if form.get(f"{prefix}.other"):
                question["other"] = _local(form, f"{prefix}.other_label", languages) or True
        if kind == "text":
            length = _whole_number(form.get(f"{prefix}.max_length", ""), f"{path}.max_length", "longest answer",
                                   problems)
            if length is not None:
                question["max_length"] = length
        for flag, _, flag_kinds in QUESTION_FLAGS:
            if kind in flag_kinds and form.get(f"{prefix}.{flag}"):
                question[flag] = True
        condition = _condition(form, prefix, path, kinds, problems)
        if condition is not None:
            question["show_if"] = condition
        questions.append(question)
        kinds[question["key"]] = kind
    draft["questions"] = questions
    return draft, problems


def edited(draft: dict, action: str, *, new_kind: str = "text") -> dict:
    """The draft after one structural edit of the form: "add", "remove:2", "up:2", "down:2", or "refresh" (a question
    whose kind changed gets that kind's starting settings, e.g. a 1–5 scale for a rating)."""
    changed = deepcopy(draft)
    questions = changed.setdefault("questions", [])
    verb, _, position = action.partition(":")
    if verb == "refresh":
        for question in questions:
            for name, value in NEW_QUESTION.get(question.get("kind"), {}).items():
                if not question.get(name):
                    question[name] = deepcopy(value)
        return changed
    if verb == "add":
        kind = new_kind if new_kind in KIND_LABELS else "text"
        taken = {question.get("key") for question in questions}
        number = len(questions) + 1
        while f"q{number}" in taken:
            number += 1
        languages = languages_of(changed)
        text = "" if len(languages) == 1 else {}
        questions.append({"key": f"q{number}", "kind": kind, "text": text} | deepcopy(NEW_QUESTION.get(kind, {})))
        return changed
    if not position.isdigit() or int(position) >= len(questions):
        return changed
    index = int(position)
    if verb == "remove":
        del questions[index]
    elif verb == "up" and index > 0:
        questions[index - 1], questions[index] = questions[index], questions[index - 1]
    elif verb == "down" and index < len(questions) - 1:
        questions[index + 1], questions[index] = questions[index], questions[index + 1]
    return changed


def _worded(message: str) -> str:
    # pydantic's word for an empty required field; on a form it is a field left empty
    return "this is required: fill it in" if message == "Field required" else message


def problem_places(problems: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Problems by the id of the part of the form they name: "questions[2].show_if.question" -> "q2-show_if"."""
    places: dict[str, list[str]] = {}
    for path, message in problems:
        places.setdefault(place_of(path), []).append(_worded(message))
    return places


def place_of(path: str) -> str:
    """The id of the part of the form a problem's path names."""
    found = re.match(r"questions\[(\d+)\](?:\.(\w+))?", path)
    if found:
        part = found.group(2)
        if part in ("anchors", "scale", "options", "text", "help", "key", "kind", "show_if", "max_length", "other",
                    "ces_version", "ordered", "page_break"):
            return f"q{found.group(1)}-{part}"
        return f"q{found.group(1)}"
    top = re.match(r"(\w+)", path)
    if top and top.group(1) in ("key", "title", "languages", "intro", "thanks", "attributes"):
        return top.group(1)
    return "survey"


def problem_list(problems: list[tuple[str, str]], draft: dict) -> list[tuple[str, str]]:
    """(field id, sentence) for the error summary, each naming the question it is about."""
    questions = draft.get("questions") or []
    listed = []
    for path, message in problems:
        message = _worded(message)
        found = re.match(r"questions\[(\d+)\]\.?(.*)", path)
        if found and int(found.group(1)) < len(questions):
            index = int(found.group(1))
            where = f"Question {index + 1} ({questions[index].get('key') or 'no key'})"
            part = found.group(2).replace("_", " ")
            listed.append((place_of(path), f"{where}{', ' + part if part else ''}: {message}"))
        else:
            listed.append((place_of(path), f"{path.replace('_', ' ').capitalize()}: {message}"))
    return listed


# Translation: every text of a survey, side by side.

def _text_paths(draft: dict) -> Iterator[tuple[str, str, Any]]:
    for name, label in (("title", "Title"), ("intro", "Introduction"), ("thanks", "Thank-you message")):
        yield name, label, draft.get(name)
    for index, question in enumerate(draft.get("questions") or []):
        where = f"Question {index + 1} ({question.get('key')})"
        path = f"questions[{index}]"
        yield f"{path}.text", f"{where}: question", question.get("text")
        if question.get("help") is not None:
            yield f"{path}.help", f"{where}: help", question.get("help")
        for end in ("low", "high"):
            if (question.get("anchors") or {}).get(end) is not None:
                yield f"{path}.anchors.{end}", f"{where}: {end} end of the scale", question["anchors"][end]
        for option_index, option in enumerate(question.get("options") or []):
            yield (f"{path}.options[{option_index}].label", f"{where}: option {option.get('value')!r}",
                   option.get("label"))
        if question.get("other") not in (None, True):
            yield f"{path}.other", f"{where}: the Other option", question.get("other")


def text_rows(draft: dict) -> list[TextRow]:
    """Every text of the survey with its text in each of its languages (empty where it is missing)."""
    languages = languages_of(draft)
    return [TextRow(path, label, {language: _in_language(text, language, languages[0]) for language in languages})
            for path, label, text in _text_paths(draft)]


def cell_id(path: str, language: str) -> str:
    """The HTML id of one text in one language on the translation view."""
    return "t-" + re.sub(r"[^a-zA-Z0-9]+", "-", f"{path}-{language}")


def missing_texts(rows: list[TextRow]) -> list[tuple[TextRow, str]]:
    """(row, language) for each text given in some language but not in this one."""
    return [(row, language) for row in rows if any(row.texts.values())
            for language, text in row.texts.items() if not text]


def with_texts(draft: dict, texts: Mapping[tuple[str, str], str], languages: list[str]) -> dict:
    """The draft with its texts from the translation view, keyed by (path, language), in these languages."""
    changed = deepcopy(draft)
    changed["languages"] = languages
    for path, _, _ in list(_text_paths(changed)):
        given = {language: texts.get((path, language), "").strip() for language in languages}
        given = {language: text for language, text in given.items() if text}
        value: Any = given.get(languages[0]) if len(languages) == 1 else (given or None)
        _set_path(changed, path, value)
    return changed


def _set_path(draft: dict, path: str, value: Any) -> None:
    steps = [int(step) if step.isdigit() else step for step in re.findall(r"\w+", path)]
    holder: Any = draft
    for step in steps[:-1]:
        holder = holder[step]
    if value is None:
        holder.pop(steps[-1], None)
    else:
        holder[steps[-1]] = value


# What changed between two versions, in words.

def _text(text: Any) -> str:
    if isinstance(text, dict):
        return " / ".join(f"{language}: {value}" for language, value in text.items())
    return "" if text is None else str(text)


def _scale(question: QuestionDefinition) -> str:
    bounds = question.bounds
    return f"{bounds[0]}–{bounds[1]}" if bounds else "none"


def _condition_words(question: QuestionDefinition) -> str:
    condition = question.show_if
    if condition is None:
        return "always shown"
    shown = condition.model_dump(by_alias=True, exclude_none=True)
    test, value = next((name, shown[name]) for name in shown if name != "question")
    words = dict(CONDITION_TESTS)
    if test == "answered":
        return f"shown when {condition.question!r} {'was' if value else 'was not'} answered"
    return f"shown when {condition.question!r} {words[test].split(' (')[0]} {value}"


def _question_changes(before: QuestionDefinition, after: QuestionDefinition) -> list[str]:
    changes = []
    if before.kind != after.kind:
        changes.append(f"kind {KIND_LABELS[before.kind]} → {KIND_LABELS[after.kind]}")
    if before.text != after.text:
        changes.append(f"text “{_text(before.text)}” → “{_text(after.text)}”")
    if before.bounds != after.bounds or before.ces_version != after.ces_version:
        changes.append(f"scale {_scale(before)} → {_scale(after)}")
    if before.required != after.required:
        changes.append("now required" if after.required else "no longer required")
    if before.options != after.options:
        old = {option.value: option for option in before.options or []}
        new = {option.value: option for option in after.options or []}
        added = [value for value in new if value not in old]
        removed = [value for value in old if value not in new]
        relabelled = [value for value in new if value in old and old[value].label != new[value].label]
        if added:
            changes.append("options added: " + ", ".join(added))
        if removed:
            changes.append("options removed: " + ", ".join(removed))
        if relabelled:
            changes.append("options relabelled: " + ", ".join(relabelled))
        if not (added or removed or relabelled):
            changes.append("options reordered")
    if before.show_if != after.show_if:
        changes.append(f"{_condition_words(before)} → {_condition_words(after)}")
    if before.ordered != after.ordered:
        changes.append("options now an ordered scale" if after.ordered else "options no longer an ordered scale")
    if before.page_break != after.page_break:
        changes.append("now starts a new page" if after.page_break else "no longer starts a new page")
    if before.other != after.other:
        changes.append("Other option " + ("added" if before.other is None else
                                          "removed" if after.other is None else "relabelled"))
    for name, label in (("help", "help text"), ("anchors", "scale labels"), ("max_length", "longest answer")):
        if getattr(before, name) != getattr(after, name):
            changes.append(f"{label} changed")
    return changes


def changes(before: SurveyDefinition, after: SurveyDefinition) -> list[str]:
    """What an edit changes, a sentence each: questions added, removed and changed, texts, scales, languages."""
    lines = []
    if before.title != after.title:
        lines.append(f"Title “{_text(before.title)}” → “{_text(after.title)}”.")
    for name, label in (("intro", "Introduction"), ("thanks", "Thank-you message")):
        if getattr(before, name) != getattr(after, name):
            lines.append(f"{label} changed.")
    added_languages = [language for language in after.languages if language not in before.languages]
    removed_languages = [language for language in before.languages if language not in after.languages]
    if added_languages:
        lines.append("Languages added: " + ", ".join(added_languages) + ".")
    if removed_languages:
        lines.append("Languages removed: " + ", ".join(removed_languages) + ".")
    if before.declared_attributes != after.declared_attributes:
        shown = [attributes_text([each if isinstance(each, str) else each.model_dump() for each in definition.declared_attributes])
                 for definition in (before, after)]
        lines.append(f"Attributes {shown[0] or 'none'} → {shown[1] or 'none'}.")
    old = {question.key: question for question in before.questions}
    new = {question.key: question for question in after.questions}
    for question in after.questions:
        if question.key not in old:
            lines.append(f"Question {question.key!r} added ({KIND_LABELS[question.kind]}): “{_text(question.text)}”.")
        elif question != old[question.key]:
            lines.append(f"Question {question.key!r}: " + "; ".join(_question_changes(old[question.key], question)) + ".")
    for question in before.questions:
        if question.key not in new:
            lines.append(f"Question {question.key!r} removed: “{_text(question.text)}”. Its earlier answers stay "
                         "with the versions they were given on.")
    kept_before = [question.key for question in before.questions if question.key in new]
    kept_after = [question.key for question in after.questions if question.key in old]
    if kept_before != kept_after:
        lines.append("Questions reordered: " + ", ".join(kept_after) + ".")
    return lines

"""Staff preview of a survey as the customer sees it, before or after it is saved.

Both routes draw the customer's own page template, one page at a time, with every question of the page shown (a
preview has no answers to decide conditions on: each conditional question says when it is asked) and its buttons
disabled, so nothing can be sent. The builder shows them in frames at phone and desktop width, one per language.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request

from voxpop.accounts.models import User
from voxpop.collection.answers import pages
from voxpop.collection.views import page_context
from voxpop.surveys import service as surveys
from voxpop.surveys.schemas import Condition, SurveyDefinition
from voxpop.web.auth import DbDep, require_role, verify_csrf
from voxpop.web.templating import render

router = APIRouter()
PREVIEWERS = ("admin", "manager", "analyst")
MAX_DEFINITION_LENGTH = 1_000_000  # characters: far above any real survey, well below the body limit's pain
TESTS = {"eq": "is {}", "ne": "is not {}", "lt": "is below {}", "lte": "is {} or below", "gt": "is above {}",
         "gte": "is {} or above", "any_of": "is one of {}"}


def shown_when(condition: Condition) -> str:
    """A condition in a sentence for staff: "Asked only when nps is 6 or below"."""
    if condition.answered is not None:
        test = "is answered" if condition.answered else "is not answered"
    else:
        name, value = next((name, getattr(condition, name)) for name in TESTS if getattr(condition, name) is not None)
        test = TESTS[name].format(", ".join(map(str, value)) if isinstance(value, list) else value)
    return f"Asked only when {condition.question} {test}."


def _preview_page(request: Request, definition: SurveyDefinition, *, language: str, page: int,
                  language_links: list[tuple[str, str]], page_links: list[str], form: dict[str, str] | None = None):
    """The customer's page for `definition`, marked as a preview; links (or, for a definition not saved, a form
    that sends it again) lead to its other pages."""
    page = min(page, len(pages(definition)) - 1)
    context = page_context(definition, language=language, page=page, answers={}, errors=[], form_token="",
                           invitation=None, attributes={}, every_question=True)
    conditions = {question.key: question.show_if for question in definition.questions if question.show_if}
    for question in context["questions"]:
        if question["key"] in conditions:
            question["shown_when"] = shown_when(conditions[question["key"]])
    context["languages"] = language_links
    context["preview"] = {"page_links": page_links, "form": form}
    return render(request, "collection/survey_page.html", context)


@router.post("/surveys/preview", include_in_schema=False, dependencies=[Depends(verify_csrf)])
def preview_definition(
    request: Request,
    user: Annotated[User, Depends(require_role(*PREVIEWERS))],
    definition: Annotated[str, Form(max_length=MAX_DEFINITION_LENGTH)] = "",
    language: Annotated[str, Form(max_length=16)] = "",
    page: Annotated[int, Form(ge=0, le=10_000)] = 0,
):
    """A survey definition (YAML or JSON text, as the builder holds it) drawn as the customer would see it."""
    if not definition.strip():
        return _problems_page(request, [("definition", "paste or build a survey definition to preview it")])
    try:
        parsed = surveys.parse_definition(definition, source="the definition")
    except surveys.SurveyFileError as refused:
        return _problems_page(request, refused.problems)
    language = language if language in parsed.languages else parsed.languages[0]
    return _preview_page(request, parsed, language=language, page=page, language_links=[], page_links=[],
                         form={"definition": definition})


@router.get("/surveys/{key}/preview", include_in_schema=False)
def preview_saved(
    request: Request,
    key: str,
    user: Annotated[User, Depends(require_role(*PREVIEWERS))],
    db: DbDep,
    language: Annotated[str | None, Query(max_length=16)] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    page: Annotated[int, Query(ge=0, le=10_000)] = 0,
):
    """A saved survey, its newest version or the one asked for, drawn as the customer would see it."""
    with db.read() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=key)
        if survey is None:
            return _not_found(request, f"There is no survey with key {key!r}; check the address.")
        chosen = next((each for each in survey.versions if each.number == version), None) if version else \
            survey.current_version
        if chosen is None:
            numbers = ", ".join(str(each.number) for each in survey.versions) or "none"
            return _not_found(request, f"Survey {key!r} has no version {version} (its versions: {numbers}).")
        definition = surveys.definition_of(chosen, status=survey.status)
        number = chosen.number

    def href(**query) -> str:
        return "?" + urlencode({"language": language, "version": number, "page": page} | query)

    language = language if language in definition.languages else definition.languages[0]
    return _preview_page(request, definition, language=language, page=page,
                         language_links=[(code, href(language=code, page=0)) for code in definition.languages],
                         page_links=[href(page=index) for index in range(len(pages(definition)))])


def _problems_page(request: Request, problems: list[tuple[str, str]]):
    listed = [f"{path}: {message}" for path, message in problems]
    return render(request, "collection/preview_problems.html", {"problems": listed}, status_code=422)


def _not_found(request: Request, detail: str):
    # Rendered here: the app's 404 handler words every 404 as a wrong address, and this one can say what exists.
    return render(request, "error.html", {"status": 404, "title": "Not found", "detail": detail}, status_code=404)

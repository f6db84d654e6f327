"""Invitation e-mails from templates per language: sandboxed Jinja, checked before a send starts.

A template is {"subject": ..., "body": ...} in Jinja syntax, written as plain text. Staff who write templates are
not trusted with the server: the sandbox refuses attribute tricks (`{{ ''.__class__ }}`), and StrictUndefined makes
a misspelt variable an error at check time instead of an empty gap in ten thousand e-mails.

The HTML part is made from the same rendered text, so the two parts never say different things: the whole text is
escaped (the template's own words as well as the customer's attributes: no markup reaches the mail from either),
blank lines become paragraphs, and the link, unsubscribe link and score buttons, rendered as placeholders, become
links. The layout is a plain table with HTML attributes (mail clients drop stylesheets); no image, no tracking pixel.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

FIELDS = ("subject", "body")
MAX_SUBJECT = 200
MAX_BODY = 20_000
LINK_NAMES = ("link", "unsubscribe_link", "score_buttons")
# Placeholders for the link-like variables, swapped for markup after the text is escaped. \x00 never survives into
# a customer's attributes (they are stripped of it), so no value can forge one.
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00([a-z_]+)\x00")

MAX_RENDERED = 100_000  # characters one rendered field may reach; a template writing more is refused
_HUGE_WIDTH = re.compile(r"\d{6,}")  # a width of a million or more in a format string ("{:>9999999}", "%9999999s")
_PADDING_METHODS = frozenset({"ljust", "rjust", "center", "zfill", "expandtabs"})  # a width argument: refuse a huge one
_PADDING_FILTERS = frozenset({"center", "indent", "slice"})


class OutputTooLong(SecurityError):
    """A template that would write more than MAX_RENDERED characters (`{{ "x" * 300000000 }}`)."""

    def __init__(self) -> None:
        super().__init__(f"writes more than {MAX_RENDERED:,} characters")


class _MailSandbox(SandboxedEnvironment):
    """The sandbox, also refusing what would build text or lists beyond MAX_RENDERED before building it: a
    template's arithmetic and string methods must not hold a worker for minutes or take its memory."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})  # also keeps these out of compile-time constant folding

    def call_binop(self, context, operator, left, right):
        _check_binop(operator, left, right)
        return _bounded(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (the sandbox's own signature)
        target = getattr(__obj, "__wrapped__", __obj)  # the sandbox wraps str.format; the text is the original's
        owner = getattr(target, "__self__", None)
        method = getattr(target, "__name__", "") if isinstance(owner, str) else ""
        if method in _PADDING_METHODS:
            _check_arguments(args, kwargs)
        elif method in ("format", "format_map") and _HUGE_WIDTH.search(owner):
            raise OutputTooLong()
        elif method == "replace":
            _check_replace(owner, *args[:2])
        return _bounded(super().call(__context, __obj, *args, **kwargs))


def _check_binop(operator: str, left: object, right: object) -> None:
    sized = (str, list, tuple)
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, sized) and isinstance(times, int) and len(seq) * times > MAX_RENDERED:
                raise OutputTooLong()
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and max(abs(left).bit_length(), 1) * right > MAX_RENDERED * 4:  # digits beyond any e-mail
            raise OutputTooLong()
    elif operator == "+" and isinstance(left, sized) and isinstance(right, sized):
        if len(left) + len(right) > MAX_RENDERED:
            raise OutputTooLong()
    elif operator == "%" and isinstance(left, str) and _HUGE_WIDTH.search(left):
        raise OutputTooLong()


def _check_arguments(args: tuple, kwargs: dict) -> None:
    """A width or count argument past MAX_RENDERED (`.ljust(10**9)`, `|indent(10**9)`) is refused before use."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED:
            raise OutputTooLong()


def _check_replace(text: str, old: object = None, new: object = None) -> None:
    if isinstance(old, str) and isinstance(new, str):
        count = text.count(old) if old else len(text) + 1
        if len(text) + count * max(len(new) - len(old), 0) > MAX_RENDERED:
            raise OutputTooLong()


def _bounded(value: object) -> object:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_RENDERED:
        raise OutputTooLong()
    return value


def _bounded_filter(name: str, function):
    """A filter refusing width arguments past MAX_RENDERED and results longer than it."""
    mark = getattr(function, "jinja_pass_arg", None)  # pass_context / pass_eval_context / pass_environment
    passed = 1 if mark else 0  # such a filter gets the context before its value

    def bounded(*args, **kwargs):
        value, options = (args[passed], args[passed + 1:]) if len(args) > passed else ("", ())
        if name in _PADDING_FILTERS:
            _check_arguments(options, kwargs)
        elif name == "replace" and len(options) >= 2:
            _check_replace(str(value), str(options[0]), str(options[1]))
        elif name == "format" and _HUGE_WIDTH.search(str(value)):
            raise OutputTooLong()
        return _bounded(function(*args, **kwargs))
    if mark:
        bounded.jinja_pass_arg = mark
    return bounded


environment = _MailSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
environment.filters = {name: _bounded_filter(name, function) for name, function in environment.filters.items()}


def _render(compiled: Template, variables: dict) -> str:
    """The rendered text, stopped as soon as it passes MAX_RENDERED characters (a loop writing without end)."""
    parts, length = [], 0
    for part in compiled.generate(variables):
        length += len(part)
        if length > MAX_RENDERED:
            raise OutputTooLong()
        parts.append(part)
    return "".join(parts)


class TemplateProblem(ValueError):
    """A template that cannot be rendered for one customer (a missing attribute), in words."""


@dataclass(frozen=True)
class Scores:
    """The embedded question: its wording and the link behind each score."""

    question: str
    links: list[tuple[int, str]]  # (score, url)
    low_label: str = ""
    high_label: str = ""


@dataclass(frozen=True)
class MailContext:
    """What one e-mail is about: the variables a template may use."""

    customer: dict
    survey_title: str
    link: str
    unsubscribe_link: str
    expires_on: date | None
    reminder: int = 0  # 0 for the invitation, 1.. for the reminders
    scores: Scores | None = None


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body_text: str
    body_html: str


class _Attributes(dict):
    """A sample customer's attributes for checking templates: any attribute name reads as its own name."""

    def __missing__(self, key):
        return f"[{key}]"


def check_templates(templates: object) -> list[str]:
    """Every problem with a send's templates, each naming the language and field ("de subject: unexpected '}'")."""
    return [f"{' '.join(place)}: {message}" if place else f"templates: {message}"
            for place, message in template_problems(templates)]


def template_problems(templates: object) -> list[tuple[tuple[str, ...], str]]:
    """Every problem with a send's templates as ((language, field), message); () when no language is given."""
    if not isinstance(templates, dict) or not templates:
        return [((), "give at least one language, e.g. en: {subject: ..., body: ...}")]
    problems: list[tuple[tuple[str, ...], str]] = []
    for language, template in templates.items():
        if not isinstance(template, dict):
            problems.append(((language,), "give a subject and a body"))
            continue
        for name in sorted(set(template) - set(FIELDS)):
            problems.append(((language, name), "unknown field; a template has a subject and a body"))
        for name in FIELDS:
            problems.extend(((language, name), problem) for problem in _field_problems(name, template.get(name)))
    return problems


def _field_problems(name: str, source: object) -> list[str]:
    if not isinstance(source, str) or not source.strip():
        return ["is missing; write the " + ("subject line" if name == "subject" else "e-mail's text")]
    limit = MAX_SUBJECT if name == "subject" else MAX_BODY
    if len(source) > limit:
        return [f"is {len(source):,} characters long; at most {limit:,}"]
    try:
        compiled = environment.from_string(source)
    except TemplateSyntaxError as exc:
        return [f"{exc.message} (line {exc.lineno})" if "\n" in source else str(exc.message)]
    try:
        rendered = _render(compiled, _variables(_sample_context(), markers=True))
    except (UndefinedError, SecurityError) as exc:
        return [_undefined_words(exc)]
    except Exception as exc:  # a filter given the wrong kind of value, a division by zero: the author's to fix
        return [f"cannot be rendered: {exc}"]
    if name == "subject" and "\n" in rendered.strip():
        return ["must be one line"]
    if name == "subject" and _PLACEHOLDER_RE.search(rendered):
        return ["cannot hold a link; put {{ link }} in the body"]
    if name == "body" and not {"link", "score_buttons"} & set(_PLACEHOLDER_RE.findall(rendered)):
        return ["has neither {{ link }} nor {{ score_buttons }}: the customer could not reach the survey"]
    return []


def _undefined_words(exc: Exception) -> str:
    message = str(exc)
    if isinstance(exc, UndefinedError):
        found = re.search(r"'([^']+)' is undefined", message)
        if found:
            return (f"uses {{{{ {found.group(1)} }}}}, which is not a template variable; use customer, survey_title, "
                    f"link, expires_on, unsubscribe_link, reminder, question or score_buttons")
    return f"cannot be rendered: {message}"


def _sample_context() -> MailContext:
    return MailContext(customer={"name": "Alex Example", "external_id": "C-1", "email": "alex@example.com",
                                 "language": "en", "attributes": _Attributes()},
                       survey_title="Survey", link="https://example.com/s/survey?t=x",
                       unsubscribe_link="https://example.com/u/x", expires_on=date(2027, 1, 31), reminder=0,
                       scores=Scores("How likely are you to recommend us?", [(n, f"https://example.com/{n}")
                                                                             for n in range(11)]))


def _variables(context: MailContext, *, markers: bool) -> dict:
    """The template's variables; with `markers`, the links are placeholders to become markup later."""
    def marker(name: str, plain: str) -> str:
        return _PLACEHOLDER.format(name) if markers else plain

    scores_text = "\n".join(f"{score}: {url}" for score, url in context.scores.links) if context.scores else ""
    return {"customer": context.customer, "survey_title": context.survey_title,
            "link": marker("link", context.link),
            "unsubscribe_link": marker("unsubscribe_link", context.unsubscribe_link),
            "expires_on": context.expires_on.isoformat() if context.expires_on else "",
            "reminder": context.reminder,
            "question": context.scores.question if context.scores else "",
            "score_buttons": marker("score_buttons", scores_text) if context.scores else ""}


def customer_variables(*, external_id: str, email: str | None, language: str, attributes: dict) -> dict:
    """A customer as templates see them; `name` is the attribute of that name (or first_name), else empty."""
    clean = {str(key): _strip_nul(value) for key, value in (attributes or {}).items()}
    name = clean.get("name") or clean.get("first_name") or ""
    return {"name": name, "external_id": _strip_nul(external_id), "email": email or "", "language": language,
            "attributes": clean}


def _strip_nul(value: object) -> object:
    return value.replace("\x00", "") if isinstance(value, str) else value


def render_mail(template: dict, context: MailContext, *, language: str) -> RenderedMail:
    """The subject, text and HTML parts of one e-mail. Raises TemplateProblem when the template needs what this
    customer lacks (an attribute they have no value for)."""
    try:
        subject = _render(_compiled(template["subject"]), _variables(context, markers=False))
        marked = _render(_compiled(template["body"]), _variables(context, markers=True))
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateProblem(f"the {language} template cannot be written for this contact: {exc}") from exc
    if "unsubscribe_link" not in _PLACEHOLDER_RE.findall(marked):
        # every e-mail carries its unsubscribe link, whether or not the template remembered it
        marked = marked.rstrip() + "\n\n" + _PLACEHOLDER.format("unsubscribe_link")
    return RenderedMail(subject=" ".join(subject.split()), body_text=_plain(marked, context),
                        body_html=_html(marked, context, subject=subject, language=language))


@lru_cache(maxsize=64)
def _compiled(source: str) -> Template:
    """A template compiled once per run, not once per e-mail."""
    return environment.from_string(source)


def _plain(marked: str, context: MailContext) -> str:
    values = _variables(context, markers=False)
    return _PLACEHOLDER_RE.sub(lambda found: str(values[found.group(1)]), marked).strip() + "\n"


def _html(marked: str, context: MailContext, *, subject: str, language: str) -> str:
    paragraphs = [part.strip() for part in re.split(r"\n\s*\n", marked.strip()) if part.strip()]
    blocks = [_paragraph_html(paragraph, context) for paragraph in paragraphs]
    return ("<!DOCTYPE html>\n"
            f'<html lang="{html.escape(language)}"><head><meta charset="utf-8">'
            f"<title>{html.escape(' '.join(subject.split()))}</title></head>\n"
            '<body><table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0"><tr>'
            '<td align="center"><table role="presentation" width="600" cellpadding="16" cellspacing="0" border="0">\n'
            + "\n".join(f"<tr><td>{block}</td></tr>" for block in blocks)
            + "\n</table></td></tr></table></body></html>\n")


def _paragraph_html(paragraph: str, context: MailContext) -> str:
    if paragraph == _PLACEHOLDER.format("score_buttons") and context.scores:
        return score_buttons_html(context.scores)
    escaped = html.escape(paragraph).replace("\n", "<br>\n")

    def link(found: re.Match) -> str:
        name = found.group(1)
        if name == "score_buttons":
            return score_buttons_html(context.scores) if context.scores else ""
        url = context.link if name == "link" else context.unsubscribe_link
        return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'

    return f"<p>{_PLACEHOLDER_RE.sub(link, escaped)}</p>"


def score_buttons_html(scores: Scores) -> str:
    """The embedded question as a row of score links, each opening the survey with that score chosen."""
    cells = "".join(f'<td align="center" bgcolor="#eef2f7"><a href="{html.escape(url)}">&nbsp;{score}&nbsp;</a></td>'
                    for score, url in scores.links)
    labels = ""
    if scores.low_label or scores.high_label:
        labels = (f'<tr><td colspan="{len(scores.links) // 2}" align="left">{html.escape(scores.low_label)}</td>'
                  f'<td colspan="{len(scores.links) - len(scores.links) // 2}" align="right">'
                  f"{html.escape(scores.high_label)}</td></tr>")
    return (f"<p>{html.escape(scores.question)}</p>"
            f'<table role="presentation" cellpadding="6" cellspacing="4" border="0"><tr>{cells}</tr>{labels}</table>')

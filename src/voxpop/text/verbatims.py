"""The verbatims: analysed comments, newest first, filtered by theme, sentiment, score and words, and by the
response filter every staff page shares (days or a preset period, attributes, answers to another question).

Only analysed comments are listed, and only their redacted text is ever read here. Pages are keyset pages on
(submitted_at, answer id), so a deep page costs what the first one does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, and_, exists, false, or_, select, true
from sqlalchemy.orm import aliased

from voxpop.collection.filters import FilterError, ResponseFilter, response_conditions
from voxpop.collection.models import Answer, Response
from voxpop.surveys.models import Question, Survey
from voxpop.text.codebook import DEFAULT_CODEBOOK
from voxpop.text.models import CommentAnalysis, CommentTheme

# The NPS groups of Reichheld (2003), on the 0–10 scale.
NPS_GROUPS = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}
SENTIMENTS = ("positive", "neutral", "negative", "unscored")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_SEARCH = 200
MAX_SEARCH_TERMS = 10  # each is a scan of the comments' text
CURSOR = re.compile(r"^(-?\d{1,20})\.(\d{1,19})$")


@dataclass(frozen=True)
class CommentFilters:
    """What the verbatims are narrowed to: the comments' own filters, and `responses`, the shared response filter
    on the responses they belong to."""

    survey: str | None = None
    theme: str | None = None
    sentiment: str | None = None
    nps_group: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    search: str | None = None
    responses: ResponseFilter = ResponseFilter()


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this comment, in newest-first order."""

    submitted_at: datetime
    answer_id: int

    def encode(self) -> str:
        micros = (self.submitted_at - EPOCH) // timedelta(microseconds=1)
        return f"{micros}.{self.answer_id}"


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ThemeTag:
    """A theme of a comment with the words that matched; source is 'codebook' or 'correction' (added by staff)."""

    theme: str
    matches: tuple[tuple[str, int, int], ...]
    source: str


@dataclass(frozen=True)
class Verbatim:
    """One analysed comment as staff see it: redacted text, never the original."""

    answer_id: int
    survey_key: str
    survey_title: str
    question_key: str
    submitted_at: datetime
    text: str
    language: str | None
    sentiment_score: float | None
    sentiment_label: str | None
    no_sentiment_reason: str | None
    personal_data: tuple[str, ...]
    has_original: bool
    nps: int | None
    themes: tuple[ThemeTag, ...]


def parse_filters(*, survey: str | None = None, theme: str | None = None, sentiment: str | None = None,
                  nps: str | None = None, score_min: str | None = None, score_max: str | None = None,
                  search: str | None = None, themes: list[str] | None = None,
                  responses: ResponseFilter = ResponseFilter()) -> CommentFilters:
    """Filters from query-string values, as a form sends them (an empty field means no filter), with the response
    filter already parsed; `themes` are the keys of the codebook in use (default: the built-in one)."""
    theme, sentiment, nps = _blank(theme), _blank(sentiment), _blank(nps)
    themes = DEFAULT_CODEBOOK.keys() if themes is None else themes
    if theme is not None and theme not in themes:
        raise FilterError(f"there is no theme {theme!r}; choose one of {', '.join(themes)}", parameter="theme")
    if sentiment is not None and sentiment not in SENTIMENTS:
        raise FilterError(f"sentiment must be one of {', '.join(SENTIMENTS)}, not {sentiment!r}", parameter="sentiment")
    if nps is not None and nps not in NPS_GROUPS:
        raise FilterError(f"nps must be promoter, passive or detractor, not {nps!r}", parameter="nps")
    low, high = _score(score_min, "score_min"), _score(score_max, "score_max")
    if low is not None and high is not None and low > high:
        raise FilterError(f"score_min ({low}) is above score_max ({high}); swap them", parameter="score_min")
    search = _blank(search)
    if search is not None and len(search) > MAX_SEARCH:
        raise FilterError(f"the search is {len(search)} characters long; search for at most {MAX_SEARCH}", parameter="q")
    if search is not None and sum(map(len, search_terms(search))) > MAX_SEARCH_TERMS:
        raise FilterError(f"search for at most {MAX_SEARCH_TERMS} words or phrases at once", parameter="q")
    return CommentFilters(_blank(survey), theme, sentiment, nps, low, high, search, responses)


def parse_cursor(text: str | None) -> Cursor | None:
    """The cursor a previous page gave, or None for the first page."""
    if not _blank(text):
        return None
    match = CURSOR.match(text.strip())
    if match is None:
        raise FilterError("this page cursor was not made by voxpop; start again from the first page", parameter="cursor")
    try:
        moment = EPOCH + timedelta(microseconds=int(match.group(1)))
    except OverflowError:
        raise FilterError("this page cursor is out of range; start again from the first page",
                          parameter="cursor") from None
    return Cursor(moment, int(match.group(2)))


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def _score(value: str | None, name: str) -> int | None:
    value = _blank(value)
    if value is None:
        return None
    if not value.isdigit() or not 0 <= int(value) <= 10:
        raise FilterError(f"{name} must be a whole number from 0 to 10 (the NPS scale), not {value!r}", parameter=name)
    return int(value)


def find_verbatims(connection: Connection, filters: CommentFilters, *, zone: str, after: Cursor | None = None,
                   limit: int = PAGE_SIZE) -> tuple[list[Verbatim], Cursor | None]:
    """One page of comments, newest first, and the cursor of the next page (None on the last)."""
    query = (
        select(CommentAnalysis.answer_id, Survey.key, Survey.title, Question.key, Response.submitted_at,
               CommentAnalysis.text, CommentAnalysis.language, CommentAnalysis.sentiment_score,
               CommentAnalysis.sentiment_label, CommentAnalysis.no_sentiment_reason, CommentAnalysis.personal_data,
               CommentAnalysis.original.is_not(None), Response.id)
        .join(Answer, Answer.id == CommentAnalysis.answer_id)
        .join(Response, Response.id == Answer.response_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Survey, Survey.id == Response.survey_id)
        .where(*_conditions(filters, zone))
        .order_by(Response.submitted_at.desc(), CommentAnalysis.answer_id.desc())
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(or_(Response.submitted_at < after.submitted_at,
                                and_(Response.submitted_at == after.submitted_at,
                                     CommentAnalysis.answer_id < after.answer_id)))
    rows = connection.execute(query).all()
    page = rows[:limit]
    ids = [row[0] for row in page]
    themes = theme_tags(connection, ids)
    scores = nps_scores(connection, [row[-1] for row in page])
    verbatims = [Verbatim(*row[:10], tuple(row[10] or ()), bool(row[11]), scores.get(row[12]),
                          themes.get(row[0], ())) for row in page]
    following = Cursor(page[-1][4], page[-1][0]) if len(rows) > limit else None
    return verbatims, following


def _conditions(filters: CommentFilters, zone: str) -> list:
    conditions = []
    if filters.survey:
        conditions.append(Survey.key == filters.survey)
    if filters.theme:
        conditions.append(has_theme(filters.theme))
    if filters.sentiment == "unscored":
        conditions.append(CommentAnalysis.sentiment_label.is_(None))
    elif filters.sentiment:
        conditions.append(CommentAnalysis.sentiment_label == filters.sentiment)
    if filters.nps_group or filters.score_min is not None or filters.score_max is not None:
        low, high = NPS_GROUPS.get(filters.nps_group, (0, 10))
        low, high = max(low, filters.score_min or 0), min(high, 10 if filters.score_max is None else filters.score_max)
        conditions.append(_nps_between(low, high))
    conditions += response_conditions(filters.responses, zone=zone)
    if filters.search:
        # Case-insensitive substring matches (ILIKE on PostgreSQL, LIKE on SQLite), not a ranked full-text search.
        wanted, unwanted = search_terms(filters.search)
        conditions += [CommentAnalysis.text.ilike(f"%{_escape_like(term)}%", escape="\\") for term in wanted]
        conditions += [~CommentAnalysis.text.ilike(f"%{_escape_like(term)}%", escape="\\") for term in unwanted]
    return conditions


SEARCH_TERM = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def search_terms(search: str) -> tuple[list[str], list[str]]:
    """The words and "quoted phrases" a comment must contain, and the -excluded ones, as a search box reads them:
    `late -"no problem" parcel` wants late and parcel, in any order, and not the phrase."""
    wanted, unwanted = [], []
    for phrase_minus, phrase, word_minus, word in SEARCH_TERM.findall(search):
        term = (phrase or word).strip()
        if term and term != "-":
            (unwanted if (phrase_minus or word_minus) else wanted).append(term)
    return wanted, unwanted


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def has_theme(key: str):
    """The comment has this theme or one of its sub-themes, unless a person removed it."""
    tagged, correction = aliased(CommentTheme), aliased(CommentTheme)
    removed = exists().where(correction.answer_id == tagged.answer_id, correction.theme == tagged.theme,
                             correction.source == "correction", correction.removed == true())
    return exists().where(
        tagged.answer_id == CommentAnalysis.answer_id,
        or_(tagged.theme == key, tagged.theme.like(_escape_like(key) + ".%", escape="\\")),
        tagged.removed == false(),
        ~removed,
    )


def _nps_between(low: int, high: int):
    """The same response answered an NPS question with a score in [low, high]."""
    score, question = aliased(Answer), aliased(Question)
    return exists().where(score.response_id == Response.id, question.id == score.question_id, question.kind == "nps",
                          score.score >= low, score.score <= high)


def theme_tags(connection: Connection, answer_ids: list[int]) -> dict[int, tuple[ThemeTag, ...]]:
    """Each comment's themes: the codebook's, less those a person removed, plus those a person added."""
    if not answer_ids:
        return {}
    rows = connection.execute(
        select(CommentTheme.answer_id, CommentTheme.theme, CommentTheme.source, CommentTheme.matches,
               CommentTheme.removed)
        .where(CommentTheme.answer_id.in_(answer_ids))
        .order_by(CommentTheme.answer_id, CommentTheme.theme, CommentTheme.source)
    ).all()
    removed = {(answer_id, theme) for answer_id, theme, source, _, gone in rows if gone}
    found: dict[int, dict[str, ThemeTag]] = {}
    for answer_id, theme, source, matches, gone in rows:
        if gone or (answer_id, theme) in removed:
            continue
        # "codebook" sorts before "correction": a theme both tagged and confirmed keeps the words that matched.
        found.setdefault(answer_id, {}).setdefault(
            theme, ThemeTag(theme, tuple(tuple(match) for match in matches or ()), source))
    return {answer_id: tuple(tags.values()) for answer_id, tags in found.items()}


def nps_scores(connection: Connection, response_ids: list[int]) -> dict[int, int]:
    """The NPS answer of each response that has one."""
    if not response_ids:
        return {}
    rows = connection.execute(
        select(Answer.response_id, Answer.score)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id.in_(set(response_ids)), Question.kind == "nps", Answer.score.is_not(None))
    )
    return dict(rows.all())

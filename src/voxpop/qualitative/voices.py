"""Reading the sources back: the list, one session turn by turn, and each theme across survey comments and sessions.

A theme is on a turn as it is on a comment (text/metrics.py): the codebook tagged it and nobody removed it, or a
person added it; a theme includes its sub-themes. Only participants' turns carry themes (service.py says why).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, distinct, exists, false, func, or_, select, true, union
from sqlalchemy.orm import aliased

from voxpop.core.estimates import Estimate, proportion
from voxpop.customers.models import Customer
from voxpop.qualitative.models import Participant, QualitativeSource, Turn, TurnTheme
from voxpop.text.metrics import effective_themes
from voxpop.text.models import CommentAnalysis
from voxpop.text.service import PIPELINE_VERSION
from voxpop.text.verbatims import CommentFilters, Verbatim, find_verbatims

EXAMPLE_COMMENTS = 5
SESSION_QUOTES = 50  # quotes on one theme page, newest session first


class UnknownSource(LookupError):
    """No source has this key."""


@dataclass(frozen=True)
class SourceSummary:
    key: str
    kind: str
    title: str
    held_on: date
    moderator: str | None
    participants: int
    turns: int
    file_name: str
    file_format: str
    imported_at: datetime
    imported_by: str | None


def list_sources(connection: Connection) -> list[SourceSummary]:
    """Every source, latest session first, with how many took part and how many turns were spoken."""
    from voxpop.accounts.models import User

    people = (select(Participant.source_id, func.count().label("n")).where(Participant.role == "participant")
              .group_by(Participant.source_id).subquery())
    turns = select(Turn.source_id, func.count().label("n")).group_by(Turn.source_id).subquery()
    rows = connection.execute(
        select(QualitativeSource.key, QualitativeSource.kind, QualitativeSource.title, QualitativeSource.held_on,
               QualitativeSource.moderator, func.coalesce(people.c.n, 0), func.coalesce(turns.c.n, 0),
               QualitativeSource.file_name, QualitativeSource.file_format, QualitativeSource.imported_at, User.email)
        .outerjoin(people, people.c.source_id == QualitativeSource.id)
        .outerjoin(turns, turns.c.source_id == QualitativeSource.id)
        .outerjoin(User, User.id == QualitativeSource.imported_by)
        .order_by(QualitativeSource.held_on.desc(), QualitativeSource.id.desc()))
    return [SourceSummary(*row) for row in rows]


def theme_family(key: str):
    """The condition "the theme column is this theme or one of its sub-themes"."""
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return lambda column: or_(column == key, column.like(escaped + ".%", escape="\\"))


def effective_turn_themes(keys: list[str] | None = None):
    """(turn_id, theme) of every theme on a turn after people's corrections (as text.metrics.effective_themes)."""
    correction = aliased(TurnTheme)
    removed = exists().where(correction.turn_id == TurnTheme.turn_id, correction.theme == TurnTheme.theme,
                             correction.source == "correction", correction.removed == true())
    tagged = select(TurnTheme.turn_id, TurnTheme.theme).where(
        TurnTheme.source == "codebook", TurnTheme.removed == false(), ~removed)
    added = select(TurnTheme.turn_id, TurnTheme.theme).where(
        TurnTheme.source == "correction", TurnTheme.removed == false())
    if keys is not None:
        tagged, added = tagged.where(TurnTheme.theme.in_(keys)), added.where(TurnTheme.theme.in_(keys))
    return union(tagged, added).subquery("turn_themes")


@dataclass(frozen=True)
class TurnTag:
    theme: str
    matches: tuple[tuple[str, int, int], ...]
    source: str  # codebook | correction


def turn_tags(connection: Connection, turn_ids: list[int]) -> dict[int, tuple[TurnTag, ...]]:
    """Each turn's themes: the codebook's, less those a person removed, plus those a person added."""
    if not turn_ids:
        return {}
    rows = connection.execute(
        select(TurnTheme.turn_id, TurnTheme.theme, TurnTheme.source, TurnTheme.matches, TurnTheme.removed)
        .where(TurnTheme.turn_id.in_(turn_ids)).order_by(TurnTheme.turn_id, TurnTheme.theme, TurnTheme.source)).all()
    removed = {(turn_id, theme) for turn_id, theme, _, _, gone in rows if gone}
    found: dict[int, dict[str, TurnTag]] = {}
    for turn_id, theme, source, matches, gone in rows:
        if not gone and (turn_id, theme) not in removed:
            found.setdefault(turn_id, {}).setdefault(
                theme, TurnTag(theme, tuple(tuple(match) for match in matches or ()), source))
    return {turn_id: tuple(tags.values()) for turn_id, tags in found.items()}


@dataclass(frozen=True)
class SessionParticipant:
    id: int
    label: str
    role: str
    customer: str | None  # the customer's external id
    segment: str | None
    turns: int


@dataclass(frozen=True)
class SessionTurn:
    id: int
    position: int
    speaker: str
    role: str
    start: float | None
    end: float | None
    text: str
    language: str | None
    sentiment_score: float | None
    sentiment_label: str | None
    no_sentiment_reason: str | None
    personal_data: tuple[str, ...]
    themes: tuple[TurnTag, ...]


@dataclass(frozen=True)
class Session:
    source: Any  # the qualitative_sources row
    imported_by: str | None
    participants: list[SessionParticipant]
    turns: list[SessionTurn]  # those the filters keep
    total_turns: int
    theme_counts: dict[str, int]  # turns per theme (with parents counted) in the whole session
    outdated_turns: int = 0  # turns an older codebook or pipeline analysed


def session(connection: Connection, key: str, *, theme: str | None = None, speaker: str | None = None,
            codebook_version: int = 0) -> Session:
    """One source with its participants and its turns, narrowed to a theme (with its sub-themes) and a speaker."""
    from voxpop.accounts.models import User

    sources = QualitativeSource.__table__
    row = connection.execute(select(sources, User.email.label("imported_by_email"))
                             .outerjoin(User, User.id == sources.c.imported_by)
                             .where(sources.c.key == key)).first()
    if row is None:
        raise UnknownSource(f"there is no source {key!r}; see the list of sources")
    source, imported_by = row, row.imported_by_email
    spoken = (select(Turn.participant_id, func.count().label("n")).where(Turn.source_id == source.id)
              .group_by(Turn.participant_id).subquery())
    participants = [SessionParticipant(*person) for person in connection.execute(
        select(Participant.id, Participant.label, Participant.role, Customer.external_id, Participant.segment,
               func.coalesce(spoken.c.n, 0))
        .outerjoin(Customer, Customer.id == Participant.customer_id)
        .outerjoin(spoken, spoken.c.participant_id == Participant.id)
        .where(Participant.source_id == source.id).order_by(Participant.role, Participant.id))]
    query = (select(Turn.id, Turn.position, Participant.label, Participant.role, Turn.start_seconds,
                    Turn.end_seconds, Turn.text, Turn.language, Turn.sentiment_score, Turn.sentiment_label,
                    Turn.no_sentiment_reason, Turn.personal_data)
             .join(Participant, Participant.id == Turn.participant_id)
             .where(Turn.source_id == source.id).order_by(Turn.position))
    if speaker:
        query = query.where(Participant.label == speaker)
    if theme:
        themes = effective_turn_themes()
        query = query.where(exists().where(themes.c.turn_id == Turn.id, theme_family(theme)(themes.c.theme)))
    rows = connection.execute(query).all()
    tags = turn_tags(connection, [row[0] for row in rows])
    turns = [SessionTurn(*row[:11], tuple(row[11] or ()), tags.get(row[0], ())) for row in rows]
    total = connection.scalar(select(func.count()).select_from(Turn).where(Turn.source_id == source.id))
    outdated = connection.scalar(select(func.count()).select_from(Turn).where(
        Turn.source_id == source.id,
        (Turn.pipeline_version < PIPELINE_VERSION) | (Turn.codebook_version < codebook_version)))
    return Session(source, imported_by, participants, turns, total, _session_theme_counts(connection, source.id),
                   outdated)


def _session_theme_counts(connection: Connection, source_id: int) -> dict[str, int]:
    """Turns per theme in one session; a sub-theme's turns count for its parent too, once per turn."""
    themes = effective_turn_themes()
    pairs = connection.execute(select(themes.c.turn_id, themes.c.theme)
                               .join(Turn, Turn.id == themes.c.turn_id).where(Turn.source_id == source_id)).all()
    per_theme: dict[str, set[int]] = {}
    for turn_id, theme in pairs:
        parts = theme.split(".")
        for depth in range(1, len(parts) + 1):
            per_theme.setdefault(".".join(parts[:depth]), set()).add(turn_id)
    return {theme: len(turns) for theme, turns in sorted(per_theme.items(), key=lambda item: (-len(item[1]),
                                                                                             item[0]))}


# -- the qualitative view ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SurveySide:
    """The theme in the survey comments: how many of the analysed comments mention it, and a few of them."""

    analysed: int
    mentioning: int
    share: Estimate
    sentiment: dict[str, int]  # label (or "unscored"): comments
    examples: list[Verbatim]


@dataclass(frozen=True)
class Quote:
    turn_id: int
    text: str
    speaker: str
    customer: str | None
    segment: str | None
    sentiment_label: str | None
    start: float | None
    source_key: str
    source_title: str
    kind: str
    held_on: date
    position: int
    themes: tuple[str, ...]  # the theme keys of this family on the turn


@dataclass(frozen=True)
class SessionSide:
    """The theme in focus groups and interviews: who raised it where, in their words."""

    sessions: int  # sessions where a participant raised it
    all_sessions: int
    participants: int  # participants who raised it
    all_participants: int
    turns: int
    sentiment: dict[str, int]
    quotes: list[Quote]


def analysed_comments(connection: Connection) -> int:
    return connection.scalar(select(func.count()).select_from(CommentAnalysis))


def survey_side(connection: Connection, theme: str, keys: list[str], *, min_base: int, zone: str) -> SurveySide:
    family = [key for key in keys if key == theme or key.startswith(theme + ".")]
    themes = effective_themes(family)
    mentioning_ids = select(themes.c.answer_id).distinct().scalar_subquery()
    analysed = analysed_comments(connection)
    sentiment = {label or "unscored": count for label, count in connection.execute(
        select(CommentAnalysis.sentiment_label, func.count())
        .where(CommentAnalysis.answer_id.in_(mentioning_ids)).group_by(CommentAnalysis.sentiment_label))}
    mentioning = sum(sentiment.values())
    examples, _ = find_verbatims(connection, CommentFilters(theme=theme), zone=zone, limit=EXAMPLE_COMMENTS)
    return SurveySide(analysed, mentioning, proportion(successes=mentioning, n=analysed, min_base=min_base),
                      sentiment, examples)


def session_side(connection: Connection, theme: str) -> SessionSide:
    themes = effective_turn_themes()
    on_theme = (select(themes.c.turn_id, themes.c.theme).where(theme_family(theme)(themes.c.theme))).subquery()
    rows = connection.execute(
        select(Turn.id, Turn.text, Participant.label, Customer.external_id, Participant.segment,
               Turn.sentiment_label, Turn.start_seconds, QualitativeSource.key, QualitativeSource.title,
               QualitativeSource.kind, QualitativeSource.held_on, Turn.position, Participant.id,
               QualitativeSource.id)
        .join(Participant, Participant.id == Turn.participant_id)
        .join(QualitativeSource, QualitativeSource.id == Turn.source_id)
        .outerjoin(Customer, Customer.id == Participant.customer_id)
        .where(Turn.id.in_(select(on_theme.c.turn_id)), Participant.role == "participant")
        .order_by(QualitativeSource.held_on.desc(), QualitativeSource.id.desc(), Turn.position)).all()
    family = {}
    for turn_id, key in connection.execute(select(on_theme.c.turn_id, on_theme.c.theme)):
        family.setdefault(turn_id, []).append(key)
    sentiment: dict[str, int] = {}
    for row in rows:
        sentiment[row.sentiment_label or "unscored"] = sentiment.get(row.sentiment_label or "unscored", 0) + 1
    quotes = [Quote(*row[:12], tuple(sorted(family.get(row[0], ())))) for row in rows[:SESSION_QUOTES]]
    all_sessions = connection.scalar(select(func.count()).select_from(QualitativeSource))
    all_participants = connection.scalar(select(func.count()).select_from(Participant)
                                         .where(Participant.role == "participant"))
    return SessionSide(len({row[13] for row in rows}), all_sessions, len({row[12] for row in rows}), all_participants,
                       len(rows), sentiment, quotes)


@dataclass(frozen=True)
class ThemeAcross:
    """One row of the overview: a theme in the survey comments and in the sessions."""

    theme: str
    comments: int
    share: Estimate
    turns: int
    participants: int
    sessions: int

    @property
    def heard_in(self) -> str:
        """both, sessions or surveys: where the theme comes up at all."""
        return "both" if self.comments and self.turns else "sessions" if self.turns else "surveys"


def themes_across(connection: Connection, keys: list[str], *, min_base: int) -> list[ThemeAcross]:
    """Every theme of the codebook that comes up anywhere, with its counts on both sides, most participants first."""
    # Counted as the themes page counts them (text.metrics): per tagged theme; the codebook tags a sub-theme's
    # parent with it.
    themes = effective_themes(keys)
    comments = dict(connection.execute(select(themes.c.theme, func.count(distinct(themes.c.answer_id)))
                                       .group_by(themes.c.theme)).all())
    analysed = analysed_comments(connection)
    turn_themes = effective_turn_themes(keys)
    turn_pairs = connection.execute(
        select(turn_themes.c.turn_id, turn_themes.c.theme, Turn.participant_id, Turn.source_id)
        .join(Turn, Turn.id == turn_themes.c.turn_id)
        .join(Participant, Participant.id == Turn.participant_id).where(Participant.role == "participant")).all()
    turns: dict[str, set[tuple[int, int, int]]] = {}
    for turn_id, theme, participant_id, source_id in turn_pairs:
        for key in _with_parents(theme):
            turns.setdefault(key, set()).add((turn_id, participant_id, source_id))
    rows = [ThemeAcross(key, comments.get(key, 0), proportion(successes=comments.get(key, 0), n=analysed,
                                                              min_base=min_base),
                        len(turns.get(key, ())), len({p for _, p, _ in turns.get(key, ())}),
                        len({s for _, _, s in turns.get(key, ())}))
            for key in keys if key in comments or key in turns]
    return sorted(rows, key=lambda row: (-row.participants, -row.comments, row.theme))


def _with_parents(theme: str) -> list[str]:
    parts = theme.split(".")
    return [".".join(parts[:depth]) for depth in range(1, len(parts) + 1)]

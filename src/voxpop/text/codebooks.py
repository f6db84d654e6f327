"""The workspace's codebook: its saved versions, the one in use, and saving a new one.

A save never edits a version: it adds the next one, after checking that the YAML compiles and that nobody saved
since the editor was opened (otherwise one person's edit would silently undo another's). Comments tagged by an
older version are re-tagged in the background (text/service.py: retag_outdated).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Connection, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from voxpop.text.codebook import (
    DEFAULT_CODEBOOK_YAML,
    Codebook,
    CodebookError,
    codebook_from_yaml,
    tag_comment,
)
from voxpop.text.models import CodebookVersion, CommentAnalysis

BUILT_IN = 0  # the version number of the shipped codebook, in use until a workspace saves its own


class CodebookConflict(CodebookError):
    """Someone saved a newer version since the editor was opened."""


@dataclass(frozen=True)
class StoredCodebook:
    """A codebook version: its number, the YAML as written, and the compiled codebook.

    `latest` and `latest_definition` are the newest saved version, which edits start from; they differ from
    `version` only when the newest no longer compiles (`problem` says why) and an older one is in use instead."""

    version: int
    definition: str
    codebook: Codebook
    note: str = ""
    saved_by: str | None = None
    saved_at: datetime | None = None
    latest: int | None = None
    latest_definition: str | None = None
    problem: str | None = None

    @property
    def editing(self) -> tuple[int, str]:
        """The version and YAML an edit starts from: the newest saved, even when it does not compile."""
        return (self.version, self.definition) if self.latest is None else (self.latest, self.latest_definition)


@lru_cache(maxsize=8)
def _compiled(version: int, definition: str) -> Codebook:
    # Keyed by version and text, so the worker compiles each version once, not once per batch.
    return codebook_from_yaml(definition)


def codebook_keys(connection: Connection) -> list[str]:
    """The theme keys of the codebook in use."""
    return current_codebook(connection).codebook.keys()


def _newest(connection: Connection, *, below: int | None = None):
    """The newest saved version (below a number, if given) with who saved it, or None."""
    from voxpop.accounts.models import User

    statement = (select(CodebookVersion.version, CodebookVersion.definition, CodebookVersion.note, User.email,
                        CodebookVersion.saved_at)
                 .outerjoin(User, User.id == CodebookVersion.saved_by)
                 .order_by(CodebookVersion.version.desc()).limit(1))
    if below is not None:
        statement = statement.where(CodebookVersion.version < below)
    return connection.execute(statement).first()


def current_codebook(connection: Connection) -> StoredCodebook:
    """The codebook in use: the newest saved version that compiles, else the built-in one.

    A saved version stops compiling only when a later voxpop checks codebooks more strictly; tagging then goes
    on with the newest version that still compiles rather than stopping, and the codebook page says why."""
    row = newest = _newest(connection)
    problem = None
    while row is not None:
        try:
            codebook = _compiled(row.version, row.definition)
        except CodebookError as exc:
            problem = problem or f"version {row.version} no longer compiles ({exc}); version in use: the newest " \
                                 "that does. Fix it and save it again"
            row = _newest(connection, below=row.version)
            continue
        return StoredCodebook(row.version, row.definition, codebook, row.note, row.email, row.saved_at,
                              *((newest.version, newest.definition, problem) if problem else ()))
    built_in = StoredCodebook(BUILT_IN, DEFAULT_CODEBOOK_YAML, _compiled(BUILT_IN, DEFAULT_CODEBOOK_YAML),
                              "the built-in codebook")
    if newest is None:
        return built_in
    return replace(built_in, latest=newest.version, latest_definition=newest.definition, problem=problem)


def codebook_history(connection: Connection, *, limit: int = 50) -> list[dict]:
    """The saved versions, newest first: number, note, who saved it and when."""
    from voxpop.accounts.models import User

    return [row._asdict() for row in connection.execute(
        select(CodebookVersion.version, CodebookVersion.note, User.email.label("saved_by"), CodebookVersion.saved_at)
        .outerjoin(User, User.id == CodebookVersion.saved_by)
        .order_by(CodebookVersion.version.desc()).limit(limit))]


def codebook_definition(connection: Connection, version: int) -> str | None:
    """The YAML of one version (0: the built-in codebook), or None when there is no such version."""
    if version == BUILT_IN:
        return DEFAULT_CODEBOOK_YAML
    return connection.scalar(select(CodebookVersion.definition).where(CodebookVersion.version == version))


def save_codebook(db_session: Session, definition: str, *, base_version: int, note: str = "",
                  user_id: int | None = None) -> int:
    """Store the definition as the next version and return its number.

    Raises CodebookError when it does not compile, and CodebookConflict when the version in use is no longer
    base_version (someone else saved since the editor was opened)."""
    codebook_from_yaml(definition)
    latest = db_session.scalar(select(func.max(CodebookVersion.version))) or BUILT_IN
    if latest != base_version:
        raise CodebookConflict(f"version {latest} was saved after you opened version {base_version}; nothing was "
                               f"saved and your text is kept: apply your change to version {latest} and save again")
    if latest != BUILT_IN and definition == db_session.get(CodebookVersion, latest).definition:
        raise CodebookError(f"nothing changed since version {latest}, so no version was saved")
    version = latest + 1
    db_session.add(CodebookVersion(version=version, definition=definition, note=note.strip()[:500],
                                   saved_by=user_id))
    try:
        db_session.flush()
    except IntegrityError:  # two saves of the same base at once on PostgreSQL: the primary key lets one win
        raise CodebookConflict(f"someone saved version {version} at the same moment; reload the codebook and "
                               "apply your change again") from None
    return version


# A preview tags this many of the latest analysed comments with both codebooks: a few tenths of a second.
PREVIEW_SAMPLE = 2000
# Discovery clusters this many of the latest comments no theme covers: NMF on them takes about a second.
DISCOVERY_SAMPLE = 3000


def preview_codebook(connection: Connection, draft: Codebook, *, sample: int = PREVIEW_SAMPLE) -> dict:
    """What the draft would change: per theme, how many of the latest analysed comments the codebook in use and
    the draft tag, and how many comments' themes would change."""
    in_use = current_codebook(connection).codebook
    texts = connection.scalars(select(CommentAnalysis.text).order_by(CommentAnalysis.answer_id.desc())
                               .limit(sample)).all()
    in_use_counts: Counter[str] = Counter()
    draft_counts: Counter[str] = Counter()
    changed = 0
    for text in texts:
        before = {tag.theme for tag in tag_comment(in_use, text)}
        after = {tag.theme for tag in tag_comment(draft, text)}
        changed += before != after
        in_use_counts.update(before)
        draft_counts.update(after)
    in_use_keys, draft_keys = in_use.keys(), draft.keys()
    kept, drafted = set(in_use_keys), set(draft_keys)
    keys = draft_keys + [key for key in in_use_keys if key not in drafted]
    return {"comments": len(texts), "changed": changed,
            "themes": [{"theme": key, "in_use": in_use_counts[key], "draft": draft_counts[key],
                        "status": "new" if key not in kept else "removed" if key not in drafted else ""}
                       for key in keys]}


def untagged_comments(connection: Connection, *, sample: int = DISCOVERY_SAMPLE) -> list[str]:
    """The latest analysed comments, redacted, that no theme covers after corrections: discovery's input.

    Only those in English or too short to tell, since the discovery's stop words are English."""
    from voxpop.text.metrics import (
        effective_themes,  # metrics reads codebook_keys from here
    )

    themes = effective_themes(codebook_keys(connection))
    covered = exists().where(themes.c.answer_id == CommentAnalysis.answer_id)
    return list(connection.scalars(
        select(CommentAnalysis.text)
        .where(~covered, func.length(CommentAnalysis.text) > 0,
               or_(CommentAnalysis.language == "en", CommentAnalysis.language.is_(None)))
        .order_by(CommentAnalysis.answer_id.desc()).limit(sample)))

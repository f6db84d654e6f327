"""Importing a transcript as a qualitative source, analysing its turns like comments, and correcting their themes.

A transcript is small (hundreds of turns), so its turns are analysed while it is imported, by the text package's
own pipeline (redaction, language, sentiment, the codebook in use): a turn is themed exactly as a survey comment
with the same words would be. The moderator's turns are redacted and stored but neither scored nor themed: a
question such as "What about delivery?" is the moderator's prompt, not the customer's voice.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from voxpop.accounts.models import User
from voxpop.customers.models import Customer
from voxpop.qualitative.models import KINDS, Participant, QualitativeSource, Turn, TurnTheme
from voxpop.qualitative.transcripts import Cue, TranscriptError, parse_transcript
from voxpop.store.base import utcnow
from voxpop.text.codebooks import current_codebook
from voxpop.text.pipeline import CommentAnalysis, analyze_comment
from voxpop.text.service import PIPELINE_VERSION

# Speakers whose label says they lead the session are moderators even when --moderator names someone else.
MODERATOR_LABELS = frozenset({"moderator", "interviewer", "facilitator", "host", "researcher"})
NOT_SCORED = "the moderator's words are not scored or themed"
SEGMENT_PREFIX = "segment:"
MAX_TITLE = 200
MAX_LABEL = 200
MAX_NOTES = 5000


class SourceRefused(ValueError):
    """An import that cannot be done as asked; `field` is the form field or CLI option that settles it."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ParticipantLink:
    """What a participant mapping says of one speaker: a customer (by external id) or a segment."""

    customer: str | None = None
    segment: str | None = None


def kind_of(text: str) -> str:
    """focus_group or interview, from what a person types (focus-group, focus group, Interview)."""
    kind = re.sub(r"[\s\-]+", "_", (text or "").strip().lower())
    if kind not in KINDS:
        raise SourceRefused(f"the kind must be focus-group or interview, not {text!r}", field="kind")
    return kind


def parse_participants(lines: list[str]) -> dict[str, ParticipantLink]:
    """{label: link} from "Anna=NW-000123" and "Ben=segment:SMB" (one per line or option; blank lines skipped)."""
    links: dict[str, ParticipantLink] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label, equals, value = line.partition("=")
        label, value = label.strip(), value.strip()
        if not equals or not label or not value:
            raise SourceRefused(f"participant {number} ({line.strip()!r}): write it as Label=CUSTOMER-ID or "
                                "Label=segment:NAME", field="participants")
        if label in links:
            raise SourceRefused(f"participant {label!r} is mapped twice; keep one line for them", field="participants")
        if value.lower().startswith(SEGMENT_PREFIX):
            segment = value[len(SEGMENT_PREFIX):].strip()
            if not segment:
                raise SourceRefused(f"participant {label!r}: name the segment after segment:", field="participants")
            links[label] = ParticipantLink(segment=segment[:200])
        else:
            links[label] = ParticipantLink(customer=value[:200])
    return links


def slug(text: str) -> str:
    """Lower-case words joined by hyphens, ASCII only: "Focus group: App release!" is focus-group-app-release."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def new_key(db_session: Session, title: str, held_on: date) -> str:
    """A key for the source, from its date and title, numbered when taken (2026-11-20-app-release-2)."""
    base = f"{held_on.isoformat()}-{slug(title)[:40]}".rstrip("-")
    taken = set(db_session.scalars(select(QualitativeSource.key).where(QualitativeSource.key.like(f"{base}%"))))
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    return key


@dataclass(frozen=True)
class ImportedSource:
    """What an import stored, for the page, the API and the CLI to report."""

    key: str
    title: str
    kind: str
    file_format: str
    participants: int  # speakers who are not moderators
    turns: int
    redacted_turns: int  # turns with personal data removed
    themed_turns: int


def import_transcript(db_session: Session, *, data: bytes, filename: str, kind: str, title: str, held_on: date,
                      moderator: str | None = None, participants: dict[str, ParticipantLink] | None = None,
                      user: User | None = None, now: datetime | None = None, notes: str = "") -> ImportedSource:
    """Read a transcript, link its speakers, and store the session with its turns redacted and analysed.

    All or nothing: a refused import (SourceRefused, naming the field) stores nothing."""
    kind = kind_of(kind)
    title = " ".join((title or "").split())
    if not title:
        raise SourceRefused("give the session a title", field="title")
    if len(title) > MAX_TITLE:
        raise SourceRefused(f"the title is {len(title)} characters; at most {MAX_TITLE}", field="title")
    if len(notes or "") > MAX_NOTES:
        raise SourceRefused(f"the notes are {len(notes)} characters; at most {MAX_NOTES}", field="notes")
    moderator = " ".join((moderator or "").split()) or None
    try:
        file_format, turns = parse_transcript(data, filename)
    except TranscriptError as exc:
        raise SourceRefused(str(exc), field="file") from None
    speakers = list(dict.fromkeys(turn.speaker for turn in turns))
    if too_long := [label for label in speakers if len(label) > MAX_LABEL]:
        raise SourceRefused(f"a speaker's name is longer than {MAX_LABEL} characters: {too_long[0][:40]}…",
                            field="file")
    people = _participants(db_session, speakers, participants or {}, moderator)
    source = QualitativeSource(key=new_key(db_session, title, held_on), kind=kind, title=title, held_on=held_on,
                               moderator=moderator, file_name=(filename or "")[-255:], file_format=file_format,
                               imported_by=user.id if user else None, imported_at=now or utcnow(),
                               notes=(notes or "").strip())
    db_session.add(source)
    db_session.flush()
    for person in people.values():
        person.source_id = source.id
    db_session.add_all(people.values())
    db_session.flush()
    codebook = current_codebook(db_session.connection())
    analyses = [_analysis(turn, moderated=people[turn.speaker].role == "moderator", codebook=codebook.codebook)
                for turn in turns]
    rows = [_turn_row(source.id, people[turn.speaker].id, position, turn, analysis, codebook.version, now)
            for position, (turn, analysis) in enumerate(zip(turns, analyses), start=1)]
    db_session.execute(insert(Turn), rows)
    ids = dict(db_session.execute(select(Turn.position, Turn.id).where(Turn.source_id == source.id)).all())
    themes = [row for position, analysis in enumerate(analyses, start=1)
              for row in _theme_rows(ids[position], analysis.tags)]
    if themes:
        db_session.execute(insert(TurnTheme), themes)
    return ImportedSource(source.key, title, kind, file_format,
                          sum(person.role == "participant" for person in people.values()), len(turns),
                          sum(bool(analysis.personal_data) for analysis in analyses),
                          sum(bool(analysis.tags) for analysis in analyses))


def _participants(db_session: Session, speakers: list[str], links: dict[str, ParticipantLink],
                  moderator: str | None) -> dict[str, Participant]:
    """A Participant per speaker, linked as the mapping says; a mapping for nobody in the transcript is refused."""
    if unknown := [label for label in links if label not in speakers]:
        raise SourceRefused(f"{unknown[0]!r} does not speak in this transcript; its speakers are "
                            f"{', '.join(speakers)}", field="participants")
    if moderator is not None and moderator not in speakers:
        # Otherwise the moderator's prompts would be themed as a participant's words.
        raise SourceRefused(f"the moderator {moderator!r} does not speak in this transcript; give their name as it "
                            f"writes it (its speakers are {', '.join(speakers)}), or leave it empty when they are "
                            "called Moderator or Interviewer there", field="moderator")
    wanted = {link.customer for link in links.values() if link.customer}
    found = {customer.external_id: customer for customer in
             db_session.scalars(select(Customer).where(Customer.external_id.in_(wanted)))} if wanted else {}
    if missing := sorted(wanted - set(found)):
        raise SourceRefused(f"no customer has the id {missing[0]!r}; import the customer first, or map the "
                            "participant to a segment (Label=segment:NAME)", field="participants")
    people = {}
    for label in speakers:
        link = links.get(label, ParticipantLink())
        customer = found.get(link.customer) if link.customer else None
        segment = link.segment or ((customer.attributes or {}).get("segment") if customer else None)
        role = "moderator" if label == moderator or label.lower() in MODERATOR_LABELS else "participant"
        people[label] = Participant(label=label, role=role, customer_id=customer.id if customer else None,
                                    segment=str(segment)[:200] if segment is not None else None)
    return people


def _analysis(turn: Cue, *, moderated: bool, codebook) -> CommentAnalysis:
    """The text pipeline's analysis of a turn; a moderator's turn keeps its redaction and language only."""
    analysis = analyze_comment(turn.text, codebook=codebook)
    if moderated:
        return CommentAnalysis(analysis.text, analysis.personal_data, analysis.language, None, NOT_SCORED, ())
    return analysis


def _turn_row(source_id: int, participant_id: int, position: int, turn: Cue, analysis: CommentAnalysis,
              codebook_version: int, now: datetime | None) -> dict:
    sentiment = analysis.sentiment
    return {
        "source_id": source_id, "participant_id": participant_id, "position": position,
        "start_seconds": turn.start, "end_seconds": turn.end, "text": analysis.text,
        "personal_data": sorted({item.kind for item in analysis.personal_data}),
        "language": analysis.language.code, "language_reason": analysis.language.reason,
        "sentiment_score": sentiment.score if sentiment else None,
        "sentiment_label": sentiment.label if sentiment else None,
        "no_sentiment_reason": analysis.no_sentiment_reason,
        "sentences": [{"start": part.start, "end": part.end, "score": part.score, "label": part.label}
                      for part in sentiment.sentences] if sentiment else [],
        "analysed_at": now or utcnow(), "pipeline_version": PIPELINE_VERSION, "codebook_version": codebook_version,
    }


def _theme_rows(turn_id: int, tags) -> list[dict]:
    return [{"turn_id": turn_id, "theme": tag.theme, "source": "codebook",
             "matches": [list(match) for match in tag.matches], "removed": False} for tag in tags]


def refresh_turns(db_session: Session, *, everything: bool = False) -> int:
    """Analyse again the turns an older pipeline or codebook version analysed (all of them with `everything`);
    returns how many. The stored text is already redacted, so redaction finds nothing new in it, and the kinds
    found before are kept. People's corrections are left as they are."""
    codebook = current_codebook(db_session.connection())
    query = (select(Turn, Participant.role).join(Participant, Participant.id == Turn.participant_id)
             .order_by(Turn.id))
    if not everything:
        query = query.where((Turn.pipeline_version < PIPELINE_VERSION) | (Turn.codebook_version < codebook.version))
    count = 0
    for turn, role in db_session.execute(query):
        analysis = _analysis(Cue("", turn.text), moderated=role == "moderator", codebook=codebook.codebook)
        row = _turn_row(turn.source_id, turn.participant_id, turn.position, Cue("", turn.text, turn.start_seconds,
                                                                               turn.end_seconds),
                        analysis, codebook.version, None)
        row["personal_data"] = sorted(set(row["personal_data"]) | set(turn.personal_data or ()))
        for name, value in row.items():
            setattr(turn, name, value)
        db_session.execute(delete(TurnTheme).where(TurnTheme.turn_id == turn.id, TurnTheme.source == "codebook"))
        if rows := _theme_rows(turn.id, analysis.tags):
            db_session.execute(insert(TurnTheme), rows)
        count += 1
    return count


def count_outdated(db_session: Session) -> int:
    """How many turns an older pipeline or codebook version analysed."""
    version = current_codebook(db_session.connection()).version
    return db_session.scalar(select(func.count()).select_from(Turn).where(
        (Turn.pipeline_version < PIPELINE_VERSION) | (Turn.codebook_version < version)))


def correct_turn_theme(db_session: Session, *, turn_id: int, theme: str, present: bool, user_id: int | None) -> None:
    """Record a person's word on one theme of one turn: it is there (added) or it is not (removed)."""
    correction = db_session.get(TurnTheme, (turn_id, theme, "correction"))
    if correction is None:
        correction = TurnTheme(turn_id=turn_id, theme=theme, source="correction", matches=[])
        db_session.add(correction)
    correction.removed = not present
    correction.corrected_by = user_id
    correction.corrected_at = utcnow()


def delete_source(db_session: Session, key: str) -> bool:
    """Delete a source with its participants, turns and themes; False when there is no such source."""
    source = db_session.scalar(select(QualitativeSource).where(QualitativeSource.key == key))
    if source is None:
        return False
    turn_ids = select(Turn.id).where(Turn.source_id == source.id)
    # SQLite enforces the cascades only with foreign keys on; deleting children first works on both.
    db_session.execute(delete(TurnTheme).where(TurnTheme.turn_id.in_(turn_ids)))
    db_session.execute(delete(Turn).where(Turn.source_id == source.id))
    db_session.execute(delete(Participant).where(Participant.source_id == source.id))
    db_session.delete(source)
    return True

"""Storing an export: a voxpop survey for its questions, then its responses, idempotently and all-or-nothing.

The rows flow through the same tables and the same rollup upkeep as live responses, so the dashboards show
history and new answers together. Each response is keyed by the source's response id (or a stable hash of
the row) in the idempotency key, whose uniqueness the database enforces: importing the same file twice, or an
export overlapping an earlier one, adds only what is new.
"""

from __future__ import annotations

import csv
import pickle
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy import Connection, select

from voxpop.analysis.questions import QuestionRef
from voxpop.collection import service as collection
from voxpop.collection.models import Response
from voxpop.collection.writer import Target, bulk_cache, insert_batch
from voxpop.core.wording import counted
from voxpop.imports import runs
from voxpop.imports.batches import ParsedBatch, Plan, parsed_batches
from voxpop.imports.formats import Export, ImportParameterError
from voxpop.imports.mapping import ColumnMapping, Mapping
from voxpop.imports.rows import RowError
from voxpop.surveys import service as surveys
from voxpop.surveys.schemas import KEY, RESERVED_ATTRIBUTES, SurveyDefinition

QUESTION_ROLES = {"nps", "csat", "ces", "rating", "text", "choice", "multi_choice", "yes_no"}
KIND_OF_ROLE = {"choice": "single_choice", "multi_choice": "multiple_choice", "yes_no": "single_choice"}
SURVEY_KEY = re.compile(KEY)
TITLE_LENGTH = 300  # the store's surveys.title
# Words the tools add to a download's name, which say nothing about the survey ("test-responses.csv").
TOOL_WORDS = re.compile(r"(?<![^\W_])(?:form responses(?: \d+)?|responses?|export(?:ed)?|csv|tsv|xlsx|results|download)"
                        r"(?![^\W_])", re.IGNORECASE)
# The writing pass: a transaction per batch of WRITE_BATCH responses, with pauses on SQLite (runs.Pauses).
WRITE_BATCH = 500
DATE = re.compile(r"\d{4}(?:[-_.]?\d{2}(?:[-_.]?\d{2})?)?|\d{1,2}[-_.]\d{1,2}[-_.]\d{2,4}")


class RowRejected(ImportParameterError):
    """A row that cannot be imported, when the import is all-or-nothing."""

    def __init__(self, error: RowError):
        super().__init__(f"{error}. Nothing was imported: correct the file, or import only its valid rows and "
                         "list the rejected ones", parameter="skip_invalid")
        self.error = error


@dataclass
class ImportSummary:
    survey: str
    survey_created: bool
    source: str
    title: str = ""  # the survey's title: the one given or suggested for a new survey, else the survey's own
    rows: int = 0
    new: int = 0
    present: int = 0
    rejected: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)

    def sentence(self) -> str:
        verb = "would add" if self.dry_run else "added"
        return (f"{counted(self.rows, 'row')} read: {verb} {counted(self.new, 'new response')} to survey "
                f"{self.survey!r}, {self.present:,} already present, {self.rejected:,} rejected")


def suggested_title(file_name: str) -> str:
    """A survey title from an export's file name, without the tool's words ("Responses", "Form Responses 1",
    "export") and with a leading date moved to the end: "2019 English R Community Survey Responses.csv" ->
    "English R Community Survey 2019". The file's stem when nothing else is left."""
    stem = Path(file_name).stem
    words = [word.strip("-–") for word in re.split(r"[\s_]+", TOOL_WORDS.sub(" ", stem)) if word.strip("-–")]
    dates = 0
    while dates < len(words) and DATE.fullmatch(words[dates]):
        dates += 1
    words = words[dates:] + words[:dates]
    return " ".join(words) or stem.strip() or "Imported survey"


def survey_key_for(export: Export) -> str:
    """A readable survey key from the file name: "2019 English R Community Survey Responses.csv" ->
    "english-r-community-survey-2019". A spreadsheet or Parquet file keeps its kind in the key ("-xlsx"): its
    rows hash differently from the CSV download of the same form (Google's XLSX keeps milliseconds), so the two
    must not go into one survey unasked, where each response would then be counted twice."""
    ascii_title = unicodedata.normalize("NFKD", suggested_title(export.path.name)).encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "imported"
    if export.source is not None and export.source.kind != "text":
        key = f"{key[:58].rstrip('-')}-{export.source.kind}"
    key = key if key[0].isalpha() else f"s-{key}"
    return key[:64].rstrip("-")


def checked_survey_key(key: str) -> str:
    """The survey key as given, or an ImportParameterError saying what a key may hold."""
    if not SURVEY_KEY.fullmatch(key):
        raise ImportParameterError(f"the survey key {key[:70]!r} is not a valid key: use lower-case letters, digits, - "
                                   "and _, starting with a letter, at most 64 characters (e.g. customer-survey-2024)",
                                   parameter="survey_key")
    return key


def survey_definition(mapping: Mapping, *, key: str, title: str) -> SurveyDefinition:
    """A closed voxpop survey holding the mapped questions and attributes, as the file states them."""
    questions = [_question(columns) for columns in question_columns(mapping).values()]
    if not questions:
        raise ImportParameterError("no column of the file was mapped to a question; say in a mapping file which "
                                   "columns hold questions", parameter="mapping")
    attributes = list(dict.fromkeys(column.key for column in mapping.columns if column.role == "attribute"))
    return SurveyDefinition.model_validate({"key": key, "title": title[:TITLE_LENGTH], "status": "closed",
                                            "attributes": attributes, "questions": questions})


def _question(columns: list[ColumnMapping]) -> dict[str, Any]:
    """One question from its column, or from the columns of a multi-select that has one column per option."""
    column = columns[0]
    question: dict[str, Any] = {"key": column.key, "kind": KIND_OF_ROLE.get(column.role, column.role),
                                "text": (column.label or column.header or column.key)[:2000]}
    if column.role in ("nps", "rating") or (column.role == "csat" and column.scale != (1, 5)):
        question["kind"] = "rating" if column.role == "csat" else column.role
        question["scale"] = {"min": column.scale[0], "max": column.scale[1]}
    if column.role == "ces":
        question["ces_version"] = column.ces_version
    if column.role == "yes_no":
        question["options"] = [{"value": "yes"}, {"value": "no"}]
    elif question["kind"] in ("single_choice", "multiple_choice"):
        # The options a person would pick from; long "Other" answers are stored, but are not options.
        offered = dict.fromkeys(option for each in columns for option in each.options if len(option) <= 200)
        if len(offered) < 2 and column.role == "choice":
            question["kind"] = "text"  # one value seen: keep it as the text it is rather than invent options
        else:
            question["options"] = [{"value": option} for option in offered] or [{"value": "yes"}]
            if len(question["options"]) < 2:
                question["options"].append({"value": "other"})  # one-option check box: the schema wants a list
            if column.ordered and question["kind"] == "single_choice":
                question["ordered"] = True
    return question


def question_columns(mapping: Mapping) -> dict[str, list[ColumnMapping]]:
    """The columns of each question, by key, in file order (a multi-select may span several columns)."""
    grouped: dict[str, list[ColumnMapping]] = {}
    for column in mapping.columns:
        if column.role in QUESTION_ROLES:
            grouped.setdefault(column.key, []).append(column)
    return grouped


def check_survey(questions: dict[str, QuestionRef], mapping: Mapping, survey: str) -> None:
    """An existing survey must have every mapped question, with the same kind and scale."""
    problems = []
    for key, columns in question_columns(mapping).items():
        found, wanted, header = questions.get(key), _question(columns), columns[0].header
        scale = wanted.get("scale") and (wanted["scale"]["min"], wanted["scale"]["max"])
        if found is None:
            problems.append(f"it has no question {key!r} (column {header!r})")
        elif found.kind != wanted["kind"]:
            problems.append(f"its question {key!r} is {found.kind}, but column {header!r} holds {wanted['kind']}")
        elif scale and (found.scale_min, found.scale_max) != scale:
            problems.append(f"its question {key!r} is on {found.scale_min}–{found.scale_max}, but column {header!r} "
                            f"is on {scale[0]}–{scale[1]}")
    if problems:
        raise ImportParameterError(f"the file does not fit survey {survey!r}: " + "; ".join(problems)
                                   + ". Import it into a new survey, or map its columns onto the survey's questions "
                                   "in a mapping file", parameter="mapping")
    reserved = [column.key for column in mapping.columns if column.role == "attribute" and column.key in RESERVED_ATTRIBUTES]
    if reserved:
        raise ImportParameterError(f"attribute names {reserved} are reserved; rename them in a mapping file",
                                   parameter="mapping")


def import_responses(
    db,
    export: Export,
    mapping: Mapping,
    *,
    survey_key: str | None = None,
    title: str | None = None,
    zone: str = "UTC",
    max_text_length: int = 5000,
    dry_run: bool = False,
    rejects: TextIO | None = None,
    progress: Callable[[int, str], None] | None = None,
    between_batches: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import every row into the survey `survey_key` (default: one named after the file), created with `title`
    (default: one from the file name) when new. A bad row fails the whole import (RowRejected) unless `rejects` is
    given: then it is written there with its reason, and the valid rows are imported.

    So that live submissions keep flowing, the whole file is checked first, reading only (a dry run ends there),
    then written in short transactions, a batch each, under an import run (imports.runs) that takes everything
    back if the writing fails; into an existing survey the check's batches are kept for the writing, else the
    file is parsed again. `progress(rows, stage)` hears "checking" then "importing";
    `between_batches(batches)` is called after each batch's commit."""
    key = checked_survey_key(survey_key) if survey_key else survey_key_for(export)
    title = " ".join((title or "").split())[:TITLE_LENGTH] or suggested_title(export.path.name)
    rejected = csv.writer(rejects) if rejects is not None else None
    if rejected is not None:
        rejected.writerow(["row", "column", "value", "reason", *(column.header for column in export.columns)])
    questions = version_id = None
    with db.read() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=key)
        if survey is None:
            survey_definition(mapping, key=key, title=title)  # a mapping that makes no survey fails before the file
            survey_id, language = None, "en"
        else:
            survey_id, language, version_id = survey.id, survey.default_language, survey.current_version.id
            questions = collection.version_questions(db_session=db_session, version_id=version_id)
            check_survey(questions, mapping, key)
            if not dry_run:  # said before the file is read; checked again where the run starts
                runs.refuse_if_busy(db_session, survey_id, key, lock=False)
        # A detected mapping repeats the export's warnings: each is given once.
        summary = ImportSummary(key, survey is None, export.format, title if survey is None else survey.title,
                                dry_run=dry_run, warnings=list(dict.fromkeys([*export.warnings, *mapping.warnings])))
    keyed = any(column.role == "response_id" for column in mapping.columns)
    checking = Plan(None, zone, language, None, max_text_length, keyed=keyed, skip_invalid=rejected is not None)
    if not dry_run and questions is not None:
        # Into an existing survey the check lays the batches out for writing and keeps them in a temporary file,
        # so the writing pass reads them instead of parsing the file again; a new survey has no question ids
        # until it is written, so its check lays out keys only and the writing pass parses again.
        checking = replace(checking, questions=questions, dialect=type(db.write_engine.dialect), batch=WRITE_BATCH)
    with tempfile.TemporaryFile(prefix="voxpop-import-") if checking.questions is not None else nullcontext() as spill:
        # Only a dry run reads the store while checking (which keys are already there).
        with db.read_connection() if dry_run else nullcontext() as connection:
            for batch in parsed_batches(export, mapping, checking):
                _count(batch, summary, rejected)
                if dry_run:
                    present = _present(connection, survey_id, batch)
                    summary.present += present
                    summary.new += batch.responses - present
                if spill is not None:
                    batch.rejected, batch.samples = [], []  # counted and written already
                    pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
                if progress is not None:
                    progress(summary.rows, "checking")
        if not dry_run:
            _write(db, export, mapping, summary, checking, spilled=(version_id, spill) if spill else None,
                   progress=progress, between_batches=between_batches)
    return summary


def _unspilled(spill: BinaryIO) -> Iterator[ParsedBatch]:
    """The batches the check kept, in order."""
    spill.seek(0)
    while True:
        try:
            yield pickle.load(spill)
        except EOFError:
            return


def _write(db, export: Export, mapping: Mapping, summary: ImportSummary, checking: Plan, *,
           spilled: tuple[int, BinaryIO] | None, progress: Callable[[int, str], None] | None,
           between_batches: Callable[[int], None] | None) -> None:
    """The writing pass over a checked file: a run, then a transaction per batch, each letting live writers in
    after it; a failure takes the run back before it is raised. The batches are those `spilled` by the check for
    a survey version, if it is still the survey's, else the file parsed again."""
    runs.take_back_stale(db)
    with db.write() as db_session:
        survey = surveys.get_by_key(db_session=db_session, key=summary.survey)
        created = survey is None  # (another import may have made it since the check)
        if created:
            applied = surveys.apply(db_session=db_session, definition=survey_definition(
                mapping, key=summary.survey, title=summary.title))
            survey_id, version_id = applied.survey.id, applied.version.id
        else:
            survey_id, version_id = survey.id, survey.current_version.id
        questions = collection.version_questions(db_session=db_session, version_id=version_id)
        if not created:
            check_survey(questions, mapping, summary.survey)
            runs.refuse_if_busy(db_session, survey_id, summary.survey)
        run_id = runs.start(db_session, survey_id=survey_id, survey_created=created, file=export.path.name,
                            zone=checking.zone)
    target = Target(survey_id, version_id, questions, channel="import", import_run_id=run_id)
    if spilled is not None and spilled[0] == version_id:
        written_batches = _unspilled(spilled[1])
    else:  # a new survey, or one changed since the check
        written_batches = parsed_batches(export, mapping, replace(
            checking, questions=questions, dialect=type(db.write_engine.dialect), batch=WRITE_BATCH))
    written = batches = 0
    pause = runs.Pauses(db)
    try:
        for batch in written_batches:
            if batch.failed is not None:
                raise RowRejected(batch.failed)  # the file changed since it was checked
            with pause.holding(), db.write_connection() as connection:
                bulk_cache(connection, on=True)
                if runs.others_unfinished(connection, run_id, survey_id):
                    runs.adopt(connection, run_id, survey_id, batch.keys)
                added = insert_batch(connection, batch, target)
                runs.beat(connection, run_id, new=added, present=batch.responses - added)
            summary.new += added
            summary.present += batch.responses - added
            written += batch.rows
            batches += 1
            if progress is not None:
                progress(written, "importing")
            if between_batches is not None:
                between_batches(batches)
            pause.after_batch()
        with db.write_connection() as connection:
            bulk_cache(connection, on=False)
            runs.finish(connection, run_id)
    except BaseException as exc:  # an interrupt too: nothing of the run may stay
        runs.take_back(db, run_id, reason=f"the import failed: {exc!r}"[:2000])
        raise


def _count(batch: ParsedBatch, summary: ImportSummary, rejected) -> None:
    """Count a parsed batch into the summary and write its rejected rows; a bad row stops an all-or-nothing
    import here, before anything of its batch is stored."""
    summary.rows += batch.rows
    if batch.failed is not None:
        raise RowRejected(batch.failed)
    summary.rejected += len(batch.rejected)
    if batch.rejected:
        rejected.writerows(batch.rejected)
    summary.samples += batch.samples  # the parser stops taking samples at SAMPLES for the whole file


def _present(connection: Connection, survey_id: int | None, batch: ParsedBatch) -> int:
    """How many of the batch's rows a real import would skip, for a dry run: keys already stored, and rows
    that repeat a key earlier in the batch."""
    stored = 0
    if survey_id is not None:
        for start in range(0, len(batch.keys), 500):
            stored += len(connection.scalars(select(Response.idempotency_key).where(
                Response.survey_id == survey_id, Response.idempotency_key.in_(batch.keys[start:start + 500]))).all())
    return stored + batch.responses - len(batch.keys)

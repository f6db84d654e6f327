"""The parsing half of an import: file rows become validated responses, laid out column by column in batches
(collection.layout) that the writer stores with few Python steps per answer.

A big file is parsed in a worker process while this process writes: parsing and storing each take about
half of an import's time, and on two cores they then overlap (a thread would not: both halves hold the GIL).
A batch crosses as plain lists of strings and numbers, whose pickling costs a few per cent of parsing them.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from voxpop.collection.answers import storable
from voxpop.collection.layout import BATCH, BatchLayout, ResponseBatch
from voxpop.imports.formats import Export, ImportFileError
from voxpop.imports.mapping import Mapping
from voxpop.imports.rows import ParsedResponse, RowError, reader
from voxpop.imports.worker import started

KEY_PREFIX = "import:"  # idempotency keys of imported responses; live ones are form tokens or client keys
ATTRIBUTE_LIMIT = 200  # the width of the columns attributes and customer references are stored in
WORKER_MIN_BYTES = 16 << 20  # smaller files parse in-process: starting a worker costs about half a second
SAMPLES = 5
FINE_VALUES = 100_000  # attribute values remembered as checked (customer e-mails would grow it without end)


@dataclass(frozen=True)
class Plan:
    """What parsing needs to know about the import, in a form that crosses to a worker process."""

    questions: dict[str, tuple[int, str, int | None]] | None  # key -> (id, kind, scale max); None: no survey yet
    zone: str  # the time zone of the rollups' days
    language: str  # the survey's language, which the responses are stored in
    dialect: type | None  # the store's SQLAlchemy dialect class, to write times as its driver takes them
    max_text_length: int
    keyed: bool  # whether the file has response ids; else rows are keyed by their hash
    skip_invalid: bool
    batch: int | None = None  # responses per batch, if fewer than BATCH (an import's writing pass: shorter locks)


@dataclass
class ParsedBatch(ResponseBatch):
    """A batch of the file's responses as the writer takes it, and what parsing it found: the rows read, the
    rejected ones, the first bad row, samples."""

    rows: int = 0  # rows read from the file for this batch, rejected ones included
    responses: int = 0  # valid rows, repeats of a key included
    rejected: list[list[Any]] = field(default_factory=list)  # rows for the rejects file
    failed: RowError | None = None  # the first bad row, when invalid rows are not skipped
    samples: list[dict[str, Any]] = field(default_factory=list)


def parsed_batches(export: Export, mapping: Mapping, plan: Plan) -> Iterator[ParsedBatch]:
    """The file's responses in batches, parsed in a worker process when the file is big."""
    if sys.executable and export.path.stat().st_size >= WORKER_MIN_BYTES:  # embedded Pythons may have none
        return _from_worker(export, mapping, plan)
    return _parse(export, mapping, plan)


def _parse(export: Export, mapping: Mapping, plan: Plan) -> Iterator[ParsedBatch]:
    """Convert and check every row, key it, and lay it out in batches; stops at the first bad row unless
    invalid rows are skipped."""
    convert = _checked(reader(mapping), mapping, plan.max_text_length)
    layout = BatchLayout(plan.questions, zone=plan.zone, language=plan.language, dialect=plan.dialect)
    repeats: dict[str, int] | None = None if plan.keyed else {}
    samples = 0
    size = min(plan.batch or BATCH, BATCH)
    batch = ParsedBatch()
    for row, cells in export.rows():
        batch.rows += 1
        parsed = convert(row, cells)
        if isinstance(parsed, RowError):
            if not plan.skip_invalid:
                batch.failed = parsed
                yield layout.finished(batch)
                return
            batch.rejected.append([parsed.row, parsed.column, parsed.value,
                                   f"{parsed.reason}; expected {parsed.expected}", *cells])
            continue
        if repeats is not None:
            # The k-th identical row of a file is keyed hash#k: two blank forms sent in the same second are two
            # responses, and importing the file again still finds each (16 hex digits a row: ~100 bytes).
            seen = repeats[short] = repeats.get(short := parsed.source_id[:16], 0) + 1
            if seen > 1:
                parsed.source_id += f"#{seen}"
        if samples < SAMPLES:
            batch.samples.append(_sample(parsed))
            samples += 1
        batch.responses += 1
        layout.add(batch, KEY_PREFIX + parsed.source_id, parsed.submitted_at, parsed.answers, parsed.attributes,
                   customer=customer_ref(parsed), email=parsed.customer.get("email"))
        if batch.responses >= size:
            yield layout.finished(batch)
            batch = ParsedBatch()
    if batch.rows:
        yield layout.finished(batch)


def customer_ref(parsed: ParsedResponse) -> str | None:
    """The customer's external id: the source's customer reference, else the e-mail address (lower case)."""
    return parsed.customer.get("ref") or (parsed.customer.get("email") or "").lower() or None


def _sample(parsed: ParsedResponse) -> dict[str, Any]:
    return {"row": parsed.row, "source_id": parsed.source_id, "submitted_at": parsed.submitted_at.isoformat(),
            "answers": parsed.answers, "attributes": parsed.attributes, "customer": parsed.customer}


def _checked(convert, mapping: Mapping, max_text_length: int):
    """The row converter, plus the limits of the store's columns, so no row fails inside an insert."""
    headers = {column.key: column.header for column in mapping.columns}
    limits = {column.key: max_text_length for column in mapping.columns if column.role in ("text", "choice", "multi_choice")}

    fine: set[str] = set()  # attribute values already found storable: most repeat on every row

    def checked(row: int, cells: list[str | None]) -> ParsedResponse | RowError:
        parsed = convert(row, cells)
        if isinstance(parsed, RowError):
            return parsed
        for key, limit in limits.items():
            value = parsed.answers.get(key)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and (len(item) > limit or not storable(item)):
                    long = len(item) > limit
                    return RowError(row, headers[key], item[:40] + ("…" if len(item) > 40 else ""),
                                    f"at most {limit:,} characters" if long else "text without control characters",
                                    f"is {len(item):,} characters long" if long else "holds control characters")
        for name, value in (*parsed.attributes.items(), *parsed.customer.items()):
            if value in fine:
                continue
            if len(value) > ATTRIBUTE_LIMIT or not storable(value):
                return RowError(row, headers.get(name, name), value[:40], f"at most {ATTRIBUTE_LIMIT} characters",
                                "is too long to slice by" if len(value) > ATTRIBUTE_LIMIT else "holds control characters")
            if len(fine) < FINE_VALUES:
                fine.add(value)
        return parsed

    return checked


def _from_worker(export: Export, mapping: Mapping, plan: Plan) -> Iterator[ParsedBatch]:
    """The batches of `_parse`, parsed by a worker process (worker.py) and read from its pipe; the worker is
    stopped when the import ends early, and its failure is raised here."""
    with started("parse", export, mapping, plan) as worker:
        while True:
            try:
                item = pickle.load(worker.stdout)
            except EOFError:
                raise RuntimeError("the import's parsing process stopped unexpectedly "
                                   f"(exit code {worker.wait()})") from None
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item


def serve(export: Export, mapping: Mapping, plan: Plan, batches: BinaryIO) -> None:
    """The worker's side: write every batch, then None, to `batches`; a failure goes across as an exception
    that pickles."""
    try:
        for batch in _parse(export, mapping, plan):
            pickle.dump(batch, batches, protocol=pickle.HIGHEST_PROTOCOL)
            batches.flush()
    except ImportFileError as exc:
        pickle.dump(ImportFileError(str(exc)), batches)
    except Exception as exc:  # noqa: BLE001 (any other failure must still reach the writer, as text)
        pickle.dump(RuntimeError(f"parsing the file failed: {exc!r}"), batches)
    else:
        pickle.dump(None, batches)
    batches.flush()

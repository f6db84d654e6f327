"""`voxpop text backfill`: put the stored comments through the text pipeline, with progress."""

from __future__ import annotations

from typing import Annotated

import typer

from voxpop.cli import _database, err, fail, get_settings, out, waiting_for
from voxpop.cli.audit import record
from voxpop.cli.text import text_app


@text_app.command("backfill")
def backfill_command(
    reprocess: Annotated[bool, typer.Option("--reprocess", help="Analyse every comment again, not only those never "
                                                                "analysed or analysed by an older voxpop.")] = False,
) -> None:
    """Analyse the stored comments: redaction, language, sentiment and themes.

    Comments never analysed, and those analysed by an older pipeline, are done, and those tagged by an older
    codebook version are tagged again; running it again does nothing new.
    Safe while the server runs. Theme corrections made by staff are kept."""
    from sqlalchemy.exc import SQLAlchemyError

    from voxpop.background import doing_the_work_of
    from voxpop.text.flows import catch_up
    from voxpop.text.service import (
        count_pending,
        count_retag,
        forget_originals,
        mark_all_outdated,
    )

    settings = get_settings()
    db = _database(settings)
    try:
        if not settings.keep_original_comments:
            forget_originals(db)
        if reprocess:
            mark_all_outdated(db)
        with db.read_connection() as connection:
            fresh, retag = count_pending(connection), count_retag(connection)
        total = fresh + retag
        # Several servers on PostgreSQL run the comment worker: hold its lock, so they wait instead of analysing
        # the same comments beside the backfill.
        with (doing_the_work_of(db, "comments", on_wait=waiting_for("comment")),
              _progress(total, enabled=err.is_terminal) as advance):
            catch_up(db, keep_original=settings.keep_original_comments, on_batch=advance)
        # The comments are analysed in many batches, each its own transaction; the log gets one entry when done.
        with db.write() as db_session:
            record(db_session, "text.backfill", "comments", analysed=fresh, retagged=retag, reprocess=reprocess)
    except SQLAlchemyError as exc:
        fail(f"the comments could not be analysed: {exc}; check the database and run the backfill again "
             "(what was analysed is kept)", 1)
    finally:
        db.dispose()
    done = [sentence for count, sentence in ((fresh, f"analysed {fresh:,} comments"),
                                             (retag, f"re-tagged {retag:,} with the codebook in use")) if count]
    out.print(" and ".join(done) or "every comment is analysed already; nothing to do", highlight=False)


def _progress(total: int, *, enabled: bool):
    """A Rich progress bar with comments per second and the time left; a no-op off a terminal."""
    from contextlib import contextmanager

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    @contextmanager
    def bar():
        if not enabled or not total:
            yield lambda comments: None
            return
        columns = (TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[speed]}"),
                   TimeRemainingColumn())
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task("backfill", total=total, speed="")

            def advance(comments: int) -> None:
                progress.advance(task, comments)
                speed = progress.tasks[0].speed
                progress.update(task, speed=f"{speed:,.0f} comments/s" if speed else "")

            yield advance

    return bar()

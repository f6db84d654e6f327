"""The `voxpop` command line. Bad input exits with 2 and a message on stderr; failures exit with 1.

This module holds the app and what every verb shares; the verbs live in admin, analysis and imports."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # pydantic-settings takes a fifth of a second to import: only commands that read settings pay it
    from voxpop.settings import Settings

app = typer.Typer(help="voxpop: customer focus, put into practice and measured.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users.", no_args_is_help=True)
survey_app = typer.Typer(help="Surveys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(survey_app, name="survey")

out = Console()
err = Console(stderr=True)
# The layers below name a parameter as the Python API spells it, in backquotes (voxpop.analysis.engine.MetricError):
# here each is said as the option that sets it.
OPTIONS = {
    "basis": "--basis", "by": "--by", "calibration_end": "--calibration-end", "chart": "--chart", "cuts": "--cuts",
    "drivers": "--driver", "metric": "--metric", "observation_end": "--holdout-end", "outcome_scale": "--outcome-scale",
    "period": "--period", "question": "--question", "rules": "--rules", "scale": "--scale",
    "source_format": "--from", "survey": "--survey", "time": "--time", "time_unit": "--time-unit", "window": "--window",
}
PARAMETER = re.compile(r"`(\w+)`")


def in_cli_terms(message: str) -> str:
    """A message from the layers below with each parameter it names said as its command-line option."""
    return PARAMETER.sub(lambda found: OPTIONS.get(found.group(1), found.group(0)), message)


def get_settings() -> Settings:
    """The settings, or a clear message naming the VOXPOP_* variable that is wrong."""
    from pydantic import ValidationError

    from voxpop.settings import get_settings as load_settings

    try:
        return load_settings()
    except ValidationError as exc:
        problems = "; ".join(f"VOXPOP_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"invalid configuration: {problems}")


def fail(message: str, code: int = 2) -> None:
    """Say what went wrong as a sentence and exit with `code`: a message starting with a plain word gets its
    capital letter, whoever wrote it; one starting with a file's name or a path keeps it as it is."""
    sentence = in_cli_terms(message)
    first = sentence.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        sentence = sentence[:1].upper() + sentence[1:]
    err.print(f"[bold red]error:[/] {escape(sentence)}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code)


def waiting_for(worker: str):
    """What a command doing a worker's job says while a server's step of that worker ends first
    (voxpop.background.doing_the_work_of)."""
    return lambda: err.print(f"waiting for a server's {worker} worker to finish the batch it is doing; then this "
                             "command goes on", highlight=False)


def read_text_file(path) -> str:
    """A definition file's text (rules, scorecards), or exit 2 saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path} does not exist")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path} cannot be read as UTF-8 text: {exc}")


def _database(settings: Settings | None = None):
    from voxpop.store.database import Database
    from voxpop.store.migrate import current_revision, head_revision

    settings = settings or get_settings()
    try:
        db = Database(settings.sqlalchemy_url)
    except Exception as exc:  # noqa: BLE001 (SQLAlchemy's ArgumentError, an unknown dialect or a missing driver)
        fail(f"VOXPOP_DATABASE_URL is not a database URL voxpop can open ({exc}); give e.g. "
             "postgresql+psycopg://user@host/db, or leave it unset for SQLite in the data directory")
    try:
        revision = current_revision(db.engine)
    except Exception as exc:  # an unreachable server, a bad URL
        fail(f"cannot open the database {db.url.render_as_string(hide_password=True)}: {exc}", 1)
    if revision is None:
        fail("the database has no schema yet; run `voxpop db upgrade` first", 1)
    if revision != head_revision():
        fail(f"the database schema is at revision {revision}, this voxpop needs {head_revision()}; "
             "run `voxpop db upgrade` first", 1)
    return db




@contextmanager
def database(settings: Settings | None = None):
    """The store for one command, disposed of when the command is done with it."""
    db = _database(settings)
    try:
        yield db
    finally:
        db.dispose()

def main() -> None:
    """Run the command line. The verb named first is built alone when it is a command of its own (metrics, say):
    turning every verb's signature into options takes a tenth of a second, which a command on a small file feels.
    Anything else (a group such as `db`, no verb, --help) goes to the whole app."""
    import sys

    verb = sys.argv[1] if len(sys.argv) > 1 else None
    command = next((info for info in app.registered_commands if info.name == verb), None)
    if command is None:
        app()
        return
    alone = typer.Typer(add_completion=False)
    alone.callback()(lambda: None)  # a group of one, so that the verb stays the first word, as in the whole app
    alone.registered_commands.append(command)
    alone()


# The verbs register themselves on `app` when imported (after the shared helpers above exist).
from voxpop.cli import (  # noqa: E402,F401
    admin,
    analysis,
    audit,
    backup,
    case_rules,
    cases,
    contacts,
    customers,
    exports,
    imports,
    privacy,
    reach,
    scorecard,
    scorecard_export,
    scorecard_map,
    scorecard_score,
    scorecard_values,
    sends,
    sources,
    surveys,
    text,
    text_backfill,
    text_codebook,
    weighting,
)

"""Running and administering voxpop: serve, demo, db, user and survey verbs."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from voxpop.cli import (
    _database,
    app,
    db_app,
    fail,
    get_settings,
    out,
    survey_app,
    user_app,
)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Create or migrate the schema (Alembic), on SQLite or PostgreSQL."""
    from sqlalchemy import func, select

    from voxpop.analysis.models import ScoreRollup
    from voxpop.analysis.rollups import rebuild_store
    from voxpop.collection.models import Answer
    from voxpop.store.database import Database
    from voxpop.store.migrate import current_revision, head_revision, upgrade

    settings = get_settings()
    db = Database(settings.sqlalchemy_url)
    try:
        upgrade(db.write_engine, revision)
    except Exception as exc:
        fail(f"migration failed: {exc}", 1)
    out.print(f"database at revision {current_revision(db.engine)} ({db.url.render_as_string(hide_password=True)})")
    if current_revision(db.engine) == head_revision():
        with db.read() as db_session:
            missing = (db_session.scalar(select(func.count()).select_from(ScoreRollup)) == 0
                       and db_session.scalar(select(func.count()).select_from(Answer)) > 0)
        if missing:  # a store from before the rollups existed: fill them once
            out.print(f"daily rollups rebuilt: {rebuild_store(db, zone=settings.timezone):,} rows")


@db_app.command("rollups")
def db_rollups() -> None:
    """Rebuild the dashboards' daily rollups from the answers (after changing VOXPOP_TIMEZONE)."""
    from voxpop.analysis.rollups import rebuild_store

    settings = get_settings()
    rows = rebuild_store(_database(settings), zone=settings.timezone)
    out.print(f"rollups rebuilt: {rows:,} rows, days in {settings.timezone}")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail, used to log in.")],
    role: Annotated[str, typer.Option(help="admin, manager, analyst, agent or viewer.")] = ...,  # type: ignore[assignment]
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    department: Annotated[str | None, typer.Option(help="Department, created if new.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a staff user. The password is asked for, or read from stdin with --password-stdin."""
    from voxpop.accounts import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            fail("the two passwords differ")
    db = _database()
    try:
        with db.write() as db_session:
            user = service.create_user(
                db_session=db_session, email=email, password=password, role=role, name=name, department=department
            )
            service.audit(db_session=db_session, actor=None, action="user.create", target=user.email, role=role, via="cli")
    except service.AccountError as exc:
        fail(str(exc))
    out.print(f"created {user.email} with role {role}")


@survey_app.command("apply")
def survey_apply(
    file: Annotated[Path, typer.Argument(help="A survey definition, YAML or JSON.")],
    owner: Annotated[str | None, typer.Option(help="E-mail of the staff member who owns the survey.")] = None,
) -> None:
    """Create or update a survey from a file; a changed survey gets a new version."""
    from sqlalchemy import select

    from voxpop.accounts.models import User
    from voxpop.accounts.service import audit
    from voxpop.surveys import service

    try:
        definition = service.read_definition(file)
    except service.SurveyFileError as exc:
        fail(str(exc))
    db = _database()
    with db.write() as db_session:
        person = None
        if owner is not None:
            person = db_session.scalar(select(User).where(User.email == owner.strip().lower(), User.is_active))
            if person is None:
                fail(f"there is no active staff user {owner!r} to own the survey; create one with `voxpop user create`")
        result = service.apply(db_session=db_session, definition=definition)
        if person is not None:
            service.set_owner(db_session=db_session, survey=result.survey, owner=person)
        audit(db_session=db_session, actor=None, action="survey.apply", target=definition.key,
              version=result.version.number, via="cli", **({"owner": person.email} if person else {}))
    verb = "created" if result.created else ("updated to a new version" if result.new_version else "unchanged; status set")
    out.print(f"survey {definition.key!r} {verb}: version {result.version.number}, status {definition.status}, "
              f"{len(definition.questions)} questions" + (f", owner {person.email}" if person else ""))


@survey_app.command("invite")
def survey_invite(
    key: Annotated[str, typer.Argument(help="The survey's key.")],
    customer: Annotated[list[str] | None, typer.Option(help="Customer external id; repeat for several.")] = None,
    count: Annotated[int, typer.Option(min=1, max=100_000, help="Anonymous invitations to make when no --customer is given.")] = 1,
    valid_days: Annotated[int, typer.Option(min=1, help="Days the links stay valid.")] = 30,
    base_url: Annotated[str, typer.Option(help="Public address of this voxpop.")] = "http://127.0.0.1:8000",
) -> None:
    """Create single-use invitation links (the tokens are shown once; only their hashes are stored)."""
    from voxpop.collection import service as collection
    from voxpop.surveys import service

    db = _database()
    lines = []
    with db.write() as db_session:
        survey = service.get_by_key(db_session=db_session, key=key)
        if survey is None:
            fail(f"there is no survey with key {key!r}; see the dashboard or `voxpop survey apply`")
        targets = customer or [None] * count
        for external_id in targets:
            person = collection.get_or_create_customer(db_session=db_session, external_id=external_id) if external_id else None
            token = collection.create_invitation(db_session=db_session, survey=survey, customer=person, valid_days=valid_days)
            lines.append(f"{external_id or '-'}\t{base_url.rstrip('/')}/s/{key}?t={token}")
    # One plain line per invitation (customer, TAB, link), so scripts can read it.
    for line in lines:
        print(line)



@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing when surveys already exist.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed, for a reproducible workspace.")] = 7,
) -> None:
    """Load a realistic demo workspace (three customer surveys and an employee pulse, 23,000 responses over 18 months, cases, two scorecards, users of each role)."""
    from voxpop.demo.workspace import (
        DEMO_PASSWORD,
        DEMO_USERS,
        DemoAlreadyLoaded,
        load_demo,
    )

    db = _database()
    try:
        loaded = load_demo(db, seed=seed, if_empty=if_empty, progress=out, zone=get_settings().timezone)
    except DemoAlreadyLoaded as exc:
        fail(str(exc))
    if loaded is None:
        out.print("the database already holds surveys; demo not loaded")
    else:
        out.print(f"demo workspace loaded: {loaded:,} responses")
    out.print(f"demo logins (password [bold]{DEMO_PASSWORD}[/]): " + ", ".join(email for email, _ in DEMO_USERS))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port; more than one "
                                         "needs PostgreSQL (see docs/scaling.md).")] = 1,
) -> None:
    """Serve the web app and API."""
    import uvicorn
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    settings = get_settings()
    try:
        backend = make_url(settings.sqlalchemy_url).get_backend_name()
    except ArgumentError:
        backend = None  # not a URL: _database below says so
    if workers > 1 and backend == "sqlite":
        fail(f"--workers {workers} needs PostgreSQL: SQLite takes one writer at a time, so more server processes "
             "would only queue for it. Serve with one worker, or move to PostgreSQL (set VOXPOP_DATABASE_URL; "
             "see docs/scaling.md)")
    _database(settings).dispose()
    options = {"host": host, "port": port, "log_level": "warning", "proxy_headers": settings.trust_proxy_headers}
    processes = f" in {workers} processes" if workers > 1 else ""
    out.print(f"voxpop is serving at [bold]http://{host}:{port}[/]{processes} (Ctrl+C stops it)")
    if workers == 1:
        from voxpop.web.app import create_app

        uvicorn.run(create_app(settings), **options)
    else:
        # Each worker process builds its own app, store and background threads from the same environment; this
        # process only watches them, so it does not import the app.
        uvicorn.run("voxpop.web.app:create_app", factory=True, workers=workers, **options)

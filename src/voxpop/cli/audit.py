"""`voxpop audit`: the audit log from the command line, filtered as on the page (/admin/audit)."""

from __future__ import annotations

import itertools
import json
import sys
from typing import Annotated, Literal

import typer

from voxpop.cli import app, database, fail, get_settings, out


@app.command("audit")
def audit_command(
    actor: Annotated[str, typer.Option("--actor", metavar="EMAIL", help="Only what this staff user did; 'none' for "
                                                                        "the command line and the system.")] = "",
    action: Annotated[str, typer.Option("--action", help="An action (case.status), or a prefix ending in a dot "
                                                         "(case.) for all of its kind.")] = "",
    since: Annotated[str, typer.Option("--since", help="First day, YYYY-MM-DD, in the workspace's time zone.")] = "",
    until: Annotated[str, typer.Option("--until", help="Last day (included), YYYY-MM-DD.")] = "",
    target: Annotated[str, typer.Option("--target", help="Only entries whose target contains these words.")] = "",
    limit: Annotated[int, typer.Option("--limit", min=0, help="At most this many entries, newest first; 0 for "
                                                              "every one.")] = 100,
    output: Annotated[Literal["table", "csv", "json"], typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Who did what, when, to what and from where: logins and staff changes, newest first."""
    from voxpop.accounts import audit

    settings = get_settings()
    zone = settings.timezone
    with database(settings) as db, db.read() as db_session:
        try:
            filters = audit.make_filter(db_session=db_session, actor=actor, action=action, since=since, until=until,
                                        target=target)
        except audit.AuditFilterError as exc:
            message = str(exc)  # said with the option's name: "--since must be a day ..."
            fail(f"--{message}" if message.startswith(exc.field) else f"--{exc.field}: {message}")
        rows = audit.csv_rows(db_session=db_session, filters=filters, zone=zone)
        if limit:
            rows = itertools.islice(rows, limit)
        if output == "csv":
            for chunk in audit.csv_chunks(rows):
                sys.stdout.write(chunk)
            return
        entries = [dict(zip(audit.CSV_HEADER, row)) for row in rows]
    if output == "json":
        for entry in entries:
            entry["details"] = json.loads(entry["details"])
        print(json.dumps({"rows": entries}, ensure_ascii=False, indent=2))
        return
    if not entries:
        out.print("no audit entry matches these filters", highlight=False)
        return
    for entry in entries:
        words = audit.details_in_words(json.loads(entry["details"]))
        print("\t".join([entry["at"], entry["by"], entry["action"], entry["target"] or "-", words or "-",
                         entry["client"] or "-"]))


def record(db_session, action: str, target: str = "", **details) -> None:
    """Audit a change a `voxpop` command made, in its transaction, under the action name its page uses: no person
    (whoever runs the command runs the server) and details saying it came from the command line."""
    from voxpop.accounts.service import audit

    audit(db_session=db_session, actor=None, action=action, target=target, via="cli", **details)

"""`voxpop contacts`: Contacts: import them, suppress addresses, draw samples."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from voxpop.cli import _database, app, fail, out, read_text_file
from voxpop.cli.audit import record

contacts_app = typer.Typer(help="Contacts: import them, suppress addresses, draw samples.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")


@contacts_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="A CSV file with a header: external_id (or customer_id, id), email, "
                                              "language, consent, and any other column as an attribute.")],
) -> None:
    """Create or update contacts from a CSV file (docs/contacts.md). A bad row imports nothing: each is listed."""
    from voxpop.customers.contacts import ImportRefused, import_contacts

    text = read_text_file(file)
    db = _database()
    try:
        with db.write() as db_session:
            report = import_contacts(db_session, text, source=f"import:{file.name}", now=datetime.now(timezone.utc))
            record(db_session, "contacts.import", file.name, rows=report.rows, created=report.created,
                   updated=report.updated)
    except ImportRefused as exc:
        for error in exc.errors:
            out.print(escape(str(error)), highlight=False, soft_wrap=True)
        fail(f"{file.name}: {len(exc.errors):,} bad {'row' if len(exc.errors) == 1 else 'rows'} listed above; "
             "nothing was imported")
    out.print(escape(report.sentence()) + ".", highlight=False, soft_wrap=True)


@contacts_app.command("suppress")
def suppress_command(
    email: Annotated[str, typer.Argument(help="The address no invitation or reminder may go to.")],
    reason: Annotated[str, typer.Option(help="unsubscribed, bounced, complaint or manual.")] = "manual",
    detail: Annotated[str, typer.Option(help="A note kept with the entry (why, who asked).")] = "",
) -> None:
    """Put an address on the suppression list; an unsubscribe or complaint also withdraws its customers' consent."""
    from voxpop.customers.contacts import ContactError, suppress

    db = _database()
    try:
        with db.write() as db_session:
            entry = suppress(db_session, email, reason=reason, source="command line", detail=detail,
                             now=datetime.now(timezone.utc))
            record(db_session, "contacts.suppress", entry.email, reason=reason)
            said = f"{entry.email} is suppressed ({entry.reason} on {entry.created_at.date().isoformat()})."
    except ContactError as exc:
        fail(str(exc))
    out.print(escape(said), highlight=False)


@contacts_app.command("sample")
def sample_command(
    name: Annotated[str, typer.Option("--name", help="The sample's name, unique (sends refer to it).")],
    size: Annotated[int, typer.Option("--size", help="How many contacts to draw.")],
    seed: Annotated[int, typer.Option("--seed", help="The same seed on the same contacts draws the same sample.")],
    stratify: Annotated[str, typer.Option("--stratify", help="An attribute: draw proportionally from each of its "
                                                             "values (default: a simple random sample).")] = "",
    where: Annotated[list[str] | None, typer.Option("--where", help="attribute=value; repeat it: values of one "
                                                                    "attribute are alternatives.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the strata, record nothing.")] = False,
    output: Annotated[Literal["table", "json"], typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Draw a random or stratified sample of the reachable contacts and record it."""
    from voxpop.customers.contacts import ContactError, draw_sample, parse_where, plan_sample

    db = _database()
    method = "stratified" if stratify else "random"
    try:
        filters = parse_where(where or [])
        with db.read() if dry_run else db.write() as db_session:
            if dry_run:
                plan = plan_sample(db_session, size=size, method=method, stratify_by=stratify or None,
                                   where=filters, seed=seed)
                strata, audience, drawn = [s.as_dict() for s in plan.strata], plan.audience, size
            else:
                sample = draw_sample(db_session, name=name, size=size, method=method, stratify_by=stratify or None,
                                     where=filters, seed=seed, user=None, now=datetime.now(timezone.utc))
                strata, audience, drawn = sample.strata, sample.audience_size, sample.size_drawn
                sample_id = sample.id
                record(db_session, "contacts.sample", sample.name, size=sample.size_drawn)
    except ContactError as exc:
        fail(str(exc))
    if output == "json":
        out.print_json(json.dumps({"name": name, "id": None if dry_run else sample_id, "dry_run": dry_run,
                                   "method": method, "stratify_by": stratify or None, "where": filters,
                                   "seed": seed, "audience": audience, "drawn": drawn, "strata": strata}))
        return
    verb = "Would draw" if dry_run else f"Drew sample {sample_id}, {name!r}:"
    out.print(escape(f"{verb} {drawn:,} of {audience:,} reachable contacts ({method})."), highlight=False)
    if stratify:
        width = max(len(row["stratum"] or "(not given)") for row in strata)
        for row in strata:
            share = 100 * row["audience"] / audience
            out.print(escape(f"  {(row['stratum'] or '(not given)'):<{width}}  {row['drawn']:>7,} of "
                             f"{row['audience']:>7,}  ({share:.1f}% of the audience)"), highlight=False)

"""`voxpop customer export|erase` and `voxpop privacy retention`: a customer's data on request, and retention.

`voxpop retention` is another verb: the customer-retention metric (cli/analysis.py)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from voxpop.cli import app, database, fail, get_settings, out

customer_app = typer.Typer(help="A customer's data on request (GDPR): export it, erase it.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")
privacy_app = typer.Typer(help="Privacy: the retention of responses.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")

CUSTOMER = typer.Argument(help="The customer: their external id, their e-mail address, or voxpop's number for them "
                               "(tried in that order).")


@customer_app.command("export")
def export_command(
    customer: Annotated[str, CUSTOMER],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The ZIP to write; default "
                                                                        "voxpop-customer-<number>-<date>.zip here.")] = None,
) -> None:
    """Write everything held about a customer to a ZIP: one JSON document and a README of its fields (audited)."""
    from voxpop.accounts.service import audit
    from voxpop.privacy.customers import PrivacyError, find_customer
    from voxpop.privacy.export import customer_document, export_name, export_zip, held_counts
    from voxpop.store.database import private_file

    now = datetime.now(timezone.utc)
    with database() as db:
        try:
            with db.write() as db_session:
                found = find_customer(db_session, customer)
                document = customer_document(db_session, found, now=now)
                target = output or Path(export_name(found.id, now))
                try:
                    # One person's complete data: readable by its owner only (0600), and never over another file.
                    if not private_file(target):
                        fail(f"{target} exists already; give the export a new file name (an export never "
                             "overwrites a file)")
                    target.write_bytes(export_zip(document))
                except OSError as exc:
                    fail(f"{target} cannot be written: {exc.strerror or exc}", 1)
                audit(db_session=db_session, actor=None, action="customer.export", target=f"customer:{found.id}",
                      via="cli")
        except PrivacyError as exc:
            fail(str(exc))
    held = ", ".join(f"{count:,} {section.replace('_', ' ')}" for section, count in held_counts(document).items()
                     if count)
    out.print(escape(f"Wrote {target}: customer {found.id} ({held or 'no data beyond the customer row'})."),
              highlight=False, soft_wrap=True)


@customer_app.command("erase")
def erase_command(
    customer: Annotated[str, CUSTOMER],
    yes: Annotated[bool, typer.Option("--yes", help="Erase without asking (for scripts).")] = False,
) -> None:
    """Erase a customer's personal data and free text; their scores stay, anonymised, so the metrics do not change
    (docs/privacy.md). Audited with counts only."""
    from voxpop.privacy.customers import PrivacyError, find_customer
    from voxpop.privacy.erasure import erase_customer

    with database() as db:
        try:
            if not yes:
                with db.read() as db_session:
                    found = find_customer(db_session, customer)
                    label = f"customer {found.id} ({found.external_id}{', ' + found.email if found.email else ''})"
                if not typer.confirm(f"Erase the personal data of {label}? This cannot be undone"):
                    fail("nothing was erased", 1)
            with db.write() as db_session:
                erasure = erase_customer(db_session, find_customer(db_session, customer),
                                         now=datetime.now(timezone.utc), actor=None, via="cli")
        except PrivacyError as exc:
            fail(str(exc))
    out.print(escape(erasure.sentence() + "."), highlight=False, soft_wrap=True)


@privacy_app.command("retention")
def retention_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be anonymised.")] = False,
    months: Annotated[int | None, typer.Option(min=1, max=1200, help="Months to keep; default "
                                                                      "VOXPOP_RETENTION_MONTHS.")] = None,
    format: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Anonymise responses older than the retention setting now (their free text and customer link), as the
    server's hourly worker does; audited."""
    from voxpop.privacy.retention import apply_retention

    if format not in ("table", "json"):
        fail(f"--format is table or json, not {format}")
    months = months or get_settings().retention_months
    if months is None:
        fail("no retention is set: set VOXPOP_RETENTION_MONTHS or give --months")
    with database() as db:
        report = apply_retention(db, months=months, dry_run=dry_run, via="cli")
    if format == "json":
        out.print_json(json.dumps(report.details() | {"dry_run": report.dry_run}))
    else:
        out.print(escape(report.sentence() + "."), highlight=False, soft_wrap=True)

"""`voxpop send`: E-mail invitation runs: plan with a dry run, send, remind, trigger."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
import yaml

from voxpop.cli import _database, app, database, fail, get_settings, out, read_text_file, waiting_for
from voxpop.cli.audit import record

send_app = typer.Typer(help="E-mail invitation runs: plan with a dry run, send, remind, trigger.", no_args_is_help=True)
app.add_typer(send_app, name="send")
rules_app = typer.Typer(help="Contact-frequency rules: how often one customer may be asked.", no_args_is_help=True)
send_app.add_typer(rules_app, name="rules")
Format = Literal["table", "json", "csv"]


def _say(line: str) -> None:
    out.print(line, highlight=False, markup=False)


def _problems(exc) -> str:
    return "; ".join(f"{path}: {message}" for path, message in exc.problems)


@send_app.command("create")
def create_command(
    file: Annotated[Path, typer.Argument(help="The send's definition, YAML or JSON (docs/sends.md).")],
    update: Annotated[bool, typer.Option("--update", help="Change the draft or scheduled send with this key.")] = False,
) -> None:
    """Create a send (a draft, or scheduled when the file gives scheduled_for) from a file."""
    from voxpop.distribution.definitions import DefinitionError, read_definition, save_send
    from voxpop.distribution.service import find_send
    from voxpop.store.base import utcnow

    text = read_text_file(file)
    db = _database()
    try:
        raw = read_definition(text)
        with db.write() as db_session:
            editing = find_send(db_session, key=str(raw.get("key", ""))) if update else None
            if update and editing is None:
                fail(f"there is no send {raw.get('key')!r} to update; leave out --update to create it")
            send = save_send(db_session, raw, actor_id=None, now=utcnow(), editing=editing)
            key, status = send.key, send.status
            record(db_session, "sends.update" if update else "sends.create", f"send:{key}", status=status)
    except DefinitionError as exc:
        fail(f"{file}: {_problems(exc)}")
    finally:
        db.dispose()
    _say(f"{'updated' if update else 'created'} send {key} ({status}); see who it would invite with "
         f"`voxpop send run {key} --dry-run`")


@send_app.command("list")
def list_command() -> None:
    """Every send with its status and how many it invited."""
    from voxpop.distribution.overview import list_sends

    with database() as db:
        with db.read() as db_session:
            sends = list_sends(db_session)
    if not sends:
        _say("no sends yet; create one with `voxpop send create FILE`")
    for send in sends:
        print(f"{send.key}\t{send.status}\t{send.survey}\t{send.invited} invited\t{send.skipped} skipped\t{send.name}")


@send_app.command("show")
def show_command(
    key: Annotated[str, typer.Argument(help="The send's key.")],
    output: Annotated[Literal["yaml", "json"], typer.Option("--format", help="yaml or json.")] = "yaml",
) -> None:
    """The send's definition as a file, which `voxpop send create --update` reads back."""
    from voxpop.distribution.definitions import as_definition
    from voxpop.distribution.service import find_send

    with database() as db:
        with db.read() as db_session:
            send = find_send(db_session, key=key)
            if send is None:
                fail(f"there is no send {key!r}")
            document = as_definition(db_session, send)
    if output == "json":
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100))


@send_app.command("run")
def run_command(
    key: Annotated[str, typer.Argument(help="The send's key.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List who would be invited or skipped and why; send "
                                                            "nothing.")] = False,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv (the dry run's list).")] = "table",
) -> None:
    """Send the invitations now (in batches; a re-run carries on where it stopped), or show the dry run."""
    from voxpop.background import doing_the_work_of
    from voxpop.distribution.planning import plan_send, run_send
    from voxpop.distribution.service import find_send
    from voxpop.store.base import utcnow

    settings = get_settings()
    db = _database(settings)
    try:
        with db.read() as db_session:
            send = find_send(db_session, key=key)
            if send is None:
                fail(f"there is no send {key!r}; `voxpop send list` shows them")
            if dry_run:
                plan = plan_send(db_session, send, utcnow())
        if dry_run:
            _print_plan(plan, output)
            return
        invited = skipped = 0
        started = False
        with doing_the_work_of(db, "sends", on_wait=waiting_for("sending")):  # servers' send workers wait meanwhile
            while True:
                with db.write() as db_session:
                    send = find_send(db_session, key=key)
                    startable = send.status in ("draft", "scheduled", "sending")
                    report = run_send(db_session, send, settings, utcnow(), limit=200)
                    if startable and not started and not report.problems:  # once per run, as the page's Send button
                        record(db_session, "sends.send", f"send:{key}")
                        started = True
                if report.problems:
                    fail("; ".join(report.problems))
                invited, skipped = invited + report.invited, skipped + report.skipped
                if report.remaining == 0 or report.invited + report.skipped == 0:
                    break
    finally:
        db.dispose()
    _say(f"send {key}: {invited} invitations queued, {skipped} skipped (the send log lists why); the mail worker "
         f"sends them")


def _print_plan(plan, output: str) -> None:
    header = ["customer_id", "email", "language", "decision", "reason", "note"]
    rows = [[entry.external_id, entry.email or "", entry.language, "invite" if entry.invite else "skip",
             entry.reason, entry.note] for entry in plan.entries]
    if output == "json":
        print(json.dumps({"send": plan.send_key, "invite": len(plan.invited), "skip": len(plan.skipped),
                          "reasons": dict(plan.reasons()), "contacts": [dict(zip(header, row)) for row in rows]},
                         ensure_ascii=False, indent=2))
        return
    if output == "csv":
        from voxpop.web.tables import csv_text  # the web's CSV: a cell starting a formula is quoted

        sys.stdout.write(csv_text(header, rows))
        return
    _say(f"send {plan.send_key} (dry run): {len(plan.invited)} would be invited, {len(plan.skipped)} skipped")
    for reason, count in plan.reasons():
        print(f"  {count}\t{reason}")
    for language, count in plan.languages():
        print(f"  {count}\twritten in {language}")
    for row in rows:
        if row[3] == "skip" or row[5]:
            print("\t".join(row[:2] + row[3:5] + [row[5]]).rstrip())


@send_app.command("cancel")
def cancel_command(key: Annotated[str, typer.Argument(help="The send's key.")]) -> None:
    """Stop a send: no more invitations or reminders (what is in the outbox still goes)."""
    from voxpop.distribution.overview import SendError, cancel_send

    db = _database()
    try:
        with db.write() as db_session:
            cancel_send(db_session, key=key)
            record(db_session, "sends.cancel", f"send:{key}")
    except SendError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    _say(f"send {key} cancelled")


@send_app.command("remind")
def remind_command() -> None:
    """Send the reminders that are due now, and expire what is past its date (the worker does this too)."""
    from voxpop.background import doing_the_work_of
    from voxpop.distribution.reminders import due_reminders
    from voxpop.store.base import utcnow

    settings = get_settings()
    db = _database(settings)
    total = [0, 0, 0]
    try:
        with doing_the_work_of(db, "sends", on_wait=waiting_for("sending")):
            while True:
                with db.write() as db_session:
                    report = due_reminders(db_session, settings, utcnow())
                total = [total[0] + report.reminded, total[1] + report.cancelled, total[2] + report.expired]
                if report.reminded + report.cancelled + report.expired == 0:
                    break
    finally:
        db.dispose()
    _say(f"{total[0]} reminders queued, {total[1]} cancelled (answered, closed or unreachable), {total[2]} "
         f"invitations expired")


@send_app.command("triggers")
def triggers_command() -> None:
    """Turn new purchases into events and invite for the events whose delay has passed (the worker does this too)."""
    from voxpop.background import doing_the_work_of
    from voxpop.distribution.triggers import due_triggered, pick_up_purchases
    from voxpop.store.base import utcnow

    settings = get_settings()
    db = _database(settings)
    try:
        with doing_the_work_of(db, "sends", on_wait=waiting_for("sending")):
            with db.write() as db_session:
                purchases = pick_up_purchases(db_session, now=utcnow(), zone=settings.timezone)
            with db.write() as db_session:
                report = due_triggered(db_session, settings, utcnow(), limit=10_000)
    finally:
        db.dispose()
    _say(f"{purchases} new purchases; {report.invited} invited, {report.skipped} skipped")


@send_app.command("trigger-add")
def trigger_add_command(
    key: Annotated[str, typer.Argument(help="The trigger's key.")],
    send: Annotated[str, typer.Option("--send", help="The send (without an audience) whose templates it uses.")],
    event: Annotated[str, typer.Option("--event", help="purchase, or the name events are posted with.")],
    delay_days: Annotated[int, typer.Option("--delay-days", help="Days after the event.")] = 0,
) -> None:
    """Invite with a send's templates N days after each event of a name."""
    from voxpop.distribution.definitions import DefinitionError, save_trigger
    from voxpop.store.base import utcnow

    db = _database()
    try:
        with db.write() as db_session:
            raw = {"key": key, "send": send, "event_name": event, "delay_days": delay_days}
            save_trigger(db_session, raw, now=utcnow())
            record(db_session, "sends.trigger_add", f"trigger:{key}", **raw)
    except DefinitionError as exc:
        fail(_problems(exc))
    finally:
        db.dispose()
    _say(f"trigger {key}: {event} + {delay_days} days -> send {send}")


@send_app.command("event")
def event_command(
    name: Annotated[str, typer.Argument(help="The event's name, e.g. 'order delivered'.")],
    customer: Annotated[str, typer.Argument(help="The customer's id.")],
    dedupe_key: Annotated[str, typer.Option("--key", help="The event's own id (an order number): a repeat with "
                                                          "the same key is recorded once.")] = "",
    occurred_at: Annotated[datetime | None, typer.Option("--at", help="When it happened (ISO 8601 with zone).")] = None,
) -> None:
    """Record an event for the triggers (as POST /api/v1/events does)."""
    from voxpop.distribution.triggers import EventRefused, record_event_from_api
    from voxpop.store.base import utcnow

    db = _database()
    try:
        with db.write() as db_session:
            recorded = record_event_from_api(db_session, name=name, external_id=customer, occurred_at=occurred_at,
                                             dedupe_key=dedupe_key or None, now=utcnow())
            created = recorded.created
    except EventRefused as exc:
        fail(f"{exc.field}: {exc}")
    finally:
        db.dispose()
    _say("event recorded" if created else "already recorded (same name and key); nothing added")


@rules_app.command("list")
def rules_list_command() -> None:
    """The contact-frequency rules."""
    from voxpop.distribution.overview import list_rules

    with database() as db:
        with db.read() as db_session:
            rules = list_rules(db_session)
    if not rules:
        _say("no contact rules: a customer may be asked any number of times (add one with `voxpop send rules add`)")
    for rule in rules:
        print(f"{rule.id}\t{rule.survey or 'every survey'}\t{rule.in_words}{'' if rule.active else ' (off)'}")


@rules_app.command("add")
def rules_add_command(
    max_invitations: Annotated[int | None, typer.Option("--max", help="At most this many invitations ...")] = None,
    per_days: Annotated[int | None, typer.Option("--per-days", help="... per this many days.")] = None,
    min_gap_days: Annotated[int | None, typer.Option("--gap-days", help="At least this many days between two.")] = None,
    survey: Annotated[str | None, typer.Option("--survey", help="Only invitations to this survey (default: every "
                                                                 "survey).")] = None,
) -> None:
    """Add a rule, e.g. --max 2 --per-days 90 --gap-days 30."""
    from voxpop.distribution.definitions import DefinitionError, save_rule
    from voxpop.store.base import utcnow

    db = _database()
    try:
        with db.write() as db_session:
            raw = {"survey": survey, "max_invitations": max_invitations, "per_days": per_days,
                   "min_gap_days": min_gap_days}
            rule = save_rule(db_session, raw, now=utcnow())
            rule_id = rule.id
            record(db_session, "sends.rule_add", f"rule:{rule_id}",
                   **{name: value for name, value in raw.items() if value is not None})
    except DefinitionError as exc:
        fail(_problems(exc))
    finally:
        db.dispose()
    _say(f"rule {rule_id} added")


@rules_app.command("remove")
def rules_remove_command(rule_id: Annotated[int, typer.Argument(help="The rule's number (`voxpop send rules list`).")],
                         ) -> None:
    """Remove a rule."""
    from voxpop.distribution.overview import SendError, remove_rule

    db = _database()
    try:
        with db.write() as db_session:
            remove_rule(db_session, rule_id=rule_id)
            record(db_session, "sends.rule_remove", f"rule:{rule_id}")
    except SendError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    _say(f"rule {rule_id} removed")

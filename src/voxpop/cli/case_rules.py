"""`voxpop cases rules ...` and `voxpop cases backfill`: the rules that open cases."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Literal

import typer

from voxpop.cli import _database, err, fail, get_settings, out, read_text_file
from voxpop.cli.audit import record
from voxpop.cli.cases import cases_app

rules_app = typer.Typer(help="The rules that open cases.", no_args_is_help=True)
cases_app.add_typer(rules_app, name="rules")
Output = Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")]


@rules_app.command("apply")
def apply_command(
    file: Annotated[Path, typer.Argument(help="The rules file, YAML or JSON (docs/case-rules.md).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would change, change nothing.")] = False,
) -> None:
    """Create or update the rules that open cases, the routes, root causes and case policy from a file.

    A new rule, or one whose conditions change, looks only at responses submitted from now on; run
    `voxpop cases backfill` to apply it to earlier ones."""
    from voxpop.cases.rules import RulesError, apply_rules, load_rules

    text = read_text_file(file)
    db = _database()
    try:
        rules = load_rules(text, source=str(file))
        with db.write() as db_session:
            report = apply_rules(db_session=db_session, rules=rules, dry_run=dry_run, source=str(file),
                                 client="command line")
    except RulesError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    for line in report.lines():
        out.print(line, highlight=False, markup=False)
    changed = len(report.changed)
    if dry_run:
        out.print(f"dry run: {changed} {'change' if changed == 1 else 'changes'} would be made; nothing was changed",
                  highlight=False)
    else:
        out.print(f"applied: {changed} {'change' if changed == 1 else 'changes'}", highlight=False)


@rules_app.command("list")
def list_command(output: Output = "table") -> None:
    """Every rule: survey, conditions, priority, department, holdout, paused, cases opened in the last 30 days."""
    from voxpop.cases.rules import overview

    db = _database()
    try:
        with db.read() as db_session:
            listed = overview(db_session=db_session, now=datetime.now(timezone.utc))
    finally:
        db.dispose()
    if output == "json":
        print(json.dumps({"rows": [rule.model_dump(mode="json") for rule in listed.rules]}, ensure_ascii=False))
        return
    if output == "csv":
        from voxpop.web.tables import csv_text

        sys.stdout.write(csv_text(["key", "name", "survey", "conditions", "priority", "department", "paused",
                                   "holdout", "cases_last_30_days"],
                                  [[rule.key, rule.name, rule.survey, "; ".join(rule.conditions_in_words),
                                    rule.priority, rule.department, rule.paused, rule.holdout,
                                    rule.cases_last_30_days] for rule in listed.rules]))
        return
    if not listed.rules:
        out.print("no rules yet: apply a rules file with `voxpop cases rules apply FILE`", highlight=False)
        return
    from rich.markup import escape

    for rule in listed.rules:
        state = "paused" if rule.paused else "active"
        out.print(f"[bold]{escape(rule.key)}[/]  {state}  {rule.priority}  {escape(rule.survey or 'any survey')}  "
                  f"{rule.cases_last_30_days:,} cases in the last 30 days", highlight=False)
        out.print(f"  {escape('; '.join(rule.conditions_in_words))} → {escape(rule.department or 'by route')}"
                  + (f", {rule.holdout:.0%} held out" if rule.holdout else ""), highlight=False)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a day written YYYY-MM-DD, not {value!r}")


@rules_app.command("preview")
def preview_command(
    key: Annotated[str, typer.Argument(help="The rule's key.")],
    since: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD (default: 26 weeks before --until).")] = None,
    until: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (default: today).")] = None,
    output: Output = "table",
) -> None:
    """How many cases the rule would have opened per week over past responses (a customer's further matches within
    the open period counted once)."""
    from voxpop.analysis.periods import DaysError
    from voxpop.cases.rules import RuleNotFound, rule_detail

    settings = get_settings()
    _day(since, "--since")  # a clear message naming the option before the database is opened
    _day(until, "--until")
    db = _database(settings)
    try:
        detail = rule_detail(db, key=key, since=since or "", until=until or "", zone=settings.timezone)
    except (RuleNotFound, DaysError) as exc:
        fail(str(exc))
    finally:
        db.dispose()
    shown = detail.preview
    if output == "json":
        print(json.dumps(detail.model_dump(mode="json"), ensure_ascii=False))
        return
    if output == "csv":
        from voxpop.web.tables import csv_text

        sys.stdout.write(csv_text(["week", "cases"], [[week.week.isoformat(), week.cases] for week in shown.weeks]))
        return
    out.print(f"{key}: from {shown.since} to {shown.until}, {shown.sentence}", highlight=False)
    out.print(f"{shown.matching:,} matching responses, {shown.cases:,} cases after joins"
              + (f", about {shown.held_out:,} held out" if shown.held_out else ""), highlight=False)
    for week in shown.weeks:
        out.print(f"  {week.week}  {week.cases:>6,}", highlight=False)
    out.print(f"(an approximation: a customer's further matches within {shown.open_days} days of a case join it)",
              highlight=False)


@cases_app.command("backfill")
def backfill_command(
    rule: Annotated[list[str] | None, typer.Option("--rule", help="A rule's key (repeat); default: every active "
                                                                  "rule.")] = None,
    since: Annotated[str | None, typer.Option(help="Only responses from this day, YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option(help="Only responses up to this day, YYYY-MM-DD.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would be looked at, open nothing.")] = False,
) -> None:
    """Run the rules on stored responses from before each rule became active: the only way history opens cases.

    Cases open now, with deadlines from now; those for responses older than 3 days open without e-mail or webhook.
    Running it again does nothing new: every response a rule kept is recorded."""
    from voxpop.cases.matching import BackfillError, backfill

    settings = get_settings()
    first, last = _day(since, "--since"), _day(until, "--until")
    db = _database(settings)
    try:
        def progress(key: str, done: int) -> None:
            if err.is_terminal:
                err.print(f"{key}: {done:,} responses so far", highlight=False)

        report = backfill(db, now=datetime.now(timezone.utc), zone=settings.timezone, public_url=settings.public_url,
                          rule_keys=rule or (), since=first, until=last, dry_run=dry_run, progress=progress)
        if not dry_run and report.rules:  # each case opened is audited as it opens; this says which run opened it
            with db.write() as db_session:
                record(db_session, "case_rules.backfill", ", ".join(report.rules)[:200], since=since, until=until,
                       rules={key: dict(tally) for key, tally in report.rules.items()})
    except BackfillError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if not report.rules:
        out.print("no active rules: apply a rules file with `voxpop cases rules apply FILE`", highlight=False)
    for line in report.lines():
        out.print(line, highlight=False, markup=False)
    if dry_run:
        out.print("dry run: nothing was opened", highlight=False)

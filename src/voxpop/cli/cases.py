"""`voxpop cases ...`: the closed loop from the command line. `list` and `show` read every case (whoever runs the
command runs the server); the pages and the API show each staff member only the cases their role allows."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import typer

from voxpop.cli import _database, app, fail, get_settings, out

cases_app = typer.Typer(help="Cases: the closed loop with unhappy customers.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")


def _owner_id(db_session, email: str) -> int:
    from sqlalchemy import func, select

    from voxpop.accounts.models import User

    found = db_session.scalar(select(User.id).where(func.lower(User.email) == email.strip().lower()))
    if found is None:
        fail(f"there is no staff user with e-mail {email!r}")
    return found


def _department_id(db_session, name: str) -> int:
    from sqlalchemy import func, select

    from voxpop.accounts.models import Department

    found = db_session.scalar(select(Department.id).where(func.lower(Department.name) == name.strip().lower()))
    if found is None:
        names = db_session.scalars(select(Department.name).order_by(Department.name)).all()
        fail(f"there is no department {name!r}; the departments are {', '.join(names) or 'none yet'}")
    return found


@cases_app.command("list")
def cases_list(
    mine: Annotated[str | None, typer.Option("--mine", metavar="EMAIL", help="Only the cases this user owns.")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department's cases (its name).")] = None,
    status: Annotated[list[str] | None, typer.Option(help="new, in_progress, waiting, resolved or closed; repeat "
                                                          "for several.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open cases past a deadline.")] = False,
    output: Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """The cases, next deadline first, as the queue page lists them (all of them, with every filter applied)."""
    from voxpop.cases import queues
    from voxpop.store.base import utcnow
    from voxpop.web.tables import csv_text

    settings = get_settings()
    with _database(settings).read() as db_session:
        query = queues.CaseQuery(
            statuses=tuple(status or ()), overdue=overdue,
            owner_id=_owner_id(db_session, mine) if mine else None,
            department_id=_department_id(db_session, department) if department else None)
        try:
            listed = queues.list_cases(db_session=db_session, user=queues.EVERYONE, query=query, now=utcnow(),
                                       zone=settings.timezone, limit=None)
        except queues.QueueError as exc:
            fail(str(exc))
    if output == "json":
        print(json.dumps({"rows": [item.model_dump(mode="json") for item in listed.cases]}, ensure_ascii=False))
        return
    if output == "csv":
        sys.stdout.write(csv_text(*queues.case_table(listed)))
        return
    if not listed.cases:
        out.print("no case matches these filters")
        return
    zone = ZoneInfo(settings.timezone)
    from rich.markup import escape

    for item in listed.cases:
        due = item.next_due.astimezone(zone).strftime("%Y-%m-%d %H:%M") if item.next_due else "–"
        flag = " [bold red]OVERDUE[/]" if item.overdue else ""
        out.print(f"[bold]#{item.id}[/] {escape(item.status_label)} · {item.priority} · due {due}{flag}\n"
                  f"    {escape(item.title)} — {escape(item.department or 'no department')}, "
                  f"{escape(item.owner or 'nobody')}", highlight=False)
    out.print(f"{listed.total:,} {'case' if listed.total == 1 else 'cases'}")


@cases_app.command("show")
def cases_show(
    case_id: Annotated[int, typer.Argument(metavar="ID", help="The case's number.")],
    output: Annotated[Literal["text", "json"], typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """One case: customer, response, deadlines in business hours and the timeline."""
    from voxpop.cases import detail, queues
    from voxpop.store.base import utcnow

    settings = get_settings()
    with _database(settings).read() as db_session:
        try:
            shown = detail.case_detail(db_session=db_session, user=queues.EVERYONE, case_id=case_id, now=utcnow(),
                                       zone=settings.timezone)
        except detail.CaseNotFound:
            fail(f"there is no case {case_id}; `voxpop cases list` shows the cases")
    if output == "json":
        print(json.dumps(shown.model_dump(mode="json"), ensure_ascii=False))
        return
    zone = ZoneInfo(settings.timezone)
    case = shown.case
    def row(label: str, value: str) -> str:
        return f"{label + ':':<16}{value}"

    lines = [f"Case {case.id}: {case.title}",
             row("Status", case.status_label + (f" (reopened {shown.reopened}×)" if shown.reopened else "")),
             row("Priority", case.priority), row("Department", case.department or "none"),
             row("Owner", case.owner or "nobody"),
             row("Opened", f"{case.opened_at.astimezone(zone):%Y-%m-%d %H:%M}" +
                 (f" by the rule {shown.rule_name!r}" if shown.rule_name else ""))]
    # "first contact overdue by 3 business hours" reads "First contact:  overdue by 3 business hours"
    lines += [row("First contact", d.words.removeprefix("first contact ")) if d.name == "first_contact"
              else row("Resolve", d.words.removeprefix("resolution ")) for d in shown.deadlines]
    if shown.customer:
        customer = shown.customer
        consent = {None: "not asked", True: "yes", False: "no"}[customer.may_contact]
        lines += [row("Customer", f"{customer.external_id} <{customer.email or 'no e-mail'}>, may contact: {consent}"),
                  row("Purchases", f"{customer.purchase_count:,} lines, {customer.revenue:,.2f} revenue")]
    if case.status == "closed":
        lines += [row("Root cause", shown.root_cause or "–"), row("Action taken", shown.action_taken or "–"),
                  row("Issue resolved", "yes" if shown.issue_resolved else "no")]
    if shown.response:
        lines.append(f"Response to {shown.response.survey_title}:")
        lines += [f"  {answer.text}: {answer.answer}" for answer in shown.response.answers]
    lines.append("Timeline:")
    for event in shown.events:
        lines.append(f"  {event.at.astimezone(zone):%Y-%m-%d %H:%M}  {event.words}" +
                     (f" ({event.actor})" if event.actor else "") + (f": {event.note}" if event.note else ""))
    sys.stdout.write("\n".join(lines) + "\n")

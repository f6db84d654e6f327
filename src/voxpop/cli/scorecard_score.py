"""`voxpop scorecard score`: each measure's value with its interval and n, target, score and status for a period."""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

from voxpop.cli import _database, fail, get_settings, out
from voxpop.cli.scorecard import scorecard_app

STATUS_STYLE = {"green": "green", "amber": "yellow", "red": "red", "none": "dim"}


def _rolled_up(score: float | None, colour: str) -> str:
    return f"[{STATUS_STYLE[colour]}]{colour if score is not None else 'no data'}[/]"


def _score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:,.2f}".rstrip("0").rstrip(".")


def _value(measured) -> str:
    if measured.value is None:
        return "no data"
    shown = _number(measured.value)
    if measured.ci_low is not None and measured.ci_high is not None:
        shown += f" [{_number(measured.ci_low)}, {_number(measured.ci_high)}]"
    if measured.n is not None:
        shown += f" n={measured.n:,}" + (" (low base)" if measured.low_base else "")
    return shown


@scorecard_app.command("score")
def score(
    key: Annotated[str, typer.Argument(metavar="KEY", help="The scorecard's key.")],
    period: Annotated[str | None, typer.Option(help="A month (2026-11) or quarter (2026-Q4); by default the last "
                                                    "month that has ended.")] = None,
    output: Annotated[Literal["table", "json", "csv"], typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """Each measure's value, interval, target, score and status for a period, rolled up by objective."""
    from rich.markup import escape
    from rich.table import Table

    from voxpop.scorecard.evaluation import evaluate, review_period, score_table, shown_score
    from voxpop.scorecard.models import Scorecard
    from voxpop.scorecard.periods import PeriodError, check_period
    from voxpop.scorecard.schemas import scorecard_public
    from voxpop.scorecard.service import get_scorecard
    from voxpop.store.base import utcnow
    from voxpop.web.tables import csv_text

    settings = get_settings()
    now = utcnow()
    if period is not None:
        try:  # the check every page, the review and the entries make: a period the scorecard can show
            period = check_period(period, now=now, zone=settings.timezone)
        except PeriodError as exc:
            fail(f"--period {exc}")
    with _database(settings).read() as db_session:
        scorecard = get_scorecard(db_session=db_session, key=key)
        if scorecard is None:
            from sqlalchemy import select

            keys = db_session.scalars(select(Scorecard.key).order_by(Scorecard.key)).all()
            fail(f"there is no scorecard {key!r}; the scorecards are {', '.join(keys) or 'none yet'} "
                 "(`voxpop scorecard apply FILE` defines one)")
        result = evaluate(db_session, scorecard=scorecard, period=period or review_period(now, settings.timezone,
                                                                                              "month"),
                          zone=settings.timezone, min_base=settings.min_base, now=now)
    if output == "json":
        print(scorecard_public(result).model_dump_json())
        return
    if output == "csv":
        sys.stdout.write(csv_text(*score_table(result)))
        return
    table = Table(title=f"{escape(result.name)} · {result.period}" + (" · locked" if result.locked else ""),
                  title_justify="left")
    for column in ("Perspective", "Objective", "Measure", "Value [interval] n", "Target", "Score", "Status"):
        table.add_column(escape(column), justify="right" if column in ("Target", "Score") else "left")
    for perspective in result.perspectives:
        for objective in perspective.objectives:
            for measure in objective.measures:
                status = measure.status + (f" ({measure.colour})" if measure.colour != "none" else "")
                if measure.change_is_signal is False:
                    status += "; the colour changed, but the chart sees no signal: likely noise"
                elif measure.signals:
                    status += "; the chart signals: " + "; ".join(measure.signals)
                table.add_row(escape(perspective.name), escape(objective.name), escape(measure.name),
                              _value(measure.value), _number(measure.target), shown_score(measure),
                              f"[{STATUS_STYLE[measure.colour]}]{escape(status)}[/]")
            for child in objective.cascaded:
                table.add_row(escape(perspective.name), escape(f"{objective.name} › {child.name}"),
                              "(department objective)", "", "", _score(child.score),
                              _rolled_up(child.score, child.colour))
            table.add_row("", escape(objective.name), "[bold]objective[/]", "", "", _score(objective.score),
                          _rolled_up(objective.score, objective.colour), end_section=True)
    out.print(table)
    out.print(f"Scorecard score: {_score(result.score)} ({result.colour if result.score is not None else 'no data'})",
              highlight=False)

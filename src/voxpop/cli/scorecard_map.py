"""`voxpop scorecard map KEY`: each cause-and-effect link of the strategy map tested on its measures' series."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from voxpop.cli import _database, fail, get_settings, out
from voxpop.cli.scorecard import scorecard_app


@scorecard_app.command("map")
def map_command(
    key: Annotated[str, typer.Argument(help="The scorecard's key.")],
    period: Annotated[str, typer.Option("--period", help="A month (2026-11) or a quarter (2026-Q4); default: the "
                                                         "last period that has ended.")] = "",
    output: Annotated[Literal["table", "json"], typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Each link of the strategy map tested on the data: the lagged correlation at the declared lag with its
    interval, the lag where the cross-correlation is strongest, the pooled test across units, and the verdict.
    The JSON is the document GET /api/v1/scorecards/KEY/map sends."""
    from rich.markup import escape
    from rich.table import Table

    from voxpop.scorecard.map_views import map_page_data, strategy_map_public
    from voxpop.scorecard.views import PeriodError
    from voxpop.store.base import utcnow

    settings = get_settings()
    db = _database(settings)
    try:
        data = map_page_data(db, settings, key, period, now=utcnow())
    except PeriodError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if data is None:
        fail(f"there is no scorecard {key!r}; `voxpop scorecard apply FILE` creates one from its file")
    public = strategy_map_public(data)
    if output == "json":
        print(public.model_dump_json(indent=2))
        return
    if not public.links:
        out.print(f"{public.name} declares no cause-and-effect link for {public.period}", highlight=False,
                  markup=False)
        return
    table = Table(title=f"Strategy map of {escape(public.name)}, {public.period} (each link tested on "
                        f"{public.history} periods)")
    for name, justify in (("#", "right"), ("cause → effect", "left"), ("declared", "left"),
                          ("r at the lag (95% CI), n", "left"), ("strongest lag", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify)
    for link in public.links:
        at_lag = link.lagged
        found = (f"{at_lag.r:.2f} ({at_lag.ci_low:.2f} to {at_lag.ci_high:.2f}), n {at_lag.n}"
                 if at_lag and at_lag.r is not None and at_lag.ci_low is not None
                 else f"n {at_lag.n if at_lag else 0}")
        table.add_row(str(link.number), escape(f"{link.cause} → {link.effect}"),
                      f"{'+' if link.polarity > 0 else '−'}, lag {link.lag}, {link.strength}", found,
                      "–" if link.strongest_lag is None else str(link.strongest_lag), link.verdict)
    out.print(table)
    for link in public.links:
        out.print(f"{link.number}. {link.sentence}", highlight=False, markup=False)

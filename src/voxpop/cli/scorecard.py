"""`voxpop scorecard ...`: the balanced scorecard from the command line."""

from __future__ import annotations

import typer

from voxpop.cli import app

scorecard_app = typer.Typer(help="The balanced scorecard: define, score, test the strategy map, export.",
                            no_args_is_help=True)
app.add_typer(scorecard_app, name="scorecard")

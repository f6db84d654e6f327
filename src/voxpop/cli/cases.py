"""`voxpop cases ...`: the closed loop from the command line."""

from __future__ import annotations

import typer

from voxpop.cli import app

cases_app = typer.Typer(help="Cases: the closed loop with unhappy customers.", no_args_is_help=True)
app.add_typer(cases_app, name="cases")

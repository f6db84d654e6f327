"""`voxpop cases rules ...` and `voxpop cases backfill`: the rules that open cases."""

from __future__ import annotations

import typer

from voxpop.cli.cases import cases_app

rules_app = typer.Typer(help="The rules that open cases.", no_args_is_help=True)
cases_app.add_typer(rules_app, name="rules")

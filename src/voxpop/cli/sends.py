"""`voxpop send`: E-mail invitation runs: plan with a dry run, send, remind, trigger."""

from __future__ import annotations

import typer

from voxpop.cli import app

send_app = typer.Typer(help="E-mail invitation runs: plan with a dry run, send, remind, trigger.", no_args_is_help=True)
app.add_typer(send_app, name="send")

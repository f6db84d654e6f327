"""`voxpop nonresponse`: Who did not answer: respondents against the invited audience, and raking weights."""

from __future__ import annotations

import typer

from voxpop.cli import app

weighting_app = typer.Typer(help="Who did not answer: respondents against the invited audience, and raking weights.", no_args_is_help=True)
app.add_typer(weighting_app, name="nonresponse")

"""`voxpop sources`: Focus groups and interviews: import transcripts as qualitative sources."""

from __future__ import annotations

import typer

from voxpop.cli import app

sources_app = typer.Typer(help="Focus groups and interviews: import transcripts as qualitative sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")

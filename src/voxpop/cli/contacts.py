"""`voxpop contacts`: Contacts: import them, suppress addresses, draw samples."""

from __future__ import annotations

import typer

from voxpop.cli import app

contacts_app = typer.Typer(help="Contacts: import them, suppress addresses, draw samples.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")

"""Settings and CLI verbs that are not in the README are bugs: the docs must not fall behind."""

from pathlib import Path

import typer

from voxpop.cli import app
from voxpop.settings import Settings

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    missing = [f"VOXPOP_{name.upper()}" for name in Settings.model_fields if f"`VOXPOP_{name.upper()}`" not in README]
    assert missing == []


def test_every_cli_verb_is_documented():
    command = typer.main.get_command(app)
    verbs = []
    for name, sub in command.commands.items():
        verbs += [f"voxpop {name} {inner}" for inner in getattr(sub, "commands", {})] or [f"voxpop {name}"]
    assert [verb for verb in verbs if verb not in README] == []


def test_the_two_commands_are_in_the_readme():
    assert "make run" in README and "make test" in README

"""The CLI tests here use the CLI's own fixture: settings from the environment, pointed at the test's database."""

from tests.cli.conftest import configured  # noqa: F401

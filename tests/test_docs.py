"""The docs travel with the code: links that resolve inside the repository, every setting and verb documented.

A clone of the repository is all a reader has, so a link to anything outside it (another checkout, a web page)
is a dead end somewhere. And a setting or verb missing from the admin guide is a bug: the docs must not fall
behind the code.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from voxpop.cli import app
from voxpop.settings import Settings

REPOSITORY = Path(__file__).resolve().parents[1]
PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").rglob("*.md"))]
ADMIN_GUIDE = REPOSITORY / "docs" / "admin-guide.md"

FENCED = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
# [text](target "title") and ![alt](target); the target may be in <angle brackets>.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)", re.MULTILINE)
AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]*)>")
HTML_ATTRIBUTE = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def prose(text: str) -> str:
    """The page without its code: a URL or bracket in an example is not a link."""
    return INLINE_CODE.sub("", FENCED.sub("", text))


def links(page: Path) -> list[str]:
    text = prose(page.read_text(encoding="utf-8"))
    found = [match.group(1) for pattern in (INLINE_LINK, REFERENCE, AUTOLINK, HTML_ATTRIBUTE)
             for match in pattern.finditer(text)]
    return [target.strip("<>") for target in found]


def broken(page: Path, target: str) -> str | None:
    """Why a link from `page` does not lead to a file in the repository, or None when it does."""
    if SCHEME.match(target):
        return "points outside the repository; link to a file in it, or write the address as code"
    if target.startswith("/"):
        return "is absolute; use a path relative to the page"
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None  # an anchor on the same page
    resolved = (page.parent / path).resolve()
    if not resolved.is_relative_to(REPOSITORY):
        return "leaves the repository, which a clone does not have"
    if not resolved.exists():
        return "names no file in the repository"
    return None


def _written(folder: Path, text: str) -> Path:
    path = folder / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPOSITORY)))
def test_every_link_leads_to_a_file_in_the_repository(page):
    problems = [f"{target!r} {reason}" for target in links(page) if (reason := broken(page, target))]
    assert problems == []


def test_the_link_check_sees_what_it_must(tmp_path):
    # The check above passes vacuously if it finds no links: it must find and judge these.
    page = REPOSITORY / "docs" / "example.md"
    text = ("See [a](architecture.md#layers), ![shot](images/dashboard.png), [b](../../shared/x.md), "
            "[c](https://example.com), <https://example.com>, [d](missing.md), [e](/docs/x.md), [f](#here)\n"
            "```\n[not a link](nowhere.md)\n```\n`[nor](this.md)`\n[ref]: ../README.md\n")
    found = links(_written(tmp_path, text))
    assert found == ["architecture.md#layers", "images/dashboard.png", "../../shared/x.md", "https://example.com",
                     "missing.md", "/docs/x.md", "#here", "../README.md", "https://example.com"]
    assert [target for target in found if broken(page, target)] == [
        "../../shared/x.md", "https://example.com", "missing.md", "/docs/x.md", "https://example.com"]


def test_every_setting_is_in_the_admin_guide():
    guide = ADMIN_GUIDE.read_text(encoding="utf-8")
    prefix = Settings.model_config["env_prefix"]
    missing = [f"{prefix}{name.upper()}" for name in Settings.model_fields if f"`{prefix}{name.upper()}`" not in guide]
    assert missing == []


def _verbs(command, words: tuple[str, ...]) -> list[str]:
    children = getattr(command, "commands", None)
    if not children:
        return [" ".join(words)]
    return [verb for name, child in children.items() for verb in _verbs(child, (*words, name))]


def test_every_command_line_verb_is_in_the_admin_guide():
    guide = ADMIN_GUIDE.read_text(encoding="utf-8")
    verbs = _verbs(typer.main.get_command(app), ("voxpop",))
    assert len(verbs) > 10
    assert [verb for verb in verbs if verb not in guide] == []


def test_the_readme_gives_the_two_commands():
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    assert "make run" in readme and "make test" in readme

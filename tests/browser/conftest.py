"""Real Chromium against the real app: one browser per session, a live server and fresh contexts per test."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn

from tests.conftest import skip_or_fail
from voxpop.demo.workspace import DEMO_PASSWORD, load_demo
from voxpop.settings import Settings
from voxpop.store.database import Database
from voxpop.store.migrate import upgrade
from voxpop.text.flows import catch_up
from voxpop.web.app import create_app

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # Without these Chromium keeps trying to reach Google's services.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "en-US"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "en-US"}


def _chromium_path() -> str | None:
    for candidate in (os.environ.get("VOXPOP_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    """Chromium, launched once: starting it is the slow part."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        skip_or_fail("browser tests need Playwright: pip install -e '.[dev]'")
    executable = _chromium_path()
    if executable is None:
        skip_or_fail("browser tests need Chromium: apt-get install chromium, or set VOXPOP_CHROMIUM to its path")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except Error as error:
            skip_or_fail(f"Chromium at {executable} would not start: {error.message.splitlines()[0]}")
        yield chromium
        chromium.close()


@contextmanager
def serving(app):
    """The app under uvicorn on a free 127.0.0.1 port, in a background thread; yields its address."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the live server stopped while starting; see the log above")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def live_server(settings, db):
    """The real app on the test's backend, served for one test."""
    with serving(create_app(settings, db)) as address:
        yield address


@pytest.fixture
def open_context(browser, live_server):
    """Opens a browser context (PHONE, DESKTOP or your own options) on the live server; closed after the test."""
    contexts = []

    def open_(options: dict, **overrides):
        context = browser.new_context(base_url=live_server, **(options | overrides))
        # 15 s, not 5: under pytest-xdist another process shares the two cores, and a page load can wait its turn
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot(request, database_url):
    """screenshot(page, step) saves a full-page PNG named after the backend, the test and the step."""
    backend = database_url.split(":")[0].split("+")[0]
    test = re.sub(r"\[.*\]$", "", request.node.name).removeprefix("test_")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, step: str) -> Path:
        path = SCREENSHOTS / f"{backend}-{test}-{step}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    """The demo workspace with its comments analysed, served on SQLite once for every browser test that reads it
    (loading it is the slow part; the page checks need one backend). Tests may add surveys and responses, never
    change or remove the demo's own."""
    folder = tmp_path_factory.mktemp("demo")
    url = f"sqlite:///{folder / 'voxpop.db'}"
    db = Database(url)
    upgrade(db.write_engine)
    load_demo(db)
    catch_up(db, keep_original=False)
    settings = Settings(data_dir=folder, database_url=url, secret_key="test-secret-not-for-production-0123456789",
                        rate_limit_per_minute=10_000, text_worker=False, case_worker=False)
    with serving(create_app(settings, db)) as address:
        yield address, db
    db.dispose()


@pytest.fixture(scope="session")
def logins(browser, demo_server):
    """A logged-in browser state (storage_state) per demo role, made once."""
    base, _ = demo_server
    states = {}
    for role in ("admin", "manager", "analyst", "agent", "viewer"):
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/login")
        page.fill("#email", f"{role}@northwind.example")
        page.fill("#password", DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/dashboard")
        states[role] = context.storage_state()
        context.close()
    return states

"""The CLI reads its settings from the environment: point them at the test's database."""

import pytest

from voxpop.settings import get_settings


@pytest.fixture
def configured(monkeypatch, database_url, db, tmp_path):
    monkeypatch.setenv("VOXPOP_DATABASE_URL", database_url)
    monkeypatch.setenv("VOXPOP_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()

"""Migration 0008 on a store with responses: attributes move into shared sets, the view shows them as the table
did, nothing is lost (the answers of every response included), and the way back gives the table again."""

import os

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tests.conftest import skip_or_fail
from voxpop.collection.attributes import attribute_set_ids, fingerprint
from voxpop.store.database import Database
from voxpop.store.migrate import downgrade, upgrade

ATTRIBUTES = [(1, "segment", "smb"), (1, "channel", "web"), (2, "channel", "web"), (2, "segment", "smb"),
              (3, "segment", "enterprise")]  # response 4 has none


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An empty database of its own: migrating down and up must not touch the one the other tests share."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield database
        database.dispose()
        return
    url = os.environ.get("VOXPOP_TEST_POSTGRES_URL", "")
    if not url:
        skip_or_fail("PostgreSQL tests need VOXPOP_TEST_POSTGRES_URL")
    own = make_url(url).set(database=f"{make_url(url).database}_migrations")
    admin = Database(url)
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{own.database}"'))
    database = Database(own.render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)'))
    admin.dispose()


def test_attributes_move_into_shared_sets_and_back(store):
    upgrade(store.write_engine, "0007")
    with store.write_engine.begin() as connection:
        connection.execute(text("INSERT INTO surveys (id, key, title, status, default_language, languages, created_at, "
                                "updated_at) VALUES (1, 's', 'S', 'closed', 'en', '[]', '2025-01-01', '2025-01-01')"))
        connection.execute(text("INSERT INTO survey_versions (id, survey_id, number, definition, fingerprint, created_at) "
                                "VALUES (1, 1, 1, '{}', 'f', '2025-01-01')"))
        connection.execute(text("INSERT INTO questions (id, version_id, key, position, kind, required, spec) "
                                "VALUES (1, 1, 'q', 0, 'text', false, '{}')"))
        for number in range(1, 5):
            connection.execute(text("INSERT INTO responses (id, public_id, survey_id, version_id, language, channel, "
                                    "submitted_at) VALUES (:id, :p, 1, 1, 'en', 'web', '2025-01-01')"),
                               {"id": number, "p": f"r{number}"})
            connection.execute(text("INSERT INTO answers (response_id, question_id, text) VALUES (:r, 1, 'kept')"),
                               {"r": number})
        connection.execute(text("INSERT INTO response_attributes (response_id, name, value) VALUES (:r, :n, :v)"),
                           [{"r": r, "n": n, "v": v} for r, n, v in ATTRIBUTES])

    upgrade(store.write_engine)
    with store.write_engine.begin() as connection:
        assert sorted(connection.execute(text("SELECT response_id, name, value FROM response_attributes")).all()) == \
            sorted(ATTRIBUTES)
        sets = dict(connection.execute(text("SELECT id, attribute_set_id FROM responses")).all())
        assert sets[1] == sets[2] != sets[3] and sets[4] is None
        assert connection.execute(text("SELECT count(*) FROM attribute_sets")).scalar() == 2
        assert connection.execute(text("SELECT count(*) FROM answers")).scalar() == 4
        # The migration's fingerprints are the ones new responses look their sets up by.
        combination = (("channel", "web"), ("segment", "smb"))
        assert connection.execute(text("SELECT fingerprint FROM attribute_sets WHERE id = :i"),
                                  {"i": sets[1]}).scalar() == fingerprint(combination)
        assert attribute_set_ids(connection, [combination])[combination] == sets[1]

    downgrade(store.write_engine, "0007")
    with store.write_engine.connect() as connection:
        assert sorted(connection.execute(text("SELECT response_id, name, value FROM response_attributes")).all()) == \
            sorted(ATTRIBUTES)
        assert connection.execute(text("SELECT count(*) FROM answers")).scalar() == 4
    upgrade(store.write_engine)


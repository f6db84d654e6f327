"""Attribute sets: one per distinct combination, found again in any order, and created on PostgreSQL without
holding up other writers."""

import pytest
from sqlalchemy import func, select, text

from voxpop.collection.attributes import attribute_set_ids
from voxpop.collection.models import AttributeSet, AttributeSetValue


def test_one_set_per_combination_whatever_the_order_of_its_values(db):
    smb_web, web_smb = (("segment", "smb"), ("channel", "web")), (("channel", "web"), ("segment", "smb"))
    with db.write() as db_session:
        ids = attribute_set_ids(db_session, [smb_web, (("segment", "enterprise"),), ()])
        assert ids[()] is None and ids[smb_web] != ids[(("segment", "enterprise"),)]
    with db.write() as db_session:
        assert attribute_set_ids(db_session, [web_smb])[web_smb] == ids[smb_web]
    with db.read() as db_session:
        assert db_session.scalar(select(func.count()).select_from(AttributeSet)) == 2
        assert sorted(db_session.execute(select(AttributeSetValue.name, AttributeSetValue.value)
                                         .where(AttributeSetValue.set_id == ids[smb_web])).all()) == sorted(smb_web)


def test_on_postgresql_a_long_transaction_does_not_hold_up_others_wanting_the_same_new_set(db):
    if db.is_sqlite:
        pytest.skip("SQLite has a single writer: others wait for the import's transaction in any case")
    new = (("store", "Leeds"),)
    with db.write_engine.connect() as long, db.write_engine.connect() as other:
        with long.begin():
            mine = attribute_set_ids(long, [new])[new]
            with other.begin():
                other.execute(text("SET LOCAL lock_timeout = '2s'"))  # a wait would fail here, not hang
                assert attribute_set_ids(other, [new])[new] == mine

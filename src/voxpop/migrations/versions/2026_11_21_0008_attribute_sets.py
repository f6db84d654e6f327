"""attribute sets: a response's attributes stored once per distinct combination, shown by a view as before

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21 21:30:00

The table response_attributes (one indexed row per response and attribute) becomes attribute_sets and
attribute_set_values, which responses point to by responses.attribute_set_id; a view of the old name and
columns keeps every reader working. The column is added with a plain ALTER TABLE, not a batch rebuild:
rebuilding responses on SQLite would drop the table, and with foreign keys on, that deletes its answers.
A later migration that rebuilds responses or changes a column the view reads must drop the view first and
create it again afterwards (SQLite refuses to rename a table a view reads; PostgreSQL to retype its columns).
"""

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

VIEW = ("CREATE VIEW response_attributes AS SELECT r.id AS response_id, v.name AS name, v.value AS value "
        "FROM responses r JOIN attribute_set_values v ON v.set_id = r.attribute_set_id")
CHUNK = 10_000


def upgrade() -> None:
    op.create_table('attribute_sets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribute_sets')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_attribute_sets_fingerprint'))
    )
    op.create_table('attribute_set_values',
    sa.Column('set_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['set_id'], ['attribute_sets.id'], name=op.f('fk_attribute_set_values_set_id_attribute_sets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('set_id', 'name', name=op.f('pk_attribute_set_values'))
    )
    op.create_index('ix_attribute_set_values_name_value', 'attribute_set_values', ['name', 'value'], unique=False)
    op.execute("ALTER TABLE responses ADD COLUMN attribute_set_id INTEGER "
               "CONSTRAINT fk_responses_attribute_set_id_attribute_sets REFERENCES attribute_sets (id)")
    _move_attributes()
    op.drop_index('ix_response_attributes_name_value', table_name='response_attributes')
    op.drop_table('response_attributes')
    op.execute(VIEW)


def _move_attributes() -> None:
    """Each response's stored attributes become its set (the fingerprint as collection.attributes computes it)."""
    connection = op.get_bind()
    sets: dict[str, int] = {}
    last = 0
    while True:
        rows = connection.execute(sa.text(
            "SELECT response_id, name, value FROM response_attributes WHERE response_id IN (SELECT DISTINCT "
            "response_id FROM response_attributes WHERE response_id > :last ORDER BY response_id LIMIT :n) "
            "ORDER BY response_id"), {"last": last, "n": CHUNK}).all()
        if not rows:
            return
        grouped: dict[int, list[tuple[str, str]]] = {}
        for response_id, name, value in rows:
            grouped.setdefault(response_id, []).append((name, value))
        updates = []
        for response_id, pairs in grouped.items():
            text = json.dumps(sorted(pairs), ensure_ascii=False, separators=(",", ":"))
            each = hashlib.sha256(text.encode()).hexdigest()
            if each not in sets:
                sets[each] = connection.execute(sa.text(
                    "INSERT INTO attribute_sets (fingerprint) VALUES (:f) RETURNING id"), {"f": each}).scalar_one()
                connection.execute(sa.text("INSERT INTO attribute_set_values (set_id, name, value) VALUES (:s, :n, :v)"),
                                   [{"s": sets[each], "n": name, "v": value} for name, value in pairs])
            updates.append({"s": sets[each], "r": response_id})
        connection.execute(sa.text("UPDATE responses SET attribute_set_id = :s WHERE id = :r"), updates)
        last = max(grouped)


def downgrade() -> None:
    op.execute("DROP VIEW response_attributes")
    op.create_table('response_attributes',
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_response_attributes_response_id_responses'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'name', name=op.f('pk_response_attributes'))
    )
    op.create_index('ix_response_attributes_name_value', 'response_attributes', ['name', 'value'], unique=False)
    op.execute("INSERT INTO response_attributes (response_id, name, value) SELECT r.id, v.name, v.value "
               "FROM responses r JOIN attribute_set_values v ON v.set_id = r.attribute_set_id")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('fk_responses_attribute_set_id_attribute_sets', 'responses', type_='foreignkey')
    op.execute("ALTER TABLE responses DROP COLUMN attribute_set_id")
    op.drop_index('ix_attribute_set_values_name_value', table_name='attribute_set_values')
    op.drop_table('attribute_set_values')
    op.drop_table('attribute_sets')

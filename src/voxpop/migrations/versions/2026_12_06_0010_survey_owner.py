"""survey owner: the staff user who answers for a survey

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 17:45:00

surveys.owner_id is added with a plain ALTER TABLE, not a batch rebuild: rebuilding surveys on SQLite drops the
table, and with foreign keys on, that deletes every survey's versions (ON DELETE CASCADE). No view reads surveys.
The key has no ON DELETE action: SQLite does not report one on a column added this way, so the migrations would
no longer match the models there; users are deactivated, never deleted, and one who owns a survey cannot be.
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE surveys ADD COLUMN owner_id INTEGER "
               "CONSTRAINT fk_surveys_owner_id_users REFERENCES users (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('fk_surveys_owner_id_users', 'surveys', type_='foreignkey')
    op.execute("ALTER TABLE surveys DROP COLUMN owner_id")

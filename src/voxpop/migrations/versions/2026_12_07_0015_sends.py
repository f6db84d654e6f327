"""sends: e-mail invitation runs, contact-frequency rules, triggers and their events, the send log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

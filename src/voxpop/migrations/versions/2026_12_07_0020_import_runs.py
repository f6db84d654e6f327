"""imports in short transactions: import runs and the responses each added

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import voxpop.store.base  # noqa: F401

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

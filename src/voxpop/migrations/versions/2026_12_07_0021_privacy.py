"""a customer's data on request and retention: when a customer's personal data was erased

The erased customer's row stays, emptied of everything personal, so the invitations, sends and cases that point to
it keep counting; erased_at says it was erased. What each erasure removed is in the audit log (counts only).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('erased_at')

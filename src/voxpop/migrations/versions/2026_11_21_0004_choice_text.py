"""answers.choice holds any length: imported "Other" answers of check-all questions are free text

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 15:25:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.alter_column('choice', existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('answers', schema=None) as batch_op:
        batch_op.alter_column('choice', existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=True)

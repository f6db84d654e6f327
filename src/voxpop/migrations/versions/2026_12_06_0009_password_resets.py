"""password resets: single-use links with which a user sets a new password

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 17:40:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_password_resets_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_password_resets_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_password_resets_token_hash'))
    )
    with op.batch_alter_table('password_resets') as batch:
        batch.create_index(batch.f('ix_password_resets_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('password_resets') as batch:
        batch.drop_index(batch.f('ix_password_resets_user_id'))
    op.drop_table('password_resets')

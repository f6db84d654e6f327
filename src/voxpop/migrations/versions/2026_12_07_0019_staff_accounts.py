"""staff accounts: server-side sessions, login throttling, two-factor sign-in

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=36), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sessions')),
    sa.UniqueConstraint('key', name=op.f('uq_staff_sessions_key'))
    )
    with op.batch_alter_table('staff_sessions') as batch:
        batch.create_index(batch.f('ix_staff_sessions_user_id'), ['user_id'], unique=False)
    op.create_table('login_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=254), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_throttles')),
    sa.UniqueConstraint('kind', 'subject', name=op.f('uq_login_throttles_kind_subject'))
    )
    with op.batch_alter_table('login_throttles') as batch:
        batch.create_index(batch.f('ix_login_throttles_last_failure_at'), ['last_failure_at'], unique=False)
    op.create_table('two_factor',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('enabled_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_two_factor_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_two_factor'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('used_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_recovery_codes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes'))
    )
    with op.batch_alter_table('recovery_codes') as batch:
        batch.create_index(batch.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)
    op.create_table('two_factor_roles',
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('role', name=op.f('pk_two_factor_roles'))
    )


def downgrade() -> None:
    op.drop_table('two_factor_roles')
    with op.batch_alter_table('recovery_codes') as batch:
        batch.drop_index(batch.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    op.drop_table('two_factor')
    with op.batch_alter_table('login_throttles') as batch:
        batch.drop_index(batch.f('ix_login_throttles_last_failure_at'))
    op.drop_table('login_throttles')
    with op.batch_alter_table('staff_sessions') as batch:
        batch.drop_index(batch.f('ix_staff_sessions_user_id'))
    op.drop_table('staff_sessions')

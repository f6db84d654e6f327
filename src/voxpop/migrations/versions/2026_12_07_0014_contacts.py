"""contacts: language and consent on customers, the suppression list, samples

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
        # Customers already stored have given no answer either way.
        batch_op.add_column(sa.Column('consent', sa.String(length=8), server_default='unknown', nullable=False))
        batch_op.add_column(sa.Column('consent_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_source', sa.String(length=200), nullable=True))

    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
    sa.UniqueConstraint('email', name=op.f('uq_suppressions_email'))
    )
    op.create_table('samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('stratify_by', sa.String(length=100), nullable=True),
    sa.Column('size_asked', sa.Integer(), nullable=False),
    sa.Column('size_drawn', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('audience_size', sa.Integer(), nullable=False),
    sa.Column('strata', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_samples_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_samples')),
    sa.UniqueConstraint('name', name=op.f('uq_samples_name'))
    )
    op.create_table('sample_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('stratum', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_sample_members_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_sample_members_sample_id_samples'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_members')),
    sa.UniqueConstraint('sample_id', 'customer_id', name=op.f('uq_sample_members_sample_id_customer_id'))
    )
    with op.batch_alter_table('sample_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sample_members_customer_id'), ['customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sample_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sample_members_customer_id'))
    op.drop_table('sample_members')
    op.drop_table('samples')
    op.drop_table('suppressions')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_column('consent_source')
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent')
        batch_op.drop_column('language')

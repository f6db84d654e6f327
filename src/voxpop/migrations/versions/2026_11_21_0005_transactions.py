"""transactions: purchase lines per customer, for retention, profitability and lifetime value

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 15:56:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('amount', sa.Float(), nullable=False),
    sa.Column('quantity', sa.Float(), nullable=True),
    sa.Column('cost', sa.Float(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('invoice', sa.String(length=64), nullable=True),
    sa.Column('product', sa.String(length=64), nullable=True),
    sa.Column('imported_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_transactions_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transactions')),
    sa.UniqueConstraint('source_key', name=op.f('uq_transactions_source_key'))
    )
    op.create_index('ix_transactions_customer_day', 'transactions', ['customer_id', 'day'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_transactions_customer_day', table_name='transactions')
    op.drop_table('transactions')

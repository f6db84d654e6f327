"""public links: responses whose link gave an attribute a value outside the survey's list, counted per attribute

The allowed values themselves live in the survey definition (stored with each version), so only the count is new.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('unlisted_link_values',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.String(length=200), nullable=False),
    sa.Column('last_seen_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_unlisted_link_values_survey_id_surveys'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_id', 'name', name=op.f('pk_unlisted_link_values'))
    )


def downgrade() -> None:
    op.drop_table('unlisted_link_values')

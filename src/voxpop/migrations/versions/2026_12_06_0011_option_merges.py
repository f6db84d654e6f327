"""option merges: a misspelt option of an imported choice question counted as the option it means

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('option_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.String(length=64), nullable=False),
    sa.Column('from_option', sa.String(length=200), nullable=False),
    sa.Column('to_option', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_option_merges_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_option_merges_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_option_merges')),
    sa.UniqueConstraint('survey_id', 'question', 'from_option', name=op.f('uq_option_merges_survey_id_question_from_option'))
    )
    with op.batch_alter_table('option_merges') as batch:
        batch.create_index(batch.f('ix_option_merges_survey_id'), ['survey_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('option_merges') as batch:
        batch.drop_index(batch.f('ix_option_merges_survey_id'))
    op.drop_table('option_merges')

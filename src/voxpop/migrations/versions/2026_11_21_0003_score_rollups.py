"""score rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 14:14:41.481522
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('score_rollups',
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('attribute', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('total', sa.Float(), nullable=False),
    sa.Column('total_squares', sa.Float(), nullable=False),
    sa.Column('promoters', sa.Integer(), nullable=False),
    sa.Column('detractors', sa.Integer(), nullable=False),
    sa.Column('top_two', sa.Integer(), nullable=False),
    sa.Column('agree', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_score_rollups_question_id_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('question_id', 'day', 'attribute', 'value', name=op.f('pk_score_rollups'))
    )


def downgrade() -> None:
    op.drop_table('score_rollups')

"""comment analysis: redacted text, language and sentiment per free-text answer, and its themes with corrections

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 18:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('comment_analyses',
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('original', sa.Text(), nullable=True),
    sa.Column('personal_data', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('language_reason', sa.String(length=200), nullable=True),
    sa.Column('sentiment_score', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=True),
    sa.Column('no_sentiment_reason', sa.String(length=200), nullable=True),
    sa.Column('sentences', sa.JSON(), nullable=False),
    sa.Column('analysed_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pipeline_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_comment_analyses_answer_id_answers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('answer_id', name=op.f('pk_comment_analyses'))
    )
    op.create_index(op.f('ix_comment_analyses_pipeline_version'), 'comment_analyses', ['pipeline_version'], unique=False)
    op.create_table('comment_themes',
    sa.Column('answer_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('matches', sa.JSON(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('corrected_by', sa.Integer(), nullable=True),
    sa.Column('corrected_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('codebook', 'correction')", name=op.f('ck_comment_themes_source')),
    sa.ForeignKeyConstraint(['answer_id'], ['answers.id'], name=op.f('fk_comment_themes_answer_id_answers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['corrected_by'], ['users.id'], name=op.f('fk_comment_themes_corrected_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('answer_id', 'theme', 'source', name=op.f('pk_comment_themes'))
    )
    op.create_index('ix_comment_themes_theme_answer', 'comment_themes', ['theme', 'answer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_comment_themes_theme_answer', table_name='comment_themes')
    op.drop_table('comment_themes')
    op.drop_index(op.f('ix_comment_analyses_pipeline_version'), table_name='comment_analyses')
    op.drop_table('comment_analyses')

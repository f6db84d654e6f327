"""qualitative sources: focus groups and interviews, their participants and speaker turns

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('qualitative_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('moderator', sa.String(length=200), nullable=True),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('imported_by', sa.Integer(), nullable=True),
    sa.Column('imported_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('focus_group', 'interview')", name=op.f('ck_qualitative_sources_kind')),
    sa.ForeignKeyConstraint(['imported_by'], ['users.id'], name=op.f('fk_qualitative_sources_imported_by_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualitative_sources')),
    sa.UniqueConstraint('key', name=op.f('uq_qualitative_sources_key'))
    )
    with op.batch_alter_table('qualitative_sources', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualitative_sources_held_on'), ['held_on'], unique=False)

    op.create_table('qualitative_participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('segment', sa.String(length=200), nullable=True),
    sa.CheckConstraint("role IN ('moderator', 'participant')", name=op.f('ck_qualitative_participants_role')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'],
                            name=op.f('fk_qualitative_participants_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['source_id'], ['qualitative_sources.id'],
                            name=op.f('fk_qualitative_participants_source_id_qualitative_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualitative_participants')),
    sa.UniqueConstraint('source_id', 'label', name=op.f('uq_qualitative_participants_source_id_label'))
    )
    with op.batch_alter_table('qualitative_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualitative_participants_customer_id'), ['customer_id'], unique=False)

    op.create_table('qualitative_turns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('start_seconds', sa.Float(), nullable=True),
    sa.Column('end_seconds', sa.Float(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('personal_data', sa.JSON(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('language_reason', sa.String(length=200), nullable=True),
    sa.Column('sentiment_score', sa.Float(), nullable=True),
    sa.Column('sentiment_label', sa.String(length=10), nullable=True),
    sa.Column('no_sentiment_reason', sa.String(length=200), nullable=True),
    sa.Column('sentences', sa.JSON(), nullable=False),
    sa.Column('analysed_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('pipeline_version', sa.Integer(), nullable=False),
    sa.Column('codebook_version', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['qualitative_participants.id'],
                            name=op.f('fk_qualitative_turns_participant_id_qualitative_participants'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['qualitative_sources.id'],
                            name=op.f('fk_qualitative_turns_source_id_qualitative_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualitative_turns')),
    sa.UniqueConstraint('source_id', 'position', name=op.f('uq_qualitative_turns_source_id_position'))
    )
    with op.batch_alter_table('qualitative_turns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualitative_turns_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_qualitative_turns_codebook_version'), ['codebook_version'], unique=False)

    op.create_table('qualitative_turn_themes',
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('matches', sa.JSON(), nullable=False),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.Column('corrected_by', sa.Integer(), nullable=True),
    sa.Column('corrected_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("source IN ('codebook', 'correction')", name=op.f('ck_qualitative_turn_themes_source')),
    sa.ForeignKeyConstraint(['corrected_by'], ['users.id'],
                            name=op.f('fk_qualitative_turn_themes_corrected_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['turn_id'], ['qualitative_turns.id'],
                            name=op.f('fk_qualitative_turn_themes_turn_id_qualitative_turns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('turn_id', 'theme', 'source', name=op.f('pk_qualitative_turn_themes'))
    )
    with op.batch_alter_table('qualitative_turn_themes', schema=None) as batch_op:
        batch_op.create_index('ix_qualitative_turn_themes_theme_turn', ['theme', 'turn_id'], unique=False)


def downgrade() -> None:
    op.drop_table('qualitative_turn_themes')
    op.drop_table('qualitative_turns')
    op.drop_table('qualitative_participants')
    op.drop_table('qualitative_sources')

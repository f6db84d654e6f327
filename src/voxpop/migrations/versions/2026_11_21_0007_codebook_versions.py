"""codebook versions: the workspace's own codebook, and which version tagged each comment

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21 20:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('codebook_versions',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('saved_by', sa.Integer(), nullable=True),
    sa.Column('saved_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['saved_by'], ['users.id'], name=op.f('fk_codebook_versions_saved_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_codebook_versions'))
    )
    with op.batch_alter_table('comment_analyses') as batch:
        batch.add_column(sa.Column('codebook_version', sa.Integer(), server_default='0', nullable=False))
        batch.create_index(batch.f('ix_comment_analyses_codebook_version'), ['codebook_version'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('comment_analyses') as batch:
        batch.drop_index(batch.f('ix_comment_analyses_codebook_version'))
        batch.drop_column('codebook_version')
    op.drop_table('codebook_versions')

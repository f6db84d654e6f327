"""imports in short transactions: import runs and the responses each added

An import writes in short transactions under a run; its responses carry the run's id, so a run that failed or
whose process was killed is taken back whole (voxpop.imports.runs).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('survey_created', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file', sa.String(length=300), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('started_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('heartbeat_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('new', sa.Integer(), nullable=False),
    sa.Column('present', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_import_runs_survey_id_surveys'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_runs_survey_id'), ['survey_id'], unique=False)
    # A nullable column is added in place (ALTER TABLE ADD COLUMN), not by copying the table: stores hold millions.
    op.add_column('responses', sa.Column('import_run_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_responses_import_run_id'), 'responses', ['import_run_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_responses_import_run_id'), table_name='responses')
    # A plain DROP COLUMN (SQLite 3.35+), not a batch copy of the table: the response_attributes view depends on
    # responses, and SQLite refuses to rename the batch's copy into place under it.
    op.drop_column('responses', 'import_run_id')
    op.drop_table('import_runs')

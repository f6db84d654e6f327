"""sends: e-mail invitation runs, contact-frequency rules, triggers and their events, the send log

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, voxpop.store.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('sends',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('templates', sa.JSON(), nullable=False),
    sa.Column('default_language', sa.String(length=16), nullable=False),
    sa.Column('embed_question', sa.String(length=64), nullable=True),
    sa.Column('max_reminders', sa.Integer(), nullable=False),
    sa.Column('reminder_gap_days', sa.Integer(), nullable=False),
    sa.Column('expires_after_days', sa.Integer(), nullable=False),
    _when('scheduled_for'),
    sa.Column('created_by', sa.Integer(), nullable=True),
    _when('created_at', nullable=False),
    _when('started_at'),
    _when('finished_at'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_sends_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_sends_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sends')),
    sa.UniqueConstraint('key', name=op.f('uq_sends_key'))
    )
    with op.batch_alter_table('sends', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sends_survey_id'), ['survey_id'], unique=False)

    op.create_table('send_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('occasion', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reminders_sent', sa.Integer(), nullable=False),
    _when('next_reminder_at'),
    sa.Column('last_mail_id', sa.Integer(), nullable=True),
    _when('created_at', nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_send_invitations_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_send_invitations_invitation_id_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['last_mail_id'], ['outgoing_mail.id'], name=op.f('fk_send_invitations_last_mail_id_outgoing_mail'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], name=op.f('fk_send_invitations_send_id_sends'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_send_invitations')),
    sa.UniqueConstraint('invitation_id', name=op.f('uq_send_invitations_invitation_id')),
    sa.UniqueConstraint('send_id', 'customer_id', 'occasion', name=op.f('uq_send_invitations_send_id_customer_id_occasion'))
    )
    with op.batch_alter_table('send_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_send_invitations_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_send_invitations_reminder', ['status', 'next_reminder_at'], unique=False)

    op.create_table('invitation_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=False),
    sa.Column('invitation_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    _when('at', nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('mail_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_invitation_events_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_invitation_events_invitation_id_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['mail_id'], ['outgoing_mail.id'], name=op.f('fk_invitation_events_mail_id_outgoing_mail'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], name=op.f('fk_invitation_events_send_id_sends'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation_events'))
    )
    with op.batch_alter_table('invitation_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_events_invitation_id'), ['invitation_id'], unique=False)
        batch_op.create_index('ix_invitation_events_send_kind', ['send_id', 'kind'], unique=False)

    op.create_table('contact_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('max_invitations', sa.Integer(), nullable=True),
    sa.Column('per_days', sa.Integer(), nullable=True),
    sa.Column('min_gap_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    _when('created_at', nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_contact_rules_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_rules'))
    )
    with op.batch_alter_table('contact_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_rules_survey_id'), ['survey_id'], unique=False)

    op.create_table('triggers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('event_name', sa.String(length=100), nullable=False),
    sa.Column('delay_days', sa.Integer(), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    _when('created_at', nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], name=op.f('fk_triggers_send_id_sends'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_triggers_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_triggers')),
    sa.UniqueConstraint('key', name=op.f('uq_triggers_key'))
    )
    with op.batch_alter_table('triggers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_triggers_survey_id'), ['survey_id'], unique=False)

    op.create_table('trigger_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    _when('occurred_at', nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    _when('received_at', nullable=False),
    _when('processed_at'),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_trigger_events_customer_id_customers'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trigger_events')),
    sa.UniqueConstraint('name', 'dedupe_key', name=op.f('uq_trigger_events_name_dedupe_key'))
    )
    with op.batch_alter_table('trigger_events', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_events_pending', ['processed_at', 'occurred_at'], unique=False)


def downgrade() -> None:
    op.drop_table('trigger_events')
    op.drop_table('triggers')
    op.drop_table('contact_rules')
    op.drop_table('invitation_events')
    op.drop_table('send_invitations')
    op.drop_table('sends')

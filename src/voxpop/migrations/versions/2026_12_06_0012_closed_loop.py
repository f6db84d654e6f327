"""the closed loop: cases, rules, root causes, initiatives, alerts, outgoing mail and webhooks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:23:34.808371
"""

import sqlalchemy as sa
from alembic import op

import voxpop.store.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outgoing_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('smtp_reply', sa.String(length=500), nullable=True),
    sa.Column('related', sa.String(length=64), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outgoing_mail')),
    sa.UniqueConstraint('message_id', name=op.f('uq_outgoing_mail_message_id'))
    )
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outgoing_mail_related'), ['related'], unique=False)
        batch_op.create_index('ix_outgoing_mail_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('root_causes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('theme', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_root_causes')),
    sa.UniqueConstraint('key', name=op.f('uq_root_causes_key'))
    )
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    op.create_table('case_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('attribute', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_routes_department_id_departments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_routes'))
    )
    op.create_table('webhook_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('endpoint_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('replay_of', sa.Integer(), nullable=True),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replay_of'], ['webhook_deliveries.id'], name=op.f('fk_webhook_deliveries_replay_of_webhook_deliveries'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('target', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_alert_rules_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules'))
    )
    op.create_table('initiatives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('root_causes', sa.JSON(), nullable=False),
    sa.Column('themes', sa.JSON(), nullable=False),
    sa.Column('target', sa.JSON(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('change_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('budget', sa.Float(), nullable=True),
    sa.Column('draft', sa.Boolean(), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_initiatives_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_initiatives_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_initiatives'))
    )
    op.create_table('alert_signals',
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('found_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('initiative_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alert_rules.id'], name=op.f('fk_alert_signals_alert_id_alert_rules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['initiative_id'], ['initiatives.id'], name=op.f('fk_alert_signals_initiative_id_initiatives'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('alert_id', 'period', 'rule', name=op.f('pk_alert_signals'))
    )
    op.create_table('case_policy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_contact_hours', sa.JSON(), nullable=False),
    sa.Column('resolve_hours', sa.JSON(), nullable=False),
    sa.Column('workday_start', sa.String(length=5), nullable=False),
    sa.Column('workday_end', sa.String(length=5), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('warn_before_hours', sa.Float(), nullable=False),
    sa.Column('assignment', sa.String(length=20), nullable=False),
    sa.Column('default_department_id', sa.Integer(), nullable=True),
    sa.Column('followup_survey_id', sa.Integer(), nullable=True),
    sa.Column('followup_days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['default_department_id'], ['departments.id'], name=op.f('fk_case_policy_default_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['followup_survey_id'], ['surveys.id'], name=op.f('fk_case_policy_followup_survey_id_surveys'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_policy'))
    )
    op.create_table('case_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=True),
    sa.Column('conditions', sa.JSON(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('holdout_share', sa.Float(), nullable=False),
    sa.Column('consent_question', sa.String(length=64), nullable=True),
    sa.Column('active_from', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_case_rules_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['survey_id'], ['surveys.id'], name=op.f('fk_case_rules_survey_id_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_rules')),
    sa.UniqueConstraint('key', name=op.f('uq_case_rules_key'))
    )
    with op.batch_alter_table('case_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_rules_survey_id'), ['survey_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('first_contact_due', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_due', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_contact_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_contact_warned_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_contact_escalated_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_warned_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolve_escalated_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('root_cause_id', sa.Integer(), nullable=True),
    sa.Column('action_taken', sa.Text(), nullable=True),
    sa.Column('issue_resolved', sa.Boolean(), nullable=True),
    sa.Column('resolved_at_first_contact', sa.Boolean(), nullable=True),
    sa.Column('contact_consent', sa.Boolean(), nullable=True),
    sa.Column('followup_due_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('followup_sent_at', voxpop.store.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('followup_invitation_id', sa.Integer(), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_cases_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_cases_department_id_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['followup_invitation_id'], ['invitations.id'], name=op.f('fk_cases_followup_invitation_id_invitations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_cases_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_cases_response_id_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['root_cause_id'], ['root_causes.id'], name=op.f('fk_cases_root_cause_id_root_causes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['case_rules.id'], name=op.f('fk_cases_rule_id_case_rules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_cases_department_status', ['department_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_opened_at'), ['opened_at'], unique=False)
        batch_op.create_index('ix_cases_owner_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_response_id'), ['response_id'], unique=False)
        batch_op.create_index('uq_cases_open_per_customer_rule', ['customer_id', 'rule_id'], unique=True, sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_case_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('case_triggers',
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('at', voxpop.store.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('backfill', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_triggers_case_id_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_case_triggers_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_case_triggers_response_id_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rule_id'], ['case_rules.id'], name=op.f('fk_case_triggers_rule_id_case_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rule_id', 'response_id', name=op.f('pk_case_triggers'))
    )
    with op.batch_alter_table('case_triggers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_triggers_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_triggers_customer_id'), ['customer_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('case_triggers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_triggers_customer_id'))
        batch_op.drop_index(batch_op.f('ix_case_triggers_case_id'))

    op.drop_table('case_triggers')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('uq_cases_open_per_customer_rule', sqlite_where=sa.text("status <> 'closed'"), postgresql_where=sa.text("status <> 'closed'"))
        batch_op.drop_index(batch_op.f('ix_cases_response_id'))
        batch_op.drop_index('ix_cases_owner_status')
        batch_op.drop_index(batch_op.f('ix_cases_opened_at'))
        batch_op.drop_index('ix_cases_department_status')
        batch_op.drop_index(batch_op.f('ix_cases_customer_id'))

    op.drop_table('cases')
    with op.batch_alter_table('case_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_rules_survey_id'))

    op.drop_table('case_rules')
    op.drop_table('case_policy')
    op.drop_table('alert_signals')
    op.drop_table('initiatives')
    op.drop_table('alert_rules')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_status_next')
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_endpoint_id'))

    op.drop_table('webhook_deliveries')
    op.drop_table('case_routes')
    op.drop_table('webhook_endpoints')
    op.drop_table('root_causes')
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_outgoing_mail_status_next')
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_related'))

    op.drop_table('outgoing_mail')

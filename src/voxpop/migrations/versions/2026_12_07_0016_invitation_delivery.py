"""invitation delivery: HTML bodies on outgoing e-mail, when an invitation link was first opened

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

from voxpop.store.base import UTCDateTime

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_mail") as table:
        table.add_column(sa.Column("body_html", sa.Text(), nullable=True))
        table.add_column(sa.Column("data_started_at", UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("invitations") as table:
        table.add_column(sa.Column("opened_at", UTCDateTime(timezone=True), nullable=True))
        table.add_column(sa.Column("clicked_question", sa.String(64), nullable=True))
        table.add_column(sa.Column("clicked_score", sa.Integer(), nullable=True))
        table.add_column(sa.Column("clicked_at", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as table:
        for name in ("clicked_at", "clicked_score", "clicked_question", "opened_at"):
            table.drop_column(name)
    with op.batch_alter_table("outgoing_mail") as table:
        table.drop_column("data_started_at")
        table.drop_column("body_html")

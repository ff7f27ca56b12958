"""recipients: meeting requests from recipient organisations, manual hand-over of minutes

Revision ID: recipients_1
Revises: 0006
Create Date: 2026-11-23 20:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "recipients_1"
down_revision = "trust_hardening_2"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("network_meeting", sa.Column("request_reason", sa.Text(), nullable=True))
    op.add_column(
        "network_meeting", sa.Column("request_urgency", sa.String(length=20), nullable=True)
    )
    op.add_column(
        "distribution", sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "distribution", sa.Column("handed_over_to", sa.String(length=200), nullable=True)
    )
    op.add_column(
        "distribution", sa.Column("handover_method", sa.String(length=20), nullable=True)
    )
    # Batch mode: SQLite (the demo) adds a foreign key only by rebuilding the table.
    with op.batch_alter_table("distribution") as batch:
        batch.add_column(sa.Column("handed_over_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_distribution_handed_over_by_id_staff"), "staff", ["handed_over_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("distribution") as batch:
        batch.drop_constraint(op.f("fk_distribution_handed_over_by_id_staff"), type_="foreignkey")
        for column in ("handed_over_by_id", "handover_method", "handed_over_to", "handed_over_at"):
            batch.drop_column(column)
    op.drop_column("network_meeting", "request_urgency")
    op.drop_column("network_meeting", "request_reason")

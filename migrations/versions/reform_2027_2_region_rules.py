"""region rules: a region's extra closed days and gap-rule thresholds, effective from a date

Revision ID: reform_2027_2
Revises: reform_2027_1
"""

import sqlalchemy as sa
from alembic import op

revision = "reform_2027_2"
down_revision = "reform_2027_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "region_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("closed_days", sa.String(length=200), nullable=False),
        sa.Column("gp_ack_working_days", sa.Integer(), nullable=True),
        sa.Column("meeting_request_working_days", sa.Integer(), nullable=True),
        sa.Column("discharge_follow_up_working_days", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "gp_ack_working_days BETWEEN 1 AND 60", name=op.f("ck_region_rules_gp_ack_range")
        ),
        sa.CheckConstraint(
            "meeting_request_working_days BETWEEN 1 AND 60",
            name=op.f("ck_region_rules_meeting_request_range"),
        ),
        sa.CheckConstraint(
            "discharge_follow_up_working_days BETWEEN 1 AND 60",
            name=op.f("ck_region_rules_discharge_range"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff.id"], name=op.f("fk_region_rules_created_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"], ["organisation.id"], name=op.f("fk_region_rules_region_id_organisation")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_region_rules")),
        sa.UniqueConstraint(
            "region_id", "valid_from", name=op.f("uq_region_rules_region_id_valid_from")
        ),
    )


def downgrade():
    op.drop_table("region_rules")

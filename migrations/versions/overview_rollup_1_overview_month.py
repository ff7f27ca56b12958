"""The overview's figures per group and month, counted by the overview_rollup job

Revision ID: overview_rollup_1
Revises: nurse_calendar_1
"""

import sqlalchemy as sa
from alembic import op

revision = "overview_rollup_1"
down_revision = "nurse_calendar_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "overview_month",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["organisation.id"], name=op.f("fk_overview_month_group_id_organisation")
        ),
        sa.PrimaryKeyConstraint("group_id", "month", name=op.f("pk_overview_month")),
    )
    op.create_table(
        "overview_group",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("open_flags", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["organisation.id"], name=op.f("fk_overview_group_group_id_organisation")
        ),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_overview_group")),
    )


def downgrade():
    op.drop_table("overview_group")
    op.drop_table("overview_month")

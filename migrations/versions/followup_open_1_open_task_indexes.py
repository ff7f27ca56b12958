"""open follow-up tasks indexed for the list's default (issue 19)

Revision ID: followup_open_1
Revises: overview_rollup_1
"""

import sqlalchemy as sa
from alembic import op

revision = "followup_open_1"
down_revision = "overview_rollup_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_follow_up_task_open_due",
        "follow_up_task",
        ["due_at", "id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_index(
        "ix_follow_up_task_open_patient_due",
        "follow_up_task",
        ["patient_id", "due_at", "id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )


def downgrade():
    op.drop_index("ix_follow_up_task_open_patient_due", table_name="follow_up_task")
    op.drop_index("ix_follow_up_task_open_due", table_name="follow_up_task")

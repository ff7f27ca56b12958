"""The nurse's calendar feed secret (hashed)

Revision ID: nurse_calendar_1
Revises: medcom_receive_1
"""

import sqlalchemy as sa
from alembic import op

revision = "nurse_calendar_1"
down_revision = "medcom_receive_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_feed",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_calendar_feed_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("staff_id", name=op.f("pk_calendar_feed")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feed_token_hash")),
    )


def downgrade():
    op.drop_table("calendar_feed")

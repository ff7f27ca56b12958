"""each distribution carries its minutes version's change-feed position, indexed per recipient

Revision ID: feed_position_1
Revises: followup_open_1
"""

import sqlalchemy as sa
from alembic import op

revision = "feed_position_1"
down_revision = "followup_open_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("distribution") as batch_op:
        batch_op.add_column(sa.Column("change_xid", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE distribution SET change_xid = v.change_xid, change_seq = v.change_seq "
            "FROM minutes_version v "
            "WHERE v.id = distribution.minutes_version_id AND v.change_seq IS NOT NULL"
        )
    else:
        op.execute(
            "UPDATE distribution SET "
            "change_xid = (SELECT v.change_xid FROM minutes_version v "
            "WHERE v.id = distribution.minutes_version_id), "
            "change_seq = (SELECT v.change_seq FROM minutes_version v "
            "WHERE v.id = distribution.minutes_version_id)"
        )
    op.create_index(
        "ix_distribution_recipient_change",
        "distribution",
        ["recipient_organisation_id", "change_xid", "change_seq"],
    )


def downgrade():
    op.drop_index("ix_distribution_recipient_change", table_name="distribution")
    with op.batch_alter_table("distribution") as batch_op:
        batch_op.drop_column("change_seq")
        batch_op.drop_column("change_xid")

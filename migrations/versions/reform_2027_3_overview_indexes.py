"""overview indexes: final minutes and flags by the time they happened

Revision ID: reform_2027_3
Revises: reform_2027_2
"""

from alembic import op

revision = "reform_2027_3"
down_revision = "reform_2027_2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_minutes_version_finalised_at", "minutes_version", ["finalised_at"])
    op.create_index("ix_flag_first_detected_at", "flag", ["first_detected_at"])


def downgrade():
    op.drop_index("ix_flag_first_detected_at", table_name="flag")
    op.drop_index("ix_minutes_version_finalised_at", table_name="minutes_version")

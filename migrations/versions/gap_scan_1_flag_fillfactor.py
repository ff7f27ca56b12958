"""flag pages keep room for the scan's updates (fillfactor), so they stay on their page

Revision ID: gap_scan_1
Revises: feed_position_1
"""

from alembic import op

revision = "gap_scan_1"
down_revision = "feed_position_1"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # New pages keep the room at once; pages already full get it as rows move or on the
        # next VACUUM FULL, which an operator may run in a quiet hour.
        op.execute("ALTER TABLE flag SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE flag RESET (fillfactor)")

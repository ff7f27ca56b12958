"""audit_event.shown: what one access of a patient read (a request's reads are one event)

Revision ID: trust_hardening_2
Revises: trust_hardening_1

"""

import sqlalchemy as sa
from alembic import op

revision = "trust_hardening_2"
down_revision = "trust_hardening_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.add_column(sa.Column("shown", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_column("shown")

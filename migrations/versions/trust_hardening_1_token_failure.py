"""token_failure: failed API-token attempts per client address, shared by every web worker

Revision ID: trust_hardening_1
Revises: medcom_send_1

"""

import sqlalchemy as sa
from alembic import op

revision = "trust_hardening_1"
down_revision = "trust_access_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "token_failure",
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("client", name=op.f("pk_token_failure")),
    )


def downgrade():
    op.drop_table("token_failure")

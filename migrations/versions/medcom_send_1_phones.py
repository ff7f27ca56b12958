"""phone numbers on organisations and staff: the authorContact of MedCom messages

Revision ID: medcom_send_1
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "medcom_send_1"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("organisation", sa.Column("phone", sa.String(length=30), nullable=True))
    op.add_column("staff", sa.Column("phone", sa.String(length=30), nullable=True))


def downgrade():
    op.drop_column("staff", "phone")
    op.drop_column("organisation", "phone")

"""care requests (registering a person already in Bridge) and the basis of each audited access

Revision ID: trust_access_1
Revises: 0006
Create Date: 2026-11-23 20:50:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "trust_access_1"
down_revision = "medcom_send_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "care_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "declined",
                name="care_request_status",
                native_enum=False,
                create_constraint=True,
                length=40,
            ),
            nullable=False,
        ),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_care_request_decided_when_not_pending"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patient.id"], name=op.f("fk_care_request_patient_id_patient")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"], ["staff.id"], name=op.f("fk_care_request_requested_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["staff.id"], name=op.f("fk_care_request_decided_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_request")),
    )
    with op.batch_alter_table("care_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_request_requested_by_id_created_at",
            ["requested_by_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_care_request_patient_id_status", ["patient_id", "status"], unique=False
        )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("basis", sa.String(length=60), nullable=True))


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("basis")
    op.drop_table("care_request")

"""effective-dated organisations: successors, memberships over time, health councils, 2027 data

SOR codes and GLNs become unique within overlapping validity periods (an exclusion constraint
on PostgreSQL), organisations get a successor, membership of a region or health council is kept
per period, and an existing database is brought to the 2027 structure (Region Østdanmark,
memberships, health councils) without touching any existing row's history.

Revision ID: reform_2027_1
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "reform_2027_1"
down_revision = "recipients_1"
branch_labels = None
depends_on = None

_OLD_KINDS = (
    "region",
    "municipality",
    "hospital",
    "hospital_department",
    "gp_practice",
    "specialist_practice",
    "social_psychiatry_facility",
)
_NEW_KINDS = (*_OLD_KINDS, "health_council")


def _kind_enum(kinds: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *kinds, name="organisation_kind", native_enum=False, create_constraint=True, length=40
    )


def _kind_check(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint(op.f("uq_organisation_sor_code"), "organisation", type_="unique")
        op.drop_constraint(op.f("uq_organisation_gln"), "organisation", type_="unique")
        op.drop_constraint(op.f("ck_organisation_organisation_kind"), "organisation", type_="check")
        op.create_check_constraint(
            op.f("ck_organisation_organisation_kind"), "organisation", _kind_check(_NEW_KINDS)
        )
        op.add_column("organisation", sa.Column("successor_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_organisation_successor_id_organisation"),
            "organisation",
            "organisation",
            ["successor_id"],
            ["id"],
        )
    else:
        with op.batch_alter_table("organisation", recreate="always") as batch_op:
            batch_op.drop_constraint(op.f("uq_organisation_sor_code"), type_="unique")
            batch_op.drop_constraint(op.f("uq_organisation_gln"), type_="unique")
            batch_op.alter_column(
                "kind", existing_type=_kind_enum(_OLD_KINDS), type_=_kind_enum(_NEW_KINDS)
            )
            batch_op.add_column(sa.Column("successor_id", sa.Integer(), nullable=True))
            batch_op.create_foreign_key(
                op.f("fk_organisation_successor_id_organisation"), "organisation", ["successor_id"], ["id"]
            )
    op.create_index(op.f("ix_organisation_sor_code"), "organisation", ["sor_code"])
    op.create_index(op.f("ix_organisation_gln"), "organisation", ["gln"])
    if postgres:
        # The database refuses an overlap even from a writer that skips the services' check.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        for column in ("sor_code", "gln"):
            op.execute(
                f"ALTER TABLE organisation ADD CONSTRAINT ex_organisation_{column}_period "
                f"EXCLUDE USING gist ({column} WITH =, "
                "daterange(valid_from, valid_to, '[]') WITH &&) "
                f"WHERE ({column} IS NOT NULL)"
            )
    op.create_table(
        "organisation_membership",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_organisation_membership_ends_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_membership_group_id_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_membership_organisation_id_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_membership")),
    )
    op.create_index(
        "ix_organisation_membership_member",
        "organisation_membership",
        ["organisation_id", "valid_from"],
    )
    op.create_index(
        "ix_organisation_membership_group", "organisation_membership", ["group_id", "valid_from"]
    )
    from bridge.domain.registry.reform2027 import apply_2027_structure

    apply_2027_structure(op.get_bind())


def downgrade():
    # Health councils and the 2027 rows go; the 2007 regions and their history stay.
    op.drop_index("ix_organisation_membership_group", table_name="organisation_membership")
    op.drop_index("ix_organisation_membership_member", table_name="organisation_membership")
    op.drop_table("organisation_membership")
    op.execute("UPDATE organisation SET successor_id = NULL")
    op.execute("DELETE FROM organisation WHERE kind = 'health_council'")
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE organisation DROP CONSTRAINT ex_organisation_sor_code_period")
        op.execute("ALTER TABLE organisation DROP CONSTRAINT ex_organisation_gln_period")
    op.drop_index(op.f("ix_organisation_gln"), table_name="organisation")
    op.drop_index(op.f("ix_organisation_sor_code"), table_name="organisation")
    if postgres:
        op.drop_constraint(op.f("fk_organisation_successor_id_organisation"), "organisation")
        op.drop_column("organisation", "successor_id")
        op.drop_constraint(op.f("ck_organisation_organisation_kind"), "organisation", type_="check")
        op.create_check_constraint(
            op.f("ck_organisation_organisation_kind"), "organisation", _kind_check(_OLD_KINDS)
        )
        op.create_unique_constraint(op.f("uq_organisation_gln"), "organisation", ["gln"])
        op.create_unique_constraint(op.f("uq_organisation_sor_code"), "organisation", ["sor_code"])
    else:
        with op.batch_alter_table("organisation", recreate="always") as batch_op:
            batch_op.drop_constraint(op.f("fk_organisation_successor_id_organisation"), type_="foreignkey")
            batch_op.drop_column("successor_id")
            batch_op.alter_column(
                "kind", existing_type=_kind_enum(_NEW_KINDS), type_=_kind_enum(_OLD_KINDS)
            )
            batch_op.create_unique_constraint(op.f("uq_organisation_gln"), ["gln"])
            batch_op.create_unique_constraint(op.f("uq_organisation_sor_code"), ["sor_code"])

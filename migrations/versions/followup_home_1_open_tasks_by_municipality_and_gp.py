"""each follow-up task carries its patient's municipality and GP practice (kept by triggers),
indexed for the municipality's and the GP's worklists of open tasks (issue 19)

Revision ID: followup_home_1
Revises: gap_scan_1
"""

import sqlalchemy as sa
from alembic import op

revision = "followup_home_1"
down_revision = "gap_scan_1"
branch_labels = None
depends_on = None

# The copies follow the patient: set when a task is written, and moved with the patient when
# the patient's municipality or GP changes. Triggers rather than application code, so that no
# way of writing (the API, a MedCom message, a bulk COPY of sample data) leaves a stale copy.
_COPY = {"patient_municipality_id": "municipality_id", "patient_gp_practice_id": "gp_practice_id"}
_FROM_PATIENT = ", ".join(
    f"{copy} = (SELECT {source} FROM patient WHERE patient.id = follow_up_task.patient_id)"
    for copy, source in _COPY.items()
)
# The existing tasks in one join (PostgreSQL, and SQLite from 3.33), not a lookup per task.
_BACKFILL = (
    "UPDATE follow_up_task SET "
    + ", ".join(f"{copy} = patient.{source}" for copy, source in _COPY.items())
    + " FROM patient WHERE patient.id = follow_up_task.patient_id"
)
_POSTGRES = [
    """
    CREATE FUNCTION follow_up_task_patient_home() RETURNS trigger AS $$
    BEGIN
        SELECT municipality_id, gp_practice_id
        INTO NEW.patient_municipality_id, NEW.patient_gp_practice_id
        FROM patient WHERE id = NEW.patient_id;
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER follow_up_task_patient_home
    BEFORE INSERT OR UPDATE OF patient_id, patient_municipality_id, patient_gp_practice_id
    ON follow_up_task
    FOR EACH ROW EXECUTE FUNCTION follow_up_task_patient_home()
    """,
    """
    CREATE FUNCTION patient_home_moves_follow_up_tasks() RETURNS trigger AS $$
    BEGIN
        UPDATE follow_up_task
        SET patient_municipality_id = NEW.municipality_id,
            patient_gp_practice_id = NEW.gp_practice_id
        WHERE patient_id = NEW.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER patient_home_moves_follow_up_tasks
    AFTER UPDATE OF municipality_id, gp_practice_id ON patient
    FOR EACH ROW WHEN (
        OLD.municipality_id IS DISTINCT FROM NEW.municipality_id
        OR OLD.gp_practice_id IS DISTINCT FROM NEW.gp_practice_id
    )
    EXECUTE FUNCTION patient_home_moves_follow_up_tasks()
    """,
]
_SQLITE = [
    f"""
    CREATE TRIGGER follow_up_task_patient_home
    AFTER INSERT ON follow_up_task
    BEGIN
        UPDATE follow_up_task SET {_FROM_PATIENT} WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER follow_up_task_patient_changed
    AFTER UPDATE OF patient_id ON follow_up_task
    BEGIN
        UPDATE follow_up_task SET {_FROM_PATIENT} WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER patient_home_moves_follow_up_tasks
    AFTER UPDATE OF municipality_id, gp_practice_id ON patient
    WHEN OLD.municipality_id IS NOT NEW.municipality_id
        OR OLD.gp_practice_id IS NOT NEW.gp_practice_id
    BEGIN
        UPDATE follow_up_task
        SET patient_municipality_id = NEW.municipality_id,
            patient_gp_practice_id = NEW.gp_practice_id
        WHERE patient_id = NEW.id;
    END
    """,
]
_INDEXES = {
    "ix_follow_up_task_open_municipality_due": "patient_municipality_id",
    "ix_follow_up_task_open_gp_practice_due": "patient_gp_practice_id",
}


def upgrade():
    for copy in _COPY:
        op.add_column("follow_up_task", sa.Column(copy, sa.Integer(), nullable=True))
    op.execute(_BACKFILL)
    for name, column in _INDEXES.items():
        op.create_index(
            name,
            "follow_up_task",
            [column, "due_at", "id"],
            postgresql_where=sa.text("status = 'open'"),
            sqlite_where=sa.text("status = 'open'"),
        )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER patient_home_moves_follow_up_tasks ON patient")
        op.execute("DROP FUNCTION patient_home_moves_follow_up_tasks()")
        op.execute("DROP TRIGGER follow_up_task_patient_home ON follow_up_task")
        op.execute("DROP FUNCTION follow_up_task_patient_home()")
    else:
        op.execute("DROP TRIGGER patient_home_moves_follow_up_tasks")
        op.execute("DROP TRIGGER follow_up_task_patient_changed")
        op.execute("DROP TRIGGER follow_up_task_patient_home")
    for name in _INDEXES:
        op.drop_index(name, table_name="follow_up_task")
    for copy in _COPY:
        op.drop_column("follow_up_task", copy)

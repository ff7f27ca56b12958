"""each follow-up task carries its patient's municipality (kept by triggers), indexed for the
municipality's worklist of open tasks (issue 19)

Revision ID: followup_municipality_1
Revises: gap_scan_1
"""

import sqlalchemy as sa
from alembic import op

revision = "followup_municipality_1"
down_revision = "gap_scan_1"
branch_labels = None
depends_on = None

# The copy follows the patient: set when a task is written, and moved with the patient when the
# patient's municipality changes. Triggers rather than application code, so that no way of
# writing (the API, a MedCom relocation, a bulk COPY of sample data) can leave a stale copy.
_POSTGRES = [
    """
    CREATE FUNCTION follow_up_task_patient_municipality() RETURNS trigger AS $$
    BEGIN
        NEW.patient_municipality_id :=
            (SELECT municipality_id FROM patient WHERE id = NEW.patient_id);
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER follow_up_task_patient_municipality
    BEFORE INSERT OR UPDATE OF patient_id, patient_municipality_id ON follow_up_task
    FOR EACH ROW EXECUTE FUNCTION follow_up_task_patient_municipality()
    """,
    """
    CREATE FUNCTION patient_moves_follow_up_tasks() RETURNS trigger AS $$
    BEGIN
        UPDATE follow_up_task SET patient_municipality_id = NEW.municipality_id
        WHERE patient_id = NEW.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER patient_moves_follow_up_tasks
    AFTER UPDATE OF municipality_id ON patient
    FOR EACH ROW WHEN (OLD.municipality_id IS DISTINCT FROM NEW.municipality_id)
    EXECUTE FUNCTION patient_moves_follow_up_tasks()
    """,
]
_SQLITE = [
    """
    CREATE TRIGGER follow_up_task_patient_municipality
    AFTER INSERT ON follow_up_task
    BEGIN
        UPDATE follow_up_task SET patient_municipality_id =
            (SELECT municipality_id FROM patient WHERE id = NEW.patient_id)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER follow_up_task_patient_moved
    AFTER UPDATE OF patient_id ON follow_up_task
    BEGIN
        UPDATE follow_up_task SET patient_municipality_id =
            (SELECT municipality_id FROM patient WHERE id = NEW.patient_id)
        WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER patient_moves_follow_up_tasks
    AFTER UPDATE OF municipality_id ON patient
    WHEN OLD.municipality_id IS NOT NEW.municipality_id
    BEGIN
        UPDATE follow_up_task SET patient_municipality_id = NEW.municipality_id
        WHERE patient_id = NEW.id;
    END
    """,
]


def upgrade():
    op.add_column(
        "follow_up_task", sa.Column("patient_municipality_id", sa.Integer(), nullable=True)
    )
    op.execute(
        "UPDATE follow_up_task SET patient_municipality_id = "
        "(SELECT municipality_id FROM patient WHERE patient.id = follow_up_task.patient_id)"
    )
    op.create_index(
        "ix_follow_up_task_open_municipality_due",
        "follow_up_task",
        ["patient_municipality_id", "due_at", "id"],
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER patient_moves_follow_up_tasks ON patient")
        op.execute("DROP FUNCTION patient_moves_follow_up_tasks()")
        op.execute("DROP TRIGGER follow_up_task_patient_municipality ON follow_up_task")
        op.execute("DROP FUNCTION follow_up_task_patient_municipality()")
    else:
        op.execute("DROP TRIGGER patient_moves_follow_up_tasks")
        op.execute("DROP TRIGGER follow_up_task_patient_moved")
        op.execute("DROP TRIGGER follow_up_task_patient_municipality")
    op.drop_index("ix_follow_up_task_open_municipality_due", table_name="follow_up_task")
    op.drop_column("follow_up_task", "patient_municipality_id")

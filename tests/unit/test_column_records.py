"""Records of a table's columns (ColumnRecord): a record is built from a row by position, so its
fields must name its table's columns, in the order it selects them."""

from __future__ import annotations

import sys
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest

import bridge.domain.models  # noqa: F401  (every model, so every record, defined)
from bridge.api.http import etag_of
from bridge.domain.base import Base, ColumnRecord
from bridge.domain.care.models import FollowUpRecord, FollowUpStatus, FollowUpTask
from bridge.domain.patients.models import Patient, PatientRecord, PatientStatus, Sex


def _records() -> list[type[ColumnRecord]]:
    # dataclass(slots=True) makes a new class; the one it replaced is a subclass too, until
    # collected: only the class its module names is the record.
    return sorted(
        (
            cls
            for cls in ColumnRecord.__subclasses__()
            if getattr(sys.modules[cls.__module__], cls.__name__, None) is cls
        ),
        key=lambda cls: cls.__name__,
    )


def test_the_frequent_reads_have_records() -> None:
    names = {cls.__name__ for cls in _records()}
    assert {"PatientRecord", "FollowUpRecord", "MeetingRecord", "ParticipantRecord"} <= names


@pytest.mark.parametrize("record", _records(), ids=lambda cls: cls.__name__)
def test_a_record_selects_its_fields_without_default_in_order(record: type[ColumnRecord]) -> None:
    selected = [column.name for column in record.columns()]
    own = [f.name for f in fields(record) if f.default is MISSING]  # type: ignore[arg-type]
    assert selected == own
    assert all(column.table is record.entity.__table__ for column in record.columns())


@pytest.mark.parametrize("record", _records(), ids=lambda cls: cls.__name__)
def test_a_record_is_slotted_and_carries_its_entitys_etag(record: type[ColumnRecord]) -> None:
    assert "__slots__" in vars(record)
    if "version" not in {f.name for f in fields(record)}:  # type: ignore[arg-type]
        return  # read only as part of another record (a meeting's participants): no ETag
    values: dict[str, Any] = {f.name: None for f in fields(record)}  # type: ignore[arg-type]
    values.update(id=7, version=3)
    entity = record.entity(id=7, version=3)
    assert etag_of(record(**values)) == etag_of(entity)
    assert etag_of(entity).startswith(f'"{record.entity.__name__.lower()}-7-')


def test_a_field_that_is_no_column_is_refused() -> None:
    @dataclass(frozen=True, slots=True)
    class Misnamed(ColumnRecord):
        entity: ClassVar[type[Base]] = Patient

        id: int
        full_name: str

    with pytest.raises(KeyError):
        Misnamed.columns()


def test_records_keep_the_entitys_derived_values() -> None:
    created = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    patient = PatientRecord(
        id=1,
        cpr="0101901234",
        name="Ane",
        birth_date=date(1990, 1, 1),
        sex=Sex.FEMALE,
        municipality_id=2,
        gp_practice_id=None,
        status=PatientStatus.ACTIVE,
        created_at=created,
        updated_at=created,
        version=3,
    )
    assert patient.cpr_masked == Patient(cpr="0101901234").cpr_masked == "010190-xxxx"

    due = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)  # midnight in Copenhagen
    values = {f.name: None for f in fields(FollowUpRecord)}
    values.update(id=1, patient_id=1, title="t", due_at=due, status=FollowUpStatus.OPEN)
    record = FollowUpRecord(**values)  # type: ignore[arg-type]
    entity = FollowUpTask(due_at=due, status=FollowUpStatus.OPEN)
    assert record.due_on == entity.due_on
    later = due.replace(day=5)
    assert record.overdue(later) and entity.overdue(later)
    assert not record.overdue(created)

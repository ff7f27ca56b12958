"""The demo's patients are named as the sex their CPR number gives (odd last digit: male)."""

from __future__ import annotations

import random

from sqlalchemy import select

from bridge.domain.patients.models import Patient
from bridge.extensions import db
from bridge.sampledata.people import FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, first_name


def _sex_of(cpr: str) -> str:
    return "male" if int(cpr[-1]) % 2 else "female"


def test_first_name_follows_the_sex():
    rng = random.Random(3)
    assert {first_name(rng, "male") for _ in range(200)} == set(MALE_FIRST_NAMES)
    assert {first_name(rng, "female") for _ in range(200)} == set(FEMALE_FIRST_NAMES)
    assert not set(MALE_FIRST_NAMES) & set(FEMALE_FIRST_NAMES)


def test_every_demo_patients_name_matches_the_sex_of_their_cpr(sqlite_demo):
    app, _runner, _output = sqlite_demo
    with app.app_context():
        rows = db.session.execute(select(Patient.name, Patient.cpr, Patient.sex)).all()
    assert len(rows) == 50
    wrong = []
    for name, cpr, sex in rows:
        names = MALE_FIRST_NAMES if _sex_of(cpr) == "male" else FEMALE_FIRST_NAMES
        if name.split()[0] not in names or sex != _sex_of(cpr):
            wrong.append((name, cpr[-1]))
    assert not wrong, wrong
    # Both sexes are there, so the check above checked something.
    assert {_sex_of(cpr) for _, cpr, _ in rows} == {"male", "female"}

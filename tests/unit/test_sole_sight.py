"""Which callers may have their lists narrowed to their own organisation's index."""

import pytest

from bridge.bootstrap import compose_domain
from bridge.domain.access import Principal, sole_organisation_sight


@pytest.fixture(autouse=True)
def _rules() -> None:
    compose_domain()  # the hospital's sight of its patients is a rule registered by the wiring


def _caller(*roles: str, municipality_id: int | None = None) -> Principal:
    return Principal(
        staff_id=1, organisation_id=40, roles=frozenset(roles), municipality_id=municipality_id
    )


def test_a_municipality_sees_by_residence_and_a_gp_by_listing() -> None:
    assert sole_organisation_sight(_caller("municipality", municipality_id=7)) == ("residence", 7)
    assert sole_organisation_sight(_caller("gp")) == ("listing", 40)


@pytest.mark.parametrize(
    "roles",
    [
        ("municipality", "nurse"),  # her caseload too
        ("gp", "municipality"),  # two organisations' patients
        ("admin",),
        ("nurse",),
        ("hospital",),
        ("gp", "hospital"),
    ],
)
def test_anyone_who_sees_more_is_not_narrowed(roles: tuple[str, ...]) -> None:
    assert sole_organisation_sight(_caller(*roles, municipality_id=7)) is None


def test_municipality_staff_of_no_municipality_is_not_narrowed() -> None:
    assert sole_organisation_sight(_caller("municipality")) is None

"""The demo data set (``bridge seed-demo``): a small, realistic Capital Region to click through.

It goes through the domain's own services (discharges, follow-ups, minutes), so the demo shows
what the product does, not a copy of it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.auth.services import set_password
from bridge.domain.care.follow_ups import plan_follow_up
from bridge.domain.care.models import Admission, Destination, FollowUpStatus
from bridge.domain.care.notify import notify_discharge
from bridge.domain.identifiers import parse_cpr
from bridge.domain.meetings.distribution_status import acknowledge_received
from bridge.domain.meetings.minutes import finalise_minutes
from bridge.domain.meetings.models import (
    ActionItem,
    MeetingParticipant,
    MeetingStatus,
    MinutesStatus,
    MinutesVersion,
    NetworkMeeting,
    ParticipantKind,
)
from bridge.domain.patients.models import (
    CareTeamMember,
    CareTeamRole,
    Consent,
    ConsentScope,
    Diagnosis,
    Enrollment,
    Patient,
    Relative,
)
from bridge.domain.reference import seed_reference
from bridge.domain.registry.models import (
    BridgeNurse,
    NurseFinancing,
    Organisation,
    OrganisationKind,
    Role,
    Specialty,
    Staff,
    StaffRole,
)
from bridge.domain.registry.services import issue_token
from bridge.sampledata.people import (
    DIAGNOSES,
    FIRST_NAMES,
    LAST_NAMES,
    first_name,
    make_cpr,
    make_gln,
)

# The documented password of the demo accounts that log in to the web pages (never in production).
DEMO_PASSWORD = "brobygger-demo"
DEMO_WEB_ROLES = (Role.ADMIN, Role.NURSE)


@dataclass
class DemoResult:
    tokens: dict[str, str]
    patients: int


DEMO_STAFF = [
    # (email, name, role, organisation key)
    ("admin@bridge.demo", "Koordinator Karin Admin", Role.ADMIN, "region"),
    ("nurse.anna@bridge.demo", "Anna Brobygger", Role.NURSE, "region"),
    ("nurse.bo@bridge.demo", "Bo Brobygger", Role.NURSE, "region"),
    ("nurse.cecilie@bridge.demo", "Cecilie Brobygger", Role.NURSE, "region"),
    ("kk@bridge.demo", "Københavns Kommune, Socialpsykiatri", Role.MUNICIPALITY, "kbh"),
    ("frb@bridge.demo", "Frederiksberg Kommune, Sundhed", Role.MUNICIPALITY, "frb"),
    ("gp.noerrebro@bridge.demo", "Lægerne Nørrebro", Role.GP, "gp0"),
    ("hospital.psyk@bridge.demo", "Psykiatrisk Center København, afsnit 6", Role.HOSPITAL, "psych"),
]


def seed_demo(session: Session, *, patients: int = 50, seed: int = 7) -> DemoResult:
    """A small, realistic Capital Region: nurses, practices, departments and ~50 patients.

    Running it again adds nothing but fresh tokens for the demo roles.
    """
    seed_reference(session)
    rng = random.Random(seed)
    region = session.scalars(select(Organisation).where(Organisation.region_code == "DK-84")).one()
    kbh = session.scalars(
        select(Organisation).where(Organisation.municipality_code == "0101")
    ).one()
    frb = session.scalars(
        select(Organisation).where(Organisation.municipality_code == "0147")
    ).one()
    already = session.scalar(select(Staff).where(Staff.email == DEMO_STAFF[0][0]))
    if already is None:
        _build_demo(session, rng, region, kbh, frb, patients)
    tokens: dict[str, str] = {}
    for email, _name, role, _org in DEMO_STAFF:
        staff = session.scalars(select(Staff).where(Staff.email == email)).one()
        if role in DEMO_WEB_ROLES and not staff.password_hash:
            set_password(session, staff, DEMO_PASSWORD, datetime.now(UTC))
        key = f"{role.value}:{email.split('@')[0]}"
        tokens[key] = issue_token(session, staff, label="demo", expires_at=None).secret
    count = session.scalar(select(func.count()).select_from(Patient)) or 0
    return DemoResult(tokens=tokens, patients=count)


def _build_demo(
    session: Session,
    rng: random.Random,
    region: Organisation,
    kbh: Organisation,
    frb: Organisation,
    n_patients: int,
) -> None:
    hospital = Organisation(
        kind=OrganisationKind.HOSPITAL,
        name="Region Hovedstadens Psykiatri",
        parent_id=region.id,
        sor_code="265011000016006",
    )
    somatic_hospital = Organisation(
        kind=OrganisationKind.HOSPITAL,
        name="Bispebjerg og Frederiksberg Hospital",
        parent_id=region.id,
        sor_code="265021000016003",
    )
    session.add_all([hospital, somatic_hospital])
    session.flush()
    psych = Organisation(
        kind=OrganisationKind.HOSPITAL_DEPARTMENT,
        name="Psykiatrisk Center København, afsnit 6",
        specialty=Specialty.PSYCHIATRY,
        parent_id=hospital.id,
        sor_code="265011000016101",
        gln=make_gln(1001),
    )
    somatic = Organisation(
        kind=OrganisationKind.HOSPITAL_DEPARTMENT,
        name="Medicinsk afdeling, Bispebjerg",
        specialty=Specialty.SOMATIC,
        parent_id=somatic_hospital.id,
        sor_code="265021000016102",
        gln=make_gln(1002),
    )
    facility = Organisation(
        kind=OrganisationKind.SOCIAL_PSYCHIATRY_FACILITY,
        name="Botilbuddet Lindehuset",
        parent_id=kbh.id,
    )
    psychiatrist = Organisation(
        kind=OrganisationKind.SPECIALIST_PRACTICE,
        name="Speciallæge i psykiatri Hanne Holm",
        ydernummer="081234",
    )
    practices = [
        Organisation(
            kind=OrganisationKind.GP_PRACTICE,
            name=name,
            ydernummer=f"0{i + 12345}",
            sor_code=f"3800{i + 1000:06d}1",
            gln=make_gln(2000 + i),
        )
        for i, name in enumerate(
            [
                "Lægerne Nørrebro",
                "Lægehuset Vesterbro",
                "Amager Lægecenter",
                "Lægerne Frederiksberg Allé",
                "Østerbro Lægepraksis",
                "Lægerne i Valby",
            ]
        )
    ]
    session.add_all([psych, somatic, facility, psychiatrist, *practices])
    session.flush()
    orgs = {"region": region, "kbh": kbh, "frb": frb, "gp0": practices[0], "psych": psych}
    staff_by_email = {}
    for email, name, role, org_key in DEMO_STAFF:
        staff = Staff(organisation_id=orgs[org_key].id, name=name, email=email)
        staff.role_rows = [StaffRole(role=role)]
        session.add(staff)
        staff_by_email[email] = staff
    session.flush()
    nurses = [staff_by_email[e] for e, _n, r, _o in DEMO_STAFF if r == Role.NURSE]
    for i, nurse_staff in enumerate(nurses):
        employment = BridgeNurse(
            staff_id=nurse_staff.id,
            region_id=region.id,
            region_share=50,
            caseload_capacity=20 + 5 * i,
        )
        employment.financing = [
            NurseFinancing(municipality_id=kbh.id, share=30),
            NurseFinancing(municipality_id=frb.id, share=20),
        ]
        session.add(employment)
    session.flush()
    today = date.today()
    now = datetime.now(UTC)
    used_cprs: set[str] = set()
    enrolled: list[tuple[Patient, Staff]] = []
    for i in range(n_patients):
        cpr = make_cpr(rng)
        while cpr in used_cprs:
            cpr = make_cpr(rng)
        used_cprs.add(cpr)
        parsed = parse_cpr(cpr)
        first = first_name(rng, parsed.sex)
        patient = Patient(
            cpr=cpr,
            name=f"{first} {rng.choice(LAST_NAMES)}",
            birth_date=parsed.birth_date,
            sex=parsed.sex,
            municipality_id=(kbh if i % 3 else frb).id,
            # A few patients are not listed with a GP: a gap Bridge must show.
            gp_practice_id=None if i % 17 == 5 else practices[i % len(practices)].id,
        )
        session.add(patient)
        session.flush()
        code, text = DIAGNOSES[i % 5]
        session.add(Diagnosis(patient_id=patient.id, code=code, psychiatric=True, description=text))
        if i % 4 == 0:
            code, text = DIAGNOSES[5 + i % 3]
            session.add(
                Diagnosis(patient_id=patient.id, code=code, psychiatric=False, description=text)
            )
        if i % 2 == 0:
            session.add(
                Relative(
                    patient_id=patient.id,
                    name=f"{rng.choice(FIRST_NAMES)} {patient.name.split()[-1]}",
                    relation=rng.choice(["mor", "far", "søster", "ægtefælle"]),
                    contact="+45 20 00 00 00",
                    may_receive_information=i % 4 == 0,
                )
            )
        if i < n_patients - 5:  # the last few are registered but not (yet) enrolled
            nurse = nurses[i % len(nurses)]
            enrolled.append((patient, nurse))
            session.add(
                Enrollment(
                    patient_id=patient.id,
                    nurse_id=nurse.id,
                    start_date=today - timedelta(days=rng.randrange(10, 400)),
                    reason="Svær psykisk sygdom med behov for sammenhæng",
                    enrolled_by_id=nurse.id,
                )
            )
        session.add_all(
            [
                CareTeamMember(
                    patient_id=patient.id,
                    organisation_id=psych.id,
                    role=CareTeamRole.PSYCHIATRY,
                    contact_name="Afsnitsleder",
                ),
                CareTeamMember(
                    patient_id=patient.id,
                    organisation_id=patient.municipality_id,
                    role=CareTeamRole.MUNICIPALITY,
                ),
            ]
        )
        if i % 3 == 0:
            session.add(
                Consent(
                    patient_id=patient.id,
                    recipient_organisation_id=facility.id,
                    scope=ConsentScope.ALL,
                    given_at=now - timedelta(days=30),
                    recorded_by_id=nurses[0].id,
                )
            )
    session.flush()
    # A realistic day needs courses in motion: the first nurse's patients with a GP get them.
    with_gp = [(pt, n) for pt, n in enrolled if n is nurses[0] and pt.gp_practice_id is not None]
    _demo_discharges(session, region, psych, somatic, with_gp[:5], now)
    _demo_meetings(session, region, psych, with_gp[5:9], now)


def _nurse_principal(nurse: Staff, region: Organisation) -> Principal:
    return Principal(staff_id=nurse.id, organisation_id=region.id, roles=frozenset({Role.NURSE}))


def _demo_discharges(
    session: Session,
    region: Organisation,
    psych: Organisation,
    somatic: Organisation,
    courses: list[tuple[Patient, Staff]],
    now: datetime,
) -> None:
    """Stays ended 12, 4 and 1 days ago (so some follow-up is overdue), and one still open."""
    ago = [12, 4, 1, 20]
    for k, (patient, nurse) in enumerate(courses):
        department = somatic if k == 3 else psych
        if k == len(ago):
            # Lying in psychiatry right now.
            session.add(
                Admission(
                    patient_id=patient.id,
                    department_id=psych.id,
                    specialty=psych.specialty,
                    acute=True,
                    admitted_at=now - timedelta(days=2),
                    registered_by_id=nurse.id,
                )
            )
            continue
        discharged_at = now - timedelta(days=ago[k], hours=3)
        stay = Admission(
            patient_id=patient.id,
            department_id=department.id,
            specialty=department.specialty,
            acute=k % 2 == 0,
            admitted_at=discharged_at - timedelta(days=9),
            discharged_at=discharged_at,
            destination=Destination.HOME,
            discharge_summary="Stabil i ny medicin. Aftalt opfølgning i kommune og hos egen læge.",
            rehabilitation_plan_issued=k == 3,
            network_meeting_requested=False,
            registered_by_id=nurse.id,
            discharged_by_id=nurse.id,
        )
        session.add(stay)
        session.flush()
        tasks = plan_follow_up(session, _nurse_principal(nurse, region), stay)
        for task in tasks:
            # The oldest discharge: the nurse and the municipality did their part, the GP not.
            if k == 0 and task.responsible_kind.value in ("nurse", "municipality"):
                task.status = FollowUpStatus.DONE
                task.done_at = discharged_at + timedelta(hours=20)
                task.done_by_id = nurse.id
        session.flush()
        notify_discharge(session, stay, tasks)


def _demo_meetings(
    session: Session,
    region: Organisation,
    psych: Organisation,
    courses: list[tuple[Patient, Staff]],
    now: datetime,
) -> None:
    """One meeting planned, one held with draft minutes, two with final minutes (one GP has
    acknowledged them, one has not)."""
    for k, (patient, nurse) in enumerate(courses):
        planned = k == 0
        start = now + timedelta(days=3) if planned else now - timedelta(days=6 - k, hours=2)
        start = start.replace(minute=0, second=0, microsecond=0)
        meeting = NetworkMeeting(
            patient_id=patient.id,
            organiser_id=nurse.id,
            status=MeetingStatus.PLANNED if planned else MeetingStatus.HELD,
            scheduled_start=start,
            scheduled_end=start + timedelta(hours=1),
            held_at=None if planned else start + timedelta(hours=1),
            place="Psykiatrisk Center København, mødelokale 2",
            agenda="Fælles plan efter udskrivelse; medicin; bolig og dagtilbud",
            participants=[
                MeetingParticipant(kind=ParticipantKind.PATIENT, role="borger", attended=True),
                MeetingParticipant(
                    kind=ParticipantKind.ORGANISATION,
                    organisation_id=psych.id,
                    person_name="Overlæge",
                    role="behandler",
                    attended=None if planned else True,
                ),
                MeetingParticipant(
                    kind=ParticipantKind.ORGANISATION,
                    organisation_id=patient.municipality_id,
                    role="socialpsykiatri",
                    attended=None if planned else True,
                ),
            ],
        )
        session.add(meeting)
        session.flush()
        if planned:
            continue
        version = MinutesVersion(
            meeting_id=meeting.id,
            version_no=1,
            status=MinutesStatus.DRAFT,
            summary="Borgeren har det bedre efter udskrivelsen og ønsker at bo i egen bolig.",
            decisions="Bostøtte to gange ugentligt. Egen læge følger op på blodprøver.",
            created_by_id=nurse.id,
            created_at=start + timedelta(hours=2),
            updated_at=start + timedelta(hours=2),
            action_items=[
                ActionItem(
                    description="Blodprøver og EKG (antipsykotisk behandling)",
                    responsible_organisation_id=patient.gp_practice_id,
                    due_date=(now + timedelta(days=10)).date(),
                ),
                ActionItem(
                    description="Bevilling af bostøtte",
                    responsible_organisation_id=patient.municipality_id,
                    due_date=(now + timedelta(days=5)).date(),
                ),
            ],
        )
        session.add(version)
        session.flush()
        if k == 1:
            continue  # held, minutes still a draft
        finalised = finalise_minutes(
            session, _nurse_principal(nurse, region), version, start + timedelta(days=1)
        )
        if k == 2:
            gp_row = next(d for d in finalised.distributions if d.recipient_role.value == "gp")
            acknowledge_received(session, gp_row, start + timedelta(days=2))
    session.flush()

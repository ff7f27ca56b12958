"""Reference data (regions, municipalities) and the demo data set."""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bridge.domain.access import Principal
from bridge.domain.auth.services import set_password
from bridge.domain.identifiers import gs1_check_digit, parse_cpr
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


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("bridge.data").joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@dataclass(frozen=True)
class ReferenceCounts:
    regions: int
    municipalities: int
    health_councils: int
    created: int


def seed_reference(session: Session) -> ReferenceCounts:
    """Denmark's regions (the 5 of 2007 and Region Østdanmark from 2027), 98 municipalities
    with their region per period, and the 17 health councils; running it again changes
    nothing."""
    existing = {
        (o.kind, o.region_code or o.municipality_code): o
        for o in session.scalars(
            select(Organisation).where(
                Organisation.kind.in_([OrganisationKind.REGION, OrganisationKind.MUNICIPALITY])
            )
        )
    }
    created = 0
    regions: dict[str, Organisation] = {}
    for row in _rows("regions.csv"):
        if not row["iso_code"]:
            continue  # Region Østdanmark: the 2027 structure below adds it
        region = existing.get((OrganisationKind.REGION, row["iso_code"]))
        if region is None:
            region = Organisation(
                kind=OrganisationKind.REGION, name=row["name"], region_code=row["iso_code"]
            )
            session.add(region)
            created += 1
        regions[row["iso_code"]] = region
    session.flush()
    municipalities = _rows("municipalities.csv")
    for row in municipalities:
        if (OrganisationKind.MUNICIPALITY, row["code"]) in existing:
            continue
        session.add(
            Organisation(
                kind=OrganisationKind.MUNICIPALITY,
                name=f"{row['name']} Kommune",
                municipality_code=row["code"],
                parent_id=regions[row["region_code"]].id,
            )
        )
        created += 1
    session.flush()
    from bridge.domain.registry.reform2027 import apply_2027_structure

    reform = apply_2027_structure(session.connection())
    # The Core writes went around the identity map: reload what the session holds.
    session.expire_all()
    created += reform.organisations
    # Follow-up templates are reference data per region (local agreements an admin may edit).
    from bridge.domain.care.templates import seed_follow_up_templates

    seed_follow_up_templates(session)
    return ReferenceCounts(
        regions=len(_rows("regions.csv")),
        municipalities=len(municipalities),
        health_councils=len({r["council_name"] for r in _rows("health-councils.csv")}),
        created=created,
    )


def make_gln(seed: int) -> str:
    """A syntactically valid GLN in a made-up range (for demo and test data)."""
    body = f"579{seed:09d}"
    return body + str(gs1_check_digit(body))


def make_cpr(rng: random.Random, *, born: date | None = None, male: bool | None = None) -> str:
    """A CPR number with a real birth date and a serial giving the right century."""
    born = born or date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
    yy = born.year % 100
    first = rng.choice([0, 1, 2, 3]) if born.year < 2000 else 4 if yy <= 36 else 5
    serial = f"{first}{rng.randrange(0, 100):02d}"
    male = rng.random() < 0.5 if male is None else male
    last = rng.choice([1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8])
    return born.strftime("%d%m%y") + serial + str(last)


# A demo patient's first name matches the sex their CPR number gives (odd last digit: male):
# a nurse reading "Lars" beside a CPR ending in 4 would rightly distrust the whole record.
FEMALE_FIRST_NAMES = [
    "Anne",
    "Mette",
    "Hanne",
    "Sofie",
    "Ida",
    "Freja",
    "Karen",
    "Birgitte",
    "Louise",
]
MALE_FIRST_NAMES = [
    "Lars",
    "Jens",
    "Peter",
    "Mads",
    "Emil",
    "Noah",
    "Søren",
    "Niels",
    "Rasmus",
]
FIRST_NAMES = FEMALE_FIRST_NAMES + MALE_FIRST_NAMES


def first_name(rng: random.Random, sex: str) -> str:
    """A first name for a person of ``sex`` ("male" or "female", as parse_cpr gives it)."""
    return rng.choice(MALE_FIRST_NAMES if sex == "male" else FEMALE_FIRST_NAMES)


LAST_NAMES = [
    "Jensen",
    "Nielsen",
    "Hansen",
    "Pedersen",
    "Andersen",
    "Christensen",
    "Larsen",
    "Sørensen",
    "Rasmussen",
    "Jørgensen",
    "Madsen",
    "Kristensen",
    "Olsen",
    "Thomsen",
]
DIAGNOSES = [
    ("F20.0", "Paranoid skizofreni"),
    ("F25.0", "Skizoaffektiv psykose, manisk type"),
    ("F31.1", "Bipolar affektiv sindslidelse"),
    ("F32.2", "Svær depression"),
    ("F10.2", "Alkoholafhængighed"),
    ("E11.9", "Type 2-diabetes"),
    ("I10", "Essentiel hypertension"),
    ("J44.9", "KOL"),
]


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
    region = session.scalar(select(Organisation).where(Organisation.region_code == "DK-84"))
    kbh = session.scalar(select(Organisation).where(Organisation.municipality_code == "0101"))
    frb = session.scalar(select(Organisation).where(Organisation.municipality_code == "0147"))
    already = session.scalar(select(Staff).where(Staff.email == DEMO_STAFF[0][0]))
    if already is None:
        _build_demo(session, rng, region, kbh, frb, patients)
    tokens: dict[str, str] = {}
    for email, _name, role, _org in DEMO_STAFF:
        staff = session.scalar(select(Staff).where(Staff.email == email))
        if role in DEMO_WEB_ROLES and not staff.password_hash:
            set_password(session, staff, DEMO_PASSWORD, datetime.now(UTC))
        key = f"{role.value}:{email.split('@')[0]}"
        tokens[key] = issue_token(session, staff, label="demo", expires_at=None).secret
    count = session.scalar(select(func.count()).select_from(Patient)) or 0
    return DemoResult(tokens=tokens, patients=count)


def _build_demo(session, rng, region, kbh, frb, n_patients) -> None:
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
        nurse = BridgeNurse(
            staff_id=nurse_staff.id,
            region_id=region.id,
            region_share=50,
            caseload_capacity=20 + 5 * i,
        )
        nurse.financing = [
            NurseFinancing(municipality_id=kbh.id, share=30),
            NurseFinancing(municipality_id=frb.id, share=20),
        ]
        session.add(nurse)
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


def _demo_discharges(session, region, psych, somatic, courses, now: datetime) -> None:
    """Stays ended 12, 4 and 1 days ago (so some follow-up is overdue), and one still open."""
    from bridge.domain.care.follow_ups import plan_follow_up
    from bridge.domain.care.models import Admission, Destination, FollowUpStatus
    from bridge.domain.care.notify import notify_discharge

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


def _demo_meetings(session, region, psych, courses, now: datetime) -> None:
    """One meeting planned, one held with draft minutes, two with final minutes (one GP has
    acknowledged them, one has not)."""
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

"""Use cases of the registry. Services add and flush; the caller's transaction commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bridge.domain.access import Principal, municipality_of
from bridge.domain.base import utcnow
from bridge.domain.errors import Conflict, NotFound, RuleViolation
from bridge.domain.identifiers import (
    normalise_municipality_code,
    validate_gln,
    validate_sor_code,
    validate_ydernummer,
)
from bridge.domain.pagination import Page, SortKey, paginate
from bridge.domain.registry.effective import (
    check_identifiers_free,
    copenhagen_today,
    group_of,
    members_of,
    nurse_employer,
    valid_on,
)
from bridge.domain.registry.models import (
    ApiToken,
    BridgeNurse,
    NurseFinancing,
    Organisation,
    OrganisationKind,
    Role,
    Staff,
    StaffRole,
)

TOKEN_PREFIX = "brg_"


# --- organisations ---------------------------------------------------------------------------

_IDENTIFIERS = {
    "sor_code": validate_sor_code,
    "gln": validate_gln,
    "ydernummer": validate_ydernummer,
    "municipality_code": normalise_municipality_code,
}


def _apply_organisation_fields(session: Session, org: Organisation, data: dict[str, Any]) -> None:
    # Validate before anything is flushed: an autoflush with a bad parent would hit the
    # foreign key instead of answering with the field's error.
    with session.no_autoflush:
        _validate_organisation_fields(session, org, data)
    try:
        session.flush()
    except IntegrityError:
        # Also the PostgreSQL exclusion constraint, should a concurrent writer win the race.
        raise Conflict(
            "an organisation with one of these identifiers already exists in an overlapping "
            "validity period"
        ) from None


def _validate_organisation_fields(
    session: Session, org: Organisation, data: dict[str, Any]
) -> None:
    for field, validate in _IDENTIFIERS.items():
        if data.get(field) is not None:
            try:
                data[field] = validate(data[field])
            except ValueError as exc:
                raise RuleViolation(str(exc), field=field) from None
    for key, value in data.items():
        setattr(org, key, value)
    if org.kind == OrganisationKind.HOSPITAL_DEPARTMENT and org.specialty is None:
        raise RuleViolation("a hospital department needs a specialty", field="specialty")
    if org.kind != OrganisationKind.HOSPITAL_DEPARTMENT and org.specialty is not None:
        raise RuleViolation("only hospital departments have a specialty", field="specialty")
    if org.municipality_code and org.kind != OrganisationKind.MUNICIPALITY:
        raise RuleViolation(
            "only a municipality carries a municipality code", field="municipality_code"
        )
    if org.valid_from and org.valid_to and org.valid_to < org.valid_from:
        raise RuleViolation("valid_to is before valid_from", field="valid_to")
    if org.parent_id is not None:
        if org.id is not None and org.parent_id == org.id:
            raise RuleViolation("an organisation cannot be its own parent", field="parent_id")
        if session.get(Organisation, org.parent_id) is None:
            raise RuleViolation("no such parent organisation", field="parent_id")
    if org.successor_id is not None:
        if org.id is not None and org.successor_id == org.id:
            raise RuleViolation("an organisation cannot succeed itself", field="successor_id")
        if session.get(Organisation, org.successor_id) is None:
            raise RuleViolation("no such successor organisation", field="successor_id")
    check_identifiers_free(session, org)


def create_organisation(session: Session, data: dict[str, Any]) -> Organisation:
    """Register an organisation."""
    org = Organisation()
    session.add(org)
    _apply_organisation_fields(session, org, dict(data))
    return org


def update_organisation(session: Session, org: Organisation, data: dict[str, Any]) -> Organisation:
    """Change an organisation's name, identifiers or validity."""
    _apply_organisation_fields(session, org, dict(data))
    return org


def get_organisation(session: Session, org_id: int) -> Organisation:
    """One organisation by id."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise NotFound("no such organisation")
    return org


def list_organisations(
    session: Session, *, kind: str | None, cursor: str | None, limit: int, on: date | None = None
) -> Page[Organisation]:
    """Organisations, optionally of one kind and valid on a date."""
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(Organisation.kind == kind)
    if on:
        stmt = stmt.where(
            (Organisation.valid_from.is_(None)) | (Organisation.valid_from <= on),
            (Organisation.valid_to.is_(None)) | (Organisation.valid_to >= on),
        )
    return paginate(session, stmt, [SortKey(Organisation.id, "id")], cursor=cursor, limit=limit)


def organisation_group_on(
    session: Session, org_id: int, kind: OrganisationKind, on: date | None
) -> Organisation:
    """The region or health council an organisation belongs to on a date (default today)."""
    get_organisation(session, org_id)
    group = group_of(session, org_id, kind, on or copenhagen_today())
    if group is None:
        raise NotFound(f"the organisation belongs to no {kind.value.replace('_', ' ')} that day")
    return group


def organisation_members_on(session: Session, org_id: int, on: date | None) -> list[Organisation]:
    """The members of a region or health council on a date (default today)."""
    get_organisation(session, org_id)
    return members_of(session, org_id, on or copenhagen_today())


def nurse_employer_on(session: Session, staff_id: int, on: date | None) -> Organisation:
    """The region that employs a bridge nurse on a date (default today)."""
    return nurse_employer(session, get_nurse(session, staff_id), on or copenhagen_today())


# Built once: the municipality feed, polled by every municipality, starts with this lookup.
_MUNICIPALITY_ID_QUERY = select(Organisation.__table__.c.id).where(
    Organisation.__table__.c.kind == OrganisationKind.MUNICIPALITY,
    Organisation.__table__.c.municipality_code == bindparam("code"),
)


def municipality_id_by_code(session: Session, code: str | int) -> int:
    """The id of the municipality with this code (with or without the leading zero)."""
    try:
        normalised = normalise_municipality_code(code)
    except ValueError as exc:
        raise NotFound(str(exc)) from None
    org_id = session.execute(_MUNICIPALITY_ID_QUERY, {"code": normalised}).scalar()
    if org_id is None:
        raise NotFound("no municipality with that code")
    return org_id


# --- staff ------------------------------------------------------------------------------------


def create_staff(session: Session, data: dict[str, Any]) -> Staff:
    """Register a staff member of an organisation with their roles."""
    get_organisation_or_rule(session, data["organisation_id"], "organisation_id")
    roles = data.pop("roles")
    staff = Staff(**data)
    staff.role_rows = [StaffRole(role=Role(r)) for r in sorted(set(roles))]
    session.add(staff)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("a staff member with this email already exists") from None
    return staff


def update_staff(session: Session, staff: Staff, data: dict[str, Any]) -> Staff:
    """Change a staff member's name, email, roles or active flag."""
    roles = data.pop("roles", None)
    if "organisation_id" in data:
        get_organisation_or_rule(session, data["organisation_id"], "organisation_id")
    for key, value in data.items():
        setattr(staff, key, value)
    if roles is not None:
        wanted = set(roles)
        staff.role_rows = [r for r in staff.role_rows if r.role.value in wanted] + [
            StaffRole(role=Role(r))
            for r in sorted(wanted - {r.role.value for r in staff.role_rows})
        ]
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("a staff member with this email already exists") from None
    return staff


def get_staff(session: Session, staff_id: int) -> Staff:
    """One staff member by id."""
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise NotFound("no such staff member")
    return staff


def list_staff(
    session: Session, *, organisation_id: int | None, cursor: str | None, limit: int
) -> Page[Staff]:
    """Staff members, optionally of one organisation."""
    stmt = select(Staff)
    if organisation_id:
        stmt = stmt.where(Staff.organisation_id == organisation_id)
    return paginate(session, stmt, [SortKey(Staff.id, "id")], cursor=cursor, limit=limit)


def get_organisation_or_rule(session: Session, org_id: int, field: str) -> Organisation:
    """An organisation named in a request body: a missing one is a field error, not a 404."""
    org = session.get(Organisation, org_id)
    if org is None:
        raise RuleViolation("no such organisation", field=field)
    return org


# --- tokens -----------------------------------------------------------------------------------


def hash_token(token: str) -> str:
    """Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def issue_token(
    session: Session, staff: Staff, *, label: str | None, expires_at: datetime | None
) -> IssuedToken:
    """Create a token for a staff member; the secret is returned once and only its hash kept."""
    if expires_at is not None and expires_at <= utcnow():
        raise RuleViolation("expires_at must be in the future", field="expires_at")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        staff_id=staff.id,
        token_hash=hash_token(secret),
        prefix=secret[:10],
        label=label,
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    return IssuedToken(token=token, secret=secret)


def list_tokens(session: Session, staff: Staff) -> list[ApiToken]:
    """A staff member's tokens, newest first (never their secrets)."""
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id.desc())
        )
    )


def revoke_token(session: Session, staff: Staff, token_id: int) -> ApiToken:
    """Revoke a token now; revoking twice keeps the first time."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.staff_id == staff.id)
    )
    if token is None:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.flush()
    return token


# Built once: this runs on every API request, and building a statement costs more than its
# round trip to the database.
_PARENT = aliased(Organisation)
_TOKEN_QUERY = (
    select(
        ApiToken.revoked_at,
        ApiToken.expires_at,
        Staff.id,
        Staff.active,
        Staff.organisation_id,
        Organisation.kind,
        _PARENT.id,
        _PARENT.kind,
        StaffRole.role,
    )
    .join(Staff, Staff.id == ApiToken.staff_id)
    .join(Organisation, Organisation.id == Staff.organisation_id)
    .outerjoin(_PARENT, _PARENT.id == Organisation.parent_id)
    # One row per role (a staff member has one or two): the roles come in the same round trip.
    .outerjoin(StaffRole, StaffRole.staff_id == Staff.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def authenticate_token(session: Session, secret: str, now: datetime) -> Principal | None:
    """The caller a valid, unexpired, unrevoked token of an active staff member stands for.

    One query on the hot path of every API request: the token with its staff member, their
    roles and organisation (and that organisation's parent, for municipality staff).
    """
    # On the connection, not through the ORM: the rows are plain columns, and the ORM's layer of
    # execution took a third of this statement's cost on every request (py-spy under load).
    rows = session.connection().execute(_TOKEN_QUERY, {"token_hash": hash_token(secret)}).all()
    if not rows:
        return None
    revoked_at, expires_at, staff_id, active, org_id, kind, parent_id, parent_kind, _ = rows[0]
    if revoked_at is not None or not active or (expires_at is not None and expires_at <= now):
        return None
    return Principal(
        staff_id=staff_id,
        organisation_id=org_id,
        roles=frozenset(row.role.value for row in rows if row.role is not None),
        municipality_id=municipality_of(org_id, kind, parent_id, parent_kind),
    )


# --- bridge nurses ----------------------------------------------------------------------------


def _apply_nurse_fields(session: Session, nurse: BridgeNurse, data: dict[str, Any]) -> None:
    financing = data.pop("financing", None)
    for key, value in data.items():
        setattr(nurse, key, value)
    region = session.get(Organisation, nurse.region_id)
    if region is None or region.kind != OrganisationKind.REGION:
        raise RuleViolation("region_id must name a region", field="region_id")
    if financing is not None:
        if not financing:
            raise RuleViolation("at least one municipality co-finances", field="financing")
        ids = [f["municipality_id"] for f in financing]
        if len(set(ids)) != len(ids):
            raise RuleViolation("a municipality is listed twice", field="financing")
        found = session.scalars(
            select(Organisation.id).where(
                Organisation.id.in_(ids), Organisation.kind == OrganisationKind.MUNICIPALITY
            )
        ).all()
        if len(found) != len(ids):
            raise RuleViolation("every financing entry must name a municipality", field="financing")
        nurse.financing = [
            NurseFinancing(municipality_id=f["municipality_id"], share=f["share"])
            for f in financing
        ]
    total = nurse.region_share + sum(f.share for f in nurse.financing)
    if total != 100:
        raise RuleViolation(
            f"the region's and the municipalities' shares must sum to 100, not {total}",
            field="financing",
        )
    session.flush()


def create_nurse(session: Session, data: dict[str, Any]) -> BridgeNurse:
    """Record a staff member's employment as a bridge nurse."""
    staff = session.get(Staff, data["staff_id"])
    if staff is None:
        raise RuleViolation("no such staff member", field="staff_id")
    if Role.NURSE.value not in staff.roles:
        raise RuleViolation("the staff member must hold the nurse role", field="staff_id")
    if session.get(BridgeNurse, staff.id) is not None:
        raise Conflict("this staff member is already a bridge nurse")
    nurse = BridgeNurse(staff_id=staff.id)
    session.add(nurse)
    data = dict(data)
    data.pop("staff_id")
    _apply_nurse_fields(session, nurse, data)
    return nurse


def update_nurse(session: Session, nurse: BridgeNurse, data: dict[str, Any]) -> BridgeNurse:
    """Change a nurse's financing, capacity or active flag."""
    _apply_nurse_fields(session, nurse, dict(data))
    return nurse


def get_nurse(session: Session, staff_id: int) -> BridgeNurse:
    """One bridge nurse by staff id."""
    nurse = session.get(BridgeNurse, staff_id)
    if nurse is None:
        raise NotFound("no such bridge nurse")
    return nurse


def list_nurses(session: Session, *, cursor: str | None, limit: int) -> Page[BridgeNurse]:
    """Bridge nurses."""
    return paginate(
        session,
        select(BridgeNurse),
        [SortKey(BridgeNurse.staff_id, "staff_id")],
        cursor=cursor,
        limit=limit,
    )


def find_open_practices(
    session: Session, name: str, on: date, limit: int = 20
) -> list[Organisation]:
    """GP practices open on ``on`` whose name contains ``name`` (the web's practice picker)."""
    words = name.strip()
    if len(words) < 2:
        return []
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.kind == OrganisationKind.GP_PRACTICE,
                Organisation.name.ilike(f"%{escaped}%", escape="\\"),
                valid_on(Organisation.valid_from, Organisation.valid_to, on),
            )
            .order_by(Organisation.name)
            .limit(limit)
        )
    )

"""Password login for the web front end: argon2id hashes, a lock after repeated failures.

The API keeps using bearer tokens; this is only how a person signs in to the browser pages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bridge.domain.auth.models import StaffLogin
from bridge.domain.errors import RuleViolation
from bridge.domain.registry.models import Staff

log = logging.getLogger("bridge.auth")

MAX_FAILED_ATTEMPTS = 5
LOCK_DURATION = timedelta(minutes=15)
# Failures further apart than this do not add up to a lock.
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the account is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise RuleViolation unless the password is long enough (length is what matters most)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(
            f"the password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleViolation(
            f"the password must be at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )


def _login_row(session: Session, staff_id: int) -> StaffLogin:
    row = session.get(StaffLogin, staff_id)
    if row is None:
        row = StaffLogin(staff_id=staff_id, failed_attempts=0, session_epoch=0)
        session.add(row)
        session.flush()
    return row


def set_password(session: Session, staff: Staff, password: str, now: datetime) -> None:
    """Give the staff member a new password; it unlocks the account and ends its sessions."""
    check_password_rules(password)
    staff.password_hash = hash_password(password)
    row = _login_row(session, staff.id)
    row.failed_attempts = 0
    row.locked_until = None
    row.session_epoch += 1
    row.password_changed_at = now
    session.flush()


def find_staff_by_email(session: Session, email: str) -> Staff | None:
    """The staff member with this email as typed or in lower case (uses the unique index)."""
    typed = email.strip()
    return session.scalar(select(Staff).where(Staff.email.in_({typed, typed.lower()})).limit(1))


@dataclass(frozen=True)
class LoginOutcome:
    """The result of a login attempt; ``staff`` is None for every kind of refusal."""

    staff: Staff | None
    session_epoch: int = 0
    # For logs and tests only: never shown, so a caller cannot tell the refusals apart.
    reason: str = "ok"


def authenticate_password(
    session: Session, email: str, password: str, now: datetime
) -> LoginOutcome:
    """Check an email and password; count failures and lock the account after too many."""
    staff = find_staff_by_email(session, email) if email else None
    if staff is None or not staff.active or not staff.password_hash:
        _verify(_DUMMY_HASH, password)
        return LoginOutcome(None, reason="unknown")
    row = _login_row(session, staff.id)
    if row.locked_until is not None and row.locked_until > now:
        _verify(_DUMMY_HASH, password)
        log.info("login refused: staff %s is locked", staff.id)
        return LoginOutcome(None, reason="locked")
    if not _verify(staff.password_hash, password):
        _count_failure(session, row, now)
        return LoginOutcome(None, reason="wrong_password")
    row.failed_attempts = 0
    row.last_failed_at = None
    row.locked_until = None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    session.flush()
    return LoginOutcome(staff, session_epoch=row.session_epoch)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(session: Session, row: StaffLogin, now: datetime) -> None:
    stale = row.last_failed_at is None or now - row.last_failed_at > FAILURE_WINDOW
    # One UPDATE with the increment in SQL, so two parallel guesses both count.
    failures = session.execute(
        update(StaffLogin)
        .where(StaffLogin.staff_id == row.staff_id)
        .values(
            failed_attempts=1 if stale else StaffLogin.failed_attempts + 1,
            last_failed_at=now,
        )
        .returning(StaffLogin.failed_attempts)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    if failures >= MAX_FAILED_ATTEMPTS:
        session.execute(
            update(StaffLogin)
            .where(StaffLogin.staff_id == row.staff_id)
            .values(locked_until=now + LOCK_DURATION, failed_attempts=0)
            .execution_options(synchronize_session=False)
        )
        log.warning("staff %s locked after %s failed logins", row.staff_id, failures)
    session.expire(row)


def signed_in_staff(session: Session, staff_id: int, epoch: int | None) -> Staff | None:
    """The active staff member whose browser session of generation ``epoch`` still holds.

    None once the account is disabled, or its sessions were ended (logout, a new password).
    One query: it runs before every page.
    """
    return session.scalar(
        select(Staff)
        .join(StaffLogin, StaffLogin.staff_id == Staff.id)
        .where(Staff.id == staff_id, Staff.active, StaffLogin.session_epoch == epoch)
    )


def end_sessions(session: Session, staff_id: int) -> None:
    """End every browser session of the account (logout)."""
    session.execute(
        update(StaffLogin)
        .where(StaffLogin.staff_id == staff_id)
        .values(session_epoch=StaffLogin.session_epoch + 1)
        .execution_options(synchronize_session=False)
    )

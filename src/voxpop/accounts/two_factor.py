"""Two-factor sign-in with an authenticator app (TOTP, RFC 6238: 6 digits, 30-second steps), one-time recovery
codes, and the roles for which the admin requires it."""

from __future__ import annotations

import hmac
import secrets
from collections import Counter
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from voxpop.accounts.models import ROLES, RecoveryCode, TwoFactor, TwoFactorRole, User
from voxpop.accounts.schemas import RoleTwoFactorPublic, SecurityPublic, TwoFactorPublic
from voxpop.accounts.service import AccountError
from voxpop.store.base import utcnow
from voxpop.store.ids import token_hash

ISSUER = "voxpop"
STEP = 30  # seconds per code
RECOVERY_CODES = 10
# A code of the step before or after is accepted too: a phone's clock a little off must not lock anyone out.
DRIFT_STEPS = 1


class CodeWrong(AccountError):
    """A code that is not the app's current code nor an unused recovery code."""


def state(*, db_session: Session, user_id: int) -> TwoFactor | None:
    """The user's authenticator secret, pending or enabled; None when they have none."""
    return db_session.get(TwoFactor, user_id)


def enabled(*, db_session: Session, user_id: int) -> bool:
    """Whether the user signs in with a code."""
    found = state(db_session=db_session, user_id=user_id)
    return found is not None and found.enabled_at is not None


def begin(*, db_session: Session, user_id: int) -> str:
    """A new secret for the user to add to their app, pending until confirmed (it replaces a pending one)."""
    if enabled(db_session=db_session, user_id=user_id):
        raise AccountError("two-factor sign-in is already on; turn it off first to move it to another app")
    secret = pyotp.random_base32()
    db_session.merge(TwoFactor(user_id=user_id, secret=secret, enabled_at=None, last_step=None))
    db_session.flush()
    return secret


def enrolment(secret: str, email: str) -> tuple[str, str]:
    """The secret grouped for typing, and its QR code (an otpauth:// link) as an SVG data URI."""
    link = pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)
    qr = segno.make(link, error="m").svg_data_uri(scale=4, title="QR code of the secret for your authenticator app")
    return " ".join(secret[index:index + 4] for index in range(0, len(secret), 4)), qr


def _step_of(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the drift allowed), or None."""
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp, current = pyotp.TOTP(secret), int(now.timestamp()) // STEP
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def _use_step(db_session: Session, user_id: int, step: int) -> bool:
    # One conditional UPDATE: of two requests with the same code at once, exactly one gets it.
    return db_session.execute(
        update(TwoFactor).where(TwoFactor.user_id == user_id,
                                or_(TwoFactor.last_step.is_(None), TwoFactor.last_step < step))
        .values(last_step=step).execution_options(synchronize_session=False)).rowcount == 1


def confirm(*, db_session: Session, user_id: int, code: str, now: datetime | None = None) -> list[str]:
    """Turn two-factor sign-in on with a code from the app; returns the new recovery codes (only hashes are kept)."""
    pending = state(db_session=db_session, user_id=user_id)
    if pending is None or pending.enabled_at is not None:
        raise AccountError("there is no secret waiting for a code; start again from your account page")
    now = now or utcnow()
    step = _step_of(pending.secret, code, now)
    if step is None or not _use_step(db_session, user_id, step):
        raise CodeWrong("that is not the code your app shows now; type the 6 digits it shows for voxpop", field="code")
    db_session.execute(update(TwoFactor).where(TwoFactor.user_id == user_id).values(enabled_at=now)
                       .execution_options(synchronize_session=False))
    return _new_recovery_codes(db_session, user_id)


def _new_recovery_codes(db_session: Session, user_id: int) -> list[str]:
    db_session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db_session.add_all(RecoveryCode(user_id=user_id, code_hash=token_hash(code)) for code in codes)
    db_session.flush()
    return codes


def check(*, db_session: Session, user_id: int, code: str, now: datetime | None = None) -> str:
    """Accept the app's code (once per step) or an unused recovery code (once); returns which ("app" or
    "recovery"), or raises CodeWrong."""
    now = now or utcnow()
    found = state(db_session=db_session, user_id=user_id)
    if found is None or found.enabled_at is None:
        raise CodeWrong("two-factor sign-in is not on for this account")
    step = _step_of(found.secret, code, now)
    if step is not None and _use_step(db_session, user_id, step):
        return "app"
    typed = "".join(code.split()).lower()
    if len(typed) <= 40 and db_session.execute(
            update(RecoveryCode).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None),
                                       RecoveryCode.code_hash == token_hash(typed))
            .values(used_at=now).execution_options(synchronize_session=False)).rowcount == 1:
        return "recovery"
    raise CodeWrong("that code is not right, or was used already; type the 6 digits your app shows now, or an "
                    "unused recovery code", field="code")


def recovery_codes_left(*, db_session: Session, user_id: int) -> int:
    """How many recovery codes the user has not used."""
    return len(db_session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id,
                                                                RecoveryCode.used_at.is_(None))).all())


def status(*, db_session: Session, user: User) -> TwoFactorPublic:
    """The user's two-factor state as their account page and the admin see it."""
    found = state(db_session=db_session, user_id=user.id)
    return TwoFactorPublic(enabled=found is not None and found.enabled_at is not None,
                           pending=found is not None and found.enabled_at is None,
                           required=db_session.get(TwoFactorRole, user.role) is not None,
                           recovery_codes_left=recovery_codes_left(db_session=db_session, user_id=user.id))


def by_role(*, db_session: Session) -> SecurityPublic:
    """Each role: whether it must sign in with a code, and how many of its active users have one set up."""
    required = required_roles(db_session=db_session)
    users = Counter(db_session.scalars(select(User.role).where(User.is_active)))
    enrolled = Counter(db_session.scalars(select(User.role).join(TwoFactor, TwoFactor.user_id == User.id)
                                          .where(User.is_active, TwoFactor.enabled_at.is_not(None))))
    return SecurityPublic(required_roles=required, roles=[
        RoleTwoFactorPublic(role=role, required=role in required, users=users[role], with_two_factor=enrolled[role])
        for role in ROLES])


def turn_off(*, db_session: Session, user_id: int) -> bool:
    """Remove the user's secret and recovery codes; returns whether two-factor sign-in was on."""
    was_on = enabled(db_session=db_session, user_id=user_id)
    db_session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    db_session.execute(delete(TwoFactor).where(TwoFactor.user_id == user_id))
    return was_on


def required_roles(*, db_session: Session) -> list[str]:
    """The roles whose users must sign in with a code, in the roles' order."""
    stored = set(db_session.scalars(select(TwoFactorRole.role)))
    return [role for role in ROLES if role in stored]


def set_required_roles(*, db_session: Session, roles: list[str]) -> tuple[list[str], list[str]]:
    """Require two-factor sign-in for exactly these roles; returns the roles before and after."""
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise AccountError(f"unknown role {unknown[0]!r}; choose among {', '.join(ROLES)}", field="roles")
    before = required_roles(db_session=db_session)
    db_session.execute(delete(TwoFactorRole))
    db_session.add_all(TwoFactorRole(role=role) for role in dict.fromkeys(roles))
    db_session.flush()
    return before, required_roles(db_session=db_session)


def must_enrol(*, db_session: Session, user: User) -> bool:
    """Whether the user's role requires a second factor that they have not set up yet."""
    return (db_session.get(TwoFactorRole, user.role) is not None
            and not enabled(db_session=db_session, user_id=user.id))

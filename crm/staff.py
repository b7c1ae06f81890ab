"""Staff users, their passwords and their dashboard sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults follow the RFC 9106 recommendations) and
re-hashed on login when those defaults change. Session tokens are random; only their SHA-256 is stored,
so a copy of the database does not let anyone log in.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from crm.models import AuditLog, StaffSession, StaffUser
from crm.types import utcnow

ROLES = ("agent", "manager", "admin")
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
# Verifying against this when the name is unknown keeps login timing the same for known and unknown names.
_DUMMY_HASH = _hasher.hash("not-a-password-" + secrets.token_hex(8))


def use_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Hash and verify passwords with ``hasher`` from now on; returns the one it replaces.

    Production never calls this (argon2-cffi's RFC 9106 defaults above). The test suite installs a cheap
    hasher, because full-cost argon2 in every fixture that adds staff dominates its run time. Hashes made
    with other parameters still verify (argon2 reads them from the hash) and are re-hashed on login.
    """
    global _hasher, _DUMMY_HASH
    previous, _hasher = _hasher, hasher
    _DUMMY_HASH = hasher.hash("not-a-password-" + secrets.token_hex(8))  # same cost as a real check
    return previous


class StaffError(ValueError):
    """A staff operation that cannot be done (unknown role, duplicate name…); the message says why."""


def role_at_least(role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do what a manager can, a manager what an agent can."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_name(name: str) -> str:
    """A staff name as stored and looked up: NFKC (full-width letters are the same name) without the
    surrounding whitespace of any kind (``"agent_hk  "`` or an em space before it is still agent_hk)."""
    return unicodedata.normalize("NFKC", name).strip()


def login_key(name: str) -> str:
    """The name as a login throttle counts it: every spelling that logs in as one account is one key."""
    return normalise_name(name).casefold()


async def find_by_name(session: AsyncSession, name: str) -> StaffUser | None:
    result = await session.execute(select(StaffUser).where(StaffUser.name == normalise_name(name)))
    return result.scalar_one_or_none()


async def find_by_telegram(session: AsyncSession, telegram_user_id: int) -> StaffUser | None:
    """The active staff member linked to this Telegram user, or None (strangers may not act)."""
    result = await session.execute(
        select(StaffUser).where(StaffUser.telegram_user_id == telegram_user_id, StaffUser.active == True)  # noqa: E712
    )
    return result.scalar_one_or_none()


async def list_staff(session: AsyncSession) -> list[StaffUser]:
    result = await session.execute(select(StaffUser).order_by(StaffUser.name))
    return list(result.scalars())


async def add_staff(
    session: AsyncSession,
    name: str,
    role: str,
    password: str,
    *,
    department: str | None = None,
    telegram_user_id: int | None = None,
    language: str | None = None,
    actor: str = "cli",
) -> StaffUser:
    name = normalise_name(name)
    if not name or len(name) > 100:
        raise StaffError("the name must be 1-100 characters")
    if role not in ROLES:
        raise StaffError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise StaffError("the password must have at least 8 characters")
    if await find_by_name(session, name) is not None:
        raise StaffError(f"a staff member called {name!r} already exists")
    if telegram_user_id is not None and await find_by_telegram(session, telegram_user_id) is not None:
        raise StaffError("that Telegram user is already linked to another staff member")
    user = StaffUser(
        name=name,
        role=role,
        department=department or None,
        password_hash=hash_password(password),
        telegram_user_id=telegram_user_id,
        language=language,  # None: the hotel's default language
    )
    session.add(user)
    await session.flush()
    session.add(AuditLog(actor=actor, action="staff.add", target=f"staff:{user.id}", detail=f"role={role}"))
    return user


async def set_password(session: AsyncSession, user: StaffUser, password: str, *, actor: str) -> None:
    if len(password) < 8:
        raise StaffError("the password must have at least 8 characters")
    user.password_hash = hash_password(password)
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == user.id))  # type: ignore[arg-type]
    session.add(AuditLog(actor=actor, action="staff.password", target=f"staff:{user.id}"))


@dataclass(frozen=True)
class LoginCandidate:
    """Whom a login names and the hash its password is checked against: the dummy for an unknown or
    inactive name, so that such a login costs the same check (no telling names apart by timing)."""

    user_id: int | None
    password_hash: str


@dataclass(frozen=True)
class Verified:
    """A password that matched, and the new hash when the stored one's parameters are outdated."""

    user_id: int
    password_hash: str
    new_hash: str | None


async def login_candidate(session: AsyncSession, name: str) -> LoginCandidate:
    user = await find_by_name(session, name)
    if user is None or not user.active or not user.password_hash:
        return LoginCandidate(None, _DUMMY_HASH)
    return LoginCandidate(user.id, user.password_hash)


def check_password(candidate: LoginCandidate, password: str) -> Verified | None:
    """argon2 verification (and re-hash): ~0.2 s of CPU by design, so callers run it in a worker thread,
    outside any transaction — never on the event loop, where it would stall every guest."""
    try:
        _hasher.verify(candidate.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if candidate.user_id is None:
        return None
    new_hash = _hasher.hash(password) if _hasher.check_needs_rehash(candidate.password_hash) else None
    return Verified(candidate.user_id, candidate.password_hash, new_hash)


async def finish_login(session: AsyncSession, verified: Verified) -> StaffUser | None:
    """The verified user, still active and with the password that was checked (it may have been changed or
    the account disabled while the check ran); stores the re-hash."""
    user = await session.get(StaffUser, verified.user_id)
    if user is None or not user.active or user.password_hash != verified.password_hash:
        return None
    if verified.new_hash is not None:
        user.password_hash = verified.new_hash
    return user


async def authenticate(session: AsyncSession, name: str, password: str) -> StaffUser | None:
    """The active user with this name and password, or None, in one go (command line and tests: the
    dashboard checks the password in a thread between two transactions, see bot.staff.auth)."""
    verified = check_password(await login_candidate(session, name), password)
    return await finish_login(session, verified) if verified is not None else None


@dataclass(frozen=True)
class LoggedIn:
    """A live dashboard session: who, and the CSRF token every form of theirs must carry."""

    user: StaffUser
    csrf_token: str


async def open_session(session: AsyncSession, user: StaffUser, *, now: datetime | None = None) -> str:
    """Start a session; returns the token for the cookie (the store keeps only its hash)."""
    assert user.id is not None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_token_hash(token),
            staff_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.execute(delete(StaffSession).where(StaffSession.expires_at < now))  # type: ignore[arg-type]
    session.add(AuditLog(actor=f"staff:{user.id}", action="staff.login", target=f"staff:{user.id}"))
    return token


async def resolve_session(session: AsyncSession, token: str, *, now: datetime | None = None) -> LoggedIn | None:
    if not token or len(token) > 100:
        return None
    row = await session.get(StaffSession, _token_hash(token))
    if row is None or row.expires_at < (now or utcnow()):
        return None
    user = await session.get(StaffUser, row.staff_id)
    if user is None or not user.active:
        return None
    return LoggedIn(user, row.csrf_token)


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == _token_hash(token)))  # type: ignore[arg-type]

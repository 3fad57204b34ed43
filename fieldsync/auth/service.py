"""Accounts of people: passwords, login sessions with rotating refresh tokens, users, devices."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import ROLES, AuthSession, Device, Organisation, User
from fieldsync.auth.scope import team_user_ids
from fieldsync.db import utcnow
from fieldsync.exceptions import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)


@dataclass(frozen=True)
class AuthSettings:
    """What the auth rules need from configuration, passed in explicitly."""

    secret_key: str
    access_ttl: int = 900
    refresh_ttl: int = 60 * 60 * 24 * 60
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4
    hasher: PasswordHasher = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "hasher",
            PasswordHasher(
                time_cost=self.argon2_time_cost,
                memory_cost=self.argon2_memory_cost,
                parallelism=self.argon2_parallelism,
            ),
        )

    def access_serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret_key, salt="fieldsync.access")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user: User
    device_id: uuid.UUID


class RefreshReuseError(UnauthorizedError):
    """An already used refresh token came back: the session is revoked and that must stick."""

    keep_changes = True


def hash_password(settings: AuthSettings, password: str) -> str:
    """Return an argon2id hash of the password."""
    return settings.hasher.hash(password)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _refresh_mac(settings: AuthSettings, session_id: uuid.UUID, generation: int, nonce: str) -> str:
    message = f"fieldsync.refresh:{session_id}.{generation}.{nonce}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _new_refresh_secret(settings: AuthSettings, session_id: uuid.UUID, generation: int) -> str:
    """``<nonce>.<mac>``: the MAC proves the server issued the token for this session and
    generation, so only a real (replayed) token of an older generation counts as a reuse; a
    forged one naming a session id (which access tokens carry) is merely invalid."""
    nonce = secrets.token_urlsafe(32)
    return f"{nonce}.{_refresh_mac(settings, session_id, generation, nonce)}"


# Verified against when the email is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH: dict[tuple[int, int, int], str] = {}


def _verify_password(settings: AuthSettings, user: User | None, password: str) -> bool:
    key = (settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism)
    if user is None:
        dummy = _DUMMY_HASH.setdefault(key, settings.hasher.hash("not-a-password"))
        with contextlib.suppress(VerificationError):
            settings.hasher.verify(dummy, password)
        return False
    try:
        return settings.hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_organisation(
    session: Session,
    settings: AuthSettings,
    *,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str | None = None,
    timezone: str = "Europe/Rome",
) -> tuple[Organisation, User]:
    """Create an organisation with its first admin."""
    organisation = Organisation(id=uuid.uuid4(), name=name, timezone=timezone)
    session.add(organisation)
    admin = add_user(
        session,
        settings,
        org_id=organisation.id,
        email=admin_email,
        name=admin_name or admin_email.split("@")[0],
        role="admin",
        password=admin_password,
    )
    return organisation, admin


def add_user(
    session: Session,
    settings: AuthSettings,
    *,
    org_id: uuid.UUID,
    email: str,
    name: str,
    role: str,
    password: str,
    manager_id: uuid.UUID | None = None,
    home_lat: float | None = None,
    home_lon: float | None = None,
    user_id: uuid.UUID | None = None,
) -> User:
    """Add a user with no permission check (CLI, demo, tests; routes use ``create_user``)."""
    email = email.strip().lower()
    if session.execute(select(User.id).where(User.email == email)).first():
        raise ConflictError(f"A user with email {email} already exists.")
    user = User(
        id=user_id or uuid.uuid4(),
        org_id=org_id,
        email=email,
        name=name,
        role=role,
        password_hash=hash_password(settings, password),
        manager_id=manager_id,
        home_lat=home_lat,
        home_lon=home_lon,
    )
    try:
        with session.begin_nested():  # a concurrent create of the same email loses here
            session.add(user)
    except IntegrityError:
        raise ConflictError(f"A user with email {email} already exists.") from None
    return user


# --- sessions and tokens ---------------------------------------------------------------------


def login(
    session: Session,
    settings: AuthSettings,
    *,
    email: str,
    password: str,
    device_id: uuid.UUID | None = None,
    device_name: str | None = None,
    platform: str | None = None,
    app_version: str | None = None,
) -> TokenPair:
    """Check credentials, register (or re-activate) the device and open a session."""
    user = session.execute(
        select(User).where(User.email == email.strip().lower(), User.active.is_(True))
    ).scalar_one_or_none()
    if not _verify_password(settings, user, password) or user is None:
        raise UnauthorizedError("Invalid email or password.")
    if settings.hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(settings, password)

    device = session.get(Device, device_id) if device_id else None
    if device is not None and device.user_id != user.id:
        raise ConflictError("This device_id is registered to another user; send a new one.")
    now = utcnow()
    if device is None:
        device = Device(id=device_id or uuid.uuid4(), org_id=user.org_id, user_id=user.id)
        try:
            with session.begin_nested():  # a concurrent login may register the same device_id
                session.add(device)
        except IntegrityError:
            device = session.get(Device, device_id) if device_id else None
            if device is None or device.user_id != user.id:
                raise ConflictError(
                    "This device_id is registered to another user; send a new one."
                ) from None
    # Logging in again with the password re-activates a revoked phone: the password is the proof.
    device.revoked_at = None
    device.name = device_name or device.name
    device.platform = platform or device.platform
    device.app_version = app_version or device.app_version
    device.last_seen_at = now
    session.flush()  # the session row below references the device
    return _open_session(session, settings, user=user, device=device)


def _open_session(
    session: Session, settings: AuthSettings, *, user: User, device: Device
) -> TokenPair:
    session_id = uuid.uuid4()
    secret = _new_refresh_secret(settings, session_id, 1)
    auth_session = AuthSession(
        id=session_id,
        org_id=user.org_id,
        user_id=user.id,
        device_id=device.id,
        generation=1,
        refresh_hash=_hash_secret(secret),
        refresh_expires_at=utcnow() + timedelta(seconds=settings.refresh_ttl),
    )
    session.add(auth_session)
    return _token_pair(settings, auth_session, user, secret)


def _token_pair(
    settings: AuthSettings, auth_session: AuthSession, user: User, secret: str
) -> TokenPair:
    access = settings.access_serializer().dumps({"sid": str(auth_session.id)})
    refresh = f"{auth_session.id}.{auth_session.generation}.{secret}"
    return TokenPair(
        access_token=str(access),
        refresh_token=refresh,
        expires_in=settings.access_ttl,
        user=user,
        device_id=auth_session.device_id,
    )


def refresh(session: Session, settings: AuthSettings, *, refresh_token: str) -> TokenPair:
    """Exchange a refresh token (once) for a new pair; a replayed token revokes the session."""
    invalid = UnauthorizedError("Invalid or expired refresh token.")
    try:
        raw_id, raw_generation, secret = refresh_token.split(".", 2)
        session_id, generation = uuid.UUID(raw_id), int(raw_generation)
        nonce, mac = secret.rsplit(".", 1)
        expected_mac = _refresh_mac(settings, session_id, generation, nonce)
        issued = hmac.compare_digest(mac.encode(), expected_mac.encode())
    except ValueError:  # UnicodeEncodeError included (a lone surrogate)
        raise invalid from None
    if not issued:  # not a token of ours: never a reason to revoke anything
        raise invalid
    # Row lock: two refreshes racing with the same token must not both succeed.
    auth_session = session.execute(
        select(AuthSession).where(AuthSession.id == session_id).with_for_update()
    ).scalar_one_or_none()
    if auth_session is None or auth_session.revoked_at is not None:
        raise invalid
    if generation != auth_session.generation:
        if generation < auth_session.generation:
            _revoke_sessions(session, [auth_session], reason="refresh_reuse")
            raise RefreshReuseError("Refresh token already used; the session is revoked.")
        raise invalid
    if not hmac.compare_digest(_hash_secret(secret), auth_session.refresh_hash):
        raise invalid
    if auth_session.refresh_expires_at <= utcnow():
        raise invalid
    user, device = _session_user_device(session, auth_session)
    if user is None or device is None:
        raise invalid
    new_secret = _new_refresh_secret(settings, auth_session.id, auth_session.generation + 1)
    auth_session.generation += 1
    auth_session.refresh_hash = _hash_secret(new_secret)
    auth_session.refresh_expires_at = utcnow() + timedelta(seconds=settings.refresh_ttl)
    device.last_seen_at = utcnow()
    return _token_pair(settings, auth_session, user, new_secret)


def _session_user_device(
    session: Session, auth_session: AuthSession
) -> tuple[User | None, Device | None]:
    user = session.get(User, auth_session.user_id)
    device = session.get(Device, auth_session.device_id)
    if user is None or not user.active:
        return None, None
    if device is None or device.revoked_at is not None:
        return user, None
    return user, device


def authenticate(session: Session, settings: AuthSettings, *, access_token: str) -> Actor:
    """Resolve a bearer token to an actor; revoked sessions and devices fail at once."""
    try:
        payload = settings.access_serializer().loads(access_token, max_age=settings.access_ttl)
        session_id = uuid.UUID(str(payload["sid"]))
    except SignatureExpired:
        raise UnauthorizedError("Access token expired; refresh it.") from None
    except (BadSignature, KeyError, TypeError, ValueError):
        raise UnauthorizedError("Invalid access token.") from None
    row = session.execute(
        select(AuthSession, User, Device)
        .join(User, User.id == AuthSession.user_id)
        .join(Device, Device.id == AuthSession.device_id)
        .where(AuthSession.id == session_id)
    ).first()
    if row is None:
        raise UnauthorizedError("Invalid access token.")
    auth_session, user, device = row
    if auth_session.revoked_at is not None or device.revoked_at is not None or not user.active:
        raise UnauthorizedError("This session has been revoked; log in again.")
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        role=user.role,
        device_id=device.id,
        session_id=auth_session.id,
    )


def logout(session: Session, *, actor: Actor) -> None:
    """Revoke every session of the caller's device."""
    if actor.device_id is None:
        return
    sessions = session.execute(
        select(AuthSession).where(
            AuthSession.device_id == actor.device_id, AuthSession.revoked_at.is_(None)
        )
    ).scalars()
    _revoke_sessions(session, list(sessions), reason="logout")


def _revoke_sessions(session: Session, sessions: list[AuthSession], *, reason: str) -> None:
    now = utcnow()
    for auth_session in sessions:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason


def _revoke_where(session: Session, *conditions: Any, reason: str) -> None:
    session.execute(
        update(AuthSession)
        .where(AuthSession.revoked_at.is_(None), *conditions)
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )


# --- users -----------------------------------------------------------------------------------


def _visible_user_ids(session: Session, actor: Actor) -> set[uuid.UUID] | None:
    if actor.is_rep:
        me = session.get(User, actor.user_id)
        return {actor.user_id} | ({me.manager_id} if me and me.manager_id else set())
    return team_user_ids(session, actor)


def list_users(session: Session, *, actor: Actor) -> list[User]:
    """Return the users the actor may see, by name."""
    stmt = select(User).where(User.org_id == actor.org_id).order_by(User.name, User.id)
    visible = _visible_user_ids(session, actor)
    if visible is not None:
        stmt = stmt.where(User.id.in_(visible))
    return list(session.execute(stmt).scalars())


def get_user(session: Session, *, actor: Actor, user_id: uuid.UUID) -> User:
    """Return one visible user or raise NotFound."""
    user = session.get(User, user_id)
    visible = _visible_user_ids(session, actor)
    if (
        user is None
        or user.org_id != actor.org_id
        or (visible is not None and user_id not in visible)
    ):
        raise NotFoundError("User not found.")
    return user


def _check_manager_id(session: Session, actor: Actor, manager_id: uuid.UUID | None) -> None:
    if manager_id is None:
        return
    manager = session.get(User, manager_id)
    if manager is None or manager.org_id != actor.org_id or manager.role == "rep":
        raise ValidationError(
            "manager_id must name a manager or admin of the organisation.",
            fields={"manager_id": ["Not a manager of this organisation."]},
        )


def create_user(
    session: Session, settings: AuthSettings, *, actor: Actor, data: dict[str, Any]
) -> User:
    """Create a user: admins create any role, managers create reps of their own team."""
    if actor.is_rep:
        raise ForbiddenError("Reps cannot create users.")
    role = data["role"]
    manager_id = data.get("manager_id")
    if actor.is_manager:
        if role != "rep":
            raise ForbiddenError("Managers can only create reps.")
        manager_id = manager_id or actor.user_id
        team = team_user_ids(session, actor) or {actor.user_id}
        if manager_id not in team:
            raise ForbiddenError("Managers can only create reps for their own team.")
    _check_manager_id(session, actor, manager_id)
    home = data.get("home_location") or {}
    return add_user(
        session,
        settings,
        org_id=actor.org_id,
        email=data["email"],
        name=data["name"],
        role=role,
        password=data["password"],
        manager_id=manager_id,
        home_lat=home.get("lat"),
        home_lon=home.get("lon"),
    )


def update_user(
    session: Session,
    settings: AuthSettings,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    data: dict[str, Any],
) -> User:
    """Change a user: self (name, password, home), a manager's reps, or anyone for admins."""
    user = get_user(session, actor=actor, user_id=user_id)
    is_self = user.id == actor.user_id
    privileged = {"role", "manager_id", "email"} & set(data)
    if actor.is_rep and not is_self:
        raise ForbiddenError("Reps can only change their own profile.")
    if actor.is_manager and not is_self and user.role != "rep":
        raise ForbiddenError("Managers can only change reps of their team.")
    if privileged and not actor.is_admin and (is_self or data.get("role", "rep") != "rep"):
        raise ForbiddenError(f"Not allowed to change {', '.join(sorted(privileged))}.")
    if "email" in data and data["email"].strip().lower() != user.email:
        email = data["email"].strip().lower()
        if session.execute(select(User.id).where(User.email == email)).first():
            raise ConflictError(f"A user with email {email} already exists.")
        user.email = email
    if "manager_id" in data:
        _check_manager_id(session, actor, data["manager_id"])
        if data["manager_id"] == user.id:
            raise ValidationError(
                "A user cannot manage themself.", fields={"manager_id": ["Self."]}
            )
        user.manager_id = data["manager_id"]
    if "role" in data:
        if data["role"] not in ROLES:
            raise ValidationError("Unknown role.", fields={"role": ["Unknown role."]})
        user.role = data["role"]
    if "name" in data:
        user.name = data["name"]
    if "home_location" in data:
        home = data["home_location"] or {}
        user.home_lat, user.home_lon = home.get("lat"), home.get("lon")
    if "password" in data:
        user.password_hash = hash_password(settings, data["password"])
        # A new password ends the other sessions (a leaked password stops working everywhere).
        _revoke_where(
            session,
            AuthSession.user_id == user.id,
            AuthSession.id != actor.session_id,
            reason="password_changed",
        )
    user.version += 1
    session.flush()  # updated_at for the response
    return user


def deactivate_user(session: Session, *, actor: Actor, user_id: uuid.UUID) -> None:
    """Deactivate a user (admins, or a manager for a rep of theirs) and end their sessions."""
    user = get_user(session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        raise ForbiddenError("You cannot delete yourself.")
    if actor.is_rep or (actor.is_manager and user.role != "rep"):
        raise ForbiddenError("Not allowed to delete this user.")
    user.active = False
    user.version += 1
    _revoke_where(session, AuthSession.user_id == user.id, reason="user_deleted")


# --- devices ---------------------------------------------------------------------------------


def list_devices(session: Session, *, actor: Actor) -> list[Device]:
    """Admins see the organisation's devices, managers their team's, others their own."""
    stmt = select(Device).where(Device.org_id == actor.org_id)
    team = team_user_ids(session, actor)
    if team is not None:
        stmt = stmt.where(Device.user_id.in_(team))
    return list(session.execute(stmt.order_by(Device.created_at, Device.id)).scalars())


def revoke_device(session: Session, *, actor: Actor, device_id: uuid.UUID) -> None:
    """Revoke a (lost) phone: its tokens stop working on the next request."""
    device = session.get(Device, device_id)
    if device is None or device.org_id != actor.org_id:
        raise NotFoundError("Device not found.")
    if not actor.is_admin and device.user_id != actor.user_id:
        visible = team_user_ids(session, actor)
        if visible is not None and device.user_id not in visible:
            raise NotFoundError("Device not found.")
        raise ForbiddenError("Only an admin or the device's owner can revoke it.")
    device.revoked_at = utcnow()
    _revoke_where(session, AuthSession.device_id == device.id, reason="device_revoked")


def touch_device(session: Session, *, actor: Actor, at: datetime | None = None) -> None:
    """Record that the actor's device was seen (cheap: one UPDATE)."""
    if actor.device_id is not None:
        session.execute(
            update(Device).where(Device.id == actor.device_id).values(last_seen_at=at or utcnow())
        )

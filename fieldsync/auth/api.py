"""Routes for login sessions, users and devices: parse, call the service, serialise."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app
from flask.views import MethodView

from fieldsync.auth import service
from fieldsync.auth.models import Device
from fieldsync.auth.schemas import (
    DeviceListSchema,
    LoginSchema,
    RefreshSchema,
    TokenSchema,
    UserCreateSchema,
    UserListSchema,
    UserSchema,
    UserUpdateSchema,
)
from fieldsync.errors import ConflictError
from fieldsync.extensions import Blueprint, client_address, db, limiter, login_email_key
from fieldsync.sync.service import device_lags
from fieldsync.web import auth_settings, current_actor, public

auth_blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login sessions")
me_blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller")
users_blp = Blueprint("users", __name__, url_prefix="/api/v1/users", description="Users")
devices_blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices", description="Devices")


def _per_account_limit() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


def _per_ip_limit() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_IP"])


def _ip_key(prefix: str) -> Any:
    return lambda: f"{prefix}:{client_address()}"


def _forgive_attempts() -> None:
    """The right password was given: clear the attempts counted against this account."""
    for request_limit in limiter.current_limits:
        if any(str(arg).startswith("login:") for arg in request_limit.request_args):
            request_limit.limiter.clear(request_limit.limit, *request_limit.request_args)


def _tokens(pair: service.TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "expires_in": pair.expires_in,
        "user": pair.user,
        "device_id": pair.device_id,
    }


@auth_blp.route("/login")
@public
class Login(MethodView):
    decorators = [
        limiter.limit(_per_ip_limit, key_func=_ip_key("login-ip")),
        # Every attempt is counted before the password is checked (an atomic hit): a check
        # first and a deduction after the response would let parallel guesses all pass.
        # Proving the password then forgives the account's count (_forgive_attempts).
        limiter.limit(_per_account_limit, key_func=login_email_key),
    ]

    @auth_blp.arguments(LoginSchema)
    @auth_blp.response(200, TokenSchema)
    @auth_blp.alt_response(401, description="Wrong email or password")
    @auth_blp.alt_response(429, description="Too many failed attempts (see Retry-After)")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Log in and register the device.

        Returns an access token (short-lived) and a refresh token (single use). Failed attempts
        are limited per account and per IP address.
        """
        try:
            pair = service.login(db.session, auth_settings(), **body)
        except ConflictError:  # raised after the password was verified
            _forgive_attempts()
            raise
        _forgive_attempts()
        return _tokens(pair)


@auth_blp.route("/refresh")
@public
class Refresh(MethodView):
    decorators = [limiter.limit(_per_ip_limit, key_func=_ip_key("refresh-ip"))]

    @auth_blp.arguments(RefreshSchema)
    @auth_blp.response(200, TokenSchema)
    @auth_blp.alt_response(401, description="Invalid, expired or already used refresh token")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a refresh token for a new pair; the old one stops working."""
        pair = service.refresh(db.session, auth_settings(), refresh_token=body["refresh_token"])
        return _tokens(pair)


@auth_blp.route("/logout")
class Logout(MethodView):
    @auth_blp.response(204)
    def post(self) -> None:
        """End the device's sessions: its tokens stop working at once."""
        service.logout(db.session, actor=current_actor())


@me_blp.route("")
class Me(MethodView):
    @me_blp.response(200, UserSchema)
    def get(self) -> Any:
        """The authenticated user."""
        actor = current_actor()
        return service.get_user(db.session, actor=actor, user_id=actor.user_id)


@users_blp.route("")
class Users(MethodView):
    @users_blp.response(200, UserListSchema)
    def get(self) -> dict[str, Any]:
        """Users the caller may see: admins all, managers their team, reps themself and their
        manager."""
        return {"items": service.list_users(db.session, actor=current_actor()), "next_cursor": None}

    @users_blp.arguments(UserCreateSchema)
    @users_blp.response(201, UserSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a user (admins: any role; managers: reps of their team)."""
        return service.create_user(db.session, auth_settings(), actor=current_actor(), data=body)


@users_blp.route("/<uuid:user_id>")
class UserById(MethodView):
    @users_blp.response(200, UserSchema)
    def get(self, user_id: uuid.UUID) -> Any:
        """One user."""
        return service.get_user(db.session, actor=current_actor(), user_id=user_id)

    @users_blp.arguments(UserUpdateSchema)
    @users_blp.response(200, UserSchema)
    def patch(self, body: dict[str, Any], user_id: uuid.UUID) -> Any:
        """Change a user. A new password ends the user's other sessions."""
        return service.update_user(
            db.session, auth_settings(), actor=current_actor(), user_id=user_id, data=body
        )

    @users_blp.response(204)
    def delete(self, user_id: uuid.UUID) -> None:
        """Deactivate a user and end their sessions (their records stay)."""
        service.deactivate_user(db.session, actor=current_actor(), user_id=user_id)


@devices_blp.route("")
class Devices(MethodView):
    @devices_blp.response(200, DeviceListSchema)
    def get(self) -> dict[str, Any]:
        """Registered devices with their last push and pull, last changeset and cursor lag."""
        devices = service.list_devices(db.session, actor=current_actor())
        lags = device_lags(db.session, devices)
        items = [
            {
                **{c.key: getattr(d, c.key) for c in Device.__table__.columns},
                "cursor_lag": lags[d.id],
            }
            for d in devices
        ]
        return {"items": items, "next_cursor": None}


@devices_blp.route("/<uuid:device_id>")
class DeviceById(MethodView):
    @devices_blp.response(204)
    def delete(self, device_id: uuid.UUID) -> None:
        """Revoke a device (admin, or its owner): its tokens stop working at once."""
        service.revoke_device(db.session, actor=current_actor(), device_id=device_id)


blueprints = (auth_blp, me_blp, users_blp, devices_blp)

"""Who is asking, and may they? FastAPI dependencies for the context, principals and roles.

Browsers authenticate with a session cookie and must echo their session's CSRF token in the
``X-CSRF-Token`` header on every write; scripts and devices send ``Authorization: Bearer``
tokens, which a foreign web page cannot attach, so they need no CSRF token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from smartbms.server.context import ServerContext
from smartbms.server.schemas import DB_INT_MAX
from smartbms.server.security import Role, same_secret, secret_hash

SESSION_COOKIE = "smartbms_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    name: str  # username, or "token:<name>" for API and device tokens
    role: Role
    kind: str  # "session", "api" or "device"
    user_id: int | None = None
    pack_id: str | None = None  # the one pack a device token may post
    csrf_token: str | None = None
    must_change_password: bool = False
    session_hash: str | None = None


def get_context(request: Request) -> ServerContext:
    return request.app.state.context  # type: ignore[no-any-return]


def identify(request: Request, ctx: ServerContext) -> Principal | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise HTTPException(401, "use 'Authorization: Bearer <token>'")
        token = ctx.storage.find_token(secret_hash(secret.strip()))
        if token is None:
            raise HTTPException(401, "unknown or revoked token")
        return Principal(
            name=f"token:{token.name}",
            role=Role(token.role),
            kind=token.kind,
            pack_id=token.pack_id,
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session_hash = secret_hash(cookie)
    session = ctx.storage.get_session(session_hash)
    if session is None or session.expires_at < time.time():
        return None
    user = ctx.storage.get_user(user_id=session.user_id)
    if user is None:
        return None
    return Principal(
        name=user.username,
        role=Role(user.role),
        kind="session",
        user_id=user.id,
        csrf_token=session.csrf_token,
        must_change_password=user.must_change_password,
        session_hash=session_hash,
    )


def check_csrf(request: Request, principal: Principal) -> None:
    if principal.kind != "session" or request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or principal.csrf_token is None or not same_secret(sent, principal.csrf_token):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")


def require(role: Role, *, allow_password_change: bool = False) -> Callable[..., Principal]:
    """A dependency admitting logged-in users and API tokens with at least ``role``."""

    def dependency(request: Request, ctx: Annotated[ServerContext, Depends(get_context)]) -> Principal:
        principal = identify(request, ctx)
        if principal is None:
            raise HTTPException(401, "log in first", headers={"WWW-Authenticate": "Bearer"})
        if principal.kind == "device":
            raise HTTPException(403, "device tokens may only post their own pack's telemetry")
        check_csrf(request, principal)
        if (
            principal.must_change_password
            and not allow_password_change
            and request.method not in SAFE_METHODS
        ):
            raise HTTPException(403, "change the one-time password first")
        if not principal.role.allows(role):
            raise HTTPException(403, f"needs the {role.value} role (you are {principal.role.value})")
        return principal

    return dependency


def require_ingest(request: Request, ctx: Annotated[ServerContext, Depends(get_context)]) -> Principal:
    """Device tokens for their own pack, or admin API tokens for any pack."""
    principal = identify(request, ctx)
    if principal is None:
        raise HTTPException(401, "post telemetry with a device token", headers={"WWW-Authenticate": "Bearer"})
    check_csrf(request, principal)
    pack_id = request.path_params.get("pack_id")
    if principal.kind == "device":
        if pack_id is not None and principal.pack_id != pack_id:
            raise HTTPException(403, "this device token may only post its own pack")
        return principal
    if not principal.role.allows(Role.ADMIN):
        raise HTTPException(403, "needs a device token for this pack or the admin role")
    return principal


viewer = require(Role.VIEWER)
operator = require(Role.OPERATOR)
admin = require(Role.ADMIN)


# A row id in a URL: out of the database's integer range it can name no row (422, not 500).
PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]

"""Login, logout, who am I, password change."""

from __future__ import annotations

import secrets
import time
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response

from smartbms.server.context import ServerContext
from smartbms.server.deps import SESSION_COOKIE, Principal, get_context, identify, require
from smartbms.server.schemas import LoginIn, Me, PasswordChangeIn
from smartbms.server.security import Role, secret_hash

router = APIRouter(prefix="/api/auth", tags=["auth"])
Ctx = Annotated[ServerContext, Depends(get_context)]


def _me(p: Principal) -> Me:
    return Me(
        username=p.name,
        role=p.role,
        kind=p.kind,
        csrf_token=p.csrf_token,
        must_change_password=p.must_change_password,
    )


@router.post("/login", responses={401: {}, 429: {}})
def login(body: LoginIn, request: Request, response: Response, ctx: Ctx) -> Me:
    client = request.client.host if request.client else "unknown"
    keys = [f"ip:{client}", f"user:{body.username}"]
    wait = ctx.limiter.retry_after(keys)
    if wait > 0:
        raise HTTPException(
            429, "too many failed logins; try again later", headers={"Retry-After": str(int(wait) + 1)}
        )
    user = ctx.storage.get_user(username=body.username)
    if user is None or not ctx.hasher.verify(user.password_hash, body.password):
        ctx.limiter.failed(keys)
        raise HTTPException(401, "wrong username or password")
    ctx.limiter.succeeded(keys)
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    ctx.storage.create_session(secret_hash(session), user.id, csrf, time.time() + ctx.config.session_ttl_s)
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=int(ctx.config.session_ttl_s),
        httponly=True,
        samesite="strict",
        secure=ctx.config.secure_cookies,
        path="/",
    )
    return Me(
        username=user.username,
        role=Role(user.role),
        kind="session",
        csrf_token=csrf,
        must_change_password=user.must_change_password,
    )


@router.post("/logout", status_code=204, responses={401: {}, 403: {}})
def logout(
    response: Response,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Role.VIEWER, allow_password_change=True))],
) -> None:
    if principal.session_hash:
        ctx.storage.delete_session(principal.session_hash)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", responses={401: {}})
def me(request: Request, ctx: Ctx) -> Me:
    principal = identify(request, ctx)
    if principal is None:
        raise HTTPException(401, "not logged in")
    return _me(principal)


@router.post("/password", status_code=204, responses={400: {}, 401: {}, 403: {}})
def change_password(
    body: PasswordChangeIn,
    ctx: Ctx,
    principal: Annotated[Principal, Depends(require(Role.VIEWER, allow_password_change=True))],
) -> None:
    if principal.user_id is None:
        raise HTTPException(400, "tokens have no password")
    user = ctx.storage.get_user(user_id=principal.user_id)
    if user is None or not ctx.hasher.verify(user.password_hash, body.current_password):
        raise HTTPException(403, "the current password is wrong")
    ctx.storage.update_user(user.id, password_hash=ctx.hasher.hash(body.new_password), must_change=False)
    ctx.storage.add_audit(principal.name, "user.password", f"user:{user.username}", "***", "***")

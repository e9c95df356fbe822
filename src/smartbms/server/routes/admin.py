"""Users, API and device tokens, the audit trail and the server status."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from smartbms.server.context import ServerContext
from smartbms.server.deps import PathId, Principal, admin, get_context, viewer
from smartbms.server.schemas import (
    AuditOut,
    StatusOut,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from smartbms.server.security import Role, new_secret, secret_hash
from smartbms.server.storage.records import User

router = APIRouter(prefix="/api", tags=["admin"])
Ctx = Annotated[ServerContext, Depends(get_context)]
Admin = Annotated[Principal, Depends(admin)]
Viewer = Annotated[Principal, Depends(viewer)]
WRITE: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}, 409: {}}


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        must_change_password=user.must_change_password,
        created_at=user.created_at,
    )


@router.get("/users", responses={401: {}, 403: {}})
def list_users(ctx: Ctx, _: Admin) -> list[UserOut]:
    return [_user_out(u) for u in ctx.storage.list_users()]


@router.post("/users", status_code=201, responses=WRITE)
def create_user(body: UserIn, ctx: Ctx, principal: Admin) -> UserOut:
    if ctx.storage.get_user(username=body.username) is not None:
        raise HTTPException(409, f"user {body.username!r} exists")
    user = ctx.storage.create_user(body.username, ctx.hasher.hash(body.password), body.role)
    ctx.storage.add_audit(principal.name, "user.create", f"user:{user.username}", None, {"role": user.role})
    return _user_out(user)


def _other_admins(ctx: ServerContext, user_id: int) -> int:
    return sum(1 for u in ctx.storage.list_users() if u.role == Role.ADMIN and u.id != user_id)


@router.patch("/users/{user_id}", responses=WRITE)
def update_user(user_id: PathId, body: UserPatch, ctx: Ctx, principal: Admin) -> UserOut:
    user = ctx.storage.get_user(user_id=user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    if (
        body.role is not None
        and body.role != Role.ADMIN
        and user.role == Role.ADMIN
        and not _other_admins(ctx, user_id)
    ):
        raise HTTPException(409, "the last admin cannot be demoted")
    ctx.storage.update_user(
        user_id,
        role=body.role,
        password_hash=ctx.hasher.hash(body.password) if body.password else None,
        must_change=True if body.password else None,
    )
    if body.role is not None and body.role != user.role:
        ctx.storage.add_audit(principal.name, "user.role", f"user:{user.username}", user.role, body.role)
    if body.password:
        ctx.storage.delete_user_sessions(user_id)
        ctx.storage.add_audit(principal.name, "user.password", f"user:{user.username}", "***", "***")
    updated = ctx.storage.get_user(user_id=user_id)
    assert updated is not None
    return _user_out(updated)


@router.delete("/users/{user_id}", status_code=204, responses=WRITE)
def delete_user(user_id: PathId, ctx: Ctx, principal: Admin) -> None:
    user = ctx.storage.get_user(user_id=user_id)
    if user is None:
        raise HTTPException(404, f"no user {user_id}")
    if user.role == Role.ADMIN and not _other_admins(ctx, user_id):
        raise HTTPException(409, "the last admin cannot be deleted")
    ctx.storage.delete_user(user_id)
    ctx.storage.add_audit(principal.name, "user.delete", f"user:{user.username}", {"role": user.role}, None)


def _token_out(token: object) -> TokenOut:
    return TokenOut(**asdict(token))  # type: ignore[call-overload]


@router.get("/tokens", responses={401: {}, 403: {}})
def list_tokens(ctx: Ctx, _: Admin) -> list[TokenOut]:
    return [
        TokenOut(**{k: v for k, v in asdict(t).items() if k != "last_used_at"})
        for t in ctx.storage.list_tokens()
    ]


@router.post("/tokens", status_code=201, responses=WRITE | {422: {}})
def create_token(body: TokenIn, ctx: Ctx, principal: Admin) -> TokenCreated:
    """A new API token (acts with its role) or device token (posts its pack only); secret shown once."""
    if body.kind == "device":
        if not body.pack_id:
            raise HTTPException(422, "a device token needs the pack_id it may post")
        if ctx.storage.get_pack(body.pack_id) is None:
            ctx.storage.ensure_pack(body.pack_id, source="remote")
        role = Role.VIEWER
    else:
        role = body.role
    secret = new_secret("sbmsd" if body.kind == "device" else "sbmsk")
    token = ctx.storage.create_token(
        secret_hash(secret),
        name=body.name,
        kind=body.kind,
        role=role,
        pack_id=body.pack_id,
        created_by=principal.name,
    )
    ctx.storage.add_audit(
        principal.name,
        "token.create",
        f"token:{token.id}",
        None,
        {"name": token.name, "kind": token.kind, "role": token.role, "pack_id": token.pack_id},
    )
    data = {k: v for k, v in asdict(token).items() if k != "last_used_at"}
    return TokenCreated(**data, token=secret)


@router.delete("/tokens/{token_id}", status_code=204, responses=WRITE)
def delete_token(token_id: PathId, ctx: Ctx, principal: Admin) -> None:
    if not ctx.storage.delete_token(token_id):
        raise HTTPException(404, f"no token {token_id}")
    ctx.storage.add_audit(principal.name, "token.revoke", f"token:{token_id}", "active", "revoked")


@router.get("/audit", responses={401: {}})
def audit(
    ctx: Ctx,
    _: Viewer,
    target: Annotated[str | None, Query(max_length=200, description="prefix, e.g. pack:local")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[AuditOut]:
    """Who changed what and when, newest first (secrets never appear here)."""
    return [AuditOut(**asdict(e)) for e in ctx.storage.audit_log(target_prefix=target, limit=limit)]


@router.get("/status", responses={401: {}})
def status(ctx: Ctx, _: Viewer) -> StatusOut:
    s = ctx.stats
    return StatusOut(
        packs=len(ctx.storage.list_packs()),
        samples_stored=s.samples_stored,
        samples_duplicate=s.samples_duplicate,
        samples_rejected=s.samples_rejected,
        posts=s.posts,
        live_subscribers=ctx.hub.subscriber_count,
        storage_commits=getattr(ctx.storage, "commits", 0),
    )

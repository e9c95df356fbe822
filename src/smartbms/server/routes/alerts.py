"""Alert rules, notification channels and alert episodes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from smartbms.server.context import ServerContext
from smartbms.server.deps import PathId, Principal, admin, get_context, viewer
from smartbms.server.schemas import ChannelIn, ChannelOut, EpisodeOut, RuleIn, RuleOut
from smartbms.server.storage.records import AlertRule

router = APIRouter(prefix="/api/alerts", tags=["alerts"])
Ctx = Annotated[ServerContext, Depends(get_context)]
Admin = Annotated[Principal, Depends(admin)]
Viewer = Annotated[Principal, Depends(viewer)]
WRITE: dict[int | str, dict[str, Any]] = {401: {}, 403: {}, 404: {}}


def _rule_out(rule: AlertRule) -> RuleOut:
    return RuleOut(**asdict(rule))


@router.get("/rules")
def list_rules(ctx: Ctx, _: Viewer) -> list[RuleOut]:
    return [_rule_out(r) for r in ctx.storage.list_rules()]


@router.post("/rules", status_code=201, responses=WRITE | {422: {}})
def create_rule(body: RuleIn, ctx: Ctx, principal: Admin) -> RuleOut:
    """Trips when the field stays beyond ``trip`` for ``duration_s``; clears once back past ``clear``."""
    wrong_side = body.clear > body.trip if body.op == "above" else body.clear < body.trip
    if wrong_side:
        raise HTTPException(
            422, f"for an '{body.op}' rule the clear threshold must not lie beyond the trip threshold"
        )
    rule = ctx.storage.create_rule(
        AlertRule(0, body.name, body.pack_id, body.field, body.op, body.trip, body.clear, body.duration_s)
    )
    ctx.alerts.reload()
    ctx.storage.add_audit(principal.name, "alert.rule.create", f"rule:{rule.id}", None, body.model_dump())
    return _rule_out(rule)


@router.delete("/rules/{rule_id}", status_code=204, responses=WRITE)
def delete_rule(rule_id: PathId, ctx: Ctx, principal: Admin) -> None:
    if not ctx.storage.delete_rule(rule_id):
        raise HTTPException(404, f"no rule {rule_id}")
    ctx.alerts.reload()
    ctx.storage.add_audit(principal.name, "alert.rule.delete", f"rule:{rule_id}", "active", None)


@router.get("/channels", responses={401: {}, 403: {}})
def list_channels(ctx: Ctx, _: Admin) -> list[ChannelOut]:
    return [ChannelOut(**asdict(c)) for c in ctx.storage.list_channels()]


@router.post("/channels", status_code=201, responses=WRITE | {422: {}})
def create_channel(body: ChannelIn, ctx: Ctx, principal: Admin) -> ChannelOut:
    if body.kind == "webhook" and not body.target.startswith(("http://", "https://")):
        raise HTTPException(422, "a webhook target must be an http:// or https:// URL")
    if body.kind == "email" and "@" not in body.target:
        raise HTTPException(422, "an e-mail target must be an address")
    channel = ctx.storage.create_channel(body.kind, body.target)
    ctx.storage.add_audit(
        principal.name, "alert.channel.create", f"channel:{channel.id}", None, body.model_dump()
    )
    return ChannelOut(**asdict(channel))


@router.delete("/channels/{channel_id}", status_code=204, responses=WRITE)
def delete_channel(channel_id: PathId, ctx: Ctx, principal: Admin) -> None:
    if not ctx.storage.delete_channel(channel_id):
        raise HTTPException(404, f"no channel {channel_id}")
    ctx.storage.add_audit(principal.name, "alert.channel.delete", f"channel:{channel_id}", "active", None)


@router.get("/episodes")
def episodes(
    ctx: Ctx,
    _: Viewer,
    pack_id: str | None = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[EpisodeOut]:
    return [
        EpisodeOut(**asdict(e))
        for e in ctx.storage.episodes(pack_id=pack_id, open_only=open_only, limit=limit)
    ]

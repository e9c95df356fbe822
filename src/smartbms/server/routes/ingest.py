"""Telemetry from other smartbms instances (``HttpUplink``), authenticated by device tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path
from pydantic import ValidationError

from smartbms.errors import SettingsError
from smartbms.server.context import ServerContext
from smartbms.server.deps import Principal, get_context, require_ingest
from smartbms.server.schemas import PACK_ID_PATTERN, CommandFor, IngestIn, IngestOut, Rejected, TelemetryIn

router = APIRouter(prefix="/api", tags=["ingest"])
Ctx = Annotated[ServerContext, Depends(get_context)]
Poster = Annotated[Principal, Depends(require_ingest)]


@router.post("/packs/{pack_id}/ingest", responses={401: {}, 403: {}, 422: {}})
def ingest_pack(
    pack_id: Annotated[str, Path(pattern=PACK_ID_PATTERN)], body: IngestIn, ctx: Ctx, _: Poster
) -> IngestOut:
    """Store a batch of samples; answers only once they are durable. Bad samples are listed, never stored."""
    return _ingest(ctx, pack_id, body)


@router.post("/ingest", responses={401: {}, 403: {}, 422: {}})
def ingest_own_pack(body: IngestIn, ctx: Ctx, principal: Poster) -> IngestOut:
    """The same for a device token, into the pack the token belongs to."""
    if principal.kind != "device" or principal.pack_id is None:
        raise HTTPException(403, "post to /api/packs/{pack_id}/ingest unless you hold a device token")
    return _ingest(ctx, principal.pack_id, body)


def _ingest(ctx: ServerContext, pack_id: str, body: IngestIn) -> IngestOut:
    good: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(body.samples):
        try:
            sample = TelemetryIn.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            rejected.append(Rejected(index=index, error=f"{where}: {first['msg']}"))
            continue
        good.append(sample.model_dump(exclude_none=True))
    if rejected:
        ctx.count_rejected(len(rejected))
    events = [e.model_dump() for e in body.events]
    result = ctx.ingest(pack_id, good, events, source="remote")
    settings_rejected = None
    if body.settings is not None:
        from smartbms.core.settings import settings_from_dict

        try:
            settings = settings_from_dict(body.settings)
        except SettingsError as exc:
            settings_rejected = str(exc)
        else:
            ctx.storage.save_reported_settings(pack_id, settings.model_dump(mode="json"))
    for ack in body.acks:
        if ctx.storage.finish_command(pack_id, ack.id, ack.ok, ack.result):
            ctx.storage.add_audit(
                f"pack:{pack_id}",
                "command.result",
                f"pack:{pack_id}",
                ack.id,
                ("done: " if ack.ok else "refused: ") + ack.result,
            )
    commands = [
        CommandFor(id=c.id, kind=c.kind, payload=c.payload) for c in ctx.storage.pending_commands(pack_id)
    ]
    return IngestOut(
        stored=result.stored,
        duplicates=result.duplicates,
        rejected=rejected,
        commands=commands,
        settings_rejected=settings_rejected,
    )

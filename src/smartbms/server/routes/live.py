"""Server-Sent Events: the newest sample of each pack pushed to browsers as it is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from smartbms.server.context import ServerContext
from smartbms.server.deps import Principal, get_context, viewer

router = APIRouter(prefix="/api", tags=["live"])


@router.get(
    "/live", response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}}
)
async def live(
    request: Request,
    ctx: Annotated[ServerContext, Depends(get_context)],
    _: Annotated[Principal, Depends(viewer)],
    pack_id: str | None = None,
) -> StreamingResponse:
    """An ``text/event-stream`` of ``sample``, ``events``, ``alerts`` and ``settings`` messages."""
    queue = ctx.hub.subscribe(pack_id)

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 2000\n: connected\n\n"
            while not await request.is_disconnected():
                try:
                    yield await asyncio.wait_for(queue.get(), timeout=15.0)
                except TimeoutError:
                    yield ": keep-alive\n\n"
        finally:
            ctx.hub.unsubscribe(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

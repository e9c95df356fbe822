"""Packs, latest samples, history (JSON and CSV), events and the alarm catalog."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse

from smartbms.server.context import ServerContext
from smartbms.server.deps import Principal, admin, get_context, viewer
from smartbms.server.schemas import (
    AlarmOut,
    EpisodeOut,
    EventOut,
    HistoryOut,
    PackDetail,
    PackIn,
    PackSummary,
)
from smartbms.server.storage.records import SAMPLE_COLUMNS, PackRecord
from smartbms.server.storage.sql import ROLLUP_COLUMNS

router = APIRouter(prefix="/api", tags=["packs"])
Ctx = Annotated[ServerContext, Depends(get_context)]
Viewer = Annotated[Principal, Depends(viewer)]
Admin = Annotated[Principal, Depends(admin)]
ResolutionQ = Literal["auto", "raw", "1m", "1h"]


def alarm_out(code: str) -> AlarmOut:
    from smartbms.core.alarms import CATALOG

    info = CATALOG.get(code)
    if info is None:
        return AlarmOut(code=code, family="alarm", title=code, cause="reported by the pack", advice="")
    return AlarmOut(
        code=code, family=str(info.family), title=info.title, cause=info.cause, advice=info.advice
    )


def pack_or_404(ctx: ServerContext, pack_id: str) -> PackRecord:
    pack = ctx.storage.get_pack(pack_id)
    if pack is None:
        raise HTTPException(404, f"no pack {pack_id!r}")
    return pack


def summary(ctx: ServerContext, pack: PackRecord, open_alerts: int) -> dict[str, Any]:
    latest = ctx.latest(pack.pack_id)
    now = time.time()
    stale = pack.last_seen is None or now - pack.last_seen > ctx.config.no_data_after_s
    codes = list((latest or {}).get("alarms") or [])
    return {
        "pack_id": pack.pack_id,
        "name": pack.name,
        "source": pack.source,
        "last_seen": pack.last_seen,
        "stale": stale,
        "controllable": pack.pack_id in ctx.controls
        or (pack.source == "remote" and ctx.storage.reported_settings(pack.pack_id) is not None),
        "alarms": [alarm_out(str(c)) for c in codes],
        "open_alerts": open_alerts,
        "latest": latest,
    }


@router.get("/packs")
def list_packs(ctx: Ctx, _: Viewer) -> list[PackSummary]:
    """Every pack, the ones with alarms first, then the silent ones."""
    open_counts: dict[str, int] = {}
    for episode in ctx.storage.episodes(open_only=True, limit=10_000):
        if episode.key != "no-data":  # shown by the pack's stale flag instead
            open_counts[episode.pack_id] = open_counts.get(episode.pack_id, 0) + 1
    out = [PackSummary(**summary(ctx, p, open_counts.get(p.pack_id, 0))) for p in ctx.storage.list_packs()]
    out.sort(key=lambda s: (not (s.alarms or s.open_alerts), not s.stale, s.pack_id))
    return out


@router.post("/packs", status_code=201, responses={401: {}, 403: {}})
def create_pack(body: PackIn, ctx: Ctx, principal: Admin) -> PackSummary:
    existing = ctx.storage.get_pack(body.pack_id)
    pack = ctx.storage.ensure_pack(body.pack_id, source="remote", name=body.name)
    ctx.storage.add_audit(
        principal.name, "pack.create", f"pack:{body.pack_id}", existing and existing.name, pack.name
    )
    return PackSummary(**summary(ctx, pack, 0))


@router.get("/packs/{pack_id}", responses={404: {}})
def get_pack(pack_id: str, ctx: Ctx, _: Viewer) -> PackDetail:
    pack = pack_or_404(ctx, pack_id)
    episodes = [e for e in ctx.storage.episodes(pack_id=pack_id, open_only=True) if e.key != "no-data"]
    control = ctx.controls.get(pack_id)
    return PackDetail(
        **summary(ctx, pack, len(episodes)),
        remote_mode=control.remote_mode() if control else (ctx.latest(pack_id) or {}).get("remote_mode"),
        open_episodes=[EpisodeOut(**asdict(e)) for e in episodes],
    )


@router.get("/packs/{pack_id}/latest", responses={404: {}})
def latest(pack_id: str, ctx: Ctx, _: Viewer) -> dict[str, Any]:
    pack_or_404(ctx, pack_id)
    sample = ctx.latest(pack_id)
    if sample is None:
        raise HTTPException(404, f"pack {pack_id!r} has not reported yet")
    return sample


def _resolve(resolution: ResolutionQ, start: float, end: float) -> Literal["raw", "1m", "1h"]:
    if resolution != "auto":
        return resolution
    span = end - start
    return "raw" if span <= 3 * 3600 else "1m" if span <= 7 * 86_400 else "1h"


def _range(start: float | None, end: float | None) -> tuple[float, float]:
    end = time.time() if end is None else end
    start = end - 3600.0 if start is None else start
    if start > end:
        raise HTTPException(422, "start must not be after end")
    return start, end


@router.get("/packs/{pack_id}/history", responses={404: {}, 422: {}})
def history(
    pack_id: str,
    ctx: Ctx,
    _: Viewer,
    start: Annotated[
        float | None, Query(description="UTC seconds; default end - 1 h", allow_inf_nan=False)
    ] = None,
    end: Annotated[float | None, Query(description="UTC seconds; default now", allow_inf_nan=False)] = None,
    resolution: ResolutionQ = "auto",
    limit: Annotated[int, Query(ge=1, le=50_000)] = 20_000,
) -> HistoryOut:
    """Raw samples, or 1-minute / 1-hour rollups (auto: raw up to 3 h, minutes up to 7 days)."""
    pack_or_404(ctx, pack_id)
    start, end = _range(start, end)
    res = _resolve(resolution, start, end)
    points = ctx.storage.history(pack_id, start, end, res, limit)
    for point in points:
        point.pop("sample", None)
    return HistoryOut(pack_id=pack_id, resolution=res, start=start, end=end, points=points)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1000):03d}Z"


@router.get(
    "/packs/{pack_id}/history.csv",
    responses={200: {"content": {"text/csv": {}}}, 404: {}, 422: {}},
    response_class=StreamingResponse,
)
def history_csv(
    pack_id: str,
    ctx: Ctx,
    _: Viewer,
    start: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    end: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    resolution: ResolutionQ = "auto",
) -> StreamingResponse:
    """The same history as CSV; raw rows carry every cell voltage and temperature."""
    pack_or_404(ctx, pack_id)
    start, end = _range(start, end)
    res = _resolve(resolution, start, end)
    points = ctx.storage.history(pack_id, start, end, res, 1_000_000)

    def rows() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf)
        if res == "raw":
            cells = max((len(p["sample"].get("cell_voltages_v") or []) for p in points), default=0)
            temps = max((len(p["sample"].get("temperatures_c") or []) for p in points), default=0)
            writer.writerow(
                ["timestamp", "time_utc", *SAMPLE_COLUMNS, "charge_enabled", "discharge_enabled", "alarms"]
                + [f"cell_{i + 1}_v" for i in range(cells)]
                + [f"temperature_{i + 1}_c" for i in range(temps)]
            )
        else:
            writer.writerow(["timestamp", "time_utc", "samples", *ROLLUP_COLUMNS])
        yield buf.getvalue()
        for p in points:
            buf.seek(0)
            buf.truncate()
            if res == "raw":
                s = p["sample"]
                cv = list(s.get("cell_voltages_v") or [])
                tv = list(s.get("temperatures_c") or [])
                writer.writerow(
                    [p["timestamp"], _iso(p["timestamp"]), *(p[c] for c in SAMPLE_COLUMNS)]
                    + [s.get("charge_enabled"), s.get("discharge_enabled"), " ".join(s.get("alarms") or [])]
                    + cv
                    + [""] * (cells - len(cv))
                    + tv
                    + [""] * (temps - len(tv))
                )
            else:
                writer.writerow(
                    [p["timestamp"], _iso(p["timestamp"]), p["n"], *(p[c] for c in ROLLUP_COLUMNS)]
                )
            yield buf.getvalue()

    filename = f"{pack_id}-{res}-{int(start)}-{int(end)}.csv"
    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/packs/{pack_id}/events", responses={404: {}})
def events(
    pack_id: str,
    ctx: Ctx,
    _: Viewer,
    since: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    until: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    kind: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 500,
) -> list[EventOut]:
    """The pack's event log, newest first (trips, releases, state changes, requests, settings)."""
    pack_or_404(ctx, pack_id)
    found = ctx.storage.events(pack_id, since=since, until=until, kinds=kind, limit=limit)
    return [
        EventOut(id=e.id, timestamp=e.timestamp, kind=e.kind, code=e.code, message=e.message, data=e.data)
        for e in found
    ]


@router.get("/alarms/catalog")
def catalog(_: Viewer) -> list[AlarmOut]:
    from smartbms.core.alarms import CATALOG

    return [alarm_out(code) for code in sorted(CATALOG)]

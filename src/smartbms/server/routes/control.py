"""Settings get/set and commands, for packs this server controls. Every write is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from smartbms.errors import RequestRefusedError, SettingsError
from smartbms.server.context import ServerContext
from smartbms.server.control import LocalPackControl, RemotePackControl
from smartbms.server.deps import Principal, admin, get_context, operator, viewer
from smartbms.server.routes.packs import pack_or_404
from smartbms.server.schemas import (
    CommandOut,
    ErrorBody,
    RemoteModeIn,
    SettingsOut,
    SettingsPatch,
    SocIn,
    SwitchIn,
)

router = APIRouter(prefix="/api/packs/{pack_id}", tags=["control"])
Ctx = Annotated[ServerContext, Depends(get_context)]
Viewer = Annotated[Principal, Depends(viewer)]
Operator = Annotated[Principal, Depends(operator)]
Admin = Annotated[Principal, Depends(admin)]
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody},
    403: {"model": ErrorBody},
    404: {"model": ErrorBody},
    409: {"model": ErrorBody, "description": "the pack is not controlled here or refuses the request now"},
}


def control_or_409(ctx: ServerContext, pack_id: str, actor: str = "") -> LocalPackControl | RemotePackControl:
    """The controller here, or the command queue of a pack whose uplink carries a controller."""
    pack = pack_or_404(ctx, pack_id)
    control = ctx.controls.get(pack_id)
    if control is not None:
        return control
    if pack.source == "remote" and ctx.storage.reported_settings(pack_id) is not None:
        return RemotePackControl(ctx.storage, pack_id, actor, ctx.latest(pack_id))
    raise HTTPException(
        409, f"pack {pack_id!r} is monitored only: its uplink reports no controller to send commands to"
    )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


@router.get("/settings", responses={404: {}, 409: {}})
def get_settings(pack_id: str, ctx: Ctx, _: Viewer) -> SettingsOut:
    """The pack's settings and the JSON schema (with every field's range) of the core's settings model."""
    control = control_or_409(ctx, pack_id)
    try:
        settings = control.settings()
    except RequestRefusedError as exc:
        raise _refused(exc) from None
    return SettingsOut(
        pack_id=pack_id,
        settings=settings.model_dump(mode="json"),
        json_schema=type(settings).model_json_schema(),
    )


@router.patch(
    "/settings",
    responses={**WRITE_RESPONSES, 422: {"model": ErrorBody, "description": "refused by the settings model"}},
)
def patch_settings(pack_id: str, body: SettingsPatch, ctx: Ctx, principal: Admin) -> Any:
    """Change settings by dotted key; validated by the core's settings model, applied and saved."""
    control = control_or_409(ctx, pack_id, principal.name)
    try:
        old, new = control.update_settings(body.changes)
    except RequestRefusedError as exc:
        raise _refused(exc) from None
    except SettingsError as exc:
        problems = [{"field": f, "message": m} for f, m in exc.problems]
        return JSONResponse(status_code=422, content={"detail": str(exc), "problems": problems})
    before, after = _flat(old.model_dump(mode="json")), _flat(new.model_dump(mode="json"))
    for key in sorted(after):
        if before.get(key) != after[key]:
            ctx.storage.add_audit(
                principal.name, "settings.change", f"pack:{pack_id}/{key}", before.get(key), after[key]
            )
    ctx.hub.publish(pack_id, "settings", {})
    return SettingsOut(
        pack_id=pack_id, settings=new.model_dump(mode="json"), json_schema={}, pending=control.queued
    )


def _command(
    ctx: ServerContext,
    principal: Principal,
    control: LocalPackControl | RemotePackControl,
    pack_id: str,
    name: str,
    old: Any,
    new: Any,
    message: str = "",
) -> CommandOut:
    if control.queued:
        new = new if isinstance(new, str) and new.startswith("queued") else f"queued: {new}"
        message = "queued: the pack receives it in the answer to its next post"
    ctx.storage.add_audit(principal.name, f"command.{name}", f"pack:{pack_id}", old, new)
    return CommandOut(
        pack_id=pack_id,
        command=name,
        accepted=True,
        queued=control.queued,
        remote_mode=control.remote_mode(),
        message=message,
    )


def _refused(exc: RequestRefusedError) -> HTTPException:
    return HTTPException(409, str(exc))


def _switch(path: str, pack_id: str, body: SwitchIn, ctx: Ctx, principal: Operator) -> CommandOut:
    control = control_or_409(ctx, pack_id, principal.name)
    try:
        old, new = control.switch(path, body.on)
    except RequestRefusedError as exc:
        raise _refused(exc) from None
    return _command(ctx, principal, control, pack_id, path, old, new, f"{path} switch {new}")


@router.post("/commands/charge", responses=WRITE_RESPONSES)
def switch_charge(pack_id: str, body: SwitchIn, ctx: Ctx, principal: Operator) -> CommandOut:
    """Switch charging off by hand, or remove that veto (on); protection still decides."""
    return _switch("charge", pack_id, body, ctx, principal)


@router.post("/commands/discharge", responses=WRITE_RESPONSES)
def switch_discharge(pack_id: str, body: SwitchIn, ctx: Ctx, principal: Operator) -> CommandOut:
    """Switch discharging (the loads) off by hand, or remove that veto (on); charging is not touched."""
    return _switch("discharge", pack_id, body, ctx, principal)


@router.post("/commands/remote-mode", responses=WRITE_RESPONSES)
def remote_mode(pack_id: str, body: RemoteModeIn, ctx: Ctx, principal: Operator) -> CommandOut:
    """One of the three remote-off modes, or on."""
    control = control_or_409(ctx, pack_id, principal.name)
    old, new = control.set_remote_mode(body.mode)
    return _command(ctx, principal, control, pack_id, "remote-mode", old, new)


@router.post("/commands/reset-fault", responses=WRITE_RESPONSES)
def reset_fault(pack_id: str, ctx: Ctx, principal: Operator) -> CommandOut:
    """Leave FAULT; the core honours it only once the fault's condition is gone."""
    from smartbms.core.requests import ResetFault

    control = control_or_409(ctx, pack_id, principal.name)
    control.submit(ResetFault())
    return _command(ctx, principal, control, pack_id, "reset-fault", None, "requested")


@router.post("/commands/wake", responses=WRITE_RESPONSES)
def wake(pack_id: str, ctx: Ctx, principal: Operator) -> CommandOut:
    from smartbms.core.requests import Wake, WakeSource

    control = control_or_409(ctx, pack_id, principal.name)
    control.submit(Wake(WakeSource.COMMUNICATION))
    return _command(ctx, principal, control, pack_id, "wake", None, "requested")


@router.post("/commands/sleep", responses=WRITE_RESPONSES)
def sleep(pack_id: str, ctx: Ctx, principal: Operator) -> CommandOut:
    from smartbms.core.requests import Sleep

    control = control_or_409(ctx, pack_id, principal.name)
    control.submit(Sleep())
    return _command(ctx, principal, control, pack_id, "sleep", None, "requested")


@router.post("/commands/set-soc", responses=WRITE_RESPONSES)
def set_soc(pack_id: str, body: SocIn, ctx: Ctx, principal: Operator) -> CommandOut:
    """Set the estimator's state of charge (after a manual full charge, say)."""
    control = control_or_409(ctx, pack_id, principal.name)
    old = (ctx.latest(pack_id) or {}).get("soc_pct")
    try:
        control.set_soc(body.soc_pct)
    except RequestRefusedError as exc:
        raise _refused(exc) from None
    return _command(ctx, principal, control, pack_id, "set-soc", old, body.soc_pct)

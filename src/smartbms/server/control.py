"""Commands and settings for packs this server can reach: the local controller (embedded mode).

The dashboard's charge and discharge switches are the core's per-path switches
(:class:`~smartbms.core.requests.SetPath`): each vetoes one path only, and switching it on again
never overrides a protection. The three remote on/off modes are a separate command.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from smartbms.errors import RequestRefusedError


class ControllerLike(Protocol):
    """What the server needs of :class:`smartbms.controller.Controller`."""

    latest: Any

    @property
    def settings(self) -> Any: ...

    def submit(self, request: Any) -> None: ...

    def update_settings(self, new_settings: Any) -> None: ...

    def add_publisher(self, publisher: Any) -> None: ...


class LocalPackControl:
    """Drives a controller in this process; every call returns what changed (old, new)."""

    queued = False

    def __init__(self, controller: ControllerLike, settings_path: Path | None = None) -> None:
        self.controller = controller
        self.settings_path = settings_path
        self._lock = threading.Lock()

    def remote_mode(self) -> str:
        latest = getattr(self.controller, "latest", None)
        mode = getattr(latest, "remote_mode", None)
        return str(getattr(mode, "value", mode or "on"))

    def settings(self) -> Any:
        return self.controller.settings

    def set_remote_mode(self, mode: str) -> tuple[str, str]:
        from smartbms.core.requests import RemoteMode, SetRemoteMode

        with self._lock:
            old = self.remote_mode()
            self.controller.submit(SetRemoteMode(RemoteMode(mode)))
            return old, mode

    def switch(self, path: str, on: bool) -> tuple[str, str]:
        """Switch ``path`` ("charge" or "discharge") on or off by hand; returns the switch before, after."""
        from smartbms.core.requests import Path as CorePath
        from smartbms.core.requests import SetPath

        latest = getattr(self.controller, "latest", None)
        extra = getattr(getattr(latest, "telemetry", None), "extra", None) or {}
        old = "off" if extra.get(f"{path}_switched_off") else "on"
        self.controller.submit(SetPath(CorePath(path), on))
        return old, "on" if on else "off"

    def submit(self, request: Any) -> None:
        self.controller.submit(request)

    def set_soc(self, soc_pct: float) -> None:
        setter = getattr(self.controller, "set_soc", None)
        if setter is None:
            estimator = getattr(self.controller, "estimator", None)
            setter = getattr(estimator, "set_soc_pct", None) or getattr(estimator, "set_soc", None)
        if setter is None:
            raise RequestRefusedError("this pack has no SOC estimator whose state of charge can be set")
        setter(soc_pct)

    def update_settings(self, changes: dict[str, Any]) -> tuple[Any, Any]:
        """Validate with the core's model (raises SettingsError), apply, persist; returns (old, new)."""
        with self._lock:
            old = self.controller.settings
            new = old.with_changes(changes)
            self.controller.update_settings(new)
            if self.settings_path is not None:
                from smartbms.core.settings import save_settings

                save_settings(new, self.settings_path)
            return old, new


COMMAND_KINDS = ("charge", "discharge", "remote-mode", "reset-fault", "wake", "sleep", "set-soc", "settings")


def execute_command(control: LocalPackControl, kind: str, payload: dict[str, Any]) -> str:
    """Carry out a queued command on the controller here; returns what was done (raises when refused)."""
    from smartbms.core.requests import ResetFault, Sleep, Wake, WakeSource

    if kind in ("charge", "discharge"):
        old, new = control.switch(kind, bool(payload["on"]))
        return f"{kind} switch {old} -> {new}"
    if kind == "remote-mode":
        old, new = control.set_remote_mode(str(payload["mode"]))
        return f"remote mode {old} -> {new}"
    if kind == "reset-fault":
        control.submit(ResetFault())
    elif kind == "wake":
        control.submit(Wake(WakeSource.COMMUNICATION))
    elif kind == "sleep":
        control.submit(Sleep())
    elif kind == "set-soc":
        control.set_soc(float(payload["soc_pct"]))
    elif kind == "settings":
        control.update_settings(dict(payload["changes"]))
        return f"applied {', '.join(sorted(payload['changes']))}"
    else:
        raise RequestRefusedError(f"unknown command {kind!r}")
    return "requested"


class RemotePackControl:
    """A pack that posts over HTTP through an :class:`~smartbms.server.uplink.HttpUplink` with a
    controller: commands are validated here, queued, and delivered in the answers to its posts."""

    queued = True

    def __init__(self, storage: Any, pack_id: str, actor: str, latest: dict[str, Any] | None) -> None:
        self.storage = storage
        self.pack_id = pack_id
        self.actor = actor
        self.latest = latest or {}

    def remote_mode(self) -> str:
        return str(self.latest.get("remote_mode", "on"))

    def settings(self) -> Any:
        from smartbms.core.settings import settings_from_dict

        reported = self.storage.reported_settings(self.pack_id)
        if reported is None:
            raise RequestRefusedError(f"pack {self.pack_id!r} has not reported its settings yet")
        return settings_from_dict(reported)

    def _queue(self, kind: str, payload: dict[str, Any]) -> None:
        self.storage.queue_command(self.pack_id, kind, payload, self.actor)

    def switch(self, path: str, on: bool) -> tuple[str, str]:
        self._queue(path, {"on": on})
        return self.remote_mode(), f"queued: {path} {'on' if on else 'off'}"

    def set_remote_mode(self, mode: str) -> tuple[str, str]:
        self._queue("remote-mode", {"mode": mode})
        return self.remote_mode(), f"queued: {mode}"

    def submit(self, request: Any) -> None:
        kind = {"ResetFault": "reset-fault", "Wake": "wake", "Sleep": "sleep"}[type(request).__name__]
        self._queue(kind, {})

    def set_soc(self, soc_pct: float) -> None:
        self._queue("set-soc", {"soc_pct": soc_pct})

    def update_settings(self, changes: dict[str, Any]) -> tuple[Any, Any]:
        old = self.settings()
        new = old.with_changes(changes)  # refused here, with the core's messages, before queueing
        self._queue("settings", {"changes": changes})
        return old, new

"""Commands and settings for packs this server can reach: the local controller (embedded mode).

The core offers remote on/off in three modes (:class:`RemoteMode`); the dashboard's separate
charge and discharge switches map onto them. The core has no "discharge off, charge on" mode,
so switching discharge off also stops charging (as Victron's Lynx Smart BMS remote off does).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from smartbms.errors import RequestRefusedError


class ControllerLike(Protocol):
    """What the server needs of :class:`smartbms.controller.Controller`."""

    settings: Any
    latest: Any

    def submit(self, request: Any) -> None: ...

    def update_settings(self, new_settings: Any) -> None: ...

    def add_publisher(self, publisher: Any) -> None: ...


def remote_mode_for(charge_on: bool, discharge_on: bool) -> str:
    if not discharge_on:
        return "off-charge-and-system"
    return "on" if charge_on else "off-charge-only"


class LocalPackControl:
    """Drives a controller in this process; every call returns what changed (old, new)."""

    def __init__(self, controller: ControllerLike, settings_path: Path | None = None) -> None:
        self.controller = controller
        self.settings_path = settings_path
        self._lock = threading.Lock()
        mode = self.remote_mode()
        self._charge_on = mode == "on"
        self._discharge_on = mode in ("on", "off-charge-only")

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
            self._discharge_on = mode in ("on", "off-charge-only")
            self._charge_on = mode == "on"
            return old, mode

    def switch(self, path: str, on: bool) -> tuple[str, str]:
        """``path`` is "charge" or "discharge"; returns the remote mode before and after."""
        with self._lock:
            if path == "charge":
                if on and not self._discharge_on:
                    raise RequestRefusedError(
                        "discharge is switched off remotely, which also stops charging: "
                        "switch discharge on first"
                    )
                charge, discharge = on, self._discharge_on
            else:
                charge, discharge = (self._charge_on if on else False), on
        return self.set_remote_mode(remote_mode_for(charge, discharge))

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

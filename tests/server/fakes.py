"""A stand-in controller with the real Controller's methods, for tests that need no BMS core loop.

It produces Snapshots from a steady 16S pack whose cells drift slowly, and reacts to remote
on/off requests like the core does (paths open), so the server can be tested end to end.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from smartbms.core.actions import ALL_OFF_LEDS, Actions
from smartbms.core.events import Event, EventKind
from smartbms.core.requests import RemoteMode, SetPath, SetRemoteMode
from smartbms.core.settings import Settings, default_settings
from smartbms.core.state import BmsState
from smartbms.errors import RequestRefusedError
from smartbms.telemetry import Telemetry


@dataclass(frozen=True)
class FakeSnapshot:
    timestamp: float
    telemetry: Telemetry
    state: BmsState
    actions: Actions
    estimate: Any
    remote_mode: RemoteMode
    events: tuple[Event, ...] = ()


@dataclass
class FakeController:
    settings: Settings = field(default_factory=default_settings)
    latest: FakeSnapshot | None = None
    remote_mode: RemoteMode = RemoteMode.ON
    soc_pct: float = 63.0
    # Paths switched off by hand (the core's SetPath).
    charge_switched_off: bool = False
    discharge_switched_off: bool = False
    # A pack without an SOC estimator refuses set-SOC.
    soc_settable: bool = True
    publishers: list[Any] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    _pending: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_publisher(self, publisher: Any) -> None:
        self.publishers.append(publisher)

    def submit(self, request: Any) -> None:
        with self._lock:
            self._pending.append(request)
            self.requests.append(request)

    def update_settings(self, new_settings: Settings) -> None:
        self.settings = new_settings

    def set_soc(self, soc_pct: float) -> None:
        if not self.soc_settable:
            raise RequestRefusedError("this pack has no SOC estimator whose state of charge can be set")
        self.soc_pct = soc_pct

    def tick(self, now: float) -> FakeSnapshot:
        events: list[Event] = []
        with self._lock:
            pending, self._pending = self._pending, []
        for request in pending:
            if isinstance(request, SetRemoteMode):
                self.remote_mode = request.mode
                events.append(
                    Event(now, EventKind.REQUEST, "remote-mode", f"remote mode {request.mode.value}")
                )
            elif isinstance(request, SetPath):
                setattr(self, f"{request.path.value}_switched_off", not request.enabled)
        charge = self.remote_mode == RemoteMode.ON and not self.charge_switched_off
        discharge = (
            self.remote_mode in (RemoteMode.ON, RemoteMode.OFF_CHARGE_ONLY)
            and not self.discharge_switched_off
        )
        n = self.settings.pack.cells_series
        cells = tuple(3.30 + 0.004 * i + 0.01 * math.sin(now / 3 + i) for i in range(n))
        current = 12.0 if discharge else 0.0
        telemetry = Telemetry(
            timestamp=now,
            voltage_v=sum(cells),
            current_a=-current,
            soc_pct=self.soc_pct,
            cell_voltages_v=cells,
            temperatures_c=(24.0, 25.5),
            charge_enabled=charge,
            discharge_enabled=discharge,
            balancing_cells=(n,),
            alarms=(),
            extra={
                "charge_switched_off": self.charge_switched_off,
                "discharge_switched_off": self.discharge_switched_off,
            },
        ).with_power()
        actions = Actions(
            charge_enabled=charge,
            discharge_enabled=discharge,
            load_disconnect_closed=discharge,
            charge_disconnect_closed=charge,
            prealarm_output=False,
            charge_input_enabled=charge,
            charge_input_limit_a=0.0,
            leds=ALL_OFF_LEDS,
            sample_period_s=1.0,
            alarms=(),
            events=tuple(events),
            balancing_cells=(n,),
        )
        snapshot = FakeSnapshot(
            now, telemetry, BmsState.NORMAL, actions, None, self.remote_mode, tuple(events)
        )
        self.latest = snapshot
        for publish in self.publishers:
            publish(snapshot)
        return snapshot

    def run_in_thread(self, period_s: float = 0.2) -> threading.Event:
        """Tick in real time until the returned event is set."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self.tick(time.time())
                stop.wait(period_s)

        threading.Thread(target=loop, name="fake-controller", daemon=True).start()
        return stop

"""The main job: a controller on the embedded simulated pack (or a board), with its event log,
estimator, balancer, console view and, when the server extra is installed, the dashboard."""

from __future__ import annotations

import importlib.util
import logging
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smartbms.console import ConsoleView
from smartbms.controller import Controller, Snapshot
from smartbms.core.events import Event, EventKind
from smartbms.core.settings import Settings, default_settings, load_settings, save_settings
from smartbms.errors import SettingsError, SmartBmsError
from smartbms.eventlog import EventLog

log = logging.getLogger(__name__)

DEFAULT_DATA_DIR = Path(os.environ.get("SMARTBMS_DATA_DIR", "data"))


def settings_path(data_dir: Path) -> Path:
    return data_dir / "settings.toml"


def load_or_create_settings(data_dir: Path, explicit: Path | None = None) -> tuple[Settings, Path]:
    """Settings from ``explicit``, else ``DATA_DIR/settings.toml`` (written with defaults on first run)."""
    path = explicit or settings_path(data_dir)
    if path.exists():
        return load_settings(path), path
    if explicit is not None:
        raise SmartBmsError(f"settings file {path} does not exist")
    settings = default_settings()
    save_settings(settings, path)
    return settings, path


def adopt_board_topology(board: Any, path: Path, wait_s: float = 15.0) -> Settings | None:
    """First run on a board: write settings that match what the board reports (cells in
    series, temperature sensors, capacity), so the core does not fail safe on a pack of
    another shape. The chemistry cannot be read from a board: NMC when a cell sits above
    any LFP voltage, LFP otherwise, and the user is told to check it."""
    deadline = time.monotonic() + wait_s
    telemetry = board.latest()
    while telemetry is None and time.monotonic() < deadline:
        time.sleep(0.2)
        telemetry = board.latest()
    if telemetry is None or not telemetry.cell_voltages_v:
        print_err("no status from the board yet: using default settings; check `smartbms config show`")
        return None
    cells = [v for v in telemetry.cell_voltages_v if math.isfinite(v)]
    pack: dict[str, Any] = {
        "cells_series": len(telemetry.cell_voltages_v),
        "temperature_sensors": len(telemetry.temperatures_c or ()),
        "chemistry": "NMC" if cells and max(cells) > 3.75 else "LFP",
    }
    if telemetry.capacity_ah:
        pack["nominal_capacity_ah"] = telemetry.capacity_ah
    settings = default_settings(**pack)
    save_settings(settings, path)
    print_err(
        f"settings made from the board: {settings.pack_label}, "
        f"{settings.pack.temperature_sensors} temperature sensors, {settings.pack.nominal_capacity_ah:g} Ah; "
        f"chemistry assumed {settings.pack.chemistry}: "
        f"check it with `smartbms config show` ({path})"
    )
    return settings


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class MainJob:
    controller: Controller
    settings_path: Path
    data_dir: Path
    closers: list[Any] = field(default_factory=list)
    server: Any = None

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()
        for item in reversed(self.closers):
            item.close()


def build_main_job(
    data_dir: Path,
    *,
    settings_file: Path | None = None,
    source_spec: str | None = None,
    seed: int = 0,
    profile: str | None = None,
) -> MainJob:
    data_dir.mkdir(parents=True, exist_ok=True)
    event_log = EventLog(data_dir / "events.sqlite")
    closers: list[Any] = [event_log]
    board = None
    if source_spec:
        from smartbms.drivers.source import open_board

        board = open_board(source_spec)
        board.start()
        if settings_file is None and not settings_path(data_dir).exists():
            adopt_board_topology(board, settings_path(data_dir))
    try:
        settings, path = load_or_create_settings(data_dir, settings_file)
    except SettingsError as exc:
        # The BMS refuses to start on bad settings; the log says why.
        event_log.append([Event(time.time(), EventKind.TRIP, "E-CONFIG", f"invalid settings: {exc}", {})])
        event_log.close()
        if board is not None:
            board.close()
        raise
    source: Any
    actuator: Any
    if board is not None:
        from smartbms.sources import BoardBridge

        bridge = BoardBridge(board, str(source_spec))
        source = actuator = bridge
        closers.append(bridge)
    else:
        from smartbms.sim.pack_source import SimulatedPackSource

        kwargs: dict[str, Any] = {"seed": seed}
        if profile:
            kwargs["profile"] = profile
        source = actuator = SimulatedPackSource(settings, **kwargs)
    estimator = None
    if _has("smartbms.estimation.pack"):
        from smartbms.estimation.pack import PackEstimator

        estimator = PackEstimator.from_settings(settings)
    state_store = _estimator_state_store(data_dir, estimator, event_log, restore_soc=board is not None)
    balancer = None
    if _has("smartbms.balancing") and hasattr(importlib.import_module("smartbms.balancing"), "make_balancer"):
        balancer = importlib.import_module("smartbms.balancing").make_balancer(settings)
    controller = Controller(
        settings, source, actuator, estimator=estimator, balancer=balancer, event_log=event_log
    )
    if state_store is not None:
        controller.add_publisher(state_store.on_snapshot)
        closers.append(state_store)  # saves once more at shutdown, before the event log closes
    return MainJob(controller=controller, settings_path=path, data_dir=data_dir, closers=closers)


def _estimator_state_store(data_dir: Path, estimator: Any, event_log: EventLog, *, restore_soc: bool) -> Any:
    """Learned capacity, resistance, sensor offset and (for a real board) SOC survive a restart.

    The simulated default starts a fresh pack every run, so only what it taught about the cells is
    restored there, not its SOC.
    """
    if estimator is None or not hasattr(estimator, "export_state"):
        return None
    from smartbms.estimation.state import STATE_FILE_NAME, EstimatorStateStore

    def note(text: str) -> None:
        log.warning("%s", text)
        event_log.append([Event(time.time(), EventKind.STATE, "estimator-state", text, {})])

    store = EstimatorStateStore(
        data_dir / STATE_FILE_NAME, estimator, restore_soc=restore_soc, on_problem=note
    )
    store.load()
    return store


def start_dashboard(job: MainJob, host: str, port: int) -> str | None:
    """Start the embedded dashboard when the server extra is installed; returns its URL."""
    if not (_has("fastapi") and _has("smartbms.server.embedded")):
        return None
    from smartbms.server.embedded import start_embedded_server

    job.server = start_embedded_server(
        job.controller, data_dir=job.data_dir, host=host, port=port, settings_path=job.settings_path
    )
    return str(job.server.url)


def connect_uplink(job: MainJob, url: str, device_token: str) -> None:
    """Post this pack's telemetry to a standalone server; buffered on disk while it is away."""
    from smartbms.server.uplink import HttpUplink

    uplink = HttpUplink(
        url,
        device_token,
        buffer_path=job.data_dir / "uplink.sqlite3",
        controller=job.controller,
        settings_path=job.settings_path,
    )
    job.controller.add_publisher(uplink)
    job.closers.append(uplink)


def run_main_job(
    job: MainJob,
    *,
    duration_s: float | None,
    speed: float,
    view: ConsoleView | None,
) -> Snapshot | None:
    settings = job.controller.settings
    title = f"smartbms — {settings.pack_label} {settings.pack.nominal_capacity_ah:g} Ah"

    def on_tick(snapshot: Snapshot) -> None:
        if view is not None:
            view.update(snapshot, title)

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: job.controller.stop())
    try:
        return job.controller.run(
            duration_s=duration_s, speed=speed if speed > 0 else math.inf, on_tick=on_tick
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


def summary(job: MainJob, last: Snapshot | None) -> str:
    if last is None:
        return "no step was run"
    t = last.telemetry
    soc = f"{t.soc_pct:.1f} %" if t.soc_pct is not None else "unknown"
    events = job.controller.event_log.count() if job.controller.event_log else 0
    return (
        f"state {last.state.value}, SOC {soc}, alarms {', '.join(last.actions.alarms) or 'none'}; "
        f"{events} events in {job.data_dir / 'events.sqlite'}; settings in {job.settings_path}"
    )


def print_err(text: str) -> None:
    print(text, file=sys.stderr)

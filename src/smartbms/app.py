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
    try:
        settings, path = load_or_create_settings(data_dir, settings_file)
    except SettingsError as exc:
        # The BMS refuses to start on bad settings; the log says why.
        event_log.append([Event(time.time(), EventKind.TRIP, "E-CONFIG", f"invalid settings: {exc}", {})])
        event_log.close()
        raise
    source: Any
    actuator: Any
    if source_spec:
        from smartbms.drivers.source import open_board
        from smartbms.sources import BoardBridge

        board = open_board(source_spec)
        board.start()
        bridge = BoardBridge(board, source_spec)
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
    balancer = None
    if _has("smartbms.balancing") and hasattr(importlib.import_module("smartbms.balancing"), "make_balancer"):
        balancer = importlib.import_module("smartbms.balancing").make_balancer(settings)
    controller = Controller(
        settings, source, actuator, estimator=estimator, balancer=balancer, event_log=event_log
    )
    return MainJob(controller=controller, settings_path=path, data_dir=data_dir, closers=closers)


def start_dashboard(job: MainJob, host: str, port: int) -> str | None:
    """Start the embedded dashboard when the server extra is installed; returns its URL."""
    if not (_has("fastapi") and _has("smartbms.server.embedded")):
        return None
    from smartbms.server.embedded import start_embedded_server

    job.server = start_embedded_server(
        job.controller, data_dir=job.data_dir, host=host, port=port, settings_path=job.settings_path
    )
    return str(job.server.url)


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

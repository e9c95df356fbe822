"""The live console view of `smartbms run`: cells, current, state and alarms, updated in place."""

from __future__ import annotations

import math
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from smartbms.controller import Snapshot
from smartbms.core.alarms import CATALOG

_CLEAR = "\x1b[H\x1b[J"


def _fmt(value: float | None, spec: str, unit: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "  --  " + unit
    return f"{value:{spec}} {unit}"


def render(snapshot: Snapshot, title: str = "smartbms") -> str:
    t = snapshot.telemetry
    a = snapshot.actions
    when = datetime.fromtimestamp(snapshot.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [
        f"{title}   {when}   state {snapshot.state.value}   remote {snapshot.remote_mode.value}",
        f"pack {_fmt(t.voltage_v, '7.2f', 'V')}   current {_fmt(t.current_a, '8.2f', 'A')}   "
        f"power {_fmt(t.power_w, '8.0f', 'W')}   SOC {_fmt(t.soc_pct, '5.1f', '%')}",
        f"charge {'ON ' if a.charge_enabled else 'off'}   "
        f"discharge {'ON ' if a.discharge_enabled else 'off'}   "
        f"load-out {'closed' if a.load_disconnect_closed else 'OPEN  '}   "
        f"charge-out {'closed' if a.charge_disconnect_closed else 'OPEN  '}   "
        f"pre-alarm {'ON' if a.prealarm_output else 'off'}",
    ]
    cells = [v for v in (t.cell_voltages_v or ())]
    finite = [v for v in cells if math.isfinite(v)]
    if finite:
        lo, hi = min(finite), max(finite)
        lines.append(f"cells  min {lo:.3f} V  max {hi:.3f} V  delta {1000 * (hi - lo):.0f} mV")
    balancing = set(a.balancing_cells)
    row: list[str] = []
    for index, value in enumerate(cells, start=1):
        mark = "*" if index in balancing else " "
        text = f"{value:.3f}" if math.isfinite(value) else "  ?  "
        row.append(f"{index:2d}:{text}{mark}")
        if len(row) == 8:
            lines.append("  " + "  ".join(row))
            row = []
    if row:
        lines.append("  " + "  ".join(row))
    temps = ", ".join(f"{v:.1f}" for v in (t.temperatures_c or ()) if math.isfinite(v))
    lines.append(f"temperatures {temps or '--'} °C   (* = balancing)")
    if a.alarms:
        for code in a.alarms:
            info = CATALOG.get(code)
            lines.append(f"  {code:22s} {info.title if info else ''}")
    else:
        lines.append("  no alarms")
    return "\n".join(lines)


class ConsoleView:
    """Redraws in place on a terminal at most ``fps`` times per wall second; on a pipe it
    prints a status line every ``log_every_s`` simulated seconds instead."""

    def __init__(self, stream: TextIO = sys.stdout, fps: float = 4.0, log_every_s: float = 60.0) -> None:
        self.stream = stream
        self.interactive = stream.isatty()
        self.min_wall = 1.0 / fps
        self.log_every_s = log_every_s
        self._last_wall = 0.0
        self._last_sim: float | None = None

    def update(self, snapshot: Snapshot, title: str = "smartbms") -> None:
        if self.interactive:
            wall = time.monotonic()
            if wall - self._last_wall >= self.min_wall:
                self._last_wall = wall
                self.stream.write(_CLEAR + render(snapshot, title) + "\n")
                self.stream.flush()
        elif self._last_sim is None or snapshot.timestamp - self._last_sim >= self.log_every_s:
            self._last_sim = snapshot.timestamp
            t = snapshot.telemetry
            soc = f"{t.soc_pct:.1f}%" if t.soc_pct is not None else "--"
            self.stream.write(
                f"{datetime.fromtimestamp(snapshot.timestamp, UTC):%Y-%m-%d %H:%M:%S} "
                f"{snapshot.state.value:10s} "
                f"V={_fmt(t.voltage_v, '.2f', 'V')} I={_fmt(t.current_a, '.2f', 'A')} SOC={soc} "
                f"alarms={','.join(snapshot.actions.alarms) or '-'}\n"
            )
            self.stream.flush()

"""The board-facing commands behind the CLI: monitor, control and ``config --source``.

The core CLI owns ``smartbms config``; when ``--source`` is given it calls
:func:`board_config` with its parsed arguments (``show``, ``get KEY``, ``set KEY=VALUE``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime
from typing import Any, TextIO

from smartbms.drivers.source import BoardSource, open_board
from smartbms.errors import BmsTimeoutError, SettingsError, WriteRefusedError
from smartbms.telemetry import Telemetry

CONNECT_TIMEOUT_S = 15.0

# (flags, argparse keyword arguments) the core `config` parser adds for board settings.
CONFIG_ARGUMENTS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (
        ("--source",),
        {"help": "read or write a board's settings instead of local ones (PROTOCOL:serial:PATH, ...)"},
    ),
]
BOARD_CONFIG_USAGE = "smartbms config --source SPEC show | get KEY | set KEY=VALUE [KEY=VALUE ...]"


def board_config(args: argparse.Namespace) -> int:
    """The board's own settings, for ``smartbms config --source SPEC ACTION``.

    ``show`` prints every setting as JSON, ``get KEY`` one value, ``set KEY=VALUE ...``
    writes each (range-checked before sending, verified by read-back) and prints the result.
    Reads ``args.source``, ``args.config_command`` and ``args.key`` / ``args.assignments``.
    """
    action = getattr(args, "config_command", None)
    if action not in ("show", "get", "set"):
        raise SettingsError(
            [("config", f"with --source the actions are show, get and set; usage: {BOARD_CONFIG_USAGE}")]
        )
    assignments = _assignments(list(getattr(args, "assignments", None) or [])) if action == "set" else {}
    with _connected(args.source) as source:
        for key, value in assignments.items():
            source.write_setting(key, value)
        settings = source.read_settings()
    if action == "get":
        key = args.key
        if key not in settings:
            raise SettingsError(
                [(key, f"the board has no readable setting {key!r}; it has: {', '.join(sorted(settings))}")]
            )
        print(json.dumps(settings[key]))
    else:
        print(json.dumps(settings, indent=2, sort_keys=True))
    return 0


def _assignments(words: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for word in words:
        key, sep, value = word.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key] = float(value)
        except ValueError:
            raise SettingsError([(word, "expected KEY=NUMBER")]) from None
    return out


class _connected:
    """Open a board, wait for its first sample, close it afterwards."""

    def __init__(self, spec: str, interval_s: float = 1.0) -> None:
        self.source: BoardSource = open_board(spec, poll_interval_s=interval_s)

    def __enter__(self) -> BoardSource:
        self.source.start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while self.source.latest() is None:
            if time.monotonic() > deadline:
                self.source.close()
                raise BmsTimeoutError(f"{self.source.name}: no status within {CONNECT_TIMEOUT_S:.0f} s")
            time.sleep(0.05)
        return self.source

    def __exit__(self, *exc: object) -> None:
        self.source.close()


def run_control(spec: str, action: str, value: str) -> int:
    with _connected(spec) as source:
        if action in ("charge", "discharge"):
            if value not in ("on", "off"):
                raise SettingsError([(action, f"expected on or off, got {value!r}")])
            (source.set_charge if action == "charge" else source.set_discharge)(value == "on")
        elif action == "soc":
            try:
                pct = float(value)
            except ValueError:
                raise WriteRefusedError(f"SOC {value!r} is not a number") from None
            source.set_soc(pct)
        sample = source.latest()
        print(json.dumps(sample.to_dict() if sample else {}))
    return 0


def run_monitor(
    spec: str, interval_s: float = 1.0, count: int = 0, as_json: bool = False, out: TextIO = sys.stdout
) -> int:
    source = open_board(spec, poll_interval_s=interval_s, start=True)
    shown = 0
    try:
        while count <= 0 or shown < count:
            for event in source.events():
                stamp = datetime.fromtimestamp(event.timestamp).strftime("%H:%M:%S")
                print(f"{stamp}  {event.kind}: {event.detail}", file=out, flush=True)
            for sample in source.drain():
                print(
                    json.dumps(sample.to_dict()) if as_json else format_sample(sample), file=out, flush=True
                )
                shown += 1
                if 0 < count <= shown:
                    break
            time.sleep(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        counters = source.counters()
        source.close()
        print(f"counters: {json.dumps(counters, sort_keys=True)}", file=sys.stderr)
    return 0


def format_sample(s: Telemetry) -> str:
    stamp = datetime.fromtimestamp(s.timestamp or time.time()).strftime("%H:%M:%S")
    parts = [stamp]
    if s.voltage_v is not None:
        parts.append(f"{s.voltage_v:6.2f} V")
    if s.current_a is not None:
        parts.append(f"{s.current_a:+7.2f} A")
    if s.soc_pct is not None:
        parts.append(f"SOC {s.soc_pct:5.1f} %")
    cells = s.cell_voltages_v or ()
    if cells:
        parts.append(
            f"cells {min(cells):.3f}..{max(cells):.3f} V (Δ {1000 * (max(cells) - min(cells)):.0f} mV)"
        )
    if s.temperatures_c:
        parts.append("T " + "/".join(f"{t:.1f}" for t in s.temperatures_c) + " °C")
    if s.charge_enabled is not None:
        parts.append(f"CHG {'on' if s.charge_enabled else 'OFF'}")
    if s.discharge_enabled is not None:
        parts.append(f"DSG {'on' if s.discharge_enabled else 'OFF'}")
    parts.append("alarms: " + (", ".join(s.alarms) if s.alarms else "-"))
    return "  ".join(parts)

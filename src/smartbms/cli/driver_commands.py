"""Command-line entry points of the driver area: decode, monitor, control, emulate.

``smartbms config --source SPEC get|set`` is dispatched by the core CLI to
:func:`smartbms.drivers.cli_support.board_config`.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands to the ``smartbms`` parser."""
    from smartbms.drivers.registry import available

    protocols = available()

    decode = subparsers.add_parser(
        "decode",
        help="decode captured board frames to telemetry JSON",
        description="Decode one or more captured frames of one board status and print one JSON object.",
    )
    decode.add_argument("--protocol", required=True, choices=protocols)
    decode.add_argument(
        "--address", type=lambda s: int(s, 0), help="board address where the protocol has one"
    )
    decode.add_argument("frames", nargs="+", metavar="HEX", help="frame as hex (or an ASCII '~...' frame)")
    decode.set_defaults(func=_decode)

    monitor = subparsers.add_parser("monitor", help="show a board live")
    monitor.add_argument(
        "--source",
        required=True,
        help="PROTOCOL:serial:PATH[@BAUD] | PROTOCOL:tcp:HOST:PORT | PROTOCOL:ble:ADDR",
    )
    monitor.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    monitor.add_argument(
        "--count", type=int, default=0, help="stop after this many samples (0 = run until Ctrl-C)"
    )
    monitor.add_argument("--json", action="store_true", help="one JSON object per sample")
    monitor.set_defaults(func=_monitor)

    control = subparsers.add_parser("control", help="switch a board's FETs or set its SOC")
    control.add_argument("--source", required=True)
    control.add_argument("action", choices=("charge", "discharge", "soc"))
    control.add_argument("value", help="on|off for charge/discharge, a percentage for soc")
    control.set_defaults(func=_control)

    emulate = subparsers.add_parser(
        "emulate", help="answer like a real board on a pseudo-terminal or TCP port"
    )
    emulate.add_argument("--protocol", required=True, choices=protocols)
    emulate.add_argument(
        "--port", required=True, help="PATH (a symlink to a new pty is made there) or tcp:PORT"
    )
    emulate.add_argument("--cells", type=int, default=4)
    emulate.add_argument("--cell-voltage", type=float, default=3.3)
    emulate.add_argument("--current", type=float, default=0.0, help="A, + = charging")
    emulate.add_argument("--soc", type=float, default=50.0)
    emulate.add_argument("--capacity", type=float, default=100.0, help="Ah")
    emulate.add_argument("--temperature", type=float, default=25.0, help="°C")
    emulate.add_argument(
        "--sim",
        metavar="PROFILE",
        help="report a simulated pack under this load profile (e.g. solar_day) instead of a steady one",
    )
    emulate.add_argument("--duration", type=float, default=0.0, help="seconds to run (0 = until Ctrl-C)")
    emulate.set_defaults(func=_emulate)


def _decode(args: argparse.Namespace) -> int:
    import json

    from smartbms.drivers.hexinput import frame_bytes
    from smartbms.drivers.registry import get_protocol
    from smartbms.errors import DecodeError

    options = {"address": args.address} if args.address is not None else {}
    protocol = get_protocol(args.protocol, **options)
    fmt = protocol.response_format()
    frames = []
    for index, text in enumerate(args.frames, start=1):
        try:
            frames.append(fmt.parse_one(frame_bytes(text)))
        except DecodeError as exc:
            raise type(exc)(f"frame {index}: {exc}") from None
    print(json.dumps(protocol.decode_status(frames).to_dict()))
    return 0


def _monitor(args: argparse.Namespace) -> int:
    from smartbms.drivers.cli_support import run_monitor

    return run_monitor(args.source, interval_s=args.interval, count=args.count, as_json=args.json)


def _control(args: argparse.Namespace) -> int:
    from smartbms.drivers.cli_support import run_control

    return run_control(args.source, args.action, args.value)


def _emulate(args: argparse.Namespace) -> int:
    from smartbms.drivers.emulators.server import run_emulator
    from smartbms.drivers.emulators.state import Plant, steady_pack

    plant: Plant
    if args.sim:
        from smartbms.drivers.emulators.sim_plant import simulated_pack

        plant = simulated_pack(
            cells=args.cells, capacity_ah=args.capacity, profile=args.sim, soc_pct=args.soc
        )
    else:
        plant = steady_pack(
            cells=args.cells,
            cell_voltage_v=args.cell_voltage,
            current_a=args.current,
            soc_pct=args.soc,
            capacity_ah=args.capacity,
            temperature_c=args.temperature,
        )
    return run_emulator(args.protocol, args.port, plant, duration_s=args.duration)

"""Commands of the BMS core: run, config, alarms, events."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smartbms.errors import SettingsError, SmartBmsError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    from smartbms.app import DEFAULT_DATA_DIR

    run = subparsers.add_parser("run", help="run the BMS on the simulated pack (or a board) with a live view")
    run.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="event log, settings and history (default: %(default)s)",
    )
    run.add_argument(
        "--settings", type=Path, help="settings file (default: DATA_DIR/settings.toml, created on first run)"
    )
    run.add_argument(
        "--speed", type=float, default=1.0, help="simulated seconds per real second; 0 = as fast as possible"
    )
    run.add_argument("--duration", type=float, help="stop after this many simulated seconds")
    run.add_argument(
        "--source",
        help="a board instead of the simulator, e.g. jbd:serial:/dev/ttyUSB0 or jk-rs485:tcp:HOST:PORT",
    )
    run.add_argument("--seed", type=int, default=0, help="seed of the simulated pack")
    run.add_argument("--profile", help="load profile of the simulated pack (see `smartbms simulate --help`)")
    run.add_argument("--host", default="127.0.0.1", help="dashboard address (default: %(default)s)")
    run.add_argument("--port", type=int, default=8080, help="dashboard port (default: %(default)s)")
    run.add_argument("--no-server", action="store_true", help="do not start the dashboard")
    run.add_argument(
        "--uplink", metavar="URL", help="also post telemetry to a `smartbms serve` server at URL"
    )
    run.add_argument(
        "--device-token",
        help="this pack's device token on the --uplink server (default: $SMARTBMS_DEVICE_TOKEN)",
    )
    run.add_argument("--quiet", action="store_true", help="no live view, only the final summary")
    run.set_defaults(func=cmd_run)

    config = subparsers.add_parser("config", help="show, check or change settings")
    config.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    config.add_argument("--file", type=Path, help="settings file (default: DATA_DIR/settings.toml)")
    config.add_argument("--source", help="a board: read or write the board's own settings instead")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    show = config_sub.add_parser("show", help="print the effective settings")
    show.add_argument("--format", choices=("toml", "yaml", "json"), default="toml")
    check = config_sub.add_parser("check", help="validate a settings file")
    check.add_argument("path", type=Path, nargs="?")
    set_ = config_sub.add_parser("set", help="change settings: KEY=VALUE ...")
    set_.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    get = config_sub.add_parser("get", help="print one setting")
    get.add_argument("key")
    config.set_defaults(func=cmd_config)

    rules = subparsers.add_parser("rules", help="the protection rule table with the current settings")
    rules.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    rules.add_argument("--file", type=Path, help="settings file (default: DATA_DIR/settings.toml)")
    rules.add_argument("--json", action="store_true")
    rules.set_defaults(func=cmd_rules)

    alarms = subparsers.add_parser("alarms", help="list the alarm catalog")
    alarms.add_argument("--json", action="store_true")
    alarms.set_defaults(func=cmd_alarms)

    events = subparsers.add_parser("events", help="show the event log")
    events.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    events.add_argument("--limit", type=int, default=50)
    events.add_argument(
        "--kind", action="append", choices=("trip", "release", "state", "request", "setting", "sensor")
    )
    events.add_argument("--json", action="store_true")
    events.set_defaults(func=cmd_events)


def cmd_run(args: argparse.Namespace) -> int:
    from smartbms.app import build_main_job, connect_uplink, run_main_job, start_dashboard, summary
    from smartbms.console import ConsoleView

    if args.duration is not None and args.duration < 0:
        raise SmartBmsError(f"--duration must not be negative (got {args.duration})")
    job = build_main_job(
        args.data_dir,
        settings_file=args.settings,
        source_spec=args.source,
        seed=args.seed,
        profile=args.profile,
    )
    try:
        if args.uplink:
            token = args.device_token or os.environ.get("SMARTBMS_DEVICE_TOKEN")
            if not token:
                raise SmartBmsError("--uplink needs --device-token (or SMARTBMS_DEVICE_TOKEN)")
            connect_uplink(job, args.uplink, token)
            print(f"uplink: posting to {args.uplink}", flush=True)
        if not args.no_server:
            url = start_dashboard(job, args.host, args.port)
            print(
                f"dashboard: {url}" if url else "dashboard: not available (install the server extra)",
                flush=True,
            )
        view = None if args.quiet else ConsoleView(sys.stdout)
        speed = math.inf if args.speed == 0 else args.speed
        last = run_main_job(job, duration_s=args.duration, speed=speed, view=view)
        print(summary(job, last))
    finally:
        job.close()
    return 0


def _settings_file(args: argparse.Namespace) -> Path:
    from smartbms.app import settings_path

    return Path(args.file) if args.file else settings_path(args.data_dir)


def cmd_config(args: argparse.Namespace) -> int:
    from smartbms.core.settings import default_settings, load_settings, parse_assignment, save_settings

    if args.source:
        from smartbms.drivers.cli_support import board_config

        return int(board_config(args))
    path = _settings_file(args)
    if args.config_command == "check":
        target = args.path or path
        try:
            settings = load_settings(target)
        except FileNotFoundError:
            raise SmartBmsError(f"{target}: no such file") from None
        except SettingsError as exc:
            print(f"{target}: invalid settings", file=sys.stderr)
            for field, message in exc.problems:
                print(f"  {field}: {message}", file=sys.stderr)
            return 1
        print(f"{target}: OK ({settings.pack_label}, {settings.pack.nominal_capacity_ah:g} Ah)")
        return 0
    settings = load_settings(path) if path.exists() else default_settings()
    if args.config_command == "show":
        data = settings.model_dump(mode="json")
        if args.format == "json":
            print(json.dumps(data, indent=2))
        elif args.format == "yaml":
            import yaml

            print(yaml.safe_dump(data, sort_keys=False), end="")
        else:
            import tomli_w

            print(tomli_w.dumps(data), end="")
        return 0
    if args.config_command == "get":
        print(settings.get(args.key))
        return 0
    changes = dict(parse_assignment(item) for item in args.assignments)
    try:
        new = settings.with_changes(changes)
    except SettingsError as exc:
        for field, message in exc.problems:
            print(f"{field}: {message}", file=sys.stderr)
        print("nothing was changed", file=sys.stderr)
        return 1
    save_settings(new, path)
    _log_setting_changes(args, settings, new)
    for key in changes:
        print(f"{key} = {new.get(key)}")
    return 0


def _log_setting_changes(args: argparse.Namespace, old: Any, new: Any) -> None:
    """Record the change in the data directory's event log (not for a stand-alone --file)."""
    import time

    from smartbms.core.engine import setting_change_events
    from smartbms.eventlog import EventLog

    if args.file:
        return
    with EventLog(args.data_dir / "events.sqlite") as log:
        log.append(setting_change_events(old, new, time.time()))


def cmd_rules(args: argparse.Namespace) -> int:
    from smartbms.core.rules import build_rules
    from smartbms.core.settings import default_settings, load_settings

    path = _settings_file(args)
    settings = load_settings(path) if path.exists() else default_settings()
    rows = [
        {
            "id": r.id,
            "code": r.code,
            "tier": r.tier.value,
            "signal": r.signal.name.lower(),
            "trips": f"{'>' if r.above else '<'} {r.limit:g}",
            "releases": f"{'<=' if r.above else '>='} {r.release:g}",
            "trip_delay_s": r.trip_delay_s,
            "recovery_delay_s": r.recovery_delay_s,
            "blocks": r.blocks.value,
            "latched": r.latched,
        }
        for r in build_rules(settings)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{'rule':26s} {'code':20s} {'tier':10s} {'signal':20s} {'trips':>10s} {'releases':>11s} "
        f"{'delay':>6s} {'recover':>8s}  blocks"
    )
    for row in rows:
        print(
            f"{row['id']:26s} {row['code']:20s} {row['tier']:10s} {row['signal']:20s} {row['trips']:>10s} "
            f"{row['releases']:>11s} {row['trip_delay_s']:>5g}s {row['recovery_delay_s']:>7g}s  "
            f"{row['blocks']}"
            f"{' (latched)' if row['latched'] else ''}"
        )
    return 0


def cmd_alarms(args: argparse.Namespace) -> int:
    from smartbms.core.alarms import CATALOG

    if args.json:
        print(
            json.dumps(
                [
                    {
                        "code": a.code,
                        "family": a.family.value,
                        "title": a.title,
                        "cause": a.cause,
                        "advice": a.advice,
                    }
                    for a in CATALOG.values()
                ],
                indent=2,
            )
        )
        return 0
    for info in CATALOG.values():
        print(f"{info.code:22s} {info.family.value:8s} {info.title}")
        print(f"{'':31s} cause: {info.cause}")
        print(f"{'':31s} what to do: {info.advice}")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    from smartbms.eventlog import EventLog

    path = args.data_dir / "events.sqlite"
    if not path.exists():
        raise SmartBmsError(f"no event log at {path}: run `smartbms run --data-dir {args.data_dir}` first")
    with EventLog(path) as log:
        events = log.query(kinds=args.kind, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "timestamp": e.timestamp,
                        "kind": e.kind.value,
                        "code": e.code,
                        "message": e.message,
                        "data": e.data,
                    }
                    for e in events
                ],
                indent=2,
            )
        )
        return 0
    for e in events:
        when = datetime.fromtimestamp(e.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{when}  {e.kind.value:8s} {e.code:22s} {e.message}")
    return 0

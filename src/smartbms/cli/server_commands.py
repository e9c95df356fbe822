"""``smartbms serve``: the standalone monitoring server for one pack or a fleet."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add this area's subcommands to the ``smartbms`` parser."""
    serve = subparsers.add_parser(
        "serve",
        help="run the monitoring server and dashboard (packs post to it with device tokens)",
        description="Run the monitoring server: history, live dashboard, alerts and accounts. "
        "The first start creates the user 'admin' and prints its one-time password "
        "(or takes it from SMARTBMS_ADMIN_PASSWORD).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    serve.add_argument(
        "--data-dir", type=Path, default=Path("smartbms-data"), help="where the database lives"
    )
    serve.add_argument(
        "--database",
        default=os.environ.get("SMARTBMS_DATABASE"),
        help="postgresql://... to use PostgreSQL (default: SQLite in --data-dir; env SMARTBMS_DATABASE)",
    )
    serve.add_argument(
        "--no-data-after",
        type=float,
        default=60.0,
        metavar="S",
        help="flag a pack and alert when silent this long (default 60 s)",
    )
    serve.add_argument(
        "--smtp", default="127.0.0.1:25", metavar="HOST:PORT", help="mail server for e-mail alerts"
    )
    serve.add_argument("--mail-from", default="smartbms@localhost", help="sender address of e-mail alerts")
    serve.add_argument(
        "--keep-raw-days",
        type=float,
        default=30.0,
        metavar="D",
        help="keep every raw sample this long (default 30 days; 1-minute rollups stay longer)",
    )
    serve.add_argument(
        "--keep-minute-days",
        type=float,
        default=400.0,
        metavar="D",
        help="keep 1-minute rollups this long (default 400 days; hourly ones forever)",
    )
    serve.add_argument("--secure-cookies", action="store_true", help="mark the session cookie HTTPS-only")
    serve.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from smartbms.errors import SmartBmsError
    from smartbms.server.app import create_app
    from smartbms.server.config import ServerConfig
    from smartbms.server.context import ServerContext
    from smartbms.server.notifiers import SmtpConfig
    from smartbms.server.storage.base import RetentionPolicy

    if not 0 <= args.port <= 65535:
        raise SmartBmsError(f"--port must lie between 0 and 65535 (got {args.port})")
    smtp_host, _, smtp_port = args.smtp.rpartition(":")
    if not smtp_host or not smtp_port.isdigit():
        raise SmartBmsError(f"--smtp must look like HOST:PORT (got {args.smtp!r})")
    for flag, value in (
        ("--keep-raw-days", args.keep_raw_days),
        ("--keep-minute-days", args.keep_minute_days),
    ):
        if not value > 0:
            raise SmartBmsError(f"{flag} must be positive (got {value})")
    config = ServerConfig(
        data_dir=args.data_dir,
        database=args.database,
        no_data_after_s=args.no_data_after,
        smtp=SmtpConfig(host=smtp_host, port=int(smtp_port), sender=args.mail_from),
        secure_cookies=args.secure_cookies,
        retention=RetentionPolicy(
            raw_days=args.keep_raw_days, minute_days=args.keep_minute_days, hour_days=None
        ),
    )
    context = ServerContext(config)
    context.bootstrap_admin()
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    print(f"smartbms server: dashboard at http://{shown}:{args.port}/  (API docs at /docs)", flush=True)
    uvicorn.run(
        create_app(context, own_context=True),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
    )
    return 0

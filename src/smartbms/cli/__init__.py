"""The ``smartbms`` command line: a thin shell over the modules.

Each area keeps its commands in its own module here with a ``register(subparsers)``
function; handlers import their heavy dependencies lazily so ``smartbms --help`` stays fast
and the core works without the server or hardware extras installed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from smartbms import __version__
from smartbms.errors import SmartBmsError

# One module per area; each adds its subcommands.
COMMAND_MODULES = (
    "smartbms.cli.core_commands",
    "smartbms.cli.sim_commands",
    "smartbms.cli.estimation_commands",
    "smartbms.cli.driver_commands",
    "smartbms.cli.server_commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartbms",
        description="smartbms: a smart battery management system.",
    )
    parser.add_argument("--version", action="version", version=f"smartbms {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SmartBmsError as exc:
        print(f"smartbms {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `smartbms alarms | head`: the reader left, nothing to report
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())

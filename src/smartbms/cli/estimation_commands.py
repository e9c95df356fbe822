"""Command-line entry points of the estimation area (filled in by that area's issue)."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    """Add this area's subcommands to the ``smartbms`` parser."""

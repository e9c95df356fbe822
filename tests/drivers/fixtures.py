"""Loading the recorded frames in tests/fixtures/<protocol>/*.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROTOCOLS = ("daly", "daly-modbus", "jbd", "jk-ble", "jk-rs485", "seplos-v3", "pylontech-rs485")


@dataclass(frozen=True)
class Capture:
    path: Path
    protocol: str
    frames: list[bytes]
    expected: dict[str, Any]
    options: dict[str, Any]
    captured: bool

    @property
    def id(self) -> str:
        return f"{self.protocol}/{self.path.stem}"


def load(path: Path) -> Capture:
    data = json.loads(path.read_text())
    assert data["_comment"] and data["source"], f"{path} must cite its source"
    options = {"address": data["address"]} if "address" in data else {}
    return Capture(
        path=path,
        protocol=data["protocol"],
        frames=[bytes.fromhex(f) for f in data["frames"]],
        expected=data["expected"],
        options=options,
        captured=data["captured"],
    )


def all_captures() -> list[Capture]:
    return [load(p) for p in sorted(FIXTURES.glob("*/*.json")) if p.parent.name in PROTOCOLS]


def first_frame(protocol: str) -> Capture:
    return next(c for c in all_captures() if c.protocol == protocol)

"""Loading the recorded frames in tests/fixtures/<protocol>/*.json."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXPECTED_FROM = ("source", "hand", "mixed")
PROTOCOLS = ("daly", "daly-modbus", "jbd", "jk-ble", "jk-rs485", "seplos-v3", "pylontech-rs485")


@dataclass(frozen=True)
class Capture:
    path: Path
    protocol: str
    frames: list[bytes]
    expected: dict[str, Any]
    options: dict[str, Any]
    captured: bool
    # "source": the expected values are the ones the cited source states next to the frame;
    # "hand": decoded by hand from the register map; "mixed": some of each (see _comment).
    expected_from: str

    @property
    def id(self) -> str:
        return f"{self.protocol}/{self.path.stem}"


def load(path: Path) -> Capture:
    data = json.loads(path.read_text())
    assert data["_comment"] and data["source"], f"{path} must cite its source"
    options = {"address": data["address"]} if "address" in data else {}
    assert data.get("expected_from") in EXPECTED_FROM, f"{path}: expected_from must be one of {EXPECTED_FROM}"
    return Capture(
        path=path,
        protocol=data["protocol"],
        frames=[bytes.fromhex(f) for f in data["frames"]],
        expected=data["expected"],
        options=options,
        captured=data["captured"],
        expected_from=data["expected_from"],
    )


def all_captures() -> list[Capture]:
    return [load(p) for p in sorted(FIXTURES.glob("*/*.json")) if p.parent.name in PROTOCOLS]


def first_frame(protocol: str) -> Capture:
    return next(c for c in all_captures() if c.protocol == protocol)

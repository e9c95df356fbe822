"""Protocols are data: a field table read (and written) by one shared decoder.

A :class:`Field` says where a number sits in a payload and how to turn the raw integer
into a value in the telemetry unit: ``value = (raw + add) * scale``. The same table
encodes, which is how the emulators answer with exactly the layout the drivers read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from smartbms.errors import LengthError

ByteOrder = Literal["big", "little"]


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    offset: int
    size: int = 2
    signed: bool = False
    scale: float = 1.0
    add: int = 0
    order: ByteOrder = "big"

    def read(self, payload: bytes) -> float:
        end = self.offset + self.size
        if end > len(payload):
            raise LengthError(f"field {self.name} needs {end} bytes, payload has {len(payload)}")
        raw = int.from_bytes(payload[self.offset : end], self.order, signed=self.signed)
        return round((raw + self.add) * self.scale, 6)

    def write(self, payload: bytearray, value: float) -> None:
        raw = round(value / self.scale) - self.add
        lo, hi = _limits(self.size, self.signed)
        raw = min(max(raw, lo), hi)
        payload[self.offset : self.offset + self.size] = raw.to_bytes(
            self.size, self.order, signed=self.signed
        )


def _limits(size: int, signed: bool) -> tuple[int, int]:
    bits = 8 * size
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def read_fields(table: Iterable[Field], payload: bytes) -> dict[str, float]:
    """Every field of ``table`` that fits in ``payload``; a short payload raises LengthError."""
    return {f.name: f.read(payload) for f in table}


def bits_set(value: int, width: int) -> list[int]:
    """Zero-based numbers of the bits set in ``value`` (bit 0 first)."""
    return [i for i in range(width) if value >> i & 1]


def kelvin10_to_c(raw: float, zero: float = 2731) -> float:
    """0.1 K on the wire (offset 2731 by default; some boards use 2730) to °C."""
    return round((raw - zero) / 10, 2)


def c_to_kelvin10(celsius: float, zero: int = 2731) -> int:
    return round(celsius * 10) + zero

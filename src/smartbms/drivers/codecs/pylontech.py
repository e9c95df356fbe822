"""Pylontech RS485 (ASCII hex), also spoken by Seplos V2 and many "Pylontech-compatible" packs.

Frame: ``~ VER ADR CID1 CID2 LENGTH INFO CHKSUM \\r``, every byte as two ASCII hex
characters. CID1 is 0x46; in a request CID2 is the command (0x42 analog values, 0x92
charge management), in a response it is the return code (0 = OK). LENGTH carries a
4-bit check over the 12-bit count of INFO characters. Facts: Pylon "RS485 protocol"
V3.3 and shared/design/protocols.md, checked against the captures in
tests/fixtures/pylontech-rs485.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smartbms.drivers.codecs.base import BoardProtocol, Frame, FrameFormat, merge_all, with_meta
from smartbms.drivers.codecs.checksums import pylontech_checksum, pylontech_length
from smartbms.drivers.codecs.fields import kelvin10_to_c
from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError
from smartbms.telemetry import Telemetry

SOI, EOI = ord("~"), ord("\r")
VERSION, CID1_BATTERY = 0x20, 0x46
CMD_ANALOG, CMD_MANAGEMENT = 0x42, 0x92
MANAGEMENT_INFO_BYTES = 10


def build_frame(address: int, cid2: int, info: bytes = b"", version: int = VERSION) -> bytes:
    info_hex = info.hex().upper().encode()
    length = pylontech_length(len(info_hex))
    body = f"{version:02X}{address:02X}{CID1_BATTERY:02X}{cid2:02X}{length:04X}".encode() + info_hex
    return b"~" + body + f"{pylontech_checksum(body):04X}".encode() + b"\r"


class PylontechFormat(FrameFormat):
    max_size = 4096

    def find_start(self, buf: bytes | bytearray) -> int:
        return buf.find(SOI)

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        end = buf.find(EOI)
        if end < 0:
            return None
        later_start = buf.find(SOI, 1, end)
        if later_start > 0:
            raise LengthError("a new '~' before the end of the frame: truncated frame")
        return end + 1

    def check(self, raw: bytes) -> Frame:
        if raw[0] != SOI:
            raise StartByteError(f"Pylontech frame starts with {raw[:1]!r}, not '~'")
        if raw[-1] != EOI:
            raise LengthError("Pylontech frame does not end with CR")
        text = raw[1:-1]
        if len(text) < 16 or len(text) % 2:
            raise LengthError(f"Pylontech frame body of {len(text)} characters is too short or odd")
        body, chk = text[:-4], text[-4:]
        try:
            header = bytes.fromhex(body[:12].decode("ascii"))
            info = bytes.fromhex(body[12:].decode("ascii"))
            got = int(chk.decode("ascii"), 16)
        except (UnicodeDecodeError, ValueError) as exc:
            raise DecodeError(f"Pylontech frame holds characters that are not hex: {exc}") from None
        expected = pylontech_checksum(body)
        if got != expected:
            raise ChecksumError(f"Pylontech checksum {got:04X}, expected {expected:04X}")
        length = int.from_bytes(header[4:6], "big")
        if length & 0x0FFF != len(body) - 12:
            raise LengthError(f"Pylontech LENID {length & 0x0FFF} but INFO has {len(body) - 12} characters")
        if pylontech_length(length & 0x0FFF) != length:
            raise LengthError(f"Pylontech LENGTH 0x{length:04X} has a wrong check nibble")
        version, address, cid1, cid2 = header[:4]
        return Frame(
            kind=cid2, payload=info, raw=raw, address=address, meta={"cid1": cid1, "version": version}
        )


class _Reader:
    """Sequential big-endian reads over an INFO block; running out is a LengthError."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, size: int, signed: bool = False) -> int:
        if self.pos + size > len(self.data):
            raise LengthError(f"Pylontech INFO ends at byte {len(self.data)}, needed {self.pos + size}")
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big", signed=signed)
        self.pos += size
        return value

    @property
    def left(self) -> int:
        return len(self.data) - self.pos


def _module(r: _Reader) -> dict[str, Any]:
    cells = [r.take(2) / 1000 for _ in range(r.take(1))]
    temps = [kelvin10_to_c(r.take(2)) for _ in range(r.take(1))]
    current = r.take(2, signed=True) / 10
    voltage = r.take(2) / 1000
    remaining = r.take(2)
    user = r.take(1)
    total = r.take(2)
    cycles = r.take(2)
    if user == 4:  # large packs: 24-bit capacities follow and replace the 16-bit ones
        remaining, total = r.take(3), r.take(3)
    return {"cells": cells, "temps": temps, "current": current, "voltage": voltage,
            "remaining": remaining / 1000, "total": total / 1000, "cycles": cycles}  # fmt: skip


def decode_analog(info: bytes) -> Telemetry:
    r = _Reader(info)
    r.take(1)  # data flag
    r.take(1)  # address of a single pack, or the number of packs when all are read at once
    modules = [_module(r)]
    while r.left:
        modules.append(_module(r))
    remaining = round(sum(m["remaining"] for m in modules), 3)
    total = round(sum(m["total"] for m in modules), 3)
    # The first sensor of each pack is its BMS board; the others measure cell groups.
    board_temps = [m["temps"][0] for m in modules if m["temps"]]
    return Telemetry(
        voltage_v=round(sum(m["voltage"] for m in modules) / len(modules), 3),
        current_a=round(sum(m["current"] for m in modules), 2),
        remaining_ah=remaining,
        capacity_ah=total,
        soc_pct=round(100 * remaining / total, 2) if total else None,
        cycles=max(m["cycles"] for m in modules),
        cell_voltages_v=tuple(c for m in modules for c in m["cells"]),
        temperatures_c=tuple(t for m in modules for t in m["temps"][1:]),
        extra={
            "modules": len(modules),
            "board_temperatures_c": board_temps,
            "soc_source": "remaining/total capacity",
        },
    )


def decode_management(info: bytes) -> Telemetry:
    if len(info) != MANAGEMENT_INFO_BYTES:
        raise LengthError(f"Pylontech charge management INFO is 10 bytes, got {len(info)}")
    status = info[9]
    return Telemetry(
        charge_enabled=bool(status & 0x80),
        discharge_enabled=bool(status & 0x40),
        extra={
            "charge_voltage_limit_v": int.from_bytes(info[1:3], "big") / 1000,
            "discharge_voltage_limit_v": int.from_bytes(info[3:5], "big") / 1000,
            "charge_current_limit_a": int.from_bytes(info[5:7], "big", signed=True) / 10,
            "discharge_current_limit_a": int.from_bytes(info[7:9], "big", signed=True) / 10,
            "full_charge_request": bool(status & 0x08),
        },
    )


class PylontechProtocol(BoardProtocol):
    name = "pylontech-rs485"
    title = "Pylontech RS485 (ASCII), also Seplos V2"
    transports = ("serial", "tcp")

    def __init__(self, address: int = 2) -> None:
        self.address = address

    def response_format(self) -> FrameFormat:
        return PylontechFormat()

    def request_format(self) -> FrameFormat:
        return PylontechFormat()

    def status_requests(self) -> list[bytes]:
        info = bytes([self.address])
        return [build_frame(self.address, CMD_ANALOG, info), build_frame(self.address, CMD_MANAGEMENT, info)]

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        return with_meta(frame, command=int(request[7:9], 16))

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts = []
        for frame in frames:
            if frame.kind != 0:
                raise DecodeError(f"Pylontech pack answered with return code 0x{frame.kind:02x}")
            # A response does not name its command; a live link records it, captures are told apart by size.
            command = frame.meta.get("command")
            if command is None:
                command = CMD_MANAGEMENT if len(frame.payload) == MANAGEMENT_INFO_BYTES else CMD_ANALOG
            parts.append(
                decode_management(frame.payload)
                if command == CMD_MANAGEMENT
                else decode_analog(frame.payload)
            )
        return merge_all(parts)

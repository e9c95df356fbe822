"""JK BMS over RS485 / the "GPS port" (0x4E57), 115200 baud on most boards.

Frame: ``4E 57 | length u16 BE (total - 2) | terminal 4B | command | source | type |
data | record 4B | 68 | 00 00 | sum16 BE`` with the sum over every byte up to and
including the 0x68 end flag. Data is a tag/value list, big-endian. Commands: 02 write,
03 read (register 0x00 = every register), 06 read all. A board answers a 03 read with a
03 frame holding the same tag list as a 06 reply (the 14S capture in jblance/mpp-solar#389),
so both are decoded. Facts: the JK "RS485 protocol" register table (as published
in syssi/esphome-jk-bms docs/protocol-design-uart-ttl-gps-port.md) and
shared/design/protocols.md, checked against the captures in tests/fixtures/jk-rs485.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from smartbms.drivers.codecs.base import (
    AlarmBit,
    BoardProtocol,
    Frame,
    FrameFormat,
    SettingSpec,
    alarms_from_bits,
    merge_all,
)
from smartbms.drivers.codecs.checksums import sum16
from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError
from smartbms.telemetry import Telemetry

HEADER = b"\x4e\x57"
END_FLAG = 0x68
CMD_WRITE, CMD_READ, CMD_READ_ALL = 0x02, 0x03, 0x06
SOURCE_BMS, SOURCE_HOST = 0x00, 0x03
TYPE_REQUEST, TYPE_RESPONSE = 0x00, 0x01
# Replies whose data is a tag/value list of readings.
STATUS_COMMANDS = frozenset({CMD_READ, CMD_READ_ALL})
MIN_FRAME = 20  # header 2 + length 2 + terminal 4 + cmd/source/type 3 + record 4 + flag 1 + sum 4

# Value size of every tag; 0x79 is special: one length byte, then that many bytes.
TAG_SIZES: dict[int, int] = {0x80: 2, 0x81: 2, 0x82: 2, 0x83: 2, 0x84: 2, 0x85: 1, 0x86: 1, 0x87: 2}
TAG_SIZES |= {0x89: 4, 0x8A: 2, 0x8B: 2, 0x8C: 2}
TAG_SIZES |= dict.fromkeys(range(0x8E, 0x9D), 2) | {0x9D: 1}
TAG_SIZES |= dict.fromkeys(range(0x9E, 0xA9), 2)
TAG_SIZES |= {0xA9: 1, 0xAA: 4, 0xAB: 1, 0xAC: 1, 0xAD: 2, 0xAE: 1, 0xAF: 1, 0xB0: 2, 0xB1: 1, 0xB2: 10}
TAG_SIZES |= {0xB3: 1, 0xB4: 8, 0xB5: 4, 0xB6: 4, 0xB7: 15, 0xB8: 1, 0xB9: 4, 0xBA: 24, 0xBB: 1, 0xBC: 1}
TAG_SIZES |= {0xBD: 1, 0xBE: 2, 0xBF: 2, 0xC0: 1}
SIGNED_TAGS = frozenset(range(0xA5, 0xA9))  # low-temperature limits are signed °C
TAG_CELLS = 0x79

WARNING_BITS = (
    AlarmBit(0, "low capacity", "W-PREALARM"),
    AlarmBit(1, "power tube over-temperature", "A-FET-OT"),
    AlarmBit(2, "charging over-voltage", "A-PACK-OV"),
    AlarmBit(3, "discharging under-voltage", "A-PACK-UV"),
    AlarmBit(4, "battery over-temperature", "A-DSG-OT"),
    AlarmBit(5, "charging over-current", "A-CHG-OC"),
    AlarmBit(6, "discharging over-current", "A-DSG-OC1"),
    AlarmBit(7, "cell voltage difference", "A-IMBALANCE"),
    AlarmBit(8, "battery box over-temperature", "A-DSG-OT"),
    AlarmBit(9, "battery low temperature", "A-CHG-UT"),
    AlarmBit(10, "cell over-voltage", "A-CELL-OV"),
    AlarmBit(11, "cell under-voltage", "A-CELL-UV"),
    AlarmBit(12, "309_A protection", "E-AFE"),
    AlarmBit(13, "309_B protection", "E-AFE"),
)

_TABLE = "JK RS485 register table"
# key -> (tag, raw units per setting unit)
SETTING_TAGS: dict[str, tuple[int, float]] = {
    "pack_ov_v": (0x8E, 100.0),
    "pack_uv_v": (0x8F, 100.0),
    "cell_ov_v": (0x90, 1000.0),
    "cell_ov_release_v": (0x91, 1000.0),
    "cell_uv_v": (0x93, 1000.0),
    "cell_uv_release_v": (0x94, 1000.0),
    "discharge_oc_a": (0x97, 1.0),
    "charge_oc_a": (0x99, 1.0),
    "capacity_ah": (0xAA, 1.0),
}


def _spec(key: str, unit: str, low: float, high: float, what: str, documented: str) -> SettingSpec:
    return SettingSpec(key, unit, low, high, what, f"{_TABLE}: {documented}")


SETTINGS = {
    spec.key: spec
    for spec in (
        _spec("pack_ov_v", "V", 10.0, 150.0, "pack over-voltage protection", "1000-15000 × 10 mV"),
        _spec("pack_uv_v", "V", 10.0, 150.0, "pack under-voltage protection", "1000-15000 × 10 mV"),
        _spec("cell_ov_v", "V", 1.0, 4.5, "cell over-voltage protection", "1000-4500 mV"),
        _spec("cell_ov_release_v", "V", 1.0, 4.5, "cell over-voltage recovery", "1000-4500 mV"),
        _spec("cell_uv_v", "V", 1.0, 4.5, "cell under-voltage protection", "1000-4500 mV"),
        _spec("cell_uv_release_v", "V", 1.0, 4.5, "cell under-voltage recovery", "1000-4500 mV"),
        _spec("discharge_oc_a", "A", 1, 1000, "discharge over-current protection", "1-1000 A"),
        _spec("charge_oc_a", "A", 1, 1000, "charge over-current protection", "1-1000 A"),
        _spec("capacity_ah", "Ah", 1, 100000, "battery capacity", "u32 Ah (upper bound: smartbms)"),
    )
}


def build_frame(
    command: int, data: bytes, source: int = SOURCE_HOST, frame_type: int = TYPE_REQUEST
) -> bytes:
    body = bytes(4) + bytes([command, source, frame_type]) + data + bytes(4) + bytes([END_FLAG])
    length = 2 + len(body) + 4  # the length field counts itself and the 4 checksum bytes
    head = HEADER + length.to_bytes(2, "big") + body
    return head + sum16(head).to_bytes(4, "big")


class JkRs485Format(FrameFormat):
    max_size = 1024

    def find_start(self, buf: bytes | bytearray) -> int:
        index = buf.find(HEADER)
        if index < 0 and buf[-1:] == HEADER[:1]:
            return len(buf) - 1
        return index

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        if len(buf) < 4:
            return None
        if buf[:2] != HEADER:
            raise StartByteError("JK RS485 frame does not start with 4E 57")
        size = int.from_bytes(buf[2:4], "big") + 2
        if size < MIN_FRAME or size > self.max_size:
            raise LengthError(f"JK RS485 length field announces {size} bytes")
        return size

    def check(self, raw: bytes) -> Frame:
        if raw[:2] != HEADER:
            raise StartByteError(f"JK RS485 frame starts with {raw[:2].hex()}, not 4e57")
        if len(raw) < MIN_FRAME or int.from_bytes(raw[2:4], "big") + 2 != len(raw):
            raise LengthError(f"JK RS485 frame of {len(raw)} bytes disagrees with its length field")
        expected = sum16(raw[:-4])
        got = int.from_bytes(raw[-4:], "big")
        if got != expected:
            raise ChecksumError(f"JK RS485 checksum 0x{got:04x}, expected 0x{expected:04x}")
        if raw[-5] != END_FLAG:
            raise LengthError(f"JK RS485 end flag is 0x{raw[-5]:02x}, not 0x68")
        return Frame(kind=raw[8], payload=raw[11:-9], raw=raw, meta={"source": raw[9], "type": raw[10]})


def parse_tags(data: bytes) -> dict[int, Any]:
    """Tag -> raw value (int, or bytes for the cell list and text tags)."""
    out: dict[int, Any] = {}
    pos = 0
    while pos < len(data):
        tag = data[pos]
        pos += 1
        if tag == TAG_CELLS:
            if pos >= len(data):
                raise LengthError("JK cell list without its length byte")
            size = data[pos]
            pos += 1
        elif tag in TAG_SIZES:
            size = TAG_SIZES[tag]
        else:
            raise DecodeError(f"unknown JK RS485 tag 0x{tag:02x} at data byte {pos - 1}")
        if pos + size > len(data):
            raise LengthError(f"JK tag 0x{tag:02x} needs {size} bytes, {len(data) - pos} left")
        chunk = data[pos : pos + size]
        out[tag] = (
            chunk if tag == TAG_CELLS or size > 4 else int.from_bytes(chunk, "big", signed=tag in SIGNED_TAGS)
        )
        pos += size
    return out


def _temperature(raw: int) -> float:
    # 0..100 are °C; 101..140 are -1..-40 °C.
    return float(raw if raw <= 100 else 100 - raw)


def _current(raw: int, protocol_version: int) -> float:
    if protocol_version >= 1:
        magnitude = (raw & 0x7FFF) / 100
        return magnitude if raw & 0x8000 or not magnitude else -magnitude
    return round((10000 - raw) / 100, 2)


def decode_tags(tags: dict[int, Any]) -> Telemetry:
    cells_raw: bytes = tags.get(TAG_CELLS, b"")
    if len(cells_raw) % 3:
        raise LengthError(f"JK cell list of {len(cells_raw)} bytes is not a multiple of 3")
    cells = {
        cells_raw[i]: int.from_bytes(cells_raw[i + 1 : i + 3], "big") / 1000
        for i in range(0, len(cells_raw), 3)
    }
    status = tags.get(0x8C)
    warnings = tags.get(0x8B)
    codes, names = alarms_from_bits(WARNING_BITS, warnings) if warnings is not None else ((), [])
    temps = tuple(_temperature(tags[t]) for t in (0x81, 0x82) if t in tags)
    extra: dict[str, Any] = {"board_flags": names}
    if 0x8A in tags:
        extra["cell_count"] = tags[0x8A]
    if status is not None:
        extra["balancer_on"] = bool(status & 4)
    if 0xB7 in tags:
        extra["software_version"] = tags[0xB7].rstrip(b"\x00").decode("ascii", "replace")
    for key, (tag, per_unit) in SETTING_TAGS.items():
        if tag in tags:
            extra[f"setting_{key}"] = round(tags[tag] / per_unit, 6)
    return Telemetry(
        voltage_v=tags[0x83] / 100 if 0x83 in tags else None,
        current_a=_current(tags[0x84], tags.get(0xC0, 0)) if 0x84 in tags else None,
        soc_pct=float(tags[0x85]) if 0x85 in tags else None,
        cycles=tags.get(0x87),
        capacity_ah=float(tags[0xAA]) if 0xAA in tags else None,
        cell_voltages_v=tuple(cells[k] for k in sorted(cells)) if cells else None,
        temperatures_c=temps or None,
        mosfet_temperature_c=_temperature(tags[0x80]) if 0x80 in tags else None,
        charge_enabled=bool(status & 1) if status is not None else None,
        discharge_enabled=bool(status & 2) if status is not None else None,
        alarms=codes if warnings is not None else None,
        extra=extra,
    )


class JkRs485Protocol(BoardProtocol):
    name = "jk-rs485"
    title = "JK BMS RS485 / GPS port (0x4E57)"
    transports = ("serial", "tcp")
    default_baud = 115200
    settings: ClassVar = SETTINGS

    def response_format(self) -> FrameFormat:
        return JkRs485Format()

    def request_format(self) -> FrameFormat:
        return JkRs485Format()

    def status_requests(self) -> list[bytes]:
        return [build_frame(CMD_READ_ALL, b"\x00")]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return len(request) > 8 and frame.kind == request[8]

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        return merge_all([decode_tags(parse_tags(f.payload)) for f in frames if f.kind in STATUS_COMMANDS])

    def _write(self, tag: int, value: int) -> bytes:
        return build_frame(
            CMD_WRITE, bytes([tag]) + value.to_bytes(TAG_SIZES[tag], "big", signed=tag in SIGNED_TAGS)
        )

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [self._write(0xAB, int(on))]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [self._write(0xAC, int(on))]

    def settings_requests(self) -> list[bytes]:
        return self.status_requests()

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        sample = self.decode_status(frames)
        return {k.removeprefix("setting_"): v for k, v in sample.extra.items() if k.startswith("setting_")}

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        self.check_setting(key, value)
        tag, per_unit = SETTING_TAGS[key]
        return [self._write(tag, round(value * per_unit))]

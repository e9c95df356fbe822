"""JBD / Xiaoxiang / Overkill (0xDD) over UART, RS485 or BLE.

Frame: ``DD | b1 | b2 | len | data | chk16 BE | 77``. In a request b1 is A5 (read) or 5A
(write) and b2 the register; in a response b1 is the register and b2 a status (0 = OK).
The checksum is 0x10000 minus the sum of b2, len and data. Facts: Jiabaida "Software Board
General Protocol V4" and shared/design/protocols.md; verified against the captures in
tests/fixtures/jbd.
"""

from __future__ import annotations

import datetime as dt
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
from smartbms.drivers.codecs.checksums import jbd_checksum
from smartbms.drivers.codecs.fields import Field, bits_set, kelvin10_to_c, read_fields
from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError, WriteRefusedError
from smartbms.telemetry import Telemetry

START, END = 0xDD, 0x77
READ, WRITE = 0xA5, 0x5A
REG_BASIC, REG_CELLS, REG_MODEL = 0x03, 0x04, 0x05
REG_FET = 0xE1
REG_FACTORY_ENTER, REG_FACTORY_EXIT = 0x00, 0x01
FACTORY_PASSWORD = 0x5678  # documented default of the 0x00 "enter factory mode" write

BASIC_FIELDS = (
    Field("voltage_v", 0, 2, scale=0.01),
    Field("current_a", 2, 2, signed=True, scale=0.01),
    Field("remaining_ah", 4, 2, scale=0.01),
    Field("capacity_ah", 6, 2, scale=0.01),
    Field("cycles", 8, 2),
    Field("date", 10, 2),
    Field("balance_low", 12, 2),
    Field("balance_high", 14, 2),
    Field("protection", 16, 2),
    Field("version", 18, 1),
    Field("soc_pct", 19, 1),
    Field("fet", 20, 1),
    Field("cell_count", 21, 1),
    Field("ntc_count", 22, 1),
)

# Protection status bits of register 0x03 (offset 16) -> smartbms alarm codes.
PROTECTION_BITS = (
    AlarmBit(0, "cell over-voltage", "A-CELL-OV"),
    AlarmBit(1, "cell under-voltage", "A-CELL-UV"),
    AlarmBit(2, "pack over-voltage", "A-PACK-OV"),
    AlarmBit(3, "pack under-voltage", "A-PACK-UV"),
    AlarmBit(4, "charge over-temperature", "A-CHG-OT"),
    AlarmBit(5, "charge under-temperature", "A-CHG-UT"),
    AlarmBit(6, "discharge over-temperature", "A-DSG-OT"),
    AlarmBit(7, "discharge under-temperature", "A-DSG-UT"),
    AlarmBit(8, "charge over-current", "A-CHG-OC"),
    AlarmBit(9, "discharge over-current", "A-DSG-OC1"),
    AlarmBit(10, "short circuit", "A-SHORT-CIRCUIT"),
    AlarmBit(11, "front-end IC error", "E-AFE"),
    AlarmBit(12, "FET software lock", "A-REMOTE-OFF"),
)

_RANGE_SOURCE = "smartbms bound for Li-ion/LiFePO4 cells; the JBD protocol document gives none"
# EEPROM registers (JBD protocol V4 parameter map): key -> (register, raw units per setting unit).
SETTING_REGISTERS: dict[str, tuple[int, float]] = {
    "design_capacity_ah": (0x10, 100.0),
    "cell_ov_v": (0x24, 1000.0),
    "cell_ov_release_v": (0x25, 1000.0),
    "cell_uv_v": (0x26, 1000.0),
    "cell_uv_release_v": (0x27, 1000.0),
}
SETTINGS = {
    "design_capacity_ah": SettingSpec(
        "design_capacity_ah", "Ah", 0.01, 655.35, "nominal pack capacity", "u16 × 10 mAh (register 0x10)"
    ),
    "cell_ov_v": SettingSpec("cell_ov_v", "V", 2.0, 4.5, "cell over-voltage protection", _RANGE_SOURCE),
    "cell_ov_release_v": SettingSpec(
        "cell_ov_release_v", "V", 2.0, 4.5, "cell over-voltage release", _RANGE_SOURCE
    ),
    "cell_uv_v": SettingSpec("cell_uv_v", "V", 2.0, 4.5, "cell under-voltage protection", _RANGE_SOURCE),
    "cell_uv_release_v": SettingSpec(
        "cell_uv_release_v", "V", 2.0, 4.5, "cell under-voltage release", _RANGE_SOURCE
    ),
}


def build_frame(op: int, register: int, data: bytes = b"") -> bytes:
    """A host request (op A5/5A) or, with op = register and register = status, a board response."""
    body = bytes([register, len(data)]) + data
    return bytes([START, op]) + body + jbd_checksum(body).to_bytes(2, "big") + bytes([END])


def build_response(register: int, data: bytes, status: int = 0) -> bytes:
    return build_frame(register, status, data)


class JbdFormat(FrameFormat):
    max_size = 7 + 255

    def __init__(self, requests: bool) -> None:
        self.requests = requests

    def find_start(self, buf: bytes | bytearray) -> int:
        return buf.find(START)

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        if len(buf) < 4:
            return None
        if self.requests and buf[1] not in (READ, WRITE):
            raise StartByteError(f"request byte 1 is 0x{buf[1]:02x}, not A5/5A")
        return 7 + buf[3]

    def check(self, raw: bytes) -> Frame:
        if raw[0] != START:
            raise StartByteError(f"JBD frame starts with 0x{raw[0]:02x}, not 0xDD")
        if raw[-1] != END:
            raise LengthError(f"JBD frame ends with 0x{raw[-1]:02x}, not 0x77: length byte disagrees")
        length = raw[3]
        if len(raw) != 7 + length:
            raise LengthError(f"JBD frame of {len(raw)} bytes announces {length} data bytes")
        expected = jbd_checksum(raw[2 : 4 + length])
        got = int.from_bytes(raw[4 + length : 6 + length], "big")
        if got != expected:
            raise ChecksumError(f"JBD checksum 0x{got:04x}, expected 0x{expected:04x}")
        payload = raw[4 : 4 + length]
        if self.requests:
            return Frame(kind=raw[2], payload=payload, raw=raw, meta={"op": raw[1]})
        return Frame(kind=raw[1], payload=payload, raw=raw, meta={"status": raw[2]})


def decode_basic(payload: bytes) -> Telemetry:
    if len(payload) < 23:
        raise LengthError(f"JBD basic info needs at least 23 bytes, got {len(payload)}")
    v = read_fields(BASIC_FIELDS, payload)
    ntc = int(v["ntc_count"])
    if len(payload) < 23 + 2 * ntc:
        raise LengthError(f"JBD basic info announces {ntc} temperatures but has {len(payload)} bytes")
    temps = tuple(kelvin10_to_c(int.from_bytes(payload[23 + 2 * i : 25 + 2 * i], "big")) for i in range(ntc))
    balance = int(v["balance_low"]) | int(v["balance_high"]) << 16
    codes, names = alarms_from_bits(PROTECTION_BITS, int(v["protection"]))
    fet = int(v["fet"])
    extra: dict[str, Any] = {"cell_count": int(v["cell_count"]), "board_flags": names}
    date = _decode_date(int(v["date"]))
    if date:
        extra["manufacture_date"] = date
    return Telemetry(
        voltage_v=v["voltage_v"],
        current_a=v["current_a"],
        soc_pct=v["soc_pct"],
        remaining_ah=v["remaining_ah"],
        capacity_ah=v["capacity_ah"],
        cycles=int(v["cycles"]),
        temperatures_c=temps,
        charge_enabled=bool(fet & 1),
        discharge_enabled=bool(fet & 2),
        balancing_cells=tuple(b + 1 for b in bits_set(balance, 32)),
        alarms=codes,
        extra=extra,
    )


def _decode_date(raw: int) -> str | None:
    try:
        return dt.date(2000 + (raw >> 9), raw >> 5 & 0x0F, raw & 0x1F).isoformat()
    except ValueError:
        return None


def decode_cells(payload: bytes) -> Telemetry:
    if len(payload) % 2:
        raise LengthError(f"JBD cell frame has an odd length {len(payload)}")
    cells = tuple(int.from_bytes(payload[i : i + 2], "big") / 1000 for i in range(0, len(payload), 2))
    return Telemetry(cell_voltages_v=cells)


class JbdProtocol(BoardProtocol):
    name = "jbd"
    title = "JBD / Xiaoxiang / Overkill Solar (0xDD)"
    transports = ("serial", "tcp", "ble")
    settings: ClassVar = SETTINGS
    ble_characteristics = ("0000ff01-0000-1000-8000-00805f9b34fb", "0000ff02-0000-1000-8000-00805f9b34fb")

    def __init__(self, factory_password: int = FACTORY_PASSWORD) -> None:
        # EEPROM writes need factory mode, entered with the board's password (default 0x5678).
        self.factory_password = factory_password

    def response_format(self) -> FrameFormat:
        return JbdFormat(requests=False)

    def request_format(self) -> FrameFormat:
        return JbdFormat(requests=True)

    def status_requests(self) -> list[bytes]:
        return [build_frame(READ, REG_BASIC), build_frame(READ, REG_CELLS)]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return len(request) > 2 and frame.kind == request[2]

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts: list[Telemetry] = []
        for frame in frames:
            if frame.meta.get("status", 0):
                raise DecodeError(
                    f"JBD board answered register 0x{frame.kind:02x} with error 0x{frame.meta['status']:02x}"
                )
            if frame.kind == REG_BASIC:
                parts.append(decode_basic(frame.payload))
            elif frame.kind == REG_CELLS:
                parts.append(decode_cells(frame.payload))
            elif frame.kind == REG_MODEL:
                parts.append(Telemetry(extra={"model": frame.payload.decode("ascii", "replace")}))
        return merge_all(parts)

    def _fet_request(self, charge: bool, discharge: bool) -> bytes:
        # Bits set = path OFF (bit0 charge, bit1 discharge).
        mask = (0 if charge else 1) | (0 if discharge else 2)
        return build_frame(WRITE, REG_FET, bytes([0x00, mask]))

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        discharge = (
            True if current is None or current.discharge_enabled is None else current.discharge_enabled
        )
        return [self._fet_request(on, discharge)]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        charge = True if current is None or current.charge_enabled is None else current.charge_enabled
        return [self._fet_request(charge, on)]

    def check_replies(self, frames: Sequence[Frame]) -> None:
        for frame in frames:
            if frame.meta.get("status", 0):
                what = (
                    "factory mode refused: wrong password?"
                    if frame.kind == REG_FACTORY_ENTER
                    else "write refused"
                )
                raise WriteRefusedError(
                    f"JBD register 0x{frame.kind:02x}: {what} (status 0x{frame.meta['status']:02x})"
                )

    def settings_requests(self) -> list[bytes]:
        reads = [build_frame(READ, reg) for reg, _ in SETTING_REGISTERS.values()]
        return [self._factory_enter(), *reads, _factory_exit()]

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        by_register = {f.kind: f for f in frames if f.meta.get("status", 0) == 0}
        out: dict[str, Any] = {}
        for key, (reg, per_unit) in SETTING_REGISTERS.items():
            frame = by_register.get(reg)
            if frame is not None and len(frame.payload) >= 2:
                out[key] = round(int.from_bytes(frame.payload[:2], "big") / per_unit, 6)
        return out

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        self.check_setting(key, value)
        reg, per_unit = SETTING_REGISTERS[key]
        raw = round(value * per_unit).to_bytes(2, "big")
        return [self._factory_enter(), build_frame(WRITE, reg, raw), _factory_exit()]

    def _factory_enter(self) -> bytes:
        return build_frame(WRITE, REG_FACTORY_ENTER, self.factory_password.to_bytes(2, "big"))


def _factory_exit() -> bytes:
    return build_frame(WRITE, REG_FACTORY_EXIT, b"\x00\x00")

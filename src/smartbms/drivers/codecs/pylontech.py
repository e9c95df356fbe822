"""Pylontech RS485 (ASCII hex), also spoken by Seplos V2 and many "Pylontech-compatible" packs.

Frame: ``~ VER ADR CID1 CID2 LENGTH INFO CHKSUM \\r``, every byte as two ASCII hex
characters. CID1 is 0x46; in a request CID2 is the command (0x42 analog values, 0x92
charge management), in a response it is the return code (0 = OK). LENGTH carries a
4-bit check over the 12-bit count of INFO characters. Facts: Pylon "RS485 protocol"
V3.3 and shared/design/protocols.md, checked against the captures in
tests/fixtures/pylontech-rs485.

0x44 "get alarm info" reply INFO (Pylon RS485 protocol V3.3, "Get alarm info"): data flag,
command value (the pack address), cell count M, M cell-voltage states, sensor count N,
N temperature states (the first is the BMS board), charge-current state, module-voltage
state, discharge-current state, status 1 to 5. A state byte is 0x00 normal, 0x01 below
the lower limit, 0x02 above the upper limit, 0xF0 other error. Status 1 holds the
protections (bit 0 module over-voltage, 1 cell under-voltage, 2 charge over-current,
4 discharge over-current, 5 discharge over-temperature, 6 charge over-temperature, 7 module
under-voltage), status 2 the switches (bit 0 pre-charge MOSFET, 1 charge MOSFET, 2
discharge MOSFET, 3 running on the module's own power), status 3 (bit 0 buzzer, 3 fully
charged, 5 heater, 6 discharge current flowing, 7 charge current flowing), status 4/5 one
"cell error" bit per cell 1-8 / 9-16.

Sources that agree on this layout (the V3.3 PDF kept in Frankkkkk/python-pylontech could
not be read as text here): abc2006/pvfhem ``FHEM/15_pylontech.pm``, FHEM's
``70_PylonLowVoltage.pm`` and martiby/ess ``pylontech.py``, whose US2000 replies with their
decoded values are fixtures here (status 2 = 0x0E: both MOSFETs on, module power).
Disagreements: pvfhem reads the low nibble of status 2 in reverse order (bit 3 pre-MOSFET);
the order above is the one of the other implementations found and fits the US2000's 0x0E.
Some "Pylontech-compatible" boards (Seplos V2, Shoto) follow the three state bytes with
their own vendor alarm bytes instead of status 1-5. This codec reads the V3.3 layout only:
up to two bytes after status 5 (US2000/US3000 send one more, undocumented) are kept as
``alarm_extra_bytes``; a longer tail is taken for a vendor block, kept raw as
``alarm_vendor_bytes``, and only the state bytes are mapped.
When the 0x44 reply is part of a status, its MOSFET bits set ``charge_enabled`` /
``discharge_enabled`` (the actual paths); without it they come from the 0x92 enable flags.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smartbms.drivers.codecs.base import (
    AlarmBit,
    BoardProtocol,
    Frame,
    FrameFormat,
    alarms_from_bits,
    merge_all,
    with_meta,
)
from smartbms.drivers.codecs.checksums import pylontech_checksum, pylontech_length
from smartbms.drivers.codecs.fields import kelvin10_to_c
from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError
from smartbms.telemetry import Telemetry

SOI, EOI = ord("~"), ord("\r")
VERSION, CID1_BATTERY = 0x20, 0x46
CMD_ANALOG, CMD_ALARM, CMD_MANAGEMENT = 0x42, 0x44, 0x92
MANAGEMENT_INFO_BYTES = 10

# 0x44 state bytes.
STATE_NORMAL, STATE_LOW, STATE_HIGH, STATE_ERROR = 0x00, 0x01, 0x02, 0xF0
STATE_NAMES = {STATE_LOW: "below lower limit", STATE_HIGH: "above upper limit", STATE_ERROR: "other error"}
# (item, state) -> smartbms code: a state is the board's alarm (warning) level; status 1 is protection.
CELL_STATE_CODES = {STATE_LOW: "W-CELL-UV", STATE_HIGH: "W-CELL-OV"}
TEMPERATURE_STATE_CODES = {STATE_LOW: "W-DSG-UT", STATE_HIGH: "W-DSG-OT"}  # not told charge/discharge
CHARGE_CURRENT_STATE_CODES = {STATE_HIGH: "W-CHG-OC"}
MODULE_VOLTAGE_STATE_CODES = {STATE_LOW: "W-PACK-UV", STATE_HIGH: "W-PACK-OV"}
DISCHARGE_CURRENT_STATE_CODES = {STATE_HIGH: "W-DSG-OC"}
STATUS1_BITS = (
    AlarmBit(0, "module over-voltage", "A-PACK-OV"),
    AlarmBit(1, "cell under-voltage", "A-CELL-UV"),
    AlarmBit(2, "charge over-current", "A-CHG-OC"),
    AlarmBit(4, "discharge over-current", "A-DSG-OC1"),
    AlarmBit(5, "discharge over-temperature", "A-DSG-OT"),
    AlarmBit(6, "charge over-temperature", "A-CHG-OT"),
    AlarmBit(7, "module under-voltage", "A-PACK-UV"),
)
STATUS2_PRE_MOSFET, STATUS2_CHARGE_MOSFET, STATUS2_DISCHARGE_MOSFET, STATUS2_MODULE_POWER = 1, 2, 4, 8
STATE_BITS = (  # status 2 (bits 0-3) and status 3 (bits 8-15): names only, in extra["board_state"]
    AlarmBit(0, "pre-charge MOSFET on", None),
    AlarmBit(1, "charge MOSFET on", None),
    AlarmBit(2, "discharge MOSFET on", None),
    AlarmBit(3, "using battery module power", None),
    AlarmBit(8, "buzzer on", None),
    AlarmBit(11, "fully charged", None),
    AlarmBit(13, "heater on", None),
    AlarmBit(14, "effective discharge current", None),
    AlarmBit(15, "effective charge current", None),
)
# Status 4/5: one error bit per cell (no smartbms code fits a cell the board declares faulty).
MAX_EXTRA_BYTES = 2  # bytes after status 5 still read as V3.3 (US2000/US3000 send one)
CELL_ERROR_BITS = tuple(AlarmBit(i, f"cell {i + 1} error", None) for i in range(16))


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


def _states(r: _Reader, label: str, codes: dict[int, str], out_codes: list[str], flags: list[str]) -> None:
    state = r.take(1)
    if state != STATE_NORMAL:
        flags.append(f"{label} {STATE_NAMES.get(state, f'state 0x{state:02x}')}")
        code = codes.get(state)
        if code and code not in out_codes:
            out_codes.append(code)


def decode_alarm(info: bytes) -> Telemetry:
    """A 0x44 reply for one pack (V3.3 layout, see the module docstring)."""
    r = _Reader(info)
    flag = r.take(1)
    r.take(1)  # command value: the pack's address
    codes: list[str] = []
    flags: list[str] = []
    cells = r.take(1)
    for i in range(cells):
        _states(r, f"cell {i + 1} voltage", CELL_STATE_CODES, codes, flags)
    sensors = r.take(1)
    for i in range(sensors):
        label = "BMS board temperature" if i == 0 else f"temperature {i}"
        _states(r, label, TEMPERATURE_STATE_CODES, codes, flags)
    _states(r, "charge current", CHARGE_CURRENT_STATE_CODES, codes, flags)
    _states(r, "module voltage", MODULE_VOLTAGE_STATE_CODES, codes, flags)
    _states(r, "discharge current", DISCHARGE_CURRENT_STATE_CODES, codes, flags)
    if r.left > 5 + MAX_EXTRA_BYTES:
        # Not V3.3: a vendor alarm block (e.g. Seplos V2, Shoto) follows the state bytes; kept raw.
        return Telemetry(
            alarms=tuple(codes),
            extra={
                "board_flags": flags,
                "alarm_data_flag": flag,
                "alarm_vendor_bytes": list(r.data[r.pos :]),
            },
        )
    status = [r.take(1) for _ in range(5)]
    protection_codes, protection_flags = alarms_from_bits(STATUS1_BITS, status[0])
    codes += [c for c in protection_codes if c not in codes]
    flags += protection_flags
    flags += alarms_from_bits(CELL_ERROR_BITS, status[3] | status[4] << 8)[1]
    state = alarms_from_bits(STATE_BITS, (status[1] & 0x0F) | status[2] << 8)[1]
    return Telemetry(
        charge_enabled=bool(status[1] & STATUS2_CHARGE_MOSFET),
        discharge_enabled=bool(status[1] & STATUS2_DISCHARGE_MOSFET),
        alarms=tuple(codes),
        extra={
            "board_flags": flags,
            "board_state": state,
            "alarm_data_flag": flag,
            "alarm_status_bytes": status,
            "alarm_extra_bytes": list(r.data[r.pos :]),
        },
    )


def looks_like_alarm(info: bytes) -> bool:
    """Whether an INFO block has the shape of a 0x44 reply (for captures, which do not name their command)."""
    if len(info) < 4 or len(info) < 4 + info[2]:
        return False
    cells, sensors = info[2], info[3 + info[2]]
    size = 4 + cells + sensors + 3 + 5
    states = info[3 : 3 + cells] + info[4 + cells : 4 + cells + sensors + 3]
    known = (STATE_NORMAL, STATE_LOW, STATE_HIGH, STATE_ERROR)
    return size <= len(info) <= size + MAX_EXTRA_BYTES and all(b in known for b in states)


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
        return [
            build_frame(self.address, CMD_ANALOG, info),
            build_frame(self.address, CMD_MANAGEMENT, info),
            build_frame(self.address, CMD_ALARM, info),
        ]

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        return with_meta(frame, command=int(request[7:9], 16))

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts, alarm_parts = [], []
        for frame in frames:
            if frame.kind != 0:
                raise DecodeError(f"Pylontech pack answered with return code 0x{frame.kind:02x}")
            # A response does not name its command; a live link records it, captures are told apart by shape.
            command = frame.meta.get("command")
            if command is None:
                if len(frame.payload) == MANAGEMENT_INFO_BYTES:
                    command = CMD_MANAGEMENT
                else:
                    command = CMD_ALARM if looks_like_alarm(frame.payload) else CMD_ANALOG
            if command == CMD_MANAGEMENT:
                parts.append(decode_management(frame.payload))
            elif command == CMD_ALARM:
                alarm_parts.append(decode_alarm(frame.payload))
            else:
                parts.append(decode_analog(frame.payload))
        # The MOSFET bits of 0x44 are the actual paths: they win over the 0x92 enable flags.
        return merge_all(parts + alarm_parts)

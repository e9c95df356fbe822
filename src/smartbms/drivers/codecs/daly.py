"""Daly legacy UART/RS485 protocol (0xA5): fixed 13-byte frames, 9600 8N1.

Frame: ``A5 | address | command | 08 | 8 data bytes | sum8 of the 12 bytes before``.
The host sends address 0x40 (RS485/USB) or 0x80 (UART/BT); the board answers from 0x01.
Facts: Daly "UART/485 communications protocol" V1.2 and shared/design/protocols.md,
verified against the captures in tests/fixtures/daly.

Settings (read only): 0x50 "rated parameters", which the V1.2 document does not list, answers
with the rated capacity (u32, mAh) and the nominal cell voltage (u32, mV), big-endian. The
command and layout are the ones three independent public sources agree on:
dbus-serialbattery ``bms/daly.py`` (Louisvdw/dbus-serialbattery and its successor
mr-manuel/venus-os_dbus-serialbattery; ``read_capacity``: ``>LL``, capacity / 1000 = Ah),
ai-republic/bms-to-inverter ``DalyMessageHandler`` (0x50: "ratedCapacitymAh", "ratedCellmV"),
and a decoded Daly CAN capture on diysolarforum.com ("Daly BMS Communication Protocol",
thread 65439: data ``00 00 75 30 00 00 0e 10``, factor 1000, i.e. 30 Ah and 3.6 V; Daly's CAN
protocol uses the same data IDs and 8-byte payloads as the UART one).
Writing parameters is refused: no public source documents the parameter-write commands, their
payloads or the board's acknowledgement (see docs/drivers.md, "Known limits").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from smartbms.drivers.codecs.base import (
    AlarmBit,
    BoardProtocol,
    Frame,
    FrameFormat,
    alarms_from_bits,
    merge_all,
)
from smartbms.drivers.codecs.checksums import sum8
from smartbms.drivers.codecs.fields import Field, bits_set, read_fields
from smartbms.errors import ChecksumError, LengthError, StartByteError, WriteRefusedError
from smartbms.telemetry import Telemetry

START = 0xA5
FRAME_SIZE = 13
DATA_LEN = 0x08
HOST_RS485, HOST_UART, BOARD = 0x40, 0x80, 0x01

CMD_SOC, CMD_CELL_RANGE, CMD_TEMP_RANGE, CMD_FET = 0x90, 0x91, 0x92, 0x93
CMD_INFO, CMD_CELLS, CMD_TEMPS, CMD_BALANCE, CMD_FAULTS = 0x94, 0x95, 0x96, 0x97, 0x98
CMD_DISCHARGE_FET, CMD_CHARGE_FET, CMD_SET_SOC = 0xD9, 0xDA, 0x21
CMD_RATED = 0x50  # settings read: rated capacity and nominal cell voltage (read only)
CURRENT_OFFSET = 30000  # current is sent as raw - 30000 in 0.1 A
TEMP_OFFSET = 40  # temperatures are sent as °C + 40

SOC_FIELDS = (
    Field("voltage_v", 0, 2, scale=0.1),
    Field("current_a", 4, 2, scale=0.1, add=-CURRENT_OFFSET),
    Field("soc_pct", 6, 2, scale=0.1),
)
CELL_RANGE_FIELDS = (
    Field("max_cell_v", 0, 2, scale=0.001),
    Field("max_cell_no", 2, 1),
    Field("min_cell_v", 3, 2, scale=0.001),
    Field("min_cell_no", 5, 1),
)
TEMP_RANGE_FIELDS = (
    Field("max_temperature_c", 0, 1, add=-TEMP_OFFSET),
    Field("max_temperature_no", 1, 1),
    Field("min_temperature_c", 2, 1, add=-TEMP_OFFSET),
    Field("min_temperature_no", 3, 1),
)
FET_FIELDS = (
    Field("state", 0, 1),
    Field("charge_fet", 1, 1),
    Field("discharge_fet", 2, 1),
    Field("life", 3, 1),
    Field("remaining_ah", 4, 4, scale=0.001),
)
INFO_FIELDS = (
    Field("cell_count", 0, 1),
    Field("ntc_count", 1, 1),
    Field("charger", 2, 1),
    Field("load", 3, 1),
    Field("dio", 4, 1),
    Field("cycles", 5, 2),
)
RATED_FIELDS = (
    Field("capacity_ah", 0, 4, scale=0.001),  # u32 mAh
    Field("nominal_cell_v", 4, 4, scale=0.001),  # u32 mV
)
STATES = {0: "idle", 1: "charging", 2: "discharging"}


def _fault(byte: int, bit: int, name: str, code: str | None) -> AlarmBit:
    return AlarmBit(8 * byte + bit, name, code)


# 0x98 failure bits (byte 0..6, bit 0 first); level 1 = warning, level 2 = protection.
FAULT_BITS = (
    _fault(0, 0, "cell voltage high, level 1", "W-CELL-OV"),
    _fault(0, 1, "cell voltage high, level 2", "A-CELL-OV"),
    _fault(0, 2, "cell voltage low, level 1", "W-CELL-UV"),
    _fault(0, 3, "cell voltage low, level 2", "A-CELL-UV"),
    _fault(0, 4, "pack voltage high, level 1", "W-PACK-OV"),
    _fault(0, 5, "pack voltage high, level 2", "A-PACK-OV"),
    _fault(0, 6, "pack voltage low, level 1", "W-PACK-UV"),
    _fault(0, 7, "pack voltage low, level 2", "A-PACK-UV"),
    _fault(1, 0, "charge temperature high, level 1", "W-CHG-OT"),
    _fault(1, 1, "charge temperature high, level 2", "A-CHG-OT"),
    _fault(1, 2, "charge temperature low, level 1", "W-CHG-UT"),
    _fault(1, 3, "charge temperature low, level 2", "A-CHG-UT"),
    _fault(1, 4, "discharge temperature high, level 1", "W-DSG-OT"),
    _fault(1, 5, "discharge temperature high, level 2", "A-DSG-OT"),
    _fault(1, 6, "discharge temperature low, level 1", "W-DSG-UT"),
    _fault(1, 7, "discharge temperature low, level 2", "A-DSG-UT"),
    _fault(2, 0, "charge over-current, level 1", "W-CHG-OC"),
    _fault(2, 1, "charge over-current, level 2", "A-CHG-OC"),
    _fault(2, 2, "discharge over-current, level 1", "W-DSG-OC"),
    _fault(2, 3, "discharge over-current, level 2", "A-DSG-OC1"),
    _fault(2, 4, "SOC high, level 1", None),
    _fault(2, 5, "SOC high, level 2", None),
    _fault(2, 6, "SOC low, level 1", None),
    _fault(2, 7, "SOC low, level 2", None),
    _fault(3, 0, "cell voltage difference, level 1", "W-IMBALANCE"),
    _fault(3, 1, "cell voltage difference, level 2", "A-IMBALANCE"),
    _fault(3, 2, "temperature difference, level 1", None),
    _fault(3, 3, "temperature difference, level 2", None),
    _fault(4, 0, "charge FET over-temperature", "A-FET-OT"),
    _fault(4, 1, "discharge FET over-temperature", "A-FET-OT"),
    _fault(4, 2, "charge FET temperature sensor failure", "E-SENSOR-MISSING"),
    _fault(4, 3, "discharge FET temperature sensor failure", "E-SENSOR-MISSING"),
    _fault(4, 4, "charge FET stuck closed", "E-FET"),
    _fault(4, 5, "discharge FET stuck closed", "E-FET"),
    _fault(4, 6, "charge FET stuck open", "E-FET"),
    _fault(4, 7, "discharge FET stuck open", "E-FET"),
    _fault(5, 0, "front-end chip failure", "E-AFE"),
    _fault(5, 1, "cell sense line dropped", "E-SENSOR-OPEN-WIRE"),
    _fault(5, 2, "cell temperature sensor failure", "E-SENSOR-MISSING"),
    _fault(5, 3, "EEPROM failure", "E-CONFIG"),
    _fault(5, 4, "RTC failure", None),
    _fault(5, 5, "pre-charge failure", "E-FET"),
    _fault(5, 6, "communication failure", "E-COMM"),
    _fault(5, 7, "internal communication failure", "E-COMM"),
    _fault(6, 0, "current module failure", "E-SENSOR-RANGE"),
    _fault(6, 1, "pack voltage sensing failure", "E-SENSOR-PLAUSIBILITY"),
    _fault(6, 2, "short-circuit protection failure", "A-SHORT-CIRCUIT"),
    _fault(6, 3, "low voltage forbids charging", "A-CELL-UV"),
)


def build_frame(command: int, data: bytes = bytes(8), address: int = HOST_RS485) -> bytes:
    if len(data) != DATA_LEN:
        raise ValueError("Daly frames carry exactly 8 data bytes")
    head = bytes([START, address, command, DATA_LEN]) + data
    return head + bytes([sum8(head)])


class DalyFormat(FrameFormat):
    max_size = FRAME_SIZE

    def find_start(self, buf: bytes | bytearray) -> int:
        return buf.find(START)

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        if len(buf) < 4:
            return None
        if buf[3] != DATA_LEN:
            raise LengthError(f"Daly length byte is 0x{buf[3]:02x}, always 0x08")
        return FRAME_SIZE

    def check(self, raw: bytes) -> Frame:
        if raw[0] != START:
            raise StartByteError(f"Daly frame starts with 0x{raw[0]:02x}, not 0xA5")
        if len(raw) != FRAME_SIZE or raw[3] != DATA_LEN:
            raise LengthError(f"Daly frames are 13 bytes with length byte 0x08, got {len(raw)} bytes")
        if sum8(raw[:12]) != raw[12]:
            raise ChecksumError(f"Daly checksum 0x{raw[12]:02x}, expected 0x{sum8(raw[:12]):02x}")
        return Frame(kind=raw[2], payload=raw[4:12], raw=raw, address=raw[1])


class DalyProtocol(BoardProtocol):
    name = "daly"
    title = "Daly legacy UART/RS485 (0xA5)"
    transports = ("serial", "tcp")

    def __init__(self, host_address: int = HOST_RS485, invert_current: bool = False) -> None:
        self.host_address = host_address
        # Some firmware reports charging current as negative (protocols.md): make it configurable.
        self.invert_current = invert_current

    def response_format(self) -> FrameFormat:
        return DalyFormat()

    def request_format(self) -> FrameFormat:
        return DalyFormat()

    def status_requests(self) -> list[bytes]:
        commands = (CMD_SOC, CMD_CELL_RANGE, CMD_TEMP_RANGE, CMD_FET, CMD_INFO, CMD_CELLS, CMD_TEMPS)
        return [build_frame(c, address=self.host_address) for c in (*commands, CMD_BALANCE, CMD_FAULTS)]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return len(request) > 2 and frame.kind == request[2]

    def expected_frames(self, request: bytes, earlier: Sequence[Frame]) -> int:
        info = next((f for f in earlier if f.kind == CMD_INFO), None)
        if info is None or len(request) < 3:
            return 1
        if request[2] == CMD_CELLS:
            return max(1, math.ceil(info.payload[0] / 3))
        if request[2] == CMD_TEMPS:
            return max(1, math.ceil(info.payload[1] / 7))
        return 1

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts: list[Telemetry] = []
        info: dict[str, float] = {}
        cell_frames: dict[int, bytes] = {}
        temp_frames: dict[int, bytes] = {}
        for frame in frames:
            p = frame.payload
            if frame.kind == CMD_SOC:
                v = read_fields(SOC_FIELDS, p)
                current = -v["current_a"] if self.invert_current else v["current_a"]
                parts.append(Telemetry(voltage_v=v["voltage_v"], current_a=current, soc_pct=v["soc_pct"]))
            elif frame.kind == CMD_CELL_RANGE:
                v = read_fields(CELL_RANGE_FIELDS, p)
                parts.append(Telemetry(extra={k: _num(k, x) for k, x in v.items()}))
            elif frame.kind == CMD_TEMP_RANGE:
                v = read_fields(TEMP_RANGE_FIELDS, p)
                parts.append(Telemetry(extra={k: _num(k, x) for k, x in v.items()}))
            elif frame.kind == CMD_FET:
                v = read_fields(FET_FIELDS, p)
                parts.append(
                    Telemetry(
                        charge_enabled=bool(v["charge_fet"]),
                        discharge_enabled=bool(v["discharge_fet"]),
                        remaining_ah=v["remaining_ah"],
                        extra={"state": STATES.get(int(v["state"]), f"unknown ({int(v['state'])})")},
                    )
                )
            elif frame.kind == CMD_INFO:
                info = read_fields(INFO_FIELDS, p)
                parts.append(
                    Telemetry(
                        cycles=int(info["cycles"]),
                        extra={"cell_count": int(info["cell_count"]), "ntc_count": int(info["ntc_count"])},
                    )
                )
            elif frame.kind == CMD_CELLS:
                cell_frames[p[0]] = p[1:7]
            elif frame.kind == CMD_TEMPS:
                temp_frames[p[0]] = p[1:8]
            elif frame.kind == CMD_BALANCE:
                bitmap = int.from_bytes(p[:6], "little")
                parts.append(Telemetry(balancing_cells=tuple(b + 1 for b in bits_set(bitmap, 48))))
            elif frame.kind == CMD_FAULTS:
                codes, names = alarms_from_bits(FAULT_BITS, int.from_bytes(p[:7], "little"))
                parts.append(Telemetry(alarms=codes, extra={"board_flags": names}))
        if cell_frames:
            parts.append(Telemetry(cell_voltages_v=_cells(cell_frames, info.get("cell_count"))))
        if temp_frames:
            parts.append(Telemetry(temperatures_c=_temps(temp_frames, info.get("ntc_count"))))
        return merge_all(parts)

    def _command(self, command: int, first_byte: int) -> bytes:
        return build_frame(command, bytes([first_byte]) + bytes(7), address=self.host_address)

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [self._command(CMD_CHARGE_FET, 1 if on else 0)]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [self._command(CMD_DISCHARGE_FET, 1 if on else 0)]

    def soc_requests(self, pct: float) -> list[bytes]:
        self.check_soc(pct)
        # 0x21: bytes 0-5 are left zero (a date in some firmware), bytes 6-7 SOC in 0.1 %.
        data = bytes(6) + round(pct * 10).to_bytes(2, "big")
        return [build_frame(CMD_SET_SOC, data, address=self.host_address)]

    def settings_requests(self) -> list[bytes]:
        return [build_frame(CMD_RATED, address=self.host_address)]

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        """The 0x50 reply in smartbms units: ``capacity_ah`` and ``nominal_cell_v``."""
        for frame in frames:
            if frame.kind == CMD_RATED:
                return dict(read_fields(RATED_FIELDS, frame.payload))
        return {}

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        readable = ", ".join(f.name for f in RATED_FIELDS)
        raise WriteRefusedError(
            f"{self.name}: {key!r} cannot be written over the 0xA5 protocol: its parameter-write "
            f"commands are not publicly documented (readable settings: {readable}); nothing was sent"
        )


def _num(key: str, value: float) -> Any:
    return int(value) if key.endswith("_no") else value


def _cells(frames: dict[int, bytes], count: float | None) -> tuple[float, ...]:
    cells: list[float] = []
    for number in sorted(frames):
        chunk = frames[number]
        cells += [int.from_bytes(chunk[i : i + 2], "big") / 1000 for i in range(0, 6, 2)]
    return tuple(cells[: int(count)] if count else cells)


def _temps(frames: dict[int, bytes], count: float | None) -> tuple[float, ...]:
    temps: list[float] = []
    for number in sorted(frames):
        temps += [float(b - TEMP_OFFSET) for b in frames[number]]
    return tuple(temps[: int(count)] if count else temps)

"""Daly's newer Modbus RTU protocol (BLE and RS485 boards, device address 0xD2).

Function 0x03 over a register block starting at 0: 0x00-0x1F cell mV, 0x20-0x27
temperatures (+40), 0x28 pack V x0.1, 0x29 current (raw-30000) x0.1 A charge positive,
0x2A SOC x0.1 %, 0x30 remaining x0.1 Ah, 0x31 cells, 0x32 sensors, 0x33 cycles,
0x35/0x36 charge/discharge FET, 0x3A-0x3D alarm bits. Facts: shared/design/protocols.md,
checked against the captures in tests/fixtures/daly-modbus.

Settings: a block of 41 holding registers from 0x80 (read with ``d2 03 00 80 00 29``),
written one register at a time with function 0x06. Register addresses from the settings
table of syssi/esphome-daly-bms docs/protocol-register-map.md; scales as that project's
tests decode a real settings reply (tests/components/daly_bms_ble/daly_bms_ble_test.cpp:
0x80 capacity x0.1 Ah, 0x8B-0x8E cell thresholds in mV, 0x8F-0x92 pack thresholds x0.1 V).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from smartbms.drivers.codecs import modbus
from smartbms.drivers.codecs.base import (
    BoardProtocol,
    Frame,
    FrameFormat,
    SettingSpec,
    alarms_from_bits,
    merge_all,
    with_meta,
)
from smartbms.drivers.codecs.daly import FAULT_BITS
from smartbms.drivers.codecs.fields import Field, read_fields
from smartbms.errors import DecodeError, LengthError
from smartbms.telemetry import Telemetry

ADDRESS = 0xD2
STATUS_REGISTERS = 0x3E  # 62 registers from 0: the documented read request d2030000003ed7b9
REG_CHARGE_FET, REG_DISCHARGE_FET, REG_SOC = 0xA5, 0xA6, 0xA7
SETTINGS_START, SETTINGS_COUNT = 0x80, 0x29  # 0x80-0xA8

# key -> (register, raw units per setting unit)
SETTING_REGISTERS: dict[str, tuple[int, float]] = {
    "capacity_ah": (0x80, 10.0),
    "cell_ov_warn_v": (0x8B, 1000.0),
    "cell_ov_v": (0x8C, 1000.0),
    "cell_uv_warn_v": (0x8D, 1000.0),
    "cell_uv_v": (0x8E, 1000.0),
    "pack_ov_warn_v": (0x8F, 10.0),
    "pack_ov_v": (0x90, 10.0),
    "pack_uv_warn_v": (0x91, 10.0),
    "pack_uv_v": (0x92, 10.0),
}
# Daly's public documents give no ranges for these registers: the bounds below are smartbms'
# (cells: Li-ion/LiFePO4 chemistry; packs: up to 48 cells), inside what a u16 register holds.
_CELL = "smartbms bound for Li-ion/LiFePO4 cells; Daly's public documents give no range"
_PACK = "smartbms bound (up to 48 cells); Daly's public documents give no range"
SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec("capacity_ah", "Ah", 1.0, 6553.5, "rated capacity", "u16 x 0.1 Ah (register 0x80)"),
        SettingSpec("cell_ov_warn_v", "V", 2.0, 4.5, "cell over-voltage, level 1 (warning)", _CELL),
        SettingSpec("cell_ov_v", "V", 2.0, 4.5, "cell over-voltage, level 2 (protection)", _CELL),
        SettingSpec("cell_uv_warn_v", "V", 1.5, 4.0, "cell under-voltage, level 1 (warning)", _CELL),
        SettingSpec("cell_uv_v", "V", 1.5, 4.0, "cell under-voltage, level 2 (protection)", _CELL),
        SettingSpec("pack_ov_warn_v", "V", 5.0, 220.0, "pack over-voltage, level 1 (warning)", _PACK),
        SettingSpec("pack_ov_v", "V", 5.0, 220.0, "pack over-voltage, level 2 (protection)", _PACK),
        SettingSpec("pack_uv_warn_v", "V", 3.0, 200.0, "pack under-voltage, level 1 (warning)", _PACK),
        SettingSpec("pack_uv_v", "V", 3.0, 200.0, "pack under-voltage, level 2 (protection)", _PACK),
    )
}

STATUS_FIELDS = (
    Field("voltage_v", 2 * 0x28, 2, scale=0.1),
    Field("current_a", 2 * 0x29, 2, scale=0.1, add=-30000),
    Field("soc_pct", 2 * 0x2A, 2, scale=0.1),
    Field("max_cell_v", 2 * 0x2B, 2, scale=0.001),
    Field("min_cell_v", 2 * 0x2C, 2, scale=0.001),
    Field("remaining_ah", 2 * 0x30, 2, scale=0.1),
    Field("cell_count", 2 * 0x31, 2),
    Field("ntc_count", 2 * 0x32, 2),
    Field("cycles", 2 * 0x33, 2),
    Field("charge_fet", 2 * 0x35, 2),
    Field("discharge_fet", 2 * 0x36, 2),
)
ALARM_OFFSET, ALARM_BYTES = 2 * 0x3A, 8


class DalyModbusProtocol(BoardProtocol):
    name = "daly-modbus"
    title = "Daly Modbus RTU (0xD2)"
    transports = ("serial", "tcp", "ble")
    ble_characteristics = ("0000fff1-0000-1000-8000-00805f9b34fb", "0000fff2-0000-1000-8000-00805f9b34fb")
    settings: ClassVar[Mapping[str, SettingSpec]] = SETTINGS

    def __init__(self, address: int = ADDRESS) -> None:
        self.address = address

    def response_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=False)

    def request_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=True)

    def status_requests(self) -> list[bytes]:
        return [modbus.read_request(self.address, modbus.READ_HOLDING, 0, STATUS_REGISTERS)]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return frame.kind & 0x7F == request[1]

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        return with_meta(frame, start=modbus.start_of(request))

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts = []
        for frame in frames:
            if frame.kind & 0x80:
                raise DecodeError(f"Daly board answered with Modbus exception {frame.meta.get('exception')}")
            if frame.kind == modbus.READ_HOLDING and frame.meta.get("start", 0) == 0:
                parts.append(decode_block(frame.payload))
        return merge_all(parts)

    def check_replies(self, frames: Sequence[Frame]) -> None:
        modbus.refuse_exceptions(frames)

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [modbus.write_single_request(self.address, REG_CHARGE_FET, int(on))]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [modbus.write_single_request(self.address, REG_DISCHARGE_FET, int(on))]

    def soc_requests(self, pct: float) -> list[bytes]:
        self.check_soc(pct)
        return [modbus.write_single_request(self.address, REG_SOC, round(pct * 10))]

    def settings_requests(self) -> list[bytes]:
        return [modbus.read_request(self.address, modbus.READ_HOLDING, SETTINGS_START, SETTINGS_COUNT)]

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        for frame in frames:
            if frame.kind == modbus.READ_HOLDING and frame.meta.get("start") == SETTINGS_START:
                return decode_settings_block(frame.payload)
        return {}

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        self.check_setting(key, value)
        register, per_unit = SETTING_REGISTERS[key]
        return [modbus.write_single_request(self.address, register, round(value * per_unit))]


def decode_settings_block(payload: bytes) -> dict[str, Any]:
    """The settings block read from 0x80, in smartbms units (keys of SETTING_REGISTERS)."""
    regs = modbus.registers(payload)
    out: dict[str, Any] = {}
    for key, (register, per_unit) in SETTING_REGISTERS.items():
        index = register - SETTINGS_START
        if index < len(regs):
            out[key] = round(regs[index] / per_unit, 6)
    return out


def decode_block(payload: bytes) -> Telemetry:
    if len(payload) < 2 * STATUS_REGISTERS:
        raise LengthError(f"Daly status block needs {2 * STATUS_REGISTERS} bytes, got {len(payload)}")
    v = read_fields(STATUS_FIELDS, payload)
    cells_n = min(int(v["cell_count"]), 32)
    ntc_n = min(int(v["ntc_count"]), 8)
    regs = modbus.registers(payload)
    alarm_bits = int.from_bytes(payload[ALARM_OFFSET : ALARM_OFFSET + ALARM_BYTES], "little")
    codes, names = alarms_from_bits(FAULT_BITS, alarm_bits)
    return Telemetry(
        voltage_v=v["voltage_v"],
        current_a=v["current_a"],
        soc_pct=v["soc_pct"],
        remaining_ah=v["remaining_ah"],
        cycles=int(v["cycles"]),
        cell_voltages_v=tuple(r / 1000 for r in regs[:cells_n]),
        temperatures_c=tuple(float(r - 40) for r in regs[0x20 : 0x20 + ntc_n]),
        charge_enabled=bool(v["charge_fet"]),
        discharge_enabled=bool(v["discharge_fet"]),
        alarms=codes,
        extra={
            "cell_count": cells_n,
            "ntc_count": ntc_n,
            "max_cell_v": v["max_cell_v"],
            "min_cell_v": v["min_cell_v"],
            "board_flags": names,
        },
    )

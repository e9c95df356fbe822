"""A Daly board speaking Modbus RTU at address 0xD2: the status block from 0 and the
settings block from 0x80 (protection thresholds, FET switches 0xA5/0xA6, SOC 0xA7)."""

from __future__ import annotations

from typing import ClassVar

from smartbms.drivers.codecs import daly_modbus, modbus
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS = 0x01, 0x02
REGISTER_COUNT = daly_modbus.SETTINGS_START + daly_modbus.SETTINGS_COUNT  # 0x00-0xA8


class DalyModbusResponder(Responder):
    protocol_name = "daly-modbus"
    default_settings: ClassVar[dict[str, float]] = {
        "capacity_ah": 100.0,
        "cell_ov_warn_v": 3.6,
        "cell_ov_v": 3.65,
        "cell_uv_warn_v": 2.8,
        "cell_uv_v": 2.5,
        "pack_ov_warn_v": 14.4,
        "pack_ov_v": 14.6,
        "pack_uv_warn_v": 11.2,
        "pack_uv_v": 10.0,
    }

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        address = daly_modbus.ADDRESS
        start, value = request.meta.get("start", 0), request.meta.get("value", 0)
        if request.kind == modbus.READ_HOLDING:
            regs = registers(state)
            if start + value > len(regs):
                return [modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)]
            data = b"".join(r.to_bytes(2, "big") for r in regs[start : start + value])
            return [modbus.read_response(address, request.kind, data)]
        if request.kind == modbus.WRITE_SINGLE:
            if start == daly_modbus.REG_CHARGE_FET:
                state.charge_enabled = bool(value)
            elif start == daly_modbus.REG_DISCHARGE_FET:
                state.discharge_enabled = bool(value)
            elif start == daly_modbus.REG_SOC:
                state.soc_override = value / 10
            elif (key := _setting_at(start)) is not None:
                # Like a board, store what it is told as long as the register can hold it;
                # range checks are the host's job (the driver refuses before sending).
                state.settings[key] = value / daly_modbus.SETTING_REGISTERS[key][1]
            else:
                return [modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)]
            return [request.raw]  # a Modbus write-single is answered with its echo
        return [modbus.exception_response(address, request.kind, ILLEGAL_FUNCTION)]


def _setting_at(register: int) -> str | None:
    return next((k for k, (reg, _) in daly_modbus.SETTING_REGISTERS.items() if reg == register), None)


def registers(state: BoardState) -> list[int]:
    s = state.sample()
    cells = list(s.cell_voltages_v or ())[:32]
    temps = list(s.temperatures_c or ())[:8]
    regs = [0] * REGISTER_COUNT
    for i, v in enumerate(cells):
        regs[i] = mv(v)
    for i, t in enumerate(temps):
        regs[0x20 + i] = clamp(round(t) + 40, 0, 0xFFFF)
    regs[0x28] = round((s.voltage_v or 0) * 10)
    regs[0x29] = clamp(round((s.current_a or 0) * 10) + 30000, 0, 0xFFFF)
    regs[0x2A] = round((s.soc_pct or 0) * 10)
    regs[0x2B], regs[0x2C] = (mv(max(cells)), mv(min(cells))) if cells else (0, 0)
    regs[0x30] = round((s.remaining_ah or 0) * 10)
    regs[0x31], regs[0x32], regs[0x33] = len(cells), len(temps), s.cycles or 0
    regs[0x35], regs[0x36] = int(state.charge_enabled), int(state.discharge_enabled)
    for key, (register, per_unit) in daly_modbus.SETTING_REGISTERS.items():
        if key in state.settings:
            regs[register] = clamp(round(state.settings[key] * per_unit), 0, 0xFFFF)
    regs[daly_modbus.REG_CHARGE_FET] = int(state.charge_enabled)
    regs[daly_modbus.REG_DISCHARGE_FET] = int(state.discharge_enabled)
    regs[daly_modbus.REG_SOC] = round((s.soc_pct or 0) * 10)
    return regs

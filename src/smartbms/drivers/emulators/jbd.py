"""A JBD board: registers 0x03/0x04/0x05, FET control 0xE1 and the EEPROM in factory mode."""

from __future__ import annotations

from typing import ClassVar

from smartbms.drivers.codecs import jbd
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.codecs.fields import c_to_kelvin10
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState

STATUS_OK, STATUS_ERROR = 0x00, 0x80
MODEL = b"SMARTBMS-EMU-JBD"


class JbdResponder(Responder):
    protocol_name = "jbd"
    default_settings: ClassVar[dict[str, float]] = {
        "design_capacity_ah": 100.0,
        "cell_ov_v": 3.65,
        "cell_ov_release_v": 3.4,
        "cell_uv_v": 2.5,
        "cell_uv_release_v": 2.9,
    }

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        op, reg = request.meta.get("op"), request.kind
        if op == jbd.READ:
            if reg == jbd.REG_BASIC:
                return [jbd.build_response(reg, basic_info(state))]
            if reg == jbd.REG_CELLS:
                cells = state.sample().cell_voltages_v or ()
                return [jbd.build_response(reg, b"".join(mv(v).to_bytes(2, "big") for v in cells))]
            if reg == jbd.REG_MODEL:
                return [jbd.build_response(reg, MODEL)]
            return [self._read_eeprom(reg, state)]
        if op == jbd.WRITE:
            return [self._write(reg, request.payload, state)]
        return []

    def _read_eeprom(self, reg: int, state: BoardState) -> bytes:
        for key, (register, per_unit) in jbd.SETTING_REGISTERS.items():
            if register == reg and state.factory_mode:
                raw = round(state.settings[key] * per_unit)
                return jbd.build_response(reg, raw.to_bytes(2, "big"))
        return jbd.build_response(reg, b"", status=STATUS_ERROR)

    def _write(self, reg: int, data: bytes, state: BoardState) -> bytes:
        value = int.from_bytes(data[:2], "big") if len(data) >= 2 else -1
        if reg == jbd.REG_FET and len(data) == 2:
            state.charge_enabled = not data[1] & 1
            state.discharge_enabled = not data[1] & 2
            return jbd.build_response(reg, b"")
        if reg == jbd.REG_FACTORY_ENTER and value == jbd.FACTORY_PASSWORD:
            state.factory_mode = True
            return jbd.build_response(reg, b"")
        if reg == jbd.REG_FACTORY_EXIT:
            state.factory_mode = False
            return jbd.build_response(reg, b"")
        for key, (register, per_unit) in jbd.SETTING_REGISTERS.items():
            if register == reg and state.factory_mode and value >= 0:
                state.settings[key] = value / per_unit
                return jbd.build_response(reg, b"")
        return jbd.build_response(reg, b"", status=STATUS_ERROR)


def basic_info(state: BoardState) -> bytes:
    s = state.sample()
    temps = s.temperatures_c or ()
    balance = sum(1 << (c - 1) for c in s.balancing_cells or ())
    fet = (1 if state.charge_enabled else 0) | (2 if state.discharge_enabled else 0)
    data = bytearray()
    data += clamp(round((s.voltage_v or 0) * 100), 0, 0xFFFF).to_bytes(2, "big")
    data += clamp(round((s.current_a or 0) * 100), -0x8000, 0x7FFF).to_bytes(2, "big", signed=True)
    data += clamp(round((s.remaining_ah or 0) * 100), 0, 0xFFFF).to_bytes(2, "big")
    data += clamp(round((s.capacity_ah or 0) * 100), 0, 0xFFFF).to_bytes(2, "big")
    data += clamp(s.cycles or 0, 0, 0xFFFF).to_bytes(2, "big")
    data += ((24 << 9) | (1 << 5) | 15).to_bytes(2, "big")  # 2024-01-15
    data += (balance & 0xFFFF).to_bytes(2, "big") + (balance >> 16 & 0xFFFF).to_bytes(2, "big")
    data += (0).to_bytes(2, "big")  # no protection active
    data += bytes([0x10, clamp(round(s.soc_pct or 0), 0, 100), fet, len(s.cell_voltages_v or ()), len(temps)])
    data += b"".join(c_to_kelvin10(t).to_bytes(2, "big") for t in temps)
    return bytes(data)

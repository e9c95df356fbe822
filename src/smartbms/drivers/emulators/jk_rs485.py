"""A JK board on its RS485/GPS port: read-all and tag writes.

How a real board acknowledges a write is not in the public register table; this
emulator echoes the written tag in a response frame (command 02, type 01).
"""

from __future__ import annotations

from typing import ClassVar

from smartbms.drivers.codecs import jk_rs485
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState


def _tag(tag: int, value: int) -> bytes:
    return bytes([tag]) + value.to_bytes(jk_rs485.TAG_SIZES[tag], "big", signed=tag in jk_rs485.SIGNED_TAGS)


def _temperature(celsius: float) -> int:
    c = round(celsius)
    return c if c >= 0 else 100 - c


class JkRs485Responder(Responder):
    protocol_name = "jk-rs485"
    default_settings: ClassVar[dict[str, float]] = {
        "pack_ov_v": 14.6,
        "pack_uv_v": 10.0,
        "cell_ov_v": 3.65,
        "cell_ov_release_v": 3.4,
        "cell_uv_v": 2.5,
        "cell_uv_release_v": 2.9,
        "discharge_oc_a": 100,
        "charge_oc_a": 50,
        "capacity_ah": 100,
    }

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        if request.kind == jk_rs485.CMD_READ_ALL:
            return [self._response(jk_rs485.CMD_READ_ALL, read_all(state))]
        if request.kind == jk_rs485.CMD_WRITE:
            tags = jk_rs485.parse_tags(request.payload)
            for tag, value in tags.items():
                if tag == 0xAB:
                    state.charge_enabled = bool(value)
                elif tag == 0xAC:
                    state.discharge_enabled = bool(value)
                for key, (setting_tag, per_unit) in jk_rs485.SETTING_TAGS.items():
                    if setting_tag == tag:
                        state.settings[key] = value / per_unit
            return [self._response(jk_rs485.CMD_WRITE, request.payload)]
        return []

    @staticmethod
    def _response(command: int, data: bytes) -> bytes:
        return jk_rs485.build_frame(command, data, jk_rs485.SOURCE_BMS, jk_rs485.TYPE_RESPONSE)


def read_all(state: BoardState) -> bytes:
    s = state.sample()
    cells = list(s.cell_voltages_v or ())
    temps = [*(s.temperatures_c or ()), 25.0, 25.0]
    current = s.current_a or 0.0
    raw_current = clamp(round(abs(current) * 100), 0, 0x7FFF) | (0x8000 if current > 0 else 0)
    status = int(state.charge_enabled) | int(state.discharge_enabled) << 1
    data = bytearray([jk_rs485.TAG_CELLS, 3 * len(cells)])
    for i, v in enumerate(cells, start=1):
        data += bytes([i]) + mv(v).to_bytes(2, "big")
    data += _tag(0x80, _temperature(s.mosfet_temperature_c or 25.0))
    data += _tag(0x81, _temperature(temps[0])) + _tag(0x82, _temperature(temps[1]))
    data += _tag(0x83, round((s.voltage_v or 0) * 100)) + _tag(0x84, raw_current)
    data += _tag(0x85, clamp(round(s.soc_pct or 0), 0, 100)) + _tag(0x86, 2) + _tag(0x87, s.cycles or 0)
    data += _tag(0x8A, len(cells)) + _tag(0x8B, 0) + _tag(0x8C, status)
    for key, (tag, per_unit) in jk_rs485.SETTING_TAGS.items():
        if key in state.settings:
            data += _tag(tag, round(state.settings[key] * per_unit))
    data += _tag(0xAB, int(state.charge_enabled)) + _tag(0xAC, int(state.discharge_enabled))
    data += _tag(0xC0, 1)  # protocol version 1: bit 15 of 0x84 = charging
    return bytes(data)

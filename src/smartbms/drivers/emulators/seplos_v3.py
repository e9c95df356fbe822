"""A Seplos V3 pack answering the PIA and PIB input-register blocks and the PIC coil block."""

from __future__ import annotations

from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.codecs.fields import c_to_kelvin10
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState


class SeplosV3Responder(Responder):
    protocol_name = "seplos-v3"

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        address = request.address
        start, count = request.meta.get("start", 0), request.meta.get("value", 0)
        if request.kind == modbus.READ_COILS:
            if start != seplos_v3.PIC_START or count != seplos_v3.PIC_COILS:
                return [modbus.exception_response(address, request.kind, 0x02)]
            return [modbus.read_response(address, request.kind, pic(state))]
        if request.kind != modbus.READ_INPUT:
            return [modbus.exception_response(address, request.kind, 0x01)]
        blocks = {seplos_v3.PIA_START: pia(state), seplos_v3.PIB_START: pib(state)}
        block = blocks.get(start)
        if block is None or count != len(block):
            return [modbus.exception_response(address, request.kind, 0x02)]
        return [modbus.read_response(address, request.kind, b"".join(r.to_bytes(2, "big") for r in block))]


def pia(state: BoardState) -> list[int]:
    s = state.sample()
    cells = list(s.cell_voltages_v or ()) or [0.0]
    temps = list(s.temperatures_c or ()) or [0.0]
    current = clamp(round((s.current_a or 0) * 100), -0x8000, 0x7FFF) & 0xFFFF
    return [
        round((s.voltage_v or 0) * 100),
        current,
        round((s.remaining_ah or 0) * 100),
        round((s.capacity_ah or 0) * 100),
        0,
        round((s.soc_pct or 0) * 10),
        round((s.soh_pct or 100) * 10),
        s.cycles or 0,
        mv(sum(cells) / len(cells)),
        c_to_kelvin10(sum(temps) / len(temps)),
        mv(max(cells)),
        mv(min(cells)),
        c_to_kelvin10(max(temps)),
        c_to_kelvin10(min(temps)),
        0,
        180,
        180,
    ]


def pib(state: BoardState) -> list[int]:
    s = state.sample()
    cells = [mv(v) for v in (s.cell_voltages_v or ())][:16]
    temps = [c_to_kelvin10(t) for t in (s.temperatures_c or (25.0,))]
    regs = cells + [0] * (16 - len(cells))
    regs += [temps[i % len(temps)] for i in range(4)]  # a V3 pack always reports four cell sensors
    regs += [c_to_kelvin10(0)] * 4
    regs += [c_to_kelvin10(25.0), c_to_kelvin10(s.mosfet_temperature_c or 25.0)]
    return regs


def pic(state: BoardState) -> bytes:
    """The 18-byte PIC block (sniffer layout): balancing, state, FETs, and the plant's alarms."""
    s = state.sample()
    bits = [False] * seplos_v3.PIC_COILS
    for cell in s.balancing_cells or ():
        if 1 <= cell <= 16:
            bits[0x30 + cell - 1] = True
    status = 0x40  # TB09 starts at coil 0x1240
    current = s.current_a or 0.0
    bits[status + (1 if current > 0 else 0 if current < 0 else 4)] = True  # charging / discharging / standby
    bits[status + 8 * 7 + 0] = state.discharge_enabled
    bits[status + 8 * 7 + 1] = state.charge_enabled
    for code in s.alarms or ():
        entry = next((e for e in seplos_v3.ALARM_BITS if e.code == code), None)
        if entry is not None:
            bits[status + entry.bit] = True
    return modbus.pack_bits(bits)

"""A Seplos V3 pack answering the PIA and PIB input-register blocks, the PIC coil block,
the SPA settings block (0x1300-0x1369: read with 0x04, written with 0x10) and the SCA FET
commands (0x1510 discharge 0x55AA off / 0xAA55 on, 0x1511 charge off 0x55AA, 0x1515 charge
on 0xAA55, written with 0x10), whose effect PIC TB07 shows."""

from __future__ import annotations

from typing import ClassVar

from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.codecs.fields import c_to_kelvin10
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState

ILLEGAL_FUNCTION, ILLEGAL_ADDRESS, ILLEGAL_VALUE = 0x01, 0x02, 0x03


class SeplosV3Responder(Responder):
    protocol_name = "seplos-v3"
    # The example values of the SPA table in Seplos' Modbus document (a 16S, 100 A pack;
    # 0x1309 as 43.20 V, the value its example bytes were meant to give).
    default_settings: ClassVar[dict[str, float]] = {
        "pack_ov_warn_release_v": 54.0,
        "pack_ov_warn_v": 56.0,
        "pack_ov_release_v": 54.0,
        "pack_ov_v": 57.6,
        "pack_uv_warn_release_v": 48.0,
        "pack_uv_warn_v": 46.4,
        "pack_uv_release_v": 48.0,
        "pack_uv_v": 43.2,
        "cell_ov_warn_release_v": 3.4,
        "cell_ov_warn_v": 3.5,
        "cell_ov_release_v": 3.4,
        "cell_ov_v": 3.65,
        "cell_uv_warn_release_v": 3.1,
        "cell_uv_warn_v": 2.9,
        "cell_uv_release_v": 3.1,
        "cell_uv_v": 2.7,
        "charge_oc_release_a": 103.0,
        "charge_oc_warn_a": 105.0,
        "charge_oc_a": 110.0,
        "charge_oc2_a": 200.0,
        "discharge_oc_release_a": 103.0,
        "discharge_oc_warn_a": 105.0,
        "discharge_oc_a": 110.0,
        "discharge_oc2_a": 250.0,
        "charge_ot_release_c": 50.0,
        "charge_ot_c": 55.0,
        "charge_ut_release_c": 0.0,
        "charge_ut_c": -10.0,
        "discharge_ot_release_c": 55.0,
        "discharge_ot_c": 60.0,
        "discharge_ut_release_c": 0.0,
        "discharge_ut_c": -15.0,
        "capacity_ah": 200.0,
    }

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        address = request.address
        start, count = request.meta.get("start", 0), request.meta.get("value", 0)
        if request.kind == modbus.READ_COILS:
            if start != seplos_v3.PIC_START or count != seplos_v3.PIC_COILS:
                return [modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)]
            return [modbus.read_response(address, request.kind, pic(state))]
        if request.kind == modbus.WRITE_MULTIPLE:
            if start in SCA_COMMANDS:
                return [write_sca(request, state)]
            return [write_spa(request, state)]
        if request.kind != modbus.READ_INPUT:
            return [modbus.exception_response(address, request.kind, ILLEGAL_FUNCTION)]
        spa_end = seplos_v3.SPA_START + seplos_v3.SPA_COUNT
        if seplos_v3.SPA_START <= start < spa_end:
            if count < 1 or start + count > spa_end:
                return [modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)]
            regs = spa(state)[start - seplos_v3.SPA_START : start - seplos_v3.SPA_START + count]
            return [modbus.read_response(address, request.kind, b"".join(r.to_bytes(2, "big") for r in regs))]
        blocks = {seplos_v3.PIA_START: pia(state), seplos_v3.PIB_START: pib(state)}
        block = blocks.get(start)
        if block is None or count != len(block):
            return [modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)]
        return [modbus.read_response(address, request.kind, b"".join(r.to_bytes(2, "big") for r in block))]


def _register_keys() -> dict[int, str]:
    return {field.register: key for key, field in seplos_v3.SPA_FIELDS.items()}


def spa(state: BoardState) -> list[int]:
    """The 0x6A SPA registers: the settings the driver exposes, the pack's cell and sensor counts."""
    s = state.sample()
    regs = [0] * seplos_v3.SPA_COUNT
    regs[0x00] = 4  # a V3 pack always reports four cell temperature sensors
    regs[0x01] = len(s.cell_voltages_v or ())
    for key, field in seplos_v3.SPA_FIELDS.items():
        if key in state.settings:
            regs[field.register - seplos_v3.SPA_START] = field.to_raw(state.settings[key])
    return regs


# SCA register -> the FET it switches and the command words it accepts (word -> FET on).
SCA_COMMANDS: dict[int, tuple[str, dict[int, bool]]] = {
    seplos_v3.SCA_DISCHARGE_FET: ("discharge", {seplos_v3.SCA_OFF: False, seplos_v3.SCA_ON: True}),
    seplos_v3.SCA_CHARGE_FET_OFF: ("charge", {seplos_v3.SCA_OFF: False}),
    seplos_v3.SCA_CHARGE_FET_ON: ("charge", {seplos_v3.SCA_ON: True}),
}


def write_sca(request: Frame, state: BoardState) -> bytes:
    """One SCA FET command (function 0x10, one register): switch the FET, answer like a 0x10 write.

    Any other value is refused, as the V0.1 document says ("Ack:55AA Nack:Oters" [sic]).
    """
    address, start, count = request.address, request.meta.get("start", 0), request.meta.get("value", 0)
    data = request.payload[5:]
    if count != 1 or len(request.payload) < 5 or request.payload[4] != 2 or len(data) != 2:
        return modbus.exception_response(address, request.kind, ILLEGAL_VALUE)
    path, words = SCA_COMMANDS[start]
    on = words.get(int.from_bytes(data, "big"))
    if on is None:
        return modbus.exception_response(address, request.kind, ILLEGAL_VALUE)
    if path == "charge":
        state.charge_enabled = on
    else:
        state.discharge_enabled = on
    return modbus.with_crc(bytes([address, modbus.WRITE_MULTIPLE]) + request.payload[:4])


def write_spa(request: Frame, state: BoardState) -> bytes:
    """Function 0x10 into SPA: store each register, answer with address, function, start, count."""
    address, start, count = request.address, request.meta.get("start", 0), request.meta.get("value", 0)
    data = request.payload[5:]  # after start, count and byte count
    if count < 1 or len(request.payload) < 5 or request.payload[4] != 2 * count or len(data) != 2 * count:
        return modbus.exception_response(address, request.kind, ILLEGAL_VALUE)
    keys = _register_keys()
    targets = [keys.get(start + i) for i in range(count)]
    if None in targets:  # outside what this emulator models (the driver writes nothing else)
        return modbus.exception_response(address, request.kind, ILLEGAL_ADDRESS)
    for key, raw in zip(targets, modbus.registers(data), strict=True):
        assert key is not None
        # Like a board, store what it is told; range checks are the host's job.
        state.settings[key] = seplos_v3.SPA_FIELDS[key].from_raw(raw)
    return modbus.with_crc(bytes([address, modbus.WRITE_MULTIPLE]) + request.payload[:4])


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

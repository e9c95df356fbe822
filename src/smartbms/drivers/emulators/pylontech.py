"""A Pylontech pack answering analog values (0x42), alarm info (0x44) and charge management (0x92)."""

from __future__ import annotations

from smartbms.drivers.codecs import pylontech
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.codecs.fields import c_to_kelvin10
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState

RTN_OK, RTN_BAD_CID2 = 0x00, 0x04


class PylontechResponder(Responder):
    protocol_name = "pylontech-rs485"

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        address = request.address
        if request.kind == pylontech.CMD_ANALOG:
            return [pylontech.build_frame(address, RTN_OK, analog_info(address, state))]
        if request.kind == pylontech.CMD_ALARM:
            return [pylontech.build_frame(address, RTN_OK, alarm_info(address, state))]
        if request.kind == pylontech.CMD_MANAGEMENT:
            return [pylontech.build_frame(address, RTN_OK, management_info(address, state))]
        return [pylontech.build_frame(address, RTN_BAD_CID2)]


def analog_info(address: int, state: BoardState) -> bytes:
    s = state.sample()
    cells = list(s.cell_voltages_v or ())
    temps = [(s.mosfet_temperature_c or 25.0), *(s.temperatures_c or ())]  # first = BMS board
    out = bytearray([0x10, address, len(cells)])
    out += b"".join(mv(v).to_bytes(2, "big") for v in cells)
    out += bytes([len(temps)]) + b"".join(c_to_kelvin10(t).to_bytes(2, "big") for t in temps)
    out += clamp(round((s.current_a or 0) * 10), -0x8000, 0x7FFF).to_bytes(2, "big", signed=True)
    out += clamp(mv(s.voltage_v), 0, 0xFFFF).to_bytes(2, "big")
    out += b"\xff\xff" + bytes([4]) + b"\xff\xff" + clamp(s.cycles or 0, 0, 0xFFFF).to_bytes(2, "big")
    out += clamp(round((s.remaining_ah or 0) * 1000), 0, 0xFFFFFF).to_bytes(3, "big")
    out += clamp(round((s.capacity_ah or 0) * 1000), 0, 0xFFFFFF).to_bytes(3, "big")
    return bytes(out)


def alarm_info(address: int, state: BoardState) -> bytes:
    """A V3.3 0x44 reply: normal states except where the plant reports an alarm, the real FET states."""
    s = state.sample()
    alarms = set(s.alarms or ())
    cells = len(s.cell_voltages_v or ())
    sensors = 1 + len(s.temperatures_c or ())  # the BMS board sensor first, as in analog_info

    def state_of(codes: dict[int, str]) -> int:
        return next((st for st, code in codes.items() if code in alarms), pylontech.STATE_NORMAL)

    out = bytearray([0x00, address, cells])
    out += bytes([state_of(pylontech.CELL_STATE_CODES)]) * cells
    out += bytes([sensors]) + bytes([state_of(pylontech.TEMPERATURE_STATE_CODES)]) * sensors
    out += bytes(
        state_of(codes)
        for codes in (
            pylontech.CHARGE_CURRENT_STATE_CODES,
            pylontech.MODULE_VOLTAGE_STATE_CODES,
            pylontech.DISCHARGE_CURRENT_STATE_CODES,
        )
    )
    status1 = sum(1 << e.bit for e in pylontech.STATUS1_BITS if e.code in alarms)
    status2 = pylontech.STATUS2_MODULE_POWER
    status2 |= pylontech.STATUS2_CHARGE_MOSFET if state.charge_enabled else 0
    status2 |= pylontech.STATUS2_DISCHARGE_MOSFET if state.discharge_enabled else 0
    current = s.current_a or 0.0
    status3 = 0x80 if current > 0 else 0x40 if current < 0 else 0
    out += bytes([status1, status2, status3, 0, 0])
    return bytes(out)


def management_info(address: int, state: BoardState) -> bytes:
    cells = len(state.sample().cell_voltages_v or ()) or 1
    status = (0x80 if state.charge_enabled else 0) | (0x40 if state.discharge_enabled else 0)
    return (
        bytes([address])
        + mv(3.55 * cells).to_bytes(2, "big")
        + mv(2.9 * cells).to_bytes(2, "big")
        + (500).to_bytes(2, "big", signed=True)
        + (-500).to_bytes(2, "big", signed=True)
        + bytes([status])
    )

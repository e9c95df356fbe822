"""A Pylontech pack answering analog values (0x42) and charge management (0x92)."""

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

"""A JK board over BLE: cell info records on 0x96, device info on 0x97, FET writes.

After a switch write the emulator sends a fresh cell info record (the real board keeps
streaming cell info once asked), so the host can read the new FET state back.
"""

from __future__ import annotations

from smartbms.drivers.codecs import jk_ble
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState


class JkBleResponder(Responder):
    protocol_name = "jk-ble"

    def __init__(self) -> None:
        super().__init__()
        self.counter = 0

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        command = request.kind
        value = int.from_bytes(request.raw[6:10], "little")
        if command == jk_ble.REG_CHARGE:
            state.charge_enabled = bool(value)
        elif command == jk_ble.REG_DISCHARGE:
            state.discharge_enabled = bool(value)
        elif command == jk_ble.CMD_DEVICE_INFO:
            body = (
                b"SMARTBMS-EMU-JK".ljust(16, b"\x00") + b"15A".ljust(8, b"\x00") + b"15.38".ljust(8, b"\x00")
            )
            return [jk_ble.build_record(jk_ble.TYPE_DEVICE_INFO, body)]
        elif command != jk_ble.CMD_CELL_INFO:
            return []
        self.counter += 1
        return [jk_ble.build_record(jk_ble.TYPE_CELL_INFO, cell_info_body(state), self.counter)]


def cell_info_body(state: BoardState) -> bytes:
    """The record from offset 6 on, laid out like the JK02 32S cell info record."""
    s = state.sample()
    record = bytearray(jk_ble.RECORD_SIZE)
    cells = list(s.cell_voltages_v or ())[:32]
    for i, v in enumerate(cells):
        record[6 + 2 * i : 8 + 2 * i] = mv(v).to_bytes(2, "little")
    temps = [*(s.temperatures_c or ()), 25.0, 25.0]
    values = {
        "enabled_cells": (1 << len(cells)) - 1,
        "mosfet_temperature_c": s.mosfet_temperature_c or 25.0,
        "voltage_v": s.voltage_v or 0.0,
        "current_a": s.current_a or 0.0,
        "t1": temps[0],
        "t2": temps[1],
        "soc_pct": clamp(round(s.soc_pct or 0), 0, 100),
        "remaining_ah": s.remaining_ah or 0.0,
        "capacity_ah": s.capacity_ah or 0.0,
        "cycles": s.cycles or 0,
        "soh_pct": clamp(round(s.soh_pct or 100), 0, 100),
        "charge_fet": int(state.charge_enabled),
        "discharge_fet": int(state.discharge_enabled),
    }
    for f in jk_ble.CELL_INFO_FIELDS:
        if f.name in values:
            f.write(record, values[f.name])
    return bytes(record[6:299])

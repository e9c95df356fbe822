"""A Daly board speaking the legacy 0xA5 protocol.

Besides the status (0x90-0x98), FET (0xD9/0xDA) and SOC (0x21) commands it answers the 0x50
"rated parameters" read with the pack's capacity and its nominal cell voltage setting. It does
not answer parameter writes: their commands are not publicly documented (see codecs/daly.py).
"""

from __future__ import annotations

from typing import ClassVar

from smartbms.drivers.codecs import daly
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators.base import Responder, clamp, mv
from smartbms.drivers.emulators.state import BoardState


def _frame(command: int, data: bytes) -> bytes:
    return daly.build_frame(command, (data + bytes(8))[:8], address=daly.BOARD)


class DalyResponder(Responder):
    protocol_name = "daly"
    # Answered by 0x50; capacity_ah comes from the emulated pack unless state.settings has one.
    default_settings: ClassVar[dict[str, float]] = {"nominal_cell_v": 3.2}

    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        cmd, data = request.kind, request.payload
        if cmd == daly.CMD_RATED:
            return [rated_frame(state)]
        if cmd in (daly.CMD_CHARGE_FET, daly.CMD_DISCHARGE_FET):
            on = bool(data[0])
            if cmd == daly.CMD_CHARGE_FET:
                state.charge_enabled = on
            else:
                state.discharge_enabled = on
            return [_frame(cmd, bytes([1]))]
        if cmd == daly.CMD_SET_SOC:
            state.soc_override = int.from_bytes(data[6:8], "big") / 10
            return [_frame(cmd, bytes([1]))]
        return status_frames(cmd, state)


def rated_frame(state: BoardState) -> bytes:
    capacity = state.settings.get("capacity_ah", state.sample().capacity_ah or 0.0)
    nominal = state.settings.get("nominal_cell_v", 0.0)
    raw = [clamp(round(v * 1000), 0, 0xFFFFFFFF) for v in (capacity, nominal)]
    return _frame(daly.CMD_RATED, b"".join(r.to_bytes(4, "big") for r in raw))


def status_frames(cmd: int, state: BoardState) -> list[bytes]:
    s = state.sample()
    cells = list(s.cell_voltages_v or ())
    temps = list(s.temperatures_c or ())
    if cmd == daly.CMD_SOC:
        current = clamp(round((s.current_a or 0) * 10) + daly.CURRENT_OFFSET, 0, 0xFFFF)
        volts = round((s.voltage_v or 0) * 10)
        return [
            _frame(
                cmd,
                volts.to_bytes(2, "big")
                + bytes(2)
                + current.to_bytes(2, "big")
                + round((s.soc_pct or 0) * 10).to_bytes(2, "big"),
            )
        ]
    if cmd == daly.CMD_CELL_RANGE and cells:
        hi, lo = max(range(len(cells)), key=cells.__getitem__), min(range(len(cells)), key=cells.__getitem__)
        return [
            _frame(
                cmd,
                mv(cells[hi]).to_bytes(2, "big")
                + bytes([hi + 1])
                + mv(cells[lo]).to_bytes(2, "big")
                + bytes([lo + 1]),
            )
        ]
    if cmd == daly.CMD_TEMP_RANGE and temps:
        hi, lo = max(range(len(temps)), key=temps.__getitem__), min(range(len(temps)), key=temps.__getitem__)
        return [_frame(cmd, bytes([round(temps[hi]) + 40, hi + 1, round(temps[lo]) + 40, lo + 1]))]
    if cmd == daly.CMD_FET:
        flow = s.current_a or 0.0
        mode = 1 if flow > 0 else 2 if flow < 0 else 0
        remaining = round((s.remaining_ah or 0) * 1000)
        return [
            _frame(
                cmd,
                bytes([mode, int(state.charge_enabled), int(state.discharge_enabled), 0])
                + remaining.to_bytes(4, "big"),
            )
        ]
    if cmd == daly.CMD_INFO:
        return [_frame(cmd, bytes([len(cells), len(temps), 0, 0, 0]) + (s.cycles or 0).to_bytes(2, "big"))]
    if cmd == daly.CMD_CELLS:
        out = []
        for number, start in enumerate(range(0, len(cells), 3), start=1):
            chunk = b"".join(mv(v).to_bytes(2, "big") for v in cells[start : start + 3])
            out.append(_frame(cmd, bytes([number]) + chunk.ljust(6, b"\x00")))
        return out
    if cmd == daly.CMD_TEMPS:
        out = []
        for number, start in enumerate(range(0, len(temps), 7), start=1):
            chunk = bytes(round(t) + 40 for t in temps[start : start + 7])
            out.append(_frame(cmd, bytes([number]) + chunk.ljust(7, b"\x00")))
        return out
    if cmd == daly.CMD_BALANCE:
        bitmap = sum(1 << (c - 1) for c in s.balancing_cells or ())
        return [_frame(cmd, bitmap.to_bytes(6, "little"))]
    if cmd == daly.CMD_FAULTS:
        return [_frame(cmd, bytes(8))]
    return []

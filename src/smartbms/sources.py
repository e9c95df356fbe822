"""Adapters that let the controller run on a real board (through a driver) instead of the simulator."""

from __future__ import annotations

import math
from typing import Any

from smartbms.core.actions import Actions
from smartbms.core.measurement import Measurement


class BoardBridge:
    """A commercial BMS board as the controller's source and actuator.

    The board keeps its own protection; smartbms mirrors its path decisions onto the board's
    FETs, writing only when a decision changes so a flapping link is not flooded.
    """

    def __init__(self, board: Any, name: str) -> None:
        self.board = board
        self.name = name
        self._charge: bool | None = None
        self._discharge: bool | None = None
        self.write_errors = 0

    def read(self, now: float) -> Measurement | None:
        telemetry = self.board.latest()
        if telemetry is None:
            return None
        measurement = Measurement.from_telemetry(telemetry, source=self.name)
        if math.isnan(measurement.timestamp):
            return None
        return measurement

    def apply(self, actions: Actions, now: float) -> None:
        try:
            if actions.charge_enabled != self._charge:
                self.board.set_charge(actions.charge_enabled)
                self._charge = actions.charge_enabled
            if actions.discharge_enabled != self._discharge:
                self.board.set_discharge(actions.discharge_enabled)
                self._discharge = actions.discharge_enabled
        except Exception:  # counted; retried at the next decision change or reconnect
            self.write_errors += 1
            self._charge = self._discharge = None

    def close(self) -> None:
        self.board.close()

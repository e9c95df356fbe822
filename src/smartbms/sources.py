"""Adapters that let the controller run on a real board (through a driver) instead of the simulator."""

from __future__ import annotations

import functools
import logging
import math
import threading
from typing import Any

from smartbms.core.actions import Actions
from smartbms.core.measurement import Measurement

log = logging.getLogger(__name__)


class BoardBridge:
    """A commercial BMS board as the controller's source and actuator.

    The board keeps its own protection; smartbms mirrors its path decisions onto the board's
    FETs. A write with read-back can take seconds, so writes run on a worker thread and the
    control loop never waits for the link; only the newest decision is written, and only when
    it differs from what the board was last told. A board whose protocol cannot switch its
    FETs (Pylontech) is monitored only.
    """

    def __init__(self, board: Any, name: str) -> None:
        self.board = board
        self.name = name
        self.can_switch = bool(getattr(board, "can_switch_fets", True))
        self.write_errors = 0
        self._wanted: tuple[bool, bool] | None = None
        self._written: tuple[bool | None, bool | None] = (None, None)
        self._wake = threading.Condition()
        self._closed = False
        self._worker: threading.Thread | None = None

    def read(self, now: float) -> Measurement | None:
        telemetry = self.board.latest()
        if telemetry is None:
            return None
        measurement = Measurement.from_telemetry(telemetry, source=self.name)
        if math.isnan(measurement.timestamp):
            return None
        return measurement

    def apply(self, actions: Actions, now: float) -> None:
        if not self.can_switch:
            return
        wanted = (actions.charge_enabled, actions.discharge_enabled)
        with self._wake:
            if wanted == self._wanted:
                return
            self._wanted = wanted
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._write_loop, name=f"writes {self.name}", daemon=True
                )
                self._worker.start()
            self._wake.notify()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until the board has been told the newest decision (for tests and shutdown)."""
        with self._wake:
            return self._wake.wait_for(lambda: self._written == self._wanted or self._closed, timeout_s)

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._closed or self._wanted != self._written)
                if self._closed:
                    return
                assert self._wanted is not None
                charge, discharge = self._wanted
                written_charge, written_discharge = self._written
            try:
                if charge != written_charge:
                    self.board.set_charge(charge)
                    written_charge = charge
                if discharge != written_discharge:
                    self.board.set_discharge(discharge)
                    written_discharge = discharge
            except Exception as exc:  # counted; retried after 5 s or at the next decision
                self.write_errors += 1
                log.warning("%s: FET write failed: %s", self.name, exc)
                with self._wake:
                    # Forget what we believed was written, so the next decision writes again,
                    # and wait for that decision instead of hammering a failing link.
                    self._written = (None, None)
                    self._wake.notify_all()
                    self._wake.wait_for(functools.partial(self._moved_on_from, (charge, discharge)), 5.0)
                continue
            with self._wake:
                self._written = (written_charge, written_discharge)
                self._wake.notify_all()

    def _moved_on_from(self, failed: tuple[bool, bool]) -> bool:
        return self._closed or self._wanted != failed

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=5.0)
        self.board.close()

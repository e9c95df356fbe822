"""What the estimator has learned, kept in a file across restarts.

A BMS that forgets its learned capacity, resistance and current-sensor offset at every reboot starts
each day from the nameplate and drifts again until the next full cycle; one that forgets SOC starts
from a voltage guess, which on the flat LFP plateau is 20-30 % wide. The pack estimator itself stays
pure (``PackEstimator.export_state`` / ``restore_state`` trade plain dicts); this module writes them.

The file is JSON, written to a temporary file beside it and renamed over it, so a power cut leaves
either the old state or the new one, never half a file.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from smartbms.errors import SmartBmsError

STATE_VERSION = 1
STATE_FILE_NAME = "estimator_state.json"
SAVE_PERIOD_S = 60.0  # wall-clock seconds between saves while running (and one at shutdown)


class EstimatorStateError(SmartBmsError, ValueError):
    """A saved estimator state is unreadable or belongs to another pack; the message says which."""


def write_state_file(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, allow_nan=False)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_state_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EstimatorStateError(f"{path}: cannot read the estimator state ({exc.strerror})") from exc
    try:
        state = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EstimatorStateError(
            f"{path}: not an estimator state (JSON error at line {exc.lineno}: {exc.msg})"
        ) from exc
    if not isinstance(state, dict):
        raise EstimatorStateError(f"{path}: not an estimator state (expected a JSON object)")
    version = state.get("version")
    if version != STATE_VERSION:
        raise EstimatorStateError(
            f"{path}: estimator state version {version!r}, this smartbms reads {STATE_VERSION}"
        )
    return state


class EstimatorStateStore:
    """Restores a pack estimator from its file at start, saves it every minute and at close.

    ``restore_soc``: False when the pack behind the estimator does not carry over a restart either
    (the simulated default starts a fresh pack each run): then only capacity, resistance and the
    sensor offset are restored, not SOC. ``on_problem`` hears every unreadable or rejected state and
    failed save (the main job writes them to the event log); each is also counted here.
    """

    def __init__(
        self,
        path: Path,
        estimator: Any,
        *,
        restore_soc: bool = True,
        on_problem: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.estimator = estimator
        self.restore_soc = restore_soc
        self.on_problem = on_problem
        self.clock = clock
        self.load_failures = 0
        self.save_failures = 0
        self.saves = 0
        self._last_save = -math.inf

    def load(self) -> bool:
        """Restore from the file if there is one; True when something was restored."""
        if not self.path.exists():
            return False
        try:
            state = read_state_file(self.path)
            self.estimator.restore_state(state, restore_soc=self.restore_soc)
        except EstimatorStateError as exc:
            self.load_failures += 1
            self._problem(f"saved estimator state not used: {exc}")
            return False
        return True

    def on_snapshot(self, _snapshot: Any = None) -> None:
        """A controller publisher: saves when SAVE_PERIOD_S have passed since the last save."""
        now = self.clock()
        if now - self._last_save >= SAVE_PERIOD_S:
            self.save()

    def save(self) -> None:
        self._last_save = self.clock()
        try:
            write_state_file(self.path, self.estimator.export_state())
        except (OSError, ValueError) as exc:  # a full disk must not stop the BMS
            self.save_failures += 1
            self._problem(f"estimator state not saved to {self.path}: {exc}")
            return
        self.saves += 1

    def close(self) -> None:
        self.save()

    def _problem(self, text: str) -> None:
        if self.on_problem is not None:
            self.on_problem(text)

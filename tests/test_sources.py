"""BoardBridge: a board as the controller's source and actuator, with writes off the control loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tests.core.helpers import pack_settings

from smartbms.controller import Controller
from smartbms.sources import BoardBridge
from smartbms.telemetry import Telemetry


class FakeBoard:
    def __init__(self, can_switch: bool = True, fail_first: int = 0, write_delay_s: float = 0.0) -> None:
        self.can_switch_fets = can_switch
        self.writes: list[tuple[str, bool]] = []
        self.fail_first = fail_first
        self.write_delay_s = write_delay_s
        self.now = 0.0
        self.closed = False
        self.lock = threading.Lock()

    def latest(self) -> Telemetry:
        return Telemetry(
            timestamp=self.now,
            voltage_v=13.2,
            current_a=-3.0,
            cell_voltages_v=(3.3,) * 4,
            temperatures_c=(25.0, 25.0),
        )

    def _write(self, what: str, on: bool) -> None:
        time.sleep(self.write_delay_s)
        with self.lock:
            if self.fail_first > 0:
                self.fail_first -= 1
                raise TimeoutError("board did not answer")
            self.writes.append((what, on))

    def set_charge(self, on: bool) -> None:
        self._write("charge", on)

    def set_discharge(self, on: bool) -> None:
        self._write("discharge", on)

    def close(self) -> None:
        self.closed = True


def _run(bridge: BoardBridge, board: FakeBoard, seconds: int) -> Controller:
    controller = Controller(pack_settings(), bridge, bridge)
    for t in range(seconds):
        board.now = float(t)
        controller.tick(float(t))
    return controller


def test_board_telemetry_drives_the_core_and_decisions_reach_the_board() -> None:
    board = FakeBoard()
    bridge = BoardBridge(board, "jbd:test")
    controller = _run(bridge, board, 5)
    assert controller.latest is not None and controller.latest.state.value == "NORMAL"
    assert bridge.flush()
    # STANDBY opened both, NORMAL closed both; the worker writes only the newest decision,
    # so the "off" may be skipped, but the board ends as the core decided, each write once.
    assert board.writes[-2:] == [("charge", True), ("discharge", True)]
    assert len(board.writes) in (2, 4)
    bridge.close()
    assert board.closed


def test_slow_board_writes_never_stall_the_control_loop() -> None:
    board = FakeBoard(write_delay_s=0.5)
    bridge = BoardBridge(board, "slow")
    started = time.monotonic()
    _run(bridge, board, 5)
    assert time.monotonic() - started < 0.5
    assert bridge.flush(timeout_s=10.0)
    bridge.close()


def test_failed_write_is_counted_and_retried() -> None:
    board = FakeBoard(fail_first=1)
    bridge = BoardBridge(board, "flaky")
    _run(bridge, board, 5)
    assert bridge.flush(timeout_s=15.0)
    assert bridge.write_errors == 1
    assert board.writes[-2:] == [("charge", True), ("discharge", True)]
    bridge.close()


def test_read_only_board_is_monitored_without_writes() -> None:
    board = FakeBoard(can_switch=False)
    bridge = BoardBridge(board, "seplos")
    controller = _run(bridge, board, 5)
    assert controller.latest is not None and controller.latest.state.value == "NORMAL"
    assert board.writes == [] and bridge.write_errors == 0
    bridge.close()


def test_first_run_on_a_board_adopts_its_topology(tmp_path: Path) -> None:
    from smartbms.app import adopt_board_topology
    from smartbms.core.settings import load_settings

    board = FakeBoard()
    settings = adopt_board_topology(board, tmp_path / "settings.toml", wait_s=1.0)
    assert settings is not None and load_settings(tmp_path / "settings.toml") == settings
    assert settings.pack.cells_series == 4 and settings.pack.temperature_sensors == 2
    assert settings.pack.chemistry == "LFP"

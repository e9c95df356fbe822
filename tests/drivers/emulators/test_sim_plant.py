"""The emulated board can report the simulator's pack instead of a steady one."""

from __future__ import annotations

import pytest

from smartbms.drivers.emulators.server import EmulatedBoard
from smartbms.drivers.emulators.sim_plant import simulated_pack
from smartbms.drivers.registry import get_protocol
from smartbms.telemetry import Telemetry

T0 = 1_700_000_000.0


def test_jbd_board_reports_the_simulated_pack() -> None:
    plant = simulated_pack(cells=8, capacity_ah=100.0, profile="solar_day", soc_pct=60.0)
    served: list[Telemetry] = []

    def recording(t: float) -> Telemetry:  # the simulated sensors are noisy: keep what was served
        served.append(plant(T0))
        return served[-1]

    board = EmulatedBoard("jbd", recording)
    protocol = get_protocol("jbd")
    frames = []
    for request in protocol.status_requests():
        frames += protocol.response_parser().feed(board.handle(board.protocol.request_parser(), request))
    sample = protocol.decode_status(frames)
    basic, cells = served  # one plant read per request: 0x03 basic info, then 0x04 cells
    assert sample.cell_voltages_v == pytest.approx(cells.cell_voltages_v, abs=0.0005)
    assert sample.soc_pct == pytest.approx(basic.soc_pct, abs=0.5)
    assert sample.current_a == pytest.approx(basic.current_a, abs=0.005)
    assert 40 < (sample.soc_pct or 0) < 80 and sample.capacity_ah == pytest.approx(100.0, rel=0.05)

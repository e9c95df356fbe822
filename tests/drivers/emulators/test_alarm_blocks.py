"""The Seplos V3 and Pylontech emulators answer the alarm blocks so a status poll round-trips them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from smartbms.drivers.codecs import modbus
from smartbms.drivers.codecs.base import BoardProtocol, Frame
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.state import BoardState, Plant, steady_pack
from smartbms.drivers.registry import get_protocol
from smartbms.telemetry import Telemetry

BASE = steady_pack(cells=8, cell_voltage_v=3.31, current_a=-4.0, soc_pct=64.0)


def plant_with(**changes: object) -> Plant:
    return lambda t: replace(BASE(t), **changes)


def poll(protocol: BoardProtocol, state: BoardState) -> tuple[Telemetry, list[Frame]]:
    responder = responder_for(protocol.name)
    frames: list[Frame] = []
    for request in protocol.status_requests():
        (parsed,) = protocol.request_parser().feed(request)
        reply = b"".join(responder.respond(parsed, state))
        frames += [protocol.annotate(request, f) for f in protocol.response_parser().feed(reply)]
    assert len(frames) == len(protocol.status_requests())
    return protocol.decode_status(frames), frames


@pytest.mark.parametrize(("name", "address"), [("seplos-v3", 1), ("pylontech-rs485", 2)])
def test_quiet_pack_has_no_alarms_and_its_fet_states(name: str, address: int) -> None:
    protocol = get_protocol(name, address=address)
    state = BoardState(BASE, discharge_enabled=False)
    sample, _ = poll(protocol, state)
    assert sample.alarms == ()
    assert sample.charge_enabled is True and sample.discharge_enabled is False
    assert sample.cell_voltages_v == pytest.approx(BASE(0).cell_voltages_v, abs=0.001)


def test_seplos_alarms_and_balancing_round_trip() -> None:
    protocol = get_protocol("seplos-v3", address=1)
    plant = plant_with(alarms=("W-CELL-OV", "A-CHG-OT", "W-IMBALANCE"), balancing_cells=(2, 7))
    sample, frames = poll(protocol, BoardState(plant))
    assert sample.alarms == ("W-CELL-OV", "A-CHG-OT", "W-IMBALANCE")
    assert sample.balancing_cells == (2, 7)
    assert "discharging" in sample.extra["board_state"]  # the plant discharges at 4 A
    assert frames[-1].kind == 0x01 and len(frames[-1].payload) == 18


def test_pylontech_alarms_round_trip() -> None:
    protocol = get_protocol("pylontech-rs485", address=2)
    plant = plant_with(alarms=("W-CELL-UV", "A-PACK-UV", "W-DSG-OT"))
    sample, _ = poll(protocol, BoardState(plant))
    assert sample.alarms == ("W-CELL-UV", "W-DSG-OT", "A-PACK-UV")
    assert "effective discharge current" in sample.extra["board_state"]


def test_seplos_emulator_refuses_a_wrong_coil_range() -> None:
    protocol = get_protocol("seplos-v3", address=1)
    request = modbus.read_request(1, modbus.READ_COILS, 0x1200, 0x10)
    (parsed,) = protocol.request_parser().feed(request)
    (reply,) = responder_for("seplos-v3").respond(parsed, BoardState(BASE))
    assert reply[1] == 0x81 and reply[2] == 0x02

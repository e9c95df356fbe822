"""Daly 0xA5 settings: the 0x50 "rated parameters" read, and parameter writes refused unsent."""

from __future__ import annotations

import pytest

from smartbms.drivers.codecs import daly
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.state import BoardState, steady_pack
from smartbms.errors import ChecksumError, WriteRefusedError

PROTOCOL = daly.DalyProtocol()

# The 8 data bytes of a 0x50 reply captured on Daly's CAN bus and decoded by its poster
# (diysolarforum.com, "Daly BMS Communication Protocol", thread 65439, heezes, July 2023):
# "[0x50, 0x8, 0x0, 0x0, 0x75, 0x30, 0x0, 0x0, 0xe, 0x10] ... capacity ..., nominal_cell_voltage
# ... Factor = 1000", i.e. 30000 mAh and 3600 mV. Daly's CAN and UART protocols share data IDs and
# payloads; the UART framing around them (board address 0x01, sum8) is added here, so this is
# not a UART capture. The same layout (u32 mAh, u32 mV) is read by dbus-serialbattery
# bms/daly.py read_capacity() and ai-republic/bms-to-inverter DalyMessageHandler.
RATED_DATA = bytes.fromhex("0000753000000e10")
RATED_REPLY = bytes.fromhex("a50150080000753000000e10c1")


def test_settings_read_is_one_0x50_request_from_the_host_address() -> None:
    assert PROTOCOL.settings_requests() == [bytes.fromhex("a540500800000000000000003d")]
    uart = daly.DalyProtocol(host_address=daly.HOST_UART)
    assert uart.settings_requests() == [daly.build_frame(0x50, address=0x80)]


def test_rated_reply_decodes_to_the_posted_values() -> None:
    assert daly.build_frame(daly.CMD_RATED, RATED_DATA, address=daly.BOARD) == RATED_REPLY
    frame = PROTOCOL.response_format().parse_one(RATED_REPLY)
    assert PROTOCOL.decode_settings([frame]) == pytest.approx({"capacity_ah": 30.0, "nominal_cell_v": 3.6})


def test_rated_reply_is_not_mistaken_for_a_status() -> None:
    frame = PROTOCOL.response_format().parse_one(RATED_REPLY)
    assert PROTOCOL.decode_status([frame]).to_dict() == PROTOCOL.decode_status([]).to_dict()


def test_status_frames_carry_no_settings() -> None:
    frame = PROTOCOL.response_format().parse_one(bytes.fromhex("a50193080001019a0002a2d859"))
    assert PROTOCOL.decode_settings([frame]) == {}


def test_bad_checksum_is_rejected() -> None:
    corrupt = RATED_REPLY[:-1] + bytes([RATED_REPLY[-1] ^ 0x01])
    with pytest.raises(ChecksumError):
        PROTOCOL.response_format().parse_one(corrupt)
    parser = PROTOCOL.response_parser()
    assert parser.feed(corrupt) == []
    assert parser.counters["checksum_errors"] == 1


@pytest.mark.parametrize(
    ("key", "value"),
    [("capacity_ah", 100.0), ("nominal_cell_v", 3.2), ("cell_ov_v", 3.6), ("pack_uv_v", 44.0)],
)
def test_parameter_writes_are_refused_before_any_bytes(key: str, value: float) -> None:
    with pytest.raises(WriteRefusedError, match=r"not publicly documented.*nothing was sent"):
        PROTOCOL.setting_requests(key, value)
    assert PROTOCOL.settings == {}  # nothing is advertised as writable


def test_emulator_answers_0x50_with_the_pack_capacity() -> None:
    responder = responder_for("daly")
    state = responder.new_state(BoardState(steady_pack(cells=4, capacity_ah=280.0)))
    (request,) = PROTOCOL.settings_requests()
    (parsed,) = PROTOCOL.request_parser().feed(request)
    frames = PROTOCOL.response_parser().feed(b"".join(responder.respond(parsed, state)))
    assert [f.address for f in frames] == [daly.BOARD]
    assert PROTOCOL.decode_settings(frames) == pytest.approx({"capacity_ah": 280.0, "nominal_cell_v": 3.2})


def test_emulator_ignores_undocumented_parameter_commands() -> None:
    responder = responder_for("daly")
    state = responder.new_state(BoardState(steady_pack(cells=4)))
    for command in range(0x10, 0x20):
        (parsed,) = PROTOCOL.request_parser().feed(daly.build_frame(command, bytes([0x0E, 0x10]) + bytes(6)))
        assert responder.respond(parsed, state) == []

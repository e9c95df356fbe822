"""Seplos V3 FET switching (SCA 0x1510/0x1511/0x1515, function 0x10) and its PIC read-back."""

from __future__ import annotations

import pytest

from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.state import BoardState, steady_pack
from smartbms.drivers.registry import get_protocol
from smartbms.errors import WriteRefusedError

PROTOCOL = get_protocol("seplos-v3", address=1)
# The Seplos PC software's log quoted in syssi/esphome-seplos-bms#8 (ouinouin, 2025-01-21), pack
# 0 = Modbus address 0: "Discharing FETs Off CloseCommand(Address:0x1510)" and "Discharing FETs On
# OpenCommand(Address:0x1510)", each followed by "BMS response OK" and the same reply.
LOG_DISCHARGE_OFF = bytes.fromhex("00 10 15 10 00 01 02 55 AA 52 BE")
LOG_DISCHARGE_ON = bytes.fromhex("00 10 15 10 00 01 02 AA 55 53 0E")
LOG_REPLY = bytes.fromhex("00 10 15 10 00 01 05 D1")


def test_discharge_requests_are_the_seplos_software_frames() -> None:
    pack0 = get_protocol("seplos-v3", address=0)
    assert pack0.discharge_requests(False, None) == [LOG_DISCHARGE_OFF]
    assert pack0.discharge_requests(True, None) == [LOG_DISCHARGE_ON]


def test_charge_requests_use_the_separate_off_and_on_registers() -> None:
    # V0.3 document: 0x1511 "charge MOSFET off, fixed 0x55AA", 0x1515 "charge MOSFET on, fixed 0xAA55".
    (off,) = PROTOCOL.charge_requests(False, None)
    (on,) = PROTOCOL.charge_requests(True, None)
    assert off == modbus.with_crc(bytes.fromhex("01 10 15 11 00 01 02 55 AA"))
    assert on == modbus.with_crc(bytes.fromhex("01 10 15 15 00 01 02 AA 55"))
    for request, register, value in ((off, 0x1511, 0x55AA), (on, 0x1515, 0xAA55)):
        frame = PROTOCOL.request_format().parse_one(request)
        assert frame.kind == modbus.WRITE_MULTIPLE
        assert frame.meta["start"] == register and frame.meta["value"] == 1
        assert int.from_bytes(frame.payload[5:7], "big") == value


def test_the_logged_reply_parses_and_passes_the_reply_check() -> None:
    pack0 = get_protocol("seplos-v3", address=0)
    (frame,) = pack0.response_parser().feed(LOG_REPLY)
    assert frame.kind == modbus.WRITE_MULTIPLE and frame.meta["start"] == 0x1510
    pack0.check_replies([frame])  # no exception: accepted
    refused = modbus.exception_response(0, modbus.WRITE_MULTIPLE, 0x03)
    with pytest.raises(WriteRefusedError):
        pack0.check_replies(pack0.response_parser().feed(refused))


def _exchange(state: BoardState, requests: list[bytes]) -> list[Frame]:
    responder = responder_for("seplos-v3")
    frames: list[Frame] = []
    for request in requests:
        (parsed,) = PROTOCOL.request_parser().feed(request)
        reply = b"".join(responder.respond(parsed, state))
        frames += [PROTOCOL.annotate(request, f) for f in PROTOCOL.response_parser().feed(reply)]
    return frames


@pytest.mark.parametrize("path", ["charge", "discharge"])
def test_emulator_switches_and_pic_reads_it_back(path: str) -> None:
    state = responder_for("seplos-v3").new_state(BoardState(steady_pack(cells=8, current_a=-3.0)))
    switch = PROTOCOL.charge_requests if path == "charge" else PROTOCOL.discharge_requests
    for on in (False, True):
        replies = _exchange(state, switch(on, None))
        PROTOCOL.check_replies(replies)
        assert [f.kind for f in replies] == [modbus.WRITE_MULTIPLE]
        sample = PROTOCOL.decode_status(_exchange(state, PROTOCOL.status_requests()))
        assert getattr(sample, f"{path}_enabled") is on
        other = "discharge" if path == "charge" else "charge"
        assert getattr(sample, f"{other}_enabled") is True
        assert (f"{path} FET on" in sample.extra["board_state"]) is on


@pytest.mark.parametrize(
    ("register", "value"),
    [(0x1510, 0x1234), (0x1511, 0xAA55), (0x1515, 0x55AA)],  # not the register's command word
)
def test_emulator_refuses_an_undocumented_command_word(register: int, value: int) -> None:
    state = responder_for("seplos-v3").new_state(BoardState(steady_pack(cells=4)))
    replies = _exchange(state, [seplos_v3.write_registers_request(1, register, [value])])
    with pytest.raises(WriteRefusedError):
        PROTOCOL.check_replies(replies)
    assert state.charge_enabled is True and state.discharge_enabled is True

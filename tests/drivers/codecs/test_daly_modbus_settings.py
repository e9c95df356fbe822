"""Daly Modbus (0xD2) protection settings: read-back decoding, write requests, range checks."""

from __future__ import annotations

import pytest

from smartbms.drivers.codecs import daly_modbus, modbus
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.state import BoardState, steady_pack
from smartbms.errors import WriteRefusedError

# Settings reply (41 registers from 0x80) of a real board: SETTINGS_FRAME_1 in
# syssi/esphome-daly-bms tests/components/daly_bms_ble/common.h. The values below are the ones
# that project's daly_bms_ble_test.cpp asserts for it (rated capacity 105.0 Ah, cell thresholds
# 3500/3500/2600/2600 mV, pack thresholds 14.0/14.0/10.4/10.4 V).
SETTINGS_REPLY = bytes.fromhex(
    "d20352041a0c80000100040000000000010000000000001c200dac0dac0a280a28008c008c0068006874cc74cc74"
    "9075d00055005500280028006e006e0027002700ff00ff00ff00ff0c8000140001000102a800577f8b"
)
DOCUMENTED = {
    "capacity_ah": 105.0,
    "cell_ov_warn_v": 3.5,
    "cell_ov_v": 3.5,
    "cell_uv_warn_v": 2.6,
    "cell_uv_v": 2.6,
    "pack_ov_warn_v": 14.0,
    "pack_ov_v": 14.0,
    "pack_uv_warn_v": 10.4,
    "pack_uv_v": 10.4,
}
PROTOCOL = daly_modbus.DalyModbusProtocol()


def test_settings_read_request_is_the_documented_one() -> None:
    # "d2 03 00 80 00 29 96 5f" in the same project's request-frame test.
    assert PROTOCOL.settings_requests() == [bytes.fromhex("d20300800029965f")]


def test_real_settings_reply_decodes_to_the_documented_values() -> None:
    (request,) = PROTOCOL.settings_requests()
    frames = [PROTOCOL.annotate(request, f) for f in PROTOCOL.response_parser().feed(SETTINGS_REPLY)]
    assert PROTOCOL.decode_settings(frames) == pytest.approx(DOCUMENTED)


def test_settings_reply_is_not_mistaken_for_a_status() -> None:
    (request,) = PROTOCOL.settings_requests()
    frames = [PROTOCOL.annotate(request, f) for f in PROTOCOL.response_parser().feed(SETTINGS_REPLY)]
    assert PROTOCOL.decode_status(frames).voltage_v is None


@pytest.mark.parametrize(
    ("key", "value", "register", "raw"),
    [
        ("cell_ov_v", 3.6, 0x8C, 3600),
        ("cell_uv_warn_v", 2.75, 0x8D, 2750),
        ("pack_ov_v", 58.4, 0x90, 584),
        ("capacity_ah", 280.0, 0x80, 2800),
    ],
)
def test_write_is_one_function_06_request(key: str, value: float, register: int, raw: int) -> None:
    (request,) = PROTOCOL.setting_requests(key, value)
    frame = PROTOCOL.request_format().parse_one(request)
    assert frame.kind == modbus.WRITE_SINGLE
    assert (frame.meta["start"], frame.meta["value"]) == (register, raw)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cell_ov_v", 4.6),
        ("cell_uv_v", 1.0),
        ("pack_ov_v", 300.0),
        ("capacity_ah", 0.0),
        ("cell_ov_v", float("nan")),
    ],
)
def test_out_of_range_write_is_refused_before_any_bytes(key: str, value: float) -> None:
    with pytest.raises(WriteRefusedError, match="nothing was sent"):
        PROTOCOL.setting_requests(key, value)


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(WriteRefusedError, match="unknown setting"):
        PROTOCOL.setting_requests("balance_start_v", 3.4)


def test_emulator_stores_a_write_and_reads_it_back() -> None:
    responder = responder_for("daly-modbus")
    state = responder.new_state(BoardState(steady_pack(cells=4)))
    (write,) = PROTOCOL.setting_requests("pack_uv_v", 11.6)
    (parsed,) = PROTOCOL.request_parser().feed(write)
    assert responder.respond(parsed, state) == [write]  # echoed, as Modbus write-single replies are
    (read,) = PROTOCOL.settings_requests()
    (parsed_read,) = PROTOCOL.request_parser().feed(read)
    reply = b"".join(responder.respond(parsed_read, state))
    frames = [PROTOCOL.annotate(read, f) for f in PROTOCOL.response_parser().feed(reply)]
    settings = PROTOCOL.decode_settings(frames)
    assert settings["pack_uv_v"] == pytest.approx(11.6)
    assert settings["cell_ov_v"] == pytest.approx(responder.default_settings["cell_ov_v"])


def test_emulator_refuses_a_register_outside_its_map() -> None:
    responder = responder_for("daly-modbus")
    state = responder.new_state(BoardState(steady_pack(cells=4)))
    (parsed,) = PROTOCOL.request_parser().feed(modbus.write_single_request(daly_modbus.ADDRESS, 0xF0, 1))
    (reply,) = responder.respond(parsed, state)
    (frame,) = PROTOCOL.response_parser().feed(reply)
    with pytest.raises(WriteRefusedError):
        PROTOCOL.check_replies([frame])

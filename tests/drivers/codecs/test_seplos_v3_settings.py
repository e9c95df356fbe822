"""Seplos V3 SPA settings (0x1300-0x1369): read-back decoding, 0x10 writes, range checks, framing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import Frame
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.state import BoardState, steady_pack
from smartbms.errors import ChecksumError, DecodeError, WriteRefusedError

# Two real SPA replies of a SG16S200A-SP57B-A pack (16S LFP, 330 Ah), read over BLE at device
# address 0xE0 by the Seplos app in two halves: syssi/esphome-seplos-bms
# docs/pdus/v3/SG16S200A-SP57B-A-all-frames.txt (requests "E0.04.13.00.00.35.23.28" and
# "E0.04.13.35.00.35.33.26"; the first reply is also quoted in syssi/esphome-seplos-bms#166).
CAPTURE_ADDRESS = 0xE0
SPA_REPLY_1 = bytes.fromhex(
    "e0046a00040010151815e01518168012c0122012c010e00d480dac0d480e420c1c0b540c1c0a8c07d003e801f400cb00"
    "cd00d20064012c012cff35ff33ff2e0064fea2012cfed4006a025800050bb800cd000a0dac0d4805dc03e8032000c800"
    "1e0c810c9f0c9f0cd10add0ac97616"
)
SPA_REPLY_2 = bytes.fromhex(
    "e0046a0abf0aab0c9f0cd10cd10d030ac90aab0ab50a8d0c810c9f0cd10d030ac90aab0aab0a470dfd0e610dfd0ef70b"
    "0f0aab0c9f0aab000a0d480032001e03c0005000320032001e80e880e86b400030003c00f0000a00070000000d000001"
    "f4012c168000b4ff4c00000008fec9"
)
# Values of that capture. Stated by the source (syssi/esphome-seplos-bms PRs #237 and #238, which
# decode these two replies with the register map of Seplos' "XZH BMS Modbus-RTU Protocol"):
# sensor and cell count, pack OV recovery/protection 54.00/57.60 V, pack UV recovery/protection
# 48.00/43.20 V, cell OV 3.400/3.650 V, cell UV 3.100/2.700 V, charge and discharge OC protection
# 210 A, charge OT protection 55.0 °C, discharge OT protection 60.0 °C. The rest decoded by hand
# from the same map (0x1302/0x1303, 0x1306/0x1307, 0x130A/0x130B, 0x130E/0x130F alarm levels,
# the OC recovery/alarm and level-2 registers, the remaining temperatures, 0x1358 capacity).
STATED_BY_SOURCE = {
    "temperature_sensor_count": 4,
    "cell_count": 16,
    "pack_ov_release_v": 54.0,
    "pack_ov_v": 57.6,
    "pack_uv_release_v": 48.0,
    "pack_uv_v": 43.2,
    "cell_ov_release_v": 3.4,
    "cell_ov_v": 3.65,
    "cell_uv_release_v": 3.1,
    "cell_uv_v": 2.7,
    "charge_oc_a": 210.0,
    "discharge_oc_a": 210.0,
    "charge_ot_c": 55.0,
    "discharge_ot_c": 60.0,
}
DECODED_BY_HAND = {
    "pack_ov_warn_release_v": 54.0,
    "pack_ov_warn_v": 56.0,
    "pack_uv_warn_release_v": 48.0,
    "pack_uv_warn_v": 46.4,
    "cell_ov_warn_release_v": 3.4,
    "cell_ov_warn_v": 3.5,
    "cell_uv_warn_release_v": 3.1,
    "cell_uv_warn_v": 2.9,
    "charge_oc_release_a": 203.0,
    "charge_oc_warn_a": 205.0,
    "charge_oc2_a": 300.0,
    "discharge_oc_release_a": 203.0,
    "discharge_oc_warn_a": 205.0,
    "discharge_oc2_a": 350.0,
    "charge_ot_release_c": 50.0,
    "charge_ut_release_c": 2.0,
    "charge_ut_c": 0.0,
    "discharge_ot_release_c": 55.0,
    "discharge_ut_release_c": 1.0,
    "discharge_ut_c": -3.0,
    "capacity_ah": 330.0,
}
CAPTURED = seplos_v3.SeplosV3Protocol(address=CAPTURE_ADDRESS)
PROTOCOL = seplos_v3.SeplosV3Protocol(address=1)


def _replies(protocol: seplos_v3.SeplosV3Protocol, *raws: bytes) -> list[Frame]:
    frames: list[Frame] = []
    for request, raw in zip(protocol.settings_requests(), raws, strict=True):
        frames += [protocol.annotate(request, f) for f in protocol.response_parser().feed(raw)]
    return frames


def test_settings_are_read_as_the_seplos_app_reads_them() -> None:
    assert [r.hex() for r in CAPTURED.settings_requests()] == ["e004130000352328", "e004133500353326"]
    assert PROTOCOL.settings_requests() == [
        modbus.read_request(1, modbus.READ_INPUT, 0x1300, 0x35),
        modbus.read_request(1, modbus.READ_INPUT, 0x1335, 0x35),
    ]


def test_real_spa_replies_decode_to_the_stated_values() -> None:
    decoded = CAPTURED.decode_settings(_replies(CAPTURED, SPA_REPLY_1, SPA_REPLY_2))
    assert decoded == pytest.approx({**STATED_BY_SOURCE, **DECODED_BY_HAND})
    assert set(decoded) == set(seplos_v3.SETTINGS) | set(seplos_v3.SPA_INFO)


def test_first_half_alone_gives_its_registers_only() -> None:
    (request, _) = CAPTURED.settings_requests()
    frames = [CAPTURED.annotate(request, f) for f in CAPTURED.response_parser().feed(SPA_REPLY_1)]
    decoded = CAPTURED.decode_settings(frames)
    assert decoded["cell_ov_v"] == pytest.approx(3.65) and decoded["charge_ot_c"] == pytest.approx(55.0)
    assert "discharge_ot_c" not in decoded and "capacity_ah" not in decoded


def test_spa_replies_are_not_mistaken_for_a_status() -> None:
    frames = _replies(CAPTURED, SPA_REPLY_1, SPA_REPLY_2)
    assert CAPTURED.decode_status(frames).voltage_v is None


def test_bad_crc_is_rejected() -> None:
    corrupt = bytearray(SPA_REPLY_1)
    corrupt[20] ^= 0x01
    parser = CAPTURED.response_parser()
    assert parser.feed(bytes(corrupt)) == []
    assert parser.counters["checksum_errors"] >= 1
    with pytest.raises(ChecksumError):
        CAPTURED.response_format().parse_one(bytes(corrupt))


def test_a_refused_spa_read_is_reported() -> None:
    (request, _) = PROTOCOL.settings_requests()
    (frame,) = PROTOCOL.response_parser().feed(modbus.exception_response(1, modbus.READ_INPUT, 0x02))
    with pytest.raises(DecodeError, match="refused the SPA read"):
        PROTOCOL.decode_settings([PROTOCOL.annotate(request, frame)])


@pytest.mark.parametrize(
    ("key", "value", "register", "raw"),
    [
        ("cell_ov_v", 3.6, 0x130D, 3600),
        ("cell_uv_release_v", 3.05, 0x1310, 3050),
        ("pack_ov_v", 58.4, 0x1305, 5840),
        ("charge_oc_a", 150.0, 0x1317, 150),
        ("discharge_oc_a", 150.0, 0x131D, 0x10000 - 150),  # stored negative, as the document's FF 92
        ("charge_ut_c", -5.0, 0x1336, 2681),
        ("discharge_ot_c", 58.5, 0x133A, 3316),
        ("capacity_ah", 280.0, 0x1358, 28000),
    ],
)
def test_write_is_one_function_10_request(key: str, value: float, register: int, raw: int) -> None:
    (request,) = PROTOCOL.setting_requests(key, value)
    frame = PROTOCOL.request_format().parse_one(request)
    assert frame.kind == modbus.WRITE_MULTIPLE
    assert (frame.meta["start"], frame.meta["value"]) == (register, 1)  # one register
    assert request[6] == 2 and int.from_bytes(request[7:9], "big") == raw


def test_write_request_bytes() -> None:
    # 01 10 13 0D 00 01 02 0E 10 + CRC: cell over-voltage protection 3.600 V.
    (request,) = PROTOCOL.setting_requests("cell_ov_v", 3.6)
    assert request[:-2].hex() == "0110130d0001020e10"
    assert request == modbus.with_crc(request[:-2])


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cell_ov_v", 4.6),
        ("cell_uv_v", 1.5),
        ("pack_ov_v", 80.0),
        ("pack_uv_v", 10.0),
        ("charge_oc_a", 0.0),
        ("discharge_oc_a", -50.0),  # a magnitude: negative values are refused, not sent as positive
        ("discharge_oc2_a", 2000.0),
        ("charge_ut_c", -45.0),
        ("discharge_ot_c", 130.0),
        ("capacity_ah", 700.0),
        ("cell_ov_v", float("nan")),
    ],
)
def test_out_of_range_write_is_refused_before_any_bytes(key: str, value: float) -> None:
    with pytest.raises(WriteRefusedError, match="nothing was sent"):
        PROTOCOL.setting_requests(key, value)


@pytest.mark.parametrize("key", ["cell_count", "temperature_sensor_count", "balance_start_v"])
def test_read_only_or_unknown_setting_is_refused(key: str) -> None:
    with pytest.raises(WriteRefusedError, match="unknown setting"):
        PROTOCOL.setting_requests(key, 4)


def test_write_echo_passes_and_an_exception_is_refused() -> None:
    (request,) = PROTOCOL.setting_requests("cell_ov_v", 3.6)
    echo = modbus.with_crc(request[:6])  # the documented 0x10 reply: address, function, start, count
    (frame,) = PROTOCOL.response_parser().feed(echo)
    PROTOCOL.check_replies([PROTOCOL.annotate(request, frame)])
    (refused,) = PROTOCOL.response_parser().feed(modbus.exception_response(1, modbus.WRITE_MULTIPLE, 0x03))
    assert PROTOCOL.matches(request, refused)
    with pytest.raises(WriteRefusedError, match="exception 3"):
        PROTOCOL.check_replies([refused])


def test_every_setting_round_trips_through_its_raw_register() -> None:
    for key, spec in seplos_v3.SETTINGS.items():
        field = seplos_v3.SPA_FIELDS[key]
        for value in (spec.minimum, spec.maximum):
            assert field.from_raw(field.to_raw(value)) == pytest.approx(value), key


def _read_back(responder_state: BoardState) -> dict[str, object]:
    responder = responder_for("seplos-v3")
    frames: list[Frame] = []
    for request in PROTOCOL.settings_requests():
        (parsed,) = PROTOCOL.request_parser().feed(request)
        reply = b"".join(responder.respond(parsed, responder_state))
        frames += [PROTOCOL.annotate(request, f) for f in PROTOCOL.response_parser().feed(reply)]
    return PROTOCOL.decode_settings(frames)


def test_emulator_stores_a_write_and_reads_it_back() -> None:
    responder = responder_for("seplos-v3")
    state = responder.new_state(BoardState(steady_pack(cells=8)))
    assert _read_back(state) == pytest.approx(
        {**responder.default_settings, "cell_count": 8, "temperature_sensor_count": 4}
    )
    for key, value in (("discharge_oc_a", 95.0), ("charge_ut_c", -2.5), ("pack_uv_v", 24.0)):
        (write,) = PROTOCOL.setting_requests(key, value)
        (parsed,) = PROTOCOL.request_parser().feed(write)
        (reply,) = responder.respond(parsed, state)
        assert reply == modbus.with_crc(write[:6])
    settings_now = _read_back(state)
    assert settings_now["discharge_oc_a"] == pytest.approx(95.0)
    assert settings_now["charge_ut_c"] == pytest.approx(-2.5)
    assert settings_now["pack_uv_v"] == pytest.approx(24.0)
    assert settings_now["cell_ov_v"] == pytest.approx(responder.default_settings["cell_ov_v"])


def test_emulator_refuses_registers_outside_its_map() -> None:
    responder = responder_for("seplos-v3")
    state = responder.new_state(BoardState(steady_pack(cells=4)))
    cell_count_write = seplos_v3.write_registers_request(1, 0x1301, [8])
    (parsed,) = PROTOCOL.request_parser().feed(cell_count_write)
    (reply,) = responder.respond(parsed, state)
    (frame,) = PROTOCOL.response_parser().feed(reply)
    with pytest.raises(WriteRefusedError):
        PROTOCOL.check_replies([frame])
    (parsed_read,) = PROTOCOL.request_parser().feed(modbus.read_request(1, modbus.READ_INPUT, 0x1360, 0x20))
    (reply,) = responder.respond(parsed_read, state)
    assert reply[1] == modbus.READ_INPUT | 0x80


@settings(max_examples=500, deadline=None, database=None)
@given(
    half=st.integers(0, 1),
    payload=st.binary(max_size=250),
    exception=st.booleans(),
)
def test_random_spa_replies_raise_nothing_but_decode_errors(
    half: int, payload: bytes, exception: bool
) -> None:
    request = PROTOCOL.settings_requests()[half]
    raw = (
        modbus.exception_response(1, modbus.READ_INPUT, payload[0] if payload else 0)
        if exception
        else modbus.read_response(1, modbus.READ_INPUT, payload)
    )
    with contextlib.suppress(DecodeError):
        frames = [PROTOCOL.annotate(request, f) for f in PROTOCOL.response_parser().feed(raw)]
        decoded = PROTOCOL.decode_settings(frames)
        assert all(isinstance(v, int | float) for v in decoded.values())

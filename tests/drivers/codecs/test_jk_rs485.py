"""JK RS485 (0x4E57): which replies carry readings."""

from __future__ import annotations

from tests.drivers.fixtures import FIXTURES, load

from smartbms.drivers.codecs import jk_rs485
from smartbms.drivers.registry import get_protocol

ISSUE_389 = FIXTURES / "jk-rs485" / "mpp_solar_issue389_b1a20s15p_14s.json"


def _reply(command: int, data: bytes) -> bytes:
    return jk_rs485.build_frame(command, data, jk_rs485.SOURCE_BMS, jk_rs485.TYPE_RESPONSE)


def test_real_board_answers_a_read_with_command_03() -> None:
    # jblance/mpp-solar#389: a JK-B1A20S15P answered a 0x03 read of register 0x00 with a 0x03 frame
    # holding the whole tag list; it used to be dropped, leaving an empty sample.
    raw = load(ISSUE_389).frames[0]
    assert raw[8] == jk_rs485.CMD_READ
    sample = get_protocol("jk-rs485").decode_hex_frames([raw])
    assert sample.voltage_v == 55.78
    assert sample.cell_voltages_v is not None and len(sample.cell_voltages_v) == 14


def test_read_one_register_reply_is_decoded() -> None:
    sample = get_protocol("jk-rs485").decode_hex_frames([_reply(jk_rs485.CMD_READ, b"\x83\x15\xca")])
    assert sample.voltage_v == 55.78
    assert sample.soc_pct is None


def test_read_and_read_all_replies_merge() -> None:
    frames = [_reply(jk_rs485.CMD_READ_ALL, b"\x83\x15\xca\x85\x64"), _reply(jk_rs485.CMD_READ, b"\x85\x63")]
    sample = get_protocol("jk-rs485").decode_hex_frames(frames)
    assert (sample.voltage_v, sample.soc_pct) == (55.78, 99.0)


def test_write_echo_is_not_a_reading() -> None:
    sample = get_protocol("jk-rs485").decode_hex_frames([_reply(jk_rs485.CMD_WRITE, b"\x83\x15\xca")])
    assert sample.voltage_v is None

"""Pylontech RS485 0x44 "get alarm info": states, status bits, FET states, framing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.drivers.fixtures import all_captures

from smartbms.core.alarms import CATALOG
from smartbms.drivers.codecs import pylontech
from smartbms.drivers.codecs.base import AlarmBit
from smartbms.drivers.registry import get_protocol
from smartbms.errors import ChecksumError, DecodeError, LengthError

PROTOCOL = get_protocol("pylontech-rs485", address=2)


def alarm_info(
    cells: list[int] | None = None,
    temps: list[int] | None = None,
    currents: tuple[int, int, int] = (0, 0, 0),
    status: tuple[int, int, int, int, int] = (0, 0x0E, 0, 0, 0),
    tail: bytes = b"",
) -> bytes:
    cells = [0] * 15 if cells is None else cells
    temps = [0] * 5 if temps is None else temps
    return bytes([0x10, 2, len(cells), *cells, len(temps), *temps, *currents, *status]) + tail


def frame(info: bytes) -> bytes:
    return pylontech.build_frame(2, 0x00, info)


def test_status_poll_asks_for_alarm_info() -> None:
    requests = PROTOCOL.status_requests()
    # The request martiby/ess pylontech.py logs for the US2000 at address 2.
    assert b"~20024644E00202FD31\r" in requests
    assert requests[-1] == b"~20024644E00202FD31\r"


def test_martiby_us2000_capture() -> None:
    capture = next(c for c in all_captures() if c.path.stem == "steppuhn_ess_us2000_alarm_pack0")
    sample = PROTOCOL.decode_hex_frames(capture.frames)
    assert sample.alarms == () and sample.extra["board_flags"] == []
    assert sample.extra["board_state"] == [
        "charge MOSFET on",
        "discharge MOSFET on",
        "using battery module power",
    ]
    assert sample.extra["alarm_extra_bytes"] == [0]


def test_tables_are_consistent_with_the_catalog() -> None:
    for table in (pylontech.STATUS1_BITS, pylontech.STATE_BITS, pylontech.CELL_ERROR_BITS):
        assert len({e.bit for e in table}) == len(table)
        assert {e.code for e in table if e.code} <= set(CATALOG)
    state_maps = (
        pylontech.CELL_STATE_CODES,
        pylontech.TEMPERATURE_STATE_CODES,
        pylontech.CHARGE_CURRENT_STATE_CODES,
        pylontech.MODULE_VOLTAGE_STATE_CODES,
        pylontech.DISCHARGE_CURRENT_STATE_CODES,
    )
    assert {code for m in state_maps for code in m.values()} <= set(CATALOG)


@pytest.mark.parametrize("entry", pylontech.STATUS1_BITS, ids=lambda e: e.name)
def test_each_protection_bit_maps_alone(entry: AlarmBit) -> None:
    sample = pylontech.decode_alarm(alarm_info(status=(1 << entry.bit, 0x0E, 0, 0, 0)))
    assert sample.alarms == (entry.code,)
    assert sample.extra["board_flags"] == [entry.name]


def test_reserved_protection_bit_is_kept_by_number() -> None:
    sample = pylontech.decode_alarm(alarm_info(status=(1 << 3, 0x0E, 0, 0, 0)))
    assert sample.alarms == () and sample.extra["board_flags"] == ["unmapped bit 3"]


def test_states_map_to_warnings() -> None:
    cells = [0] * 15
    cells[2], cells[14] = pylontech.STATE_HIGH, pylontech.STATE_LOW
    temps = [pylontech.STATE_HIGH, 0, 0, 0, pylontech.STATE_ERROR]
    info = alarm_info(cells, temps, currents=(pylontech.STATE_HIGH, pylontech.STATE_LOW, 0))
    sample = pylontech.decode_alarm(info)
    assert sample.alarms == ("W-CELL-OV", "W-CELL-UV", "W-DSG-OT", "W-CHG-OC", "W-PACK-UV")
    assert sample.extra["board_flags"] == [
        "cell 3 voltage above upper limit",
        "cell 15 voltage below lower limit",
        "BMS board temperature above upper limit",
        "temperature 4 other error",
        "charge current above upper limit",
        "module voltage below lower limit",
    ]


def test_warnings_and_protections_together_are_deduplicated() -> None:
    cells = [pylontech.STATE_LOW] * 15
    sample = pylontech.decode_alarm(alarm_info(cells, status=(0b10, 0x0E, 0, 0, 0)))
    assert sample.alarms == ("W-CELL-UV", "A-CELL-UV")
    assert len(sample.extra["board_flags"]) == 16


@pytest.mark.parametrize(
    ("status2", "charge", "discharge"),
    [(0x0E, True, True), (0x0A, True, False), (0x0C, False, True), (0x09, False, False)],
)
def test_status2_mosfet_bits(status2: int, charge: bool, discharge: bool) -> None:
    sample = pylontech.decode_alarm(alarm_info(status=(0, status2, 0, 0, 0)))
    assert (sample.charge_enabled, sample.discharge_enabled) == (charge, discharge)


def test_status3_and_cell_errors() -> None:
    sample = pylontech.decode_alarm(alarm_info(status=(0, 0x0E, 0x88, 0b1, 0b1000_0000)))
    assert "fully charged" in sample.extra["board_state"]
    assert "effective charge current" in sample.extra["board_state"]
    assert sample.extra["board_flags"] == ["cell 1 error", "cell 16 error"]
    assert sample.alarms == ()


def test_alarm_mosfets_win_over_management_flags_in_any_order() -> None:
    management = next(c for c in all_captures() if c.path.stem == "python_pylontech_up2500_management")
    alarm = frame(alarm_info(status=(0, 0x0A, 0, 0, 0)))  # discharge MOSFET off
    for frames in ([*management.frames, alarm], [alarm, *management.frames]):
        sample = PROTOCOL.decode_hex_frames(frames)
        assert sample.charge_enabled is True and sample.discharge_enabled is False
        assert sample.extra["charge_current_limit_a"] == pytest.approx(55.5)


def test_vendor_tail_is_kept_raw() -> None:
    # Seplos V2 style: after the three state bytes a vendor block instead of status 1-5.
    info = alarm_info(cells=[0] * 16, temps=[0] * 6, status=(0x14, 0, 0, 0, 0), tail=bytes(16))
    sample = pylontech.decode_alarm(info)
    assert sample.alarms == () and sample.charge_enabled is None
    assert sample.extra["alarm_vendor_bytes"] == [0x14] + [0] * 20
    assert not pylontech.looks_like_alarm(info)


def test_captures_of_other_commands_are_not_taken_for_alarms() -> None:
    for capture in all_captures():
        if capture.protocol != "pylontech-rs485":
            continue
        fmt = PROTOCOL.response_format()
        infos = [fmt.parse_one(raw).payload for raw in capture.frames]
        is_alarm = capture.path.stem.endswith("alarm") or "_alarm_" in capture.path.stem
        assert [pylontech.looks_like_alarm(i) for i in infos] == [is_alarm] * len(infos), capture.id


def test_corrupt_alarm_frames_are_rejected_by_name() -> None:
    good = frame(alarm_info())
    with pytest.raises(LengthError):  # INFO ends inside status 5
        pylontech.decode_alarm(alarm_info()[:-1])
    bad = bytearray(good)
    bad[20] = ord("1") if bad[20] != ord("1") else ord("2")
    with pytest.raises(ChecksumError):
        PROTOCOL.decode_hex_frames([bytes(bad)])
    with pytest.raises(LengthError):
        PROTOCOL.decode_hex_frames([good[:-3]])
    with pytest.raises(DecodeError, match="return code"):
        PROTOCOL.decode_hex_frames([pylontech.build_frame(2, 0x04)])


@settings(max_examples=2000, deadline=None, database=None)
@given(st.binary(min_size=0, max_size=80))
def test_fuzz_alarm_decoder_raises_only_decode_errors(info: bytes) -> None:
    with contextlib.suppress(DecodeError):
        sample = pylontech.decode_alarm(info)
        assert all(code in CATALOG for code in sample.alarms or ())
    with contextlib.suppress(DecodeError):
        PROTOCOL.decode_hex_frames([frame(info)])

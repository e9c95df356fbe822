"""Seplos V3 PIC block (coils 0x1200-0x128F): alarm codes, FET states, balancing, framing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.drivers.fixtures import first_frame

from smartbms.core.alarms import CATALOG
from smartbms.drivers.codecs import modbus, seplos_v3
from smartbms.drivers.codecs.base import AlarmBit
from smartbms.drivers.registry import get_protocol
from smartbms.errors import ChecksumError, DecodeError, LengthError

PROTOCOL = get_protocol("seplos-v3", address=1)
# The ten status bytes (TB09, TB02, TB03, TB04, TB05, TB16, TB06, TB07, TB08, TB15) of
# patman15/aiobmsble tests/bms/test_seplos_bms.py: RESP["EIC"] "discharge, dis/charge-FET on, no
# alarm" and test_problem_response's EIC with every alarm byte 0xFF. That capture is the bank
# block 0x2200; PIC carries the same bytes after its eight per-cell bytes.
AIOBMSBLE_EIC_STATUS = bytes.fromhex("01000000000000030000")
AIOBMSBLE_EIC_PROBLEM = bytes.fromhex("01ffffffffffff03ffff")


def pic_frame(payload: bytes, address: int = 1) -> bytes:
    return modbus.read_response(address, modbus.READ_COILS, payload)


def status_block(**bytes_at: int) -> bytes:
    """A PIC payload (sniffer layout) with the given status bytes (tb09=..., tb07=..., ...)."""
    order = ("tb09", "tb02", "tb03", "tb04", "tb05", "tb16", "tb06", "tb07", "tb08", "tb15")
    return bytes(8) + bytes(bytes_at.get(name, 0) for name in order)


def test_status_poll_reads_the_pic_coils() -> None:
    request = PROTOCOL.status_requests()[-1]
    assert request == modbus.read_request(1, modbus.READ_COILS, 0x1200, 0x90)
    assert request.hex() == "010112000090391e"
    parsed = PROTOCOL.request_format().parse_one(request)
    assert parsed.kind == modbus.READ_COILS and parsed.meta == {"start": 0x1200, "value": 0x90}


def test_aiobmsble_status_bytes_decode_to_discharging_with_both_fets_on() -> None:
    sample = PROTOCOL.decode_hex_frames([pic_frame(bytes(8) + AIOBMSBLE_EIC_STATUS)])
    assert sample.alarms == ()
    assert sample.charge_enabled is True and sample.discharge_enabled is True
    assert sample.balancing_cells == ()
    assert sample.extra["board_state"] == ["discharging", "discharge FET on", "charge FET on"]
    assert sample.extra["board_flags"] == []


def test_aiobmsble_problem_bytes_raise_the_alarm_bytes_only() -> None:
    # aiobmsble treats TB02, TB03, TB05, TB06 and TB15 as problem bytes (mask 0xFFFF00FF00FF0000FF);
    # TB07 = 0x03 stays the FET state and is no alarm.
    sample = PROTOCOL.decode_hex_frames([pic_frame(bytes(8) + AIOBMSBLE_EIC_PROBLEM)])
    for code in ("A-CELL-OV", "A-CELL-UV", "A-PACK-OV", "A-PACK-UV", "A-CHG-OT", "A-DSG-UT", "A-DSG-OC2"):
        assert code in sample.alarms
    assert {"A-SHORT-CIRCUIT", "W-IMBALANCE", "E-AFE", "E-FET", "E-SENSOR-OPEN-WIRE"} <= set(sample.alarms)
    assert sample.charge_enabled is True and sample.discharge_enabled is True
    assert "charge FET on" in sample.extra["board_state"]


def test_alarm_table_is_consistent_with_the_catalog() -> None:
    for table in (seplos_v3.ALARM_BITS, seplos_v3.STATE_BITS):
        assert len({e.bit for e in table}) == len(table), "a bit is listed twice"
        assert {e.code for e in table if e.code} <= set(CATALOG)
    assert not {e.bit for e in seplos_v3.ALARM_BITS} & {e.bit for e in seplos_v3.STATE_BITS}
    assert all(e.code is None for e in seplos_v3.STATE_BITS)


@pytest.mark.parametrize("entry", seplos_v3.ALARM_BITS, ids=lambda e: e.name)
def test_each_alarm_bit_maps_alone(entry: AlarmBit) -> None:
    status = bytearray(seplos_v3.STATUS_BYTES)
    status[entry.bit // 8] |= 1 << entry.bit % 8
    sample = seplos_v3.decode_pic(bytes(8) + bytes(status))
    assert sample.alarms == ((entry.code,) if entry.code else ())
    assert sample.extra["board_flags"] == [entry.name]


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        (status_block(tb02=0x01), ("W-CELL-OV",)),  # coil 0x1248: cell high-voltage alarm
        (status_block(tb02=0x02), ("A-CELL-OV",)),
        (status_block(tb03=0x08), ("A-CHG-UT",)),
        (status_block(tb04=0x20), ("A-FET-OT",)),
        (status_block(tb05=0x40), ("A-SHORT-CIRCUIT",)),
        (status_block(tb05=0x10, tb16=0x08), ("A-DSG-OC1", "A-DSG-OC2")),
        (status_block(tb06=0x10), ("W-IMBALANCE",)),
        (status_block(tb15=0x02), ("E-AFE",)),
    ],
)
def test_documented_coils_map_to_codes(status: bytes, codes: tuple[str, ...]) -> None:
    assert seplos_v3.decode_pic(status).alarms == codes


def test_unknown_alarm_bit_is_kept_by_number() -> None:
    sample = seplos_v3.decode_pic(status_block(tb16=0x02))  # TB16 bit 1: no source names it
    assert sample.alarms == () and sample.extra["board_flags"] == ["unmapped bit 41"]


def test_fet_bits_and_states() -> None:
    sample = seplos_v3.decode_pic(status_block(tb09=0x02, tb07=0x02 | 0x08, tb08=0x40))
    assert sample.charge_enabled is True and sample.discharge_enabled is False
    assert sample.extra["board_state"] == [
        "charging",
        "charge FET on",
        "heater on",
        "active current limiting",
    ]
    assert sample.alarms == ()


def test_per_cell_bytes() -> None:
    payload = bytearray(status_block())
    payload[0:2] = (1 << 2).to_bytes(2, "little")  # cell 3 low
    payload[2:4] = (1 << 15).to_bytes(2, "little")  # cell 16 high
    payload[4], payload[5] = 0b1, 0b1000  # sensor 1 low, sensor 4 high
    payload[6:8] = (1 << 0 | 1 << 9).to_bytes(2, "little")  # cells 1 and 10 balancing
    sample = seplos_v3.decode_pic(bytes(payload))
    assert sample.balancing_cells == (1, 10)
    assert sample.extra["cell_low_voltage_alarm_cells"] == [3]
    assert sample.extra["cell_high_voltage_alarm_cells"] == [16]
    assert sample.extra["low_temperature_alarm_sensors"] == [1]
    assert sample.extra["high_temperature_alarm_sensors"] == [4]


# The worked "Get PIC" example of Seplos' "XZH BMS Modbus-RTU Protocol" V0.3 (the Markdown
# translation in syssi/esphome-seplos-bms docs/): request 00 01 12 00 00 90 38 CF, reply with
# "10 System state code" at byte 8 and "03 FET event code 0011: charge FET on, discharge FET on"
# at byte 15, CRC 6A 24.
DOCUMENT_PIC_EXAMPLE = bytes.fromhex("000112" + "00" * 8 + "10" + "00" * 6 + "03" + "0000" + "6a24")
# marcelrv/seplosBMSv3 README.md: pymodbus read_coils(0x1200, 0x90, slave=0) printed as 144 booleans,
# True at indexes 65, 120 and 121, in the same session as a PIA read with current 1301 (+13.01 A).
# Rebuilt here as the reply's 18 data bytes (the README gives no raw bytes).
MARCELRV_COILS = {65, 120, 121}


def test_document_pic_example_decodes_as_the_document_explains_it() -> None:
    assert modbus.with_crc(DOCUMENT_PIC_EXAMPLE[:-2]) == DOCUMENT_PIC_EXAMPLE
    sample = get_protocol("seplos-v3", address=0).decode_hex_frames([DOCUMENT_PIC_EXAMPLE])
    assert sample.charge_enabled is True and sample.discharge_enabled is True
    assert sample.extra["board_state"] == ["standby", "discharge FET on", "charge FET on"]
    assert sample.alarms == ()


def test_a_charging_pack_s_coil_read_fits_the_default_layout_only() -> None:
    payload = modbus.pack_bits([i in MARCELRV_COILS for i in range(seplos_v3.PIC_COILS)])
    assert payload == bytes(8) + b"\x02" + bytes(6) + b"\x03" + bytes(2)
    sample = seplos_v3.decode_pic(payload)
    assert sample.extra["board_state"] == ["charging", "discharge FET on", "charge FET on"]
    assert sample.charge_enabled is True and sample.discharge_enabled is True
    # TB09 at byte 0 (esphome-seplos-bms' reading) would report both FETs off while +13 A flows.
    status_first = seplos_v3.decode_pic(payload, status_offset=0)
    assert status_first.charge_enabled is False and status_first.discharge_enabled is False


def test_status_first_layout_is_configurable() -> None:
    # syssi/esphome-seplos-bms reads TB09 at byte 0: no per-cell bytes, no balancing list.
    protocol = get_protocol("seplos-v3", address=1, pic_status_offset=0)
    payload = AIOBMSBLE_EIC_STATUS[:1] + b"\x02" + AIOBMSBLE_EIC_STATUS[2:] + bytes(8)
    sample = protocol.decode_hex_frames([pic_frame(payload)])
    assert sample.alarms == ("A-CELL-OV",)
    assert sample.charge_enabled is True and sample.balancing_cells is None
    with pytest.raises(ValueError, match="pic_status_offset"):
        get_protocol("seplos-v3", pic_status_offset=3)


def test_full_status_merges_measurements_and_alarms() -> None:
    frames = [*first_frame("seplos-v3").frames, pic_frame(status_block(tb02=0x04, tb07=0x01))]
    sample = PROTOCOL.decode_hex_frames(frames)
    assert sample.voltage_v == pytest.approx(52.34) and len(sample.cell_voltages_v or ()) == 16
    assert sample.alarms == ("W-CELL-UV",)
    assert sample.discharge_enabled is True and sample.charge_enabled is False


def test_refused_coil_read_keeps_the_measurements() -> None:
    frames = [*first_frame("seplos-v3").frames, modbus.exception_response(1, modbus.READ_COILS, 0x01)]
    sample = PROTOCOL.decode_hex_frames(frames)
    assert sample.voltage_v == pytest.approx(52.34) and sample.alarms is None
    assert sample.extra["alarm_block"] == "refused (Modbus exception 1)"
    with pytest.raises(DecodeError, match="exception"):
        PROTOCOL.decode_hex_frames([modbus.exception_response(1, modbus.READ_INPUT, 0x02)])


def test_corrupt_pic_frames_are_rejected_by_name() -> None:
    good = pic_frame(status_block())
    bad_crc = bytearray(good)
    bad_crc[10] ^= 0x01
    with pytest.raises(ChecksumError):
        PROTOCOL.decode_hex_frames([bytes(bad_crc)])
    with pytest.raises(LengthError):
        PROTOCOL.decode_hex_frames([good[:-3]])
    with pytest.raises(LengthError, match="18 bytes"):
        PROTOCOL.decode_hex_frames([pic_frame(status_block()[:-1])])


def test_other_formats_do_not_accept_coil_frames() -> None:
    # The coil function is opt-in: the Daly Modbus parser still treats 0x01 as garbage.
    daly = get_protocol("daly-modbus").response_parser()
    assert daly.feed(pic_frame(status_block(), address=0xD2)) == []
    parser = PROTOCOL.response_parser()
    frames = parser.feed(b"\x00\xff" + pic_frame(status_block()) + b"\x13")
    assert [f.kind for f in frames] == [modbus.READ_COILS]


@settings(max_examples=2000, deadline=None, database=None)
@given(st.binary(min_size=0, max_size=40), st.integers(0, 1))
def test_fuzz_coil_frames_raise_only_decode_errors(payload: bytes, layout: int) -> None:
    protocol = get_protocol("seplos-v3", pic_status_offset=seplos_v3.PIC_STATUS_OFFSETS[layout])
    with contextlib.suppress(DecodeError):
        sample = protocol.decode_hex_frames([pic_frame(payload)])
        assert all(code in CATALOG for code in sample.alarms or ())

"""Board protection bits map onto smartbms alarm codes, one table per protocol."""

from __future__ import annotations

import pytest
from tests.drivers.fixtures import first_frame

from smartbms.core.alarms import CATALOG
from smartbms.drivers.codecs import daly, jbd, jk_ble, jk_rs485
from smartbms.drivers.codecs.base import AlarmBit
from smartbms.drivers.registry import get_protocol

TABLES: dict[str, tuple[AlarmBit, ...]] = {
    "daly / daly-modbus": daly.FAULT_BITS,
    "jbd": jbd.PROTECTION_BITS,
    "jk-ble": jk_ble.ERROR_BITS,
    "jk-rs485": jk_rs485.WARNING_BITS,
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_mapped_code_is_in_the_catalog(name: str) -> None:
    table = TABLES[name]
    assert len({e.bit for e in table}) == len(table), "a bit is listed twice"
    assert {e.code for e in table if e.code} <= set(CATALOG)


def test_jbd_protection_frames_from_aiobmsble() -> None:
    # aiobmsble tests/bms/test_jbd_bms.py problem_response: protection bit 0, then bit 15.
    head = "dd03001d0618fee101f201f4002a2c7c" + "00000000"  # V, I, capacities, cycles, date, balance
    tail = "80640304030b8b0b8a0b84"  # version, SOC, FETs, cells, NTCs, temperatures
    first_bit = bytes.fromhex(head + "0001" + tail + "f88377")
    last_bit = bytes.fromhex(head + "8000" + tail + "f80477")
    protocol = get_protocol("jbd")
    sample = protocol.decode_hex_frames([first_bit])
    assert sample.alarms == ("A-CELL-OV",) and sample.extra["board_flags"] == ["cell over-voltage"]
    sample = protocol.decode_hex_frames([last_bit])
    assert sample.alarms == () and sample.extra["board_flags"] == ["unmapped bit 15"]


def test_daly_fault_frame_levels_map_to_warning_and_alarm() -> None:
    # Synthetic 0x98 frame: byte 0 bits 0-1 (cell high, levels 1 and 2), byte 2 bit 3 (discharge OC level 2).
    frame = daly.build_frame(daly.CMD_FAULTS, bytes([0b11, 0, 0b1000, 0, 0, 0, 0, 0]), address=daly.BOARD)
    sample = get_protocol("daly").decode_hex_frames([frame])
    assert sample.alarms == ("W-CELL-OV", "A-CELL-OV", "A-DSG-OC1")


def test_jk_rs485_warning_word() -> None:
    # Synthetic read-all with only the warning word: bits 10 (cell OV) and 1 (power tube OT).
    frame = jk_rs485.build_frame(
        jk_rs485.CMD_READ_ALL, b"\x8b\x04\x02", jk_rs485.SOURCE_BMS, jk_rs485.TYPE_RESPONSE
    )
    sample = get_protocol("jk-rs485").decode_hex_frames([frame])
    assert sample.alarms == ("A-FET-OT", "A-CELL-OV")


def test_jk_ble_error_word() -> None:
    # The v11 capture with error bits 4 (fully charged / cell OV) and 13 (discharge OC) set.
    record = bytearray(first_frame("jk-ble").frames[0])
    record[166:170] = ((1 << 4) | (1 << 13)).to_bytes(4, "little")
    record[299] = sum(record[:299]) & 0xFF
    sample = get_protocol("jk-ble").decode_hex_frames([bytes(record)])
    assert sample.alarms == ("A-CELL-OV", "A-DSG-OC1")

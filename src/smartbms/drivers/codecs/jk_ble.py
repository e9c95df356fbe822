"""JK BMS over BLE (service FFE0, characteristic FFE1), "JK02 32S" layout (firmware >= 11).

Commands are 20 bytes: ``AA 55 90 EB | command | length | value u32 LE | 9 zeros | sum8``.
The board answers with 300-byte records ``55 AA EB 90 | type | counter | ... | sum8 at 299``
(type 0x01 settings, 0x02 cell info, 0x03 device info), little-endian, delivered in BLE
pieces of at most 20 bytes. Facts: shared/design/protocols.md and syssi/esphome-jk-bms
(docs/protocol-design-ble.md, error bit table), checked against the captures in
tests/fixtures/jk-ble. The older "24S" layout is not supported.
"""

from __future__ import annotations

from collections.abc import Sequence

from smartbms.drivers.codecs.base import (
    AlarmBit,
    BoardProtocol,
    Frame,
    FrameFormat,
    alarms_from_bits,
    merge_all,
)
from smartbms.drivers.codecs.checksums import sum8
from smartbms.drivers.codecs.fields import Field, bits_set, read_fields
from smartbms.errors import ChecksumError, LengthError, StartByteError
from smartbms.telemetry import Telemetry

RESPONSE_HEADER = b"\x55\xaa\xeb\x90"
COMMAND_HEADER = b"\xaa\x55\x90\xeb"
RECORD_SIZE, COMMAND_SIZE = 300, 20
TYPE_SETTINGS, TYPE_CELL_INFO, TYPE_DEVICE_INFO = 0x01, 0x02, 0x03
CMD_CELL_INFO, CMD_DEVICE_INFO = 0x96, 0x97
REG_CHARGE, REG_DISCHARGE, REG_BALANCER = 0x1D, 0x1E, 0x1F

CELL_INFO_FIELDS = (
    Field("enabled_cells", 70, 4, order="little"),
    Field("average_cell_v", 74, 2, scale=0.001, order="little"),
    Field("delta_cell_v", 76, 2, scale=0.001, order="little"),
    Field("mosfet_temperature_c", 144, 2, signed=True, scale=0.1, order="little"),
    Field("voltage_v", 150, 4, scale=0.001, order="little"),
    Field("current_a", 158, 4, signed=True, scale=0.001, order="little"),
    Field("t1", 162, 2, signed=True, scale=0.1, order="little"),
    Field("t2", 164, 2, signed=True, scale=0.1, order="little"),
    Field("errors", 166, 4, order="little"),
    Field("balance_current_a", 170, 2, signed=True, scale=0.001, order="little"),
    Field("balance_action", 172, 1),
    Field("soc_pct", 173, 1),
    Field("remaining_ah", 174, 4, scale=0.001, order="little"),
    Field("capacity_ah", 178, 4, scale=0.001, order="little"),
    Field("cycles", 182, 4, order="little"),
    Field("soh_pct", 190, 1),
    Field("runtime_s", 194, 4, order="little"),
    Field("charge_fet", 198, 1),
    Field("discharge_fet", 199, 1),
)

# Error word at offset 166 (u32 LE), per esphome-jk-bms DEFAULT_ERRORS_JK02.
ERROR_BITS = (
    AlarmBit(0, "wire resistance", "E-SENSOR-OPEN-WIRE"),
    AlarmBit(1, "MOSFET over-temperature", "A-FET-OT"),
    AlarmBit(2, "cell count differs from settings", "E-CONFIG"),
    AlarmBit(4, "battery fully charged (cell over-voltage)", "A-CELL-OV"),
    AlarmBit(5, "pack over-voltage", "A-PACK-OV"),
    AlarmBit(6, "charge over-current", "A-CHG-OC"),
    AlarmBit(7, "charge short circuit", "A-SHORT-CIRCUIT"),
    AlarmBit(8, "charge over-temperature", "A-CHG-OT"),
    AlarmBit(9, "charge under-temperature", "A-CHG-UT"),
    AlarmBit(10, "coprocessor communication error", "E-AFE"),
    AlarmBit(11, "cell under-voltage", "A-CELL-UV"),
    AlarmBit(12, "pack under-voltage", "A-PACK-UV"),
    AlarmBit(13, "discharge over-current", "A-DSG-OC1"),
    AlarmBit(14, "discharge short circuit", "A-SHORT-CIRCUIT"),
    AlarmBit(15, "discharge over-temperature", "A-DSG-OT"),
    AlarmBit(16, "charge MOSFET abnormal", "E-FET"),
    AlarmBit(17, "discharge MOSFET abnormal", "E-FET"),
    AlarmBit(18, "GPS disconnected", None),
    AlarmBit(19, "modify password in time", None),
    AlarmBit(20, "discharge on failed", "E-FET"),
    AlarmBit(21, "battery over-temperature", "A-DSG-OT"),
    AlarmBit(22, "temperature sensor anomaly", "E-SENSOR-MISSING"),
    AlarmBit(23, "parallel module anomaly", "E-COMM"),
    AlarmBit(24, "short-circuit release failed", "A-SHORT-CIRCUIT"),
    AlarmBit(25, "discharge over-current level 2", "A-DSG-OC2"),
    AlarmBit(26, "discharge over-current level 3", "A-DSG-OC2"),
    AlarmBit(27, "discharge under-temperature", "A-DSG-UT"),
)


def build_command(command: int, value: int = 0, length: int = 0) -> bytes:
    head = COMMAND_HEADER + bytes([command, length]) + value.to_bytes(4, "little") + bytes(9)
    return head + bytes([sum8(head)])


def build_record(record_type: int, body: bytes, counter: int = 0) -> bytes:
    """A 300-byte record: header, type, counter, ``body`` from offset 6, checksum at 299."""
    record = bytearray(RECORD_SIZE)
    record[:4] = RESPONSE_HEADER
    record[4], record[5] = record_type, counter & 0xFF
    body = body[: RECORD_SIZE - 7]
    record[6 : 6 + len(body)] = body
    record[299] = sum8(bytes(record[:299]))
    return bytes(record)


class JkBleFormat(FrameFormat):
    max_size = RECORD_SIZE

    def __init__(self, requests: bool) -> None:
        self.header = COMMAND_HEADER if requests else RESPONSE_HEADER
        self.size = COMMAND_SIZE if requests else RECORD_SIZE

    def find_start(self, buf: bytes | bytearray) -> int:
        index = buf.find(self.header)
        if index >= 0:
            return index
        # Keep a possible header prefix at the end of the buffer for the next chunk.
        for keep in range(min(3, len(buf)), 0, -1):
            if buf[-keep:] == self.header[:keep]:
                return len(buf) - keep
        return -1

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        if len(buf) < 4:
            return None
        if buf[:4] != self.header:
            raise StartByteError("JK BLE frame header mismatch")
        return self.size

    def check(self, raw: bytes) -> Frame:
        if raw[:4] != self.header:
            raise StartByteError(f"JK BLE frame starts with {raw[:4].hex()}, not {self.header.hex()}")
        if len(raw) != self.size:
            raise LengthError(f"JK BLE frame is {len(raw)} bytes, expected {self.size}")
        if sum8(raw[:-1]) != raw[-1]:
            raise ChecksumError(f"JK BLE checksum 0x{raw[-1]:02x}, expected 0x{sum8(raw[:-1]):02x}")
        return Frame(kind=raw[4], payload=raw, raw=raw, meta={"counter": raw[5]})


def decode_cell_info(record: bytes) -> Telemetry:
    v = read_fields(CELL_INFO_FIELDS, record)
    mask = int(v["enabled_cells"])
    cells = tuple(int.from_bytes(record[6 + 2 * i : 8 + 2 * i], "little") / 1000 for i in bits_set(mask, 32))
    codes, names = alarms_from_bits(ERROR_BITS, int(v["errors"]))
    return Telemetry(
        voltage_v=v["voltage_v"],
        current_a=v["current_a"],
        soc_pct=v["soc_pct"],
        soh_pct=v["soh_pct"],
        remaining_ah=v["remaining_ah"],
        capacity_ah=v["capacity_ah"],
        cycles=int(v["cycles"]),
        cell_voltages_v=cells,
        temperatures_c=(v["t1"], v["t2"]),
        mosfet_temperature_c=v["mosfet_temperature_c"],
        charge_enabled=bool(v["charge_fet"]),
        discharge_enabled=bool(v["discharge_fet"]),
        alarms=codes,
        extra={
            "board_flags": names,
            "runtime_s": int(v["runtime_s"]),
            "balance_current_a": v["balance_current_a"],
            "average_cell_v": v["average_cell_v"],
            "delta_cell_v": v["delta_cell_v"],
        },
    )


def decode_device_info(record: bytes) -> Telemetry:
    def text(start: int, size: int) -> str:
        return record[start : start + size].split(b"\x00", 1)[0].decode("ascii", "replace")

    return Telemetry(
        extra={"model": text(6, 16), "hardware_version": text(22, 8), "software_version": text(30, 8)}
    )


class JkBleProtocol(BoardProtocol):
    name = "jk-ble"
    title = "JK BMS BLE (JK02 32S records)"
    transports = ("ble",)
    ble_characteristics = ("0000ffe1-0000-1000-8000-00805f9b34fb", "0000ffe1-0000-1000-8000-00805f9b34fb")

    def response_format(self) -> FrameFormat:
        return JkBleFormat(requests=False)

    def request_format(self) -> FrameFormat:
        return JkBleFormat(requests=True)

    def status_requests(self) -> list[bytes]:
        return [build_command(CMD_CELL_INFO)]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return frame.kind == (TYPE_DEVICE_INFO if request[4] == CMD_DEVICE_INFO else TYPE_CELL_INFO)

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts = []
        for frame in frames:
            if frame.kind == TYPE_CELL_INFO:
                parts.append(decode_cell_info(frame.raw))
            elif frame.kind == TYPE_DEVICE_INFO:
                parts.append(decode_device_info(frame.raw))
        return merge_all(parts)

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [build_command(REG_CHARGE, int(on), length=4)]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [build_command(REG_DISCHARGE, int(on), length=4)]

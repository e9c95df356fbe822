"""Seplos V3 (Modbus RTU, input registers via function 0x04, big-endian).

PIA at 0x1000 (17 registers): pack V x10 mV, current s16 x10 mA, remaining x10 mAh,
total x10 mAh, total discharge x10 Ah, SOC x0.1 %, SOH x0.1 %, cycles, average cell mV,
average T 0.1 K, max/min cell mV, max/min T, reserved, max discharge/charge A.
PIB at 0x1100 (26 registers): 16 cell mV, 0x1110-0x1113 cell T (0.1 K), 0x1118 ambient,
0x1119 power stage. Facts: shared/design/protocols.md, checked against the captures in
tests/fixtures/seplos-v3.

PIC at 0x1200: 144 coils read with function 0x01 (``01 01 12 00 00 90``), answered with
18 data bytes, coil ``0x1200 + i`` in bit ``i % 8`` of byte ``i // 8``:

- bytes 0-1 (coil 0x1200): cell 1-16 low-voltage alarm; 2-3 (0x1210): cell 1-16 high-voltage alarm
- byte 4 (0x1220) / 5 (0x1228): temperature sensor 1-8 low / high alarm
- bytes 6-7 (0x1230): cell 1-16 balancing
- byte 8 (0x1240) TB09 system state: discharge, charge, float, full, standby, off
- byte 9 TB02 voltage, 10 TB03 cell temperature, 11 TB04 ambient/power-stage temperature,
  12 TB05 current, 13 TB16 latched protections, 14 TB06 SOC / cell difference events
- byte 15 (0x1278) TB07 FETs: bit 0 discharge, 1 charge, 2 current limit, 3 heater
- byte 16 TB08 further states (low SOC, current limiting, ...), 17 (0x1288) TB15 hard faults

Sources: the block list of marcelrv/seplosBMSv3 (PIC 0x1200, 0x90 bits/coils, from
Seplos' "BMS3.0 Modbus-RTU Protocol"); the coil addresses in shining-man/bsc_fw
``include/devices/SeplosBmsV3.h`` (0x1230 balancing, 0x1240 TB09 ... 0x1288 TB15) and its
0x01/0x1200/0x90 read; the bit names of Hevak/seplos_v3_sniffer ``seplos_parser.cpp`` and
dustball62/Seplos3MQTT_include__PIB_PIC ``seplos3mqtt.py``, both decoding 18-byte 0x01
replies sniffed on a real multi-pack bus with TB09 at byte 8. patman15/aiobmsble reads
the same ten status bytes (TB09, TB02, ... TB15) from the bank block 0x2200 (TB07 FET
bits at byte 7). Public sources disagree on one point: syssi/esphome-seplos-bms
``seplos_bms_v3_ble_pack`` reads TB09 at byte 0, i.e. without the eight per-cell bytes
(its branch dispatches on a byte count of 288, which a 0x01 reply cannot carry, so it
was never run against a board). Real replies settle it for the sniffer layout, the
default: a pack's 0x01 reply in syssi/esphome-seplos-bms
``docs/pdus/v3/SP05B2312190075-coil-frames.txt`` has 0x10 (standby) at byte 8 and 0x03 (both
FETs on) at byte 15, the very bytes the worked PIC example of Seplos' V0.3 document explains
that way (system state 0x10, "FET event code 03: charge FET on, discharge FET on"); and the
coil read printed in marcelrv/seplosBMSv3 ``README.md`` sets coils 65, 120 and 121 (TB09
"charge", TB07 both FETs) next to a PIA read of +13.01 A. Read with TB09 at byte 0, both
would say the FETs are off. That reading is kept as ``SeplosV3Protocol(pic_status_offset=0)``
(``?pic_status_offset=0``), which drops the per-cell lists. No PIC reply with alarms set was
found in public sources.

Settings: SPA, the "battery configuration parameters" 0x1300-0x1369, read as input registers
with function 0x04 and written with function 0x10 (write multiple registers, answered by
address, function, start and count). Register map, units and the two function codes from
Seplos' "XZH BMS Modbus-RTU Protocol" V0.3 (the official English PDF and a translation of the
Chinese edition in syssi/esphome-seplos-bms ``docs/``); block length 0x6A from the block list
of marcelrv/seplosBMSv3. The same layout is read by hollo42/seplos-bms-console (which also
writes it with 0x10, one register at a time) and is confirmed byte for byte by two real
replies of a SG16S200A-SP57B-A pack in syssi/esphome-seplos-bms
``docs/pdus/v3/SG16S200A-SP57B-A-all-frames.txt`` (the Seplos app reads SPA in two halves,
0x1300 and 0x1335, 0x35 registers each, which is what :meth:`settings_requests` sends).
Pack voltages are u16 x 0.01 V, cell voltages u16 mV, currents INT16 in A (discharge
thresholds stored negative, reported here as magnitudes), temperatures u16 0.1 K, capacity
u16 x 0.01 Ah. The document gives example values but no ranges and no password: the ranges
of :data:`SETTINGS` are smartbms bounds.

FET switching: SCA, the "system control" registers, one register written with function 0x10.
0x1510 discharge FET: 0x55AA off, 0xAA55 on; 0x1511 charge FET off: 0x55AA; 0x1515 charge FET
on: 0xAA55. Sources: the V0.3 document (translation of the Chinese edition: "0x1510 Discharge
MOSFET control, 0x55AA off, 0xAA55 on", "0x1511 Charge MOSFET off, fixed 0x55AA", "0x1515 Charge
MOSFET on, fixed 0xAA55"; the V0.1 English edition, ``docs/XZH BMS Modbus-RTU Protocol.md`` in
syssi/esphome-seplos-bms, lists 0x1510/0x1511 "FETs Control Off, Ack:55AA" and 0x1515 "Charing
FETs Control On, Ack:AA55"); the SCA table of marcelrv/seplosBMSv3 ``sca.md`` (taken from the
Seplos application: 0x1510 "Discharing FETs Off" and "Discharing FETs On", 0x1511 "Charing FETs
Off", 0x1515 "Charing FETs On"); and the Seplos PC software's log in syssi/esphome-seplos-bms#8
(ouinouin, 2025-01-21): "Discharing FETs Off" sent ``00 10 15 10 00 01 02 55 AA 52 BE``,
"Discharing FETs On" ``00 10 15 10 00 01 02 AA 55 53 0E``, both answered ``00 10 15 10 00 01
05 D1``. "On" releases the host's off command (the application's Chinese name for it reads
"cancel discharge FET off"): the board's own protections still decide, and the driver verifies every switch by
reading PIC TB07 back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from smartbms.drivers.codecs import modbus
from smartbms.drivers.codecs.base import (
    AlarmBit,
    BoardProtocol,
    Frame,
    FrameFormat,
    SettingSpec,
    alarms_from_bits,
    merge_all,
    with_meta,
)
from smartbms.drivers.codecs.fields import Field, kelvin10_to_c, read_fields
from smartbms.errors import DecodeError, LengthError
from smartbms.telemetry import Telemetry

PIA_START, PIA_COUNT = 0x1000, 17
PIB_START, PIB_COUNT = 0x1100, 26
PIC_START, PIC_COILS = 0x1200, 0x90
PIC_BYTES = PIC_COILS // 8  # 18
STATUS_BYTES = 10  # TB09, TB02, TB03, TB04, TB05, TB16, TB06, TB07, TB08, TB15
PIC_STATUS_OFFSETS = (8, 0)  # sniffer layout (default), status bytes first (esphome-seplos-bms)
# Function codes the Seplos framing accepts: the register reads plus the coil read of PIC.
FUNCTIONS = (*modbus.FUNCTIONS, modbus.READ_COILS)
SPA_START, SPA_COUNT = 0x1300, 0x6A  # 0x1300-0x1369
SPA_READS = ((0x1300, 0x35), (0x1335, 0x35))  # the two halves the Seplos app reads
KELVIN10_ZERO = 2731
# System control (SCA), function 0x10, one register each: the values are fixed command words.
SCA_DISCHARGE_FET = 0x1510  # 0x55AA off, 0xAA55 on
SCA_CHARGE_FET_OFF = 0x1511  # 0x55AA
SCA_CHARGE_FET_ON = 0x1515  # 0xAA55
SCA_OFF, SCA_ON = 0x55AA, 0xAA55


@dataclass(frozen=True, slots=True)
class SpaField:
    """One SPA register: raw = value x per_unit + zero, negated for thresholds stored negative."""

    register: int
    per_unit: float = 1.0
    zero: int = 0
    signed: bool = False  # INT16 on the wire
    negative: bool = False  # a discharge threshold: stored below zero, reported as its magnitude

    def to_raw(self, value: float) -> int:
        raw = round(value * self.per_unit) + self.zero
        return (-raw if self.negative else raw) & 0xFFFF

    def from_raw(self, raw: int) -> float:
        if self.signed and raw & 0x8000:
            raw -= 0x10000
        if self.negative:
            raw = abs(raw)
        return round((raw - self.zero) / self.per_unit, 6)


def _pack(register: int) -> SpaField:
    return SpaField(register, 100.0)


def _cell(register: int) -> SpaField:
    return SpaField(register, 1000.0)


def _amps(register: int, discharge: bool = False) -> SpaField:
    return SpaField(register, signed=True, negative=discharge)


def _temp(register: int) -> SpaField:
    return SpaField(register, 10.0, zero=KELVIN10_ZERO)


# key -> register (XZH BMS Modbus-RTU Protocol V0.3, SPA table). "warn" = the board's alarm level,
# no suffix = its protection level, "release" = the matching recovery threshold.
SPA_FIELDS: dict[str, SpaField] = {
    "pack_ov_warn_release_v": _pack(0x1302),
    "pack_ov_warn_v": _pack(0x1303),
    "pack_ov_release_v": _pack(0x1304),
    "pack_ov_v": _pack(0x1305),
    "pack_uv_warn_release_v": _pack(0x1306),
    "pack_uv_warn_v": _pack(0x1307),
    "pack_uv_release_v": _pack(0x1308),
    "pack_uv_v": _pack(0x1309),
    "cell_ov_warn_release_v": _cell(0x130A),
    "cell_ov_warn_v": _cell(0x130B),
    "cell_ov_release_v": _cell(0x130C),
    "cell_ov_v": _cell(0x130D),
    "cell_uv_warn_release_v": _cell(0x130E),
    "cell_uv_warn_v": _cell(0x130F),
    "cell_uv_release_v": _cell(0x1310),
    "cell_uv_v": _cell(0x1311),
    "charge_oc_release_a": _amps(0x1315),
    "charge_oc_warn_a": _amps(0x1316),
    "charge_oc_a": _amps(0x1317),
    "charge_oc2_a": _amps(0x1319),
    "discharge_oc_release_a": _amps(0x131B, discharge=True),
    "discharge_oc_warn_a": _amps(0x131C, discharge=True),
    "discharge_oc_a": _amps(0x131D, discharge=True),
    "discharge_oc2_a": _amps(0x131F, discharge=True),
    "charge_ot_release_c": _temp(0x1331),
    "charge_ot_c": _temp(0x1332),
    "charge_ut_release_c": _temp(0x1335),
    "charge_ut_c": _temp(0x1336),
    "discharge_ot_release_c": _temp(0x1339),
    "discharge_ot_c": _temp(0x133A),
    "discharge_ut_release_c": _temp(0x133D),
    "discharge_ut_c": _temp(0x133E),
    "capacity_ah": SpaField(0x1358, 100.0),
}
# Read, not writable here: changing them re-configures the board's measurement, not a threshold.
SPA_INFO: dict[str, SpaField] = {
    "temperature_sensor_count": SpaField(0x1300),
    "cell_count": SpaField(0x1301),
}

_NO_RANGE = "the Seplos Modbus document gives example values, no range"
_CELL = f"smartbms bound for Li-ion/LiFePO4 cells; {_NO_RANGE}"
_PACK = f"smartbms bound: 8-16 cells (Seplos BMS 3.0) x 2.0-4.5 V; {_NO_RANGE}"
_AMPS = f"smartbms bound (boards up to 400 A, document V0.2); {_NO_RANGE}"
_AMPS2 = f"smartbms bound; {_NO_RANGE}"
_TEMP = f"smartbms bound; {_NO_RANGE}"


def _spec(key: str, unit: str, low: float, high: float, what: str, source: str) -> SettingSpec:
    return SettingSpec(key, unit, low, high, f"{what} (register 0x{SPA_FIELDS[key].register:04X})", source)


SETTINGS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        *(
            _spec(f"{what}_{side}_{level}v", "V", low, high, f"{what} {name}, {label}", source)
            for what, low, high, source in (("pack", 16.0, 72.0, _PACK), ("cell", 2.0, 4.5, _CELL))
            for side, name in (("ov", "over-voltage"), ("uv", "under-voltage"))
            for level, label in (
                ("warn_release_", "alarm recovery"),
                ("warn_", "alarm"),
                ("release_", "protection recovery"),
                ("", "protection"),
            )
        ),
        *(
            _spec(f"{path}_oc_{level}a", "A", 1.0, 400.0, f"{path} over-current, {label}", _AMPS)
            for path in ("charge", "discharge")
            for level, label in (("release_", "recovery"), ("warn_", "alarm"), ("", "protection"))
        ),
        _spec("charge_oc2_a", "A", 1.0, 1000.0, "charge over-current, level 2 protection", _AMPS2),
        _spec("discharge_oc2_a", "A", 1.0, 1000.0, "discharge over-current, level 2 protection", _AMPS2),
        *(
            _spec(f"{path}_{side}_{level}c", "°C", -40.0, 100.0, f"{path} {name}, {label}", _TEMP)
            for path in ("charge", "discharge")
            for side, name in (("ot", "over-temperature"), ("ut", "under-temperature"))
            for level, label in (("release_", "recovery"), ("", "protection"))
        ),
        _spec("capacity_ah", "Ah", 1.0, 655.35, "rated capacity", "u16 x 0.01 Ah"),
    )
}


def _tb(byte: int, bit: int, name: str, code: str | None) -> AlarmBit:
    """Bit ``bit`` of status byte ``byte`` (0 = TB09): coil 0x1240 + 8 * byte + bit in the default layout."""
    return AlarmBit(8 * byte + bit, name, code)


# Alarm, protection and fault bits -> smartbms codes (alarm = W- warning, protection = A-).
ALARM_BITS = (
    _tb(1, 0, "cell high-voltage alarm", "W-CELL-OV"),
    _tb(1, 1, "cell over-voltage protection", "A-CELL-OV"),
    _tb(1, 2, "cell low-voltage alarm", "W-CELL-UV"),
    _tb(1, 3, "cell under-voltage protection", "A-CELL-UV"),
    _tb(1, 4, "pack high-voltage alarm", "W-PACK-OV"),
    _tb(1, 5, "pack over-voltage protection", "A-PACK-OV"),
    _tb(1, 6, "pack low-voltage alarm", "W-PACK-UV"),
    _tb(1, 7, "pack under-voltage protection", "A-PACK-UV"),
    _tb(2, 0, "charge high-temperature alarm", "W-CHG-OT"),
    _tb(2, 1, "charge over-temperature protection", "A-CHG-OT"),
    _tb(2, 2, "charge low-temperature alarm", "W-CHG-UT"),
    _tb(2, 3, "charge under-temperature protection", "A-CHG-UT"),
    _tb(2, 4, "discharge high-temperature alarm", "W-DSG-OT"),
    _tb(2, 5, "discharge over-temperature protection", "A-DSG-OT"),
    _tb(2, 6, "discharge low-temperature alarm", "W-DSG-UT"),
    _tb(2, 7, "discharge under-temperature protection", "A-DSG-UT"),
    _tb(3, 0, "ambient high-temperature alarm", None),
    _tb(3, 1, "ambient over-temperature protection", None),
    _tb(3, 2, "ambient low-temperature alarm", None),
    _tb(3, 3, "ambient under-temperature protection", None),
    _tb(3, 4, "power stage high-temperature alarm", "W-FET-OT"),
    _tb(3, 5, "power stage over-temperature protection", "A-FET-OT"),
    _tb(3, 6, "cell low temperature, heating", None),
    _tb(4, 0, "charge current alarm", "W-CHG-OC"),
    _tb(4, 1, "charge over-current protection", "A-CHG-OC"),
    _tb(4, 2, "charge over-current protection level 2", "A-CHG-OC"),
    _tb(4, 3, "discharge current alarm", "W-DSG-OC"),
    _tb(4, 4, "discharge over-current protection", "A-DSG-OC1"),
    _tb(4, 5, "discharge over-current protection level 2", "A-DSG-OC2"),
    _tb(4, 6, "output short-circuit protection", "A-SHORT-CIRCUIT"),
    _tb(5, 0, "output short-circuit latched", "A-SHORT-CIRCUIT"),
    _tb(5, 2, "charge over-current level 2 latched", "A-CHG-OC"),
    _tb(5, 3, "discharge over-current level 2 latched", "A-DSG-OC2"),
    _tb(6, 2, "SOC alarm", "W-PREALARM"),
    _tb(6, 3, "SOC protection", None),
    _tb(6, 4, "cell difference alarm", "W-IMBALANCE"),
    _tb(8, 0, "low SOC alarm", "W-PREALARM"),
    _tb(8, 5, "under-SOC protection", None),
    _tb(9, 0, "NTC fault", "E-SENSOR-MISSING"),
    _tb(9, 1, "AFE fault", "E-AFE"),
    _tb(9, 2, "charge MOSFET fault", "E-FET"),
    _tb(9, 3, "discharge MOSFET fault", "E-FET"),
    _tb(9, 4, "cell fault", None),
    _tb(9, 5, "sense line break", "E-SENSOR-OPEN-WIRE"),
    _tb(9, 6, "key fault", None),
    _tb(9, 7, "aerosol (fire suppression) alarm", None),
)
# Operating states: names only, reported in extra["board_state"].
STATE_BITS = (
    _tb(0, 0, "discharging", None),
    _tb(0, 1, "charging", None),
    _tb(0, 2, "floating charge", None),
    _tb(0, 3, "fully charged", None),
    _tb(0, 4, "standby", None),
    _tb(0, 5, "turned off", None),
    _tb(7, 0, "discharge FET on", None),
    _tb(7, 1, "charge FET on", None),
    _tb(7, 2, "current-limit FET on", None),
    _tb(7, 3, "heater on", None),
    _tb(8, 1, "intermittent charge", None),
    _tb(8, 2, "external switch control", None),
    _tb(8, 3, "static standby / sleep", None),
    _tb(8, 4, "history data recording", None),
    _tb(8, 6, "active current limiting", None),
    _tb(8, 7, "passive current limiting", None),
)
_ALARM_BYTES, _STATE_BYTES = (1, 2, 3, 4, 5, 6, 9), (0, 7)
ALARM_MASK = sum(0xFF << 8 * b for b in _ALARM_BYTES) | 1 << 64 | 1 << 69  # + TB08 bits 0 and 5
STATE_MASK = sum(0xFF << 8 * b for b in _STATE_BYTES) | (0xFF << 64 & ~(1 << 64 | 1 << 69))

PIA_FIELDS = (
    Field("voltage_v", 0, 2, scale=0.01),
    Field("current_a", 2, 2, signed=True, scale=0.01),
    Field("remaining_ah", 4, 2, scale=0.01),
    Field("capacity_ah", 6, 2, scale=0.01),
    Field("total_discharge_ah", 8, 2, scale=10),
    Field("soc_pct", 10, 2, scale=0.1),
    Field("soh_pct", 12, 2, scale=0.1),
    Field("cycles", 14, 2),
    Field("average_cell_v", 16, 2, scale=0.001),
    Field("average_temperature", 18, 2),
    Field("max_cell_v", 20, 2, scale=0.001),
    Field("min_cell_v", 22, 2, scale=0.001),
    Field("max_discharge_current_a", 30, 2),
    Field("max_charge_current_a", 32, 2),
)


def decode_pia(payload: bytes) -> Telemetry:
    if len(payload) != 2 * PIA_COUNT:
        raise LengthError(f"Seplos PIA block is {2 * PIA_COUNT} bytes, got {len(payload)}")
    v = read_fields(PIA_FIELDS, payload)
    return Telemetry(
        voltage_v=v["voltage_v"],
        current_a=v["current_a"],
        remaining_ah=v["remaining_ah"],
        capacity_ah=v["capacity_ah"],
        soc_pct=v["soc_pct"],
        soh_pct=v["soh_pct"],
        cycles=int(v["cycles"]),
        extra={
            "average_temperature_c": kelvin10_to_c(v["average_temperature"]),
            "max_cell_v": v["max_cell_v"],
            "min_cell_v": v["min_cell_v"],
            "total_discharge_ah": v["total_discharge_ah"],
            "max_charge_current_a": v["max_charge_current_a"],
            "max_discharge_current_a": v["max_discharge_current_a"],
        },
    )


def decode_pib(payload: bytes) -> Telemetry:
    if len(payload) != 2 * PIB_COUNT:
        raise LengthError(f"Seplos PIB block is {2 * PIB_COUNT} bytes, got {len(payload)}")
    regs = modbus.registers(payload)
    return Telemetry(
        cell_voltages_v=tuple(r / 1000 for r in _present(regs[:16])),
        temperatures_c=tuple(kelvin10_to_c(r) for r in regs[16:20]),
        mosfet_temperature_c=kelvin10_to_c(regs[25]),
        extra={"ambient_temperature_c": kelvin10_to_c(regs[24])},
    )


def _set_bits(value: int, first: int = 1) -> list[int]:
    return [first + i for i in range(value.bit_length()) if value >> i & 1]


def decode_pic(payload: bytes, status_offset: int = PIC_STATUS_OFFSETS[0]) -> Telemetry:
    """The PIC coil block: alarm codes, FET states, balancing cells and the per-cell alarm lists."""
    if len(payload) != PIC_BYTES:
        raise LengthError(f"Seplos PIC block is {PIC_BYTES} bytes (0x90 coils), got {len(payload)}")
    status = int.from_bytes(payload[status_offset : status_offset + STATUS_BYTES], "little")
    codes, flags = alarms_from_bits(ALARM_BITS, status & ALARM_MASK)
    _, state = alarms_from_bits(STATE_BITS, status & STATE_MASK)
    fets = payload[status_offset + 7]
    extra: dict[str, object] = {"board_flags": flags, "board_state": state}
    balancing: tuple[int, ...] | None = None
    if status_offset >= 8:  # the sniffer layout: eight per-cell bytes before the status bytes
        extra["cell_low_voltage_alarm_cells"] = _set_bits(int.from_bytes(payload[0:2], "little"))
        extra["cell_high_voltage_alarm_cells"] = _set_bits(int.from_bytes(payload[2:4], "little"))
        extra["low_temperature_alarm_sensors"] = _set_bits(payload[4])
        extra["high_temperature_alarm_sensors"] = _set_bits(payload[5])
        balancing = tuple(_set_bits(int.from_bytes(payload[6:8], "little")))
    return Telemetry(
        charge_enabled=bool(fets & 0x02),
        discharge_enabled=bool(fets & 0x01),
        balancing_cells=balancing,
        alarms=codes,
        extra=extra,
    )


def _present(cells: list[int]) -> list[int]:
    """Cell slots beyond the pack's cell count read 0 mV: drop the trailing empty ones."""
    while cells and cells[-1] == 0:
        cells = cells[:-1]
    return cells


class SeplosV3Protocol(BoardProtocol):
    name = "seplos-v3"
    title = "Seplos V3 (Modbus RTU, input registers)"
    transports = ("serial", "tcp")
    default_baud = 19200
    settings: ClassVar[Mapping[str, SettingSpec]] = SETTINGS

    def __init__(self, address: int = 0x01, pic_status_offset: int = PIC_STATUS_OFFSETS[0]) -> None:
        if pic_status_offset not in PIC_STATUS_OFFSETS:
            raise ValueError(
                f"pic_status_offset must be one of {PIC_STATUS_OFFSETS}, not {pic_status_offset}"
            )
        self.address = address
        self.pic_status_offset = pic_status_offset

    def response_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=False, functions=FUNCTIONS)

    def request_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=True, functions=FUNCTIONS)

    def status_requests(self) -> list[bytes]:
        return [
            modbus.read_request(self.address, modbus.READ_INPUT, PIA_START, PIA_COUNT),
            modbus.read_request(self.address, modbus.READ_INPUT, PIB_START, PIB_COUNT),
            modbus.read_request(self.address, modbus.READ_COILS, PIC_START, PIC_COILS),
        ]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return frame.kind & 0x7F == request[1]

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        return with_meta(frame, start=modbus.start_of(request))

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts = []
        for frame in frames:
            if frame.kind == modbus.READ_COILS | 0x80:
                # Boards without the PIC block still give a full measurement status.
                code = frame.meta.get("exception")
                parts.append(Telemetry(extra={"alarm_block": f"refused (Modbus exception {code})"}))
                continue
            if frame.kind & 0x80:
                raise DecodeError(
                    f"Seplos board answered with Modbus exception {frame.meta.get('exception')}"
                )
            if frame.kind == modbus.READ_COILS and frame.meta.get("start", PIC_START) == PIC_START:
                parts.append(decode_pic(frame.payload, self.pic_status_offset))
                continue
            if frame.kind != modbus.READ_INPUT:
                continue
            # A captured response does not say which block it answers: the block sizes differ.
            start = frame.meta.get("start", PIA_START if len(frame.payload) == 2 * PIA_COUNT else PIB_START)
            if start == PIA_START:
                parts.append(decode_pia(frame.payload))
            elif start == PIB_START:
                parts.append(decode_pib(frame.payload))
        return merge_all(parts)

    def check_replies(self, frames: Sequence[Frame]) -> None:
        modbus.refuse_exceptions(frames)

    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        register = SCA_CHARGE_FET_ON if on else SCA_CHARGE_FET_OFF
        return [write_registers_request(self.address, register, [SCA_ON if on else SCA_OFF])]

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        return [write_registers_request(self.address, SCA_DISCHARGE_FET, [SCA_ON if on else SCA_OFF])]

    def settings_requests(self) -> list[bytes]:
        return [modbus.read_request(self.address, modbus.READ_INPUT, start, n) for start, n in SPA_READS]

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        return decode_spa(frames)

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        self.check_setting(key, value)
        field = SPA_FIELDS[key]
        return [write_registers_request(self.address, field.register, [field.to_raw(value)])]


def write_registers_request(address: int, start: int, values: Sequence[int]) -> bytes:
    """Function 0x10: start, register count, byte count, the values (big-endian)."""
    data = b"".join(v.to_bytes(2, "big") for v in values)
    head = bytes([address, modbus.WRITE_MULTIPLE]) + start.to_bytes(2, "big") + len(values).to_bytes(2, "big")
    return modbus.with_crc(head + bytes([len(data)]) + data)


def _in_spa(start: int) -> bool:
    return SPA_START <= start < SPA_START + SPA_COUNT


def spa_registers(frames: Sequence[Frame]) -> dict[int, int]:
    """Register address -> raw value from the SPA replies (each frame annotated with its start)."""
    regs: dict[int, int] = {}
    for frame in frames:
        start = frame.meta.get("start")
        if start is None or not _in_spa(start):
            continue
        if frame.kind == modbus.READ_INPUT | 0x80:
            raise DecodeError(
                f"Seplos board refused the SPA read at 0x{start:04X} "
                f"(Modbus exception {frame.meta.get('exception')})"
            )
        if frame.kind != modbus.READ_INPUT:
            continue
        if len(frame.payload) % 2:
            raise LengthError(f"Seplos SPA reply of {len(frame.payload)} bytes is not whole registers")
        for i, raw in enumerate(modbus.registers(frame.payload)):
            regs[start + i] = raw
    return regs


def decode_spa(frames: Sequence[Frame]) -> dict[str, Any]:
    """The SPA settings in smartbms units (keys of SPA_FIELDS, plus the cell and sensor counts)."""
    regs = spa_registers(frames)
    out: dict[str, Any] = {key: int(regs[f.register]) for key, f in SPA_INFO.items() if f.register in regs}
    out.update({key: f.from_raw(regs[f.register]) for key, f in SPA_FIELDS.items() if f.register in regs})
    return out

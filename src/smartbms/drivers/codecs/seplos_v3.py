"""Seplos V3 (Modbus RTU, input registers via function 0x04, big-endian).

PIA at 0x1000 (17 registers): pack V x10 mV, current s16 x10 mA, remaining x10 mAh,
total x10 mAh, total discharge x10 Ah, SOC x0.1 %, SOH x0.1 %, cycles, average cell mV,
average T 0.1 K, max/min cell mV, max/min T, reserved, max discharge/charge A.
PIB at 0x1100 (26 registers): 16 cell mV, 0x1110-0x1113 cell T (0.1 K), 0x1118 ambient,
0x1119 power stage. Facts: shared/design/protocols.md, checked against the captures in
tests/fixtures/seplos-v3. The FET/alarm block at 0x1200 is not decoded (layout unverified).
"""

from __future__ import annotations

from collections.abc import Sequence

from smartbms.drivers.codecs import modbus
from smartbms.drivers.codecs.base import BoardProtocol, Frame, FrameFormat, merge_all, with_meta
from smartbms.drivers.codecs.fields import Field, kelvin10_to_c, read_fields
from smartbms.errors import DecodeError, LengthError
from smartbms.telemetry import Telemetry

PIA_START, PIA_COUNT = 0x1000, 17
PIB_START, PIB_COUNT = 0x1100, 26

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

    def __init__(self, address: int = 0x01) -> None:
        self.address = address

    def response_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=False)

    def request_format(self) -> FrameFormat:
        return modbus.ModbusFormat([self.address], requests=True)

    def status_requests(self) -> list[bytes]:
        return [
            modbus.read_request(self.address, modbus.READ_INPUT, PIA_START, PIA_COUNT),
            modbus.read_request(self.address, modbus.READ_INPUT, PIB_START, PIB_COUNT),
        ]

    def matches(self, request: bytes, frame: Frame) -> bool:
        return frame.kind & 0x7F == request[1]

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        return with_meta(frame, start=modbus.start_of(request))

    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        parts = []
        for frame in frames:
            if frame.kind & 0x80:
                raise DecodeError(
                    f"Seplos board answered with Modbus exception {frame.meta.get('exception')}"
                )
            if frame.kind != modbus.READ_INPUT:
                continue
            # A captured response does not say which block it answers: the block sizes differ.
            start = frame.meta.get("start", PIA_START if len(frame.payload) == 2 * PIA_COUNT else PIB_START)
            if start == PIA_START:
                parts.append(decode_pia(frame.payload))
            elif start == PIB_START:
                parts.append(decode_pib(frame.payload))
        return merge_all(parts)

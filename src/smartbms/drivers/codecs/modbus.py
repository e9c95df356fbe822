"""Modbus RTU framing shared by the Daly (0xD2) and Seplos V3 protocols.

RTU has no start marker: a frame starts with the device address followed by a known
function code. CRC-16/MODBUS, sent low byte first.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from smartbms.drivers.codecs.base import Frame, FrameFormat
from smartbms.drivers.codecs.checksums import crc16_modbus
from smartbms.errors import ChecksumError, LengthError, StartByteError, WriteRefusedError

READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE = 0x03, 0x04, 0x06, 0x10
FUNCTIONS = (READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE)
# Bit reads (coils / discrete inputs): the reply packs coil ``start + i`` into bit ``i % 8``
# of data byte ``i // 8``. Not in FUNCTIONS: a format accepts them only when asked to.
READ_COILS, READ_DISCRETE = 0x01, 0x02
READ_FUNCTIONS = (READ_COILS, READ_DISCRETE, READ_HOLDING, READ_INPUT)


def with_crc(body: bytes) -> bytes:
    return body + crc16_modbus(body).to_bytes(2, "little")


def read_request(address: int, function: int, start: int, count: int) -> bytes:
    return with_crc(bytes([address, function]) + start.to_bytes(2, "big") + count.to_bytes(2, "big"))


def write_single_request(address: int, register: int, value: int) -> bytes:
    return with_crc(bytes([address, WRITE_SINGLE]) + register.to_bytes(2, "big") + value.to_bytes(2, "big"))


def read_response(address: int, function: int, data: bytes) -> bytes:
    return with_crc(bytes([address, function, len(data)]) + data)


def exception_response(address: int, function: int, code: int) -> bytes:
    return with_crc(bytes([address, function | 0x80, code]))


class ModbusFormat(FrameFormat):
    max_size = 5 + 255

    def __init__(
        self, addresses: Collection[int], requests: bool, functions: Collection[int] = FUNCTIONS
    ) -> None:
        self.addresses = frozenset(addresses)
        self.requests = requests
        self.functions = frozenset(functions)

    def _function_ok(self, fn: int) -> bool:
        return fn in self.functions or (not self.requests and fn & 0x7F in self.functions and fn & 0x80 != 0)

    def find_start(self, buf: bytes | bytearray) -> int:
        best = -1
        for address in self.addresses:
            i = buf.find(address)
            while i >= 0 and not (i + 1 == len(buf) or self._function_ok(buf[i + 1])):
                i = buf.find(address, i + 1)
            if i >= 0 and (best < 0 or i < best):
                best = i
        return best

    def frame_size(self, buf: bytes | bytearray) -> int | None:
        if len(buf) < 3:
            return None
        if buf[0] not in self.addresses:
            raise StartByteError(f"Modbus address 0x{buf[0]:02x} is not the board's")
        fn = buf[1]
        if not self._function_ok(fn):
            raise StartByteError(f"unknown Modbus function 0x{fn:02x}")
        if fn & 0x80:
            return 5
        if self.requests:
            if fn == WRITE_MULTIPLE:
                return None if len(buf) < 7 else 9 + buf[6]
            return 8
        if fn in READ_FUNCTIONS:
            return 5 + buf[2]
        return 8

    def check(self, raw: bytes) -> Frame:
        if raw[0] not in self.addresses:
            raise StartByteError(
                f"Modbus frame from address 0x{raw[0]:02x}, expected one of {sorted(self.addresses)}"
            )
        if len(raw) < 5:
            raise LengthError(f"Modbus frame of {len(raw)} bytes is too short")
        expected = crc16_modbus(raw[:-2])
        got = int.from_bytes(raw[-2:], "little")
        if got != expected:
            raise ChecksumError(f"Modbus CRC 0x{got:04x}, expected 0x{expected:04x}")
        fn = raw[1]
        if fn & 0x80:
            return Frame(kind=fn, payload=raw[2:3], raw=raw, address=raw[0], meta={"exception": raw[2]})
        if self.requests:
            start = int.from_bytes(raw[2:4], "big")
            value = int.from_bytes(raw[4:6], "big")
            return Frame(
                kind=fn, payload=raw[2:-2], raw=raw, address=raw[0], meta={"start": start, "value": value}
            )
        if fn in READ_FUNCTIONS:
            if raw[2] != len(raw) - 5:
                raise LengthError(f"Modbus byte count {raw[2]} disagrees with a {len(raw)}-byte frame")
            return Frame(kind=fn, payload=raw[3:-2], raw=raw, address=raw[0])
        return Frame(
            kind=fn,
            payload=raw[2:-2],
            raw=raw,
            address=raw[0],
            meta={"start": int.from_bytes(raw[2:4], "big"), "value": int.from_bytes(raw[4:6], "big")},
        )


def refuse_exceptions(frames: Sequence[Frame]) -> None:
    for frame in frames:
        if frame.kind & 0x80:
            code = frame.meta.get("exception")
            raise WriteRefusedError(
                f"Modbus function 0x{frame.kind & 0x7F:02x} refused with exception {code}"
            )


def registers(payload: bytes) -> list[int]:
    return [int.from_bytes(payload[i : i + 2], "big") for i in range(0, len(payload) - 1, 2)]


def start_of(request: bytes) -> int:
    return int.from_bytes(request[2:4], "big") if len(request) >= 4 else 0


def pack_bits(bits: Sequence[bool]) -> bytes:
    """Coil/discrete-input values as a bit-read reply carries them (first bit = bit 0 of byte 0)."""
    out = bytearray((len(bits) + 7) // 8)
    for i, bit in enumerate(bits):
        if bit:
            out[i // 8] |= 1 << (i % 8)
    return bytes(out)

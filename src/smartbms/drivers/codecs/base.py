"""What every board protocol provides: framing, a stream parser, status decoding, writes.

A protocol module is pure: bytes in, frames and :class:`~smartbms.telemetry.Telemetry`
out, and request bytes for polling and writing. No I/O and no clock.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError, WriteRefusedError
from smartbms.telemetry import Telemetry


@dataclass(frozen=True, slots=True)
class Frame:
    """One checked frame. ``kind`` is the command/function/type that says how to read ``payload``."""

    kind: int
    payload: bytes
    raw: bytes
    address: int = 0
    # Protocol-specific header values (JBD status byte, Modbus start register, ...).
    meta: Mapping[str, int] = field(default_factory=dict)


class FrameFormat(ABC):
    """How frames of one direction are delimited and checked."""

    #: Largest frame this format can produce; bounds the parser's buffer.
    max_size: ClassVar[int] = 512

    @abstractmethod
    def find_start(self, buf: bytes | bytearray) -> int:
        """Index of the first possible frame start in ``buf``, or -1."""

    @abstractmethod
    def frame_size(self, buf: bytes | bytearray) -> int | None:
        """Size of the frame at the start of ``buf``; None if more bytes are needed.

        Raises LengthError (or StartByteError) when the header cannot start a valid frame.
        """

    @abstractmethod
    def check(self, raw: bytes) -> Frame:
        """Validate one complete frame; raise the specific DecodeError subclass if it is bad."""

    def parse_one(self, raw: bytes) -> Frame:
        """Strictly one frame, nothing before or after it (used by ``smartbms decode``)."""
        if not raw:
            raise LengthError("empty frame")
        if self.find_start(raw) != 0:
            raise StartByteError(f"frame starts with 0x{raw[0]:02x}, not this protocol's start marker")
        size = self.frame_size(raw)
        if size is None or size > len(raw):
            raise LengthError(f"truncated frame: {len(raw)} bytes, header announces {size or 'more'}")
        if size < len(raw):
            raise LengthError(f"frame is {len(raw)} bytes but its header announces {size}")
        return self.check(raw)


COUNTER_NAMES = ("frames_ok", "checksum_errors", "length_errors", "start_errors", "garbage_bytes")


class StreamParser:
    """Feed bytes in any chunking; get checked frames out. Never raises on garbage.

    A bad frame is counted and skipped one byte at a time so the parser resynchronises
    on the next start marker; memory stays bounded by the format's largest frame.
    """

    def __init__(self, fmt: FrameFormat) -> None:
        self.format = fmt
        self._buf = bytearray()
        self.counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while self._buf:
            start = self.format.find_start(self._buf)
            if start < 0:
                self.counters["garbage_bytes"] += len(self._buf)
                self._buf.clear()
                break
            if start:
                self.counters["garbage_bytes"] += start
                del self._buf[:start]
            try:
                size = self.format.frame_size(self._buf)
            except StartByteError:
                self._skip("start_errors")
                continue
            except DecodeError:
                self._skip("length_errors")
                continue
            if size is None:
                if len(self._buf) > 2 * self.format.max_size:
                    self._skip("length_errors")
                    continue
                break
            if len(self._buf) < size:
                break
            raw = bytes(self._buf[:size])
            try:
                frames.append(self.format.check(raw))
            except ChecksumError:
                self._skip("checksum_errors")
                continue
            except StartByteError:
                self._skip("start_errors")
                continue
            except DecodeError:
                self._skip("length_errors")
                continue
            del self._buf[:size]
            self.counters["frames_ok"] += 1
        return frames

    def _skip(self, counter: str) -> None:
        self.counters[counter] += 1
        del self._buf[:1]

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def reset(self) -> None:
        self._buf.clear()


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """One board setting: its unit, the documented range, and where the range comes from."""

    key: str
    unit: str
    minimum: float
    maximum: float
    description: str
    source: str

    def check(self, value: float) -> float:
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise WriteRefusedError(
                f"{self.key}={value} {self.unit} is outside the board's range "
                f"{self.minimum}..{self.maximum} {self.unit} ({self.source}); nothing was sent"
            )
        return value


@dataclass(frozen=True, slots=True)
class AlarmBit:
    """One protection/alarm bit of a board: its own name and the smartbms code it maps to."""

    bit: int
    name: str
    code: str | None


def alarms_from_bits(table: Sequence[AlarmBit], value: int) -> tuple[tuple[str, ...], list[str]]:
    """Mapped smartbms codes (deduplicated, table order) and the board's own names of every set bit.

    A set bit the table does not know is kept as "unmapped bit N" so no report is lost.
    """
    codes: list[str] = []
    names: list[str] = []
    known = {entry.bit for entry in table}
    for entry in table:
        if value >> entry.bit & 1:
            names.append(entry.name)
            if entry.code and entry.code not in codes:
                codes.append(entry.code)
    names += [
        f"unmapped bit {bit}" for bit in range(value.bit_length()) if value >> bit & 1 and bit not in known
    ]
    return tuple(codes), names


class BoardProtocol(ABC):
    """One board protocol: what to send, how to frame and decode what comes back."""

    name: ClassVar[str]
    title: ClassVar[str]
    #: Transports this protocol runs over ("serial", "tcp", "ble").
    transports: ClassVar[tuple[str, ...]] = ("serial", "tcp")
    default_baud: ClassVar[int] = 9600
    settings: ClassVar[Mapping[str, SettingSpec]] = {}
    #: BLE GATT characteristics (notify, write) when the protocol runs over BLE.
    ble_characteristics: ClassVar[tuple[str, str] | None] = None

    @abstractmethod
    def response_format(self) -> FrameFormat:
        """Framing of what the board sends."""

    @abstractmethod
    def request_format(self) -> FrameFormat:
        """Framing of what the host sends (the emulators parse requests with it)."""

    def response_parser(self) -> StreamParser:
        return StreamParser(self.response_format())

    def request_parser(self) -> StreamParser:
        return StreamParser(self.request_format())

    @abstractmethod
    def status_requests(self) -> list[bytes]:
        """Requests that together return one full status."""

    def expected_frames(self, request: bytes, earlier: Sequence[Frame]) -> int:
        """How many response frames ``request`` produces (``earlier``: frames of this poll so far)."""
        return 1

    def matches(self, request: bytes, frame: Frame) -> bool:
        """Whether ``frame`` answers ``request`` (frames that do not are counted and dropped)."""
        return True

    def annotate(self, request: bytes, frame: Frame) -> Frame:
        """Add what only the request tells (e.g. the Modbus start register) to a response frame."""
        return frame

    @abstractmethod
    def decode_status(self, frames: Sequence[Frame]) -> Telemetry:
        """One sample from the frames of one status (frames of other kinds are ignored)."""

    def decode_hex_frames(self, raws: Sequence[bytes]) -> Telemetry:
        """Strictly parse each captured frame, then decode them together."""
        fmt = self.response_format()
        return self.decode_status([fmt.parse_one(raw) for raw in raws])

    # Writes. A protocol without a documented write raises WriteRefusedError.
    def charge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        raise WriteRefusedError(f"{self.name}: switching the charge path is not documented for this board")

    def discharge_requests(self, on: bool, current: Telemetry | None) -> list[bytes]:
        raise WriteRefusedError(f"{self.name}: switching the discharge path is not documented for this board")

    def soc_requests(self, pct: float) -> list[bytes]:
        raise WriteRefusedError(f"{self.name}: setting the SOC is not documented for this board")

    def settings_requests(self) -> list[bytes]:
        """Requests that read back every setting in :attr:`settings`."""
        return []

    def decode_settings(self, frames: Sequence[Frame]) -> dict[str, Any]:
        return {}

    def setting_requests(self, key: str, value: float) -> list[bytes]:
        """Requests that write one setting (after its range was checked)."""
        raise WriteRefusedError(f"{self.name}: no writable setting {key!r}")

    def check_replies(self, frames: Sequence[Frame]) -> None:
        """Raise WriteRefusedError when the board answered a write with an error."""
        return None  # boards whose replies carry no error status: read-back alone decides

    def check_setting(self, key: str, value: float) -> float:
        spec = self.settings.get(key)
        if spec is None:
            known = ", ".join(sorted(self.settings)) or "none"
            raise WriteRefusedError(f"{self.name}: unknown setting {key!r} (writable: {known})")
        return spec.check(value)

    def check_soc(self, pct: float) -> float:
        if not math.isfinite(pct) or not 0 <= pct <= 100:
            raise WriteRefusedError(f"SOC {pct} % is outside 0..100 %; nothing was sent")
        return pct


def with_meta(frame: Frame, **values: int) -> Frame:
    return replace(frame, meta={**frame.meta, **values})


def merge_all(samples: Sequence[Telemetry]) -> Telemetry:
    out = Telemetry()
    for sample in samples:
        out = out.merged(sample)
    return out

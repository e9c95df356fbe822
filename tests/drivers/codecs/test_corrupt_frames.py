"""Corrupt frames are rejected with the error that names what is wrong, and counted."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from tests.drivers.fixtures import PROTOCOLS, first_frame

from smartbms.drivers.registry import get_protocol
from smartbms.errors import ChecksumError, DecodeError, LengthError, StartByteError


def _flip_middle(frame: bytes) -> bytes:
    out = bytearray(frame)
    i = len(out) // 2
    if frame[:1] == b"~":  # ASCII hex: swap to another hex digit so the frame stays well-formed
        out[i] = ord("1") if out[i] != ord("1") else ord("2")
    else:
        out[i] ^= 0x01
    return bytes(out)


CORRUPTIONS: dict[str, tuple[Callable[[bytes], bytes], type[DecodeError]]] = {
    "bad_start": (lambda f: b"\x00" + f[1:], StartByteError),
    "bad_checksum": (_flip_middle, ChecksumError),
    "truncated": (lambda f: f[:-3], LengthError),
    "wrong_length": (lambda f: f + f[-1:], LengthError),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
@pytest.mark.parametrize("protocol_name", PROTOCOLS)
def test_corrupt_frame_is_rejected_by_name(protocol_name: str, case: str) -> None:
    capture = first_frame(protocol_name)
    protocol = get_protocol(protocol_name, **capture.options)
    mutate, error = CORRUPTIONS[case]
    with pytest.raises(error):
        protocol.decode_hex_frames([mutate(capture.frames[0])])


@pytest.mark.parametrize("protocol_name", PROTOCOLS)
def test_stream_parser_counts_bad_checksum_and_resynchronises(protocol_name: str) -> None:
    capture = first_frame(protocol_name)
    protocol = get_protocol(protocol_name, **capture.options)
    good = capture.frames[0]
    parser = protocol.response_parser()
    frames = parser.feed(_flip_middle(good) + good)
    assert [f.raw for f in frames] == [good]
    assert parser.counters["checksum_errors"] >= 1


@pytest.mark.parametrize("protocol_name", PROTOCOLS)
def test_stream_parser_memory_stays_bounded_on_endless_garbage(protocol_name: str) -> None:
    protocol = get_protocol(protocol_name, **first_frame(protocol_name).options)
    parser = protocol.response_parser()
    start = first_frame(protocol_name).frames[0][:2]
    for _ in range(2000):  # start markers followed by junk that never completes a frame
        parser.feed(start + bytes(range(7, 40)))
    assert parser.buffered <= 2 * protocol.response_format().max_size + 64

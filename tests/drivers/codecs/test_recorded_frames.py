"""Every recorded frame decodes to the values its source documents."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from tests.drivers.fixtures import PROTOCOLS, Capture, all_captures

from smartbms.drivers.registry import get_protocol

CAPTURES = all_captures()
_CELL = re.compile(r"cell_(\d+)_v")


def _actual(sample: dict, key: str):
    match = _CELL.fullmatch(key)
    if match:
        return sample["cell_voltages_v"][int(match.group(1)) - 1]
    return sample[key]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda c: c.id)
def test_capture_decodes_to_documented_values(capture: Capture) -> None:
    protocol = get_protocol(capture.protocol, **capture.options)
    sample = protocol.decode_hex_frames(capture.frames).to_dict()
    for key, expected in capture.expected.items():
        assert key in sample or _CELL.fullmatch(key), f"{key} missing from {sorted(sample)}"
        assert _actual(sample, key) == pytest.approx(expected, abs=1e-6), key


def test_every_protocol_has_two_real_captures() -> None:
    real = Counter(c.protocol for c in CAPTURES if c.captured)
    missing = {p: real[p] for p in PROTOCOLS if real[p] < 2}
    assert not missing, f"protocols with fewer than two real captures: {missing}"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_two_real_captures_decode_to_values_their_source_states(protocol: str) -> None:
    documented = [
        c.id for c in CAPTURES if c.protocol == protocol and c.captured and c.expected_from == "source"
    ]
    assert len(documented) >= 2, f"{protocol}: only {documented} are real captures with source-stated values"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda c: c.id)
def test_stream_parser_finds_every_frame_in_any_chunking(capture: Capture) -> None:
    protocol = get_protocol(capture.protocol, **capture.options)
    stream = b"\x00garbage\xff" + b"".join(f + b"\x13\x37" for f in capture.frames)
    for chunk in (1, 2, 7, 20, 64):
        parser = protocol.response_parser()
        frames = []
        for i in range(0, len(stream), chunk):
            frames += parser.feed(stream[i : i + chunk])
        assert [f.raw for f in frames] == capture.frames
        assert parser.counters["frames_ok"] == len(capture.frames)
        assert parser.counters["garbage_bytes"] > 0

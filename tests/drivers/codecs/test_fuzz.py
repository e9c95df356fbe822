"""Every decoder, fed arbitrary bytes, raises nothing but smartbms' own DecodeError.

Two kinds of input per protocol: raw garbage through the stream parsers (any chunking),
and well-framed frames (valid checksums) around random payloads, which reach the field
decoders themselves, once bare (as a capture) and once as the answer to each status
request. 10,000 examples each; memory stays bounded by the parsers.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tests.drivers.fixtures import PROTOCOLS

from smartbms.drivers.codecs import daly, jbd, jk_ble, jk_rs485, modbus, pylontech
from smartbms.drivers.codecs.base import BoardProtocol
from smartbms.drivers.registry import get_protocol
from smartbms.errors import DecodeError

FramedBuilder = Callable[[int, bytes], bytes]

FRAMED: dict[str, FramedBuilder] = {
    "daly": lambda kind, data: daly.build_frame(0x90 + kind % 9, (data + bytes(8))[:8], address=daly.BOARD),
    "daly-modbus": lambda kind, data: modbus.read_response(0xD2, modbus.READ_HOLDING, data[:250]),
    "jbd": lambda kind, data: jbd.build_response(3 + kind % 3, data[:255]),
    "jk-ble": lambda kind, data: jk_ble.build_record(1 + kind % 3, data),
    "jk-rs485": lambda kind, data: jk_rs485.build_frame(
        jk_rs485.CMD_READ_ALL, data[:900], jk_rs485.SOURCE_BMS, jk_rs485.TYPE_RESPONSE
    ),
    # Seplos answers input-register reads (PIA/PIB) and a coil read (the PIC alarm block).
    "seplos-v3": lambda kind, data: modbus.read_response(
        0x01, (modbus.READ_INPUT, modbus.READ_COILS)[kind % 2], data[:250]
    ),
    "pylontech-rs485": lambda kind, data: pylontech.build_frame(2, 0x00, data[:1000]),
}
PROTOCOL_INSTANCES: dict[str, BoardProtocol] = {name: get_protocol(name) for name in PROTOCOLS}
STATUS_REQUESTS = {name: p.status_requests() for name, p in PROTOCOL_INSTANCES.items()}
FUZZ = settings(
    max_examples=10_000,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)


def _decode_all(protocol: BoardProtocol, stream: bytes, chunk: int) -> None:
    for parser in (protocol.response_parser(), protocol.request_parser()):
        frames = []
        for i in range(0, len(stream), chunk):
            frames += parser.feed(stream[i : i + chunk])
        assert parser.buffered <= 2 * parser.format.max_size + chunk
        with contextlib.suppress(DecodeError):
            json.dumps(protocol.decode_status(frames).to_dict())


def _fuzz_one(name: str, garbage: bytes, chunk: int, kind: int, payload: bytes) -> None:
    protocol = PROTOCOL_INSTANCES[name]
    _decode_all(protocol, garbage, chunk)
    framed = FRAMED[name](kind, payload)
    with contextlib.suppress(DecodeError):
        frame = protocol.response_format().parse_one(framed)
        json.dumps(protocol.decode_status([frame]).to_dict())
    # As a live link sees it: the frame annotated as the answer to each status request, so a random
    # payload reaches every block decoder (Seplos PIA/PIB/PIC, Pylontech 0x42/0x44/0x92, ...).
    for request in STATUS_REQUESTS[name]:
        with contextlib.suppress(DecodeError):
            frame = protocol.annotate(request, protocol.response_format().parse_one(framed))
            json.dumps(protocol.decode_status([frame]).to_dict())


@pytest.mark.slow
@pytest.mark.parametrize("name", PROTOCOLS)
def test_decoder_fuzz(name: str) -> None:
    # One binary draw is split into chunk size, frame kind, garbage and payload: far
    # cheaper for Hypothesis than four separate strategies.
    @FUZZ
    @given(st.binary(min_size=3, max_size=640))
    def run(data: bytes) -> None:
        split = 3 + data[2] + data[2] // 4
        _fuzz_one(name, data[3:split], 1 + data[0] % 64, data[1], data[split:])

    run()

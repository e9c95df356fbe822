"""One conformance test over every registered driver (built-in or third-party)."""

from __future__ import annotations

import contextlib
import json
import os

import pytest

from smartbms.drivers.codecs.base import BoardProtocol
from smartbms.drivers.emulators import RESPONDERS, responder_for
from smartbms.drivers.emulators.state import BoardState, steady_pack
from smartbms.drivers.registry import available, get_protocol
from smartbms.errors import DecodeError, WriteRefusedError
from smartbms.telemetry import Telemetry

PLANT = steady_pack(cells=7, cell_voltage_v=3.28, current_a=2.5, soc_pct=42.0, capacity_ah=80.0)


@pytest.mark.parametrize("name", available())
def test_driver_conforms(name: str) -> None:
    protocol = get_protocol(name)
    assert isinstance(protocol, BoardProtocol)
    assert protocol.name == name and protocol.title
    assert set(protocol.transports) <= {"serial", "tcp", "ble"} and protocol.transports
    if "ble" in protocol.transports:
        assert protocol.ble_characteristics is not None

    # Its own requests are well-formed frames of its request format.
    requests = protocol.status_requests()
    assert requests and all(isinstance(r, bytes) for r in requests)
    for request in requests:
        assert protocol.request_format().parse_one(request).raw == request

    # Garbage never raises from the parsers, and an empty status decodes to an empty sample.
    for parser in (protocol.response_parser(), protocol.request_parser()):
        parser.feed(os.urandom(2048))  # must not raise, whatever it finds
        assert parser.buffered <= 2 * parser.format.max_size
    assert protocol.decode_status([]) == Telemetry()

    # Writes are either documented requests or refused with WriteRefusedError.
    for call in (lambda: protocol.charge_requests(False, None), lambda: protocol.soc_requests(50.0)):
        with contextlib.suppress(WriteRefusedError):
            assert all(isinstance(r, bytes) for r in call())
    for key, spec in protocol.settings.items():
        with pytest.raises(WriteRefusedError):
            protocol.setting_requests(key, spec.maximum + abs(spec.maximum) + 1)

    # With an emulator, the full status survives the round trip.
    if name in RESPONDERS:
        _round_trip(protocol, name)


def _round_trip(protocol: BoardProtocol, name: str) -> None:
    responder = responder_for(name)
    state = responder.new_state(BoardState(PLANT))
    frames = []
    for request in protocol.status_requests():
        (parsed,) = protocol.request_parser().feed(request)
        reply = b"".join(responder.respond(parsed, state))
        frames += [protocol.annotate(request, f) for f in protocol.response_parser().feed(reply)]
    sample = protocol.decode_status(frames)
    truth = PLANT(0)
    assert sample.cell_voltages_v == pytest.approx(truth.cell_voltages_v, abs=0.001)
    assert sample.current_a == pytest.approx(2.5, abs=0.1)
    assert sample.soc_pct == pytest.approx(42.0, abs=0.5)
    json.dumps(sample.to_dict())


def test_decode_error_family() -> None:
    for name in available():
        with pytest.raises(DecodeError):
            get_protocol(name).decode_hex_frames([b"\x00\x01\x02"])

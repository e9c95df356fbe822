from __future__ import annotations

import contextlib
import time

import pytest
from tests.drivers.e2e.test_board_roundtrip import EmulatorThread
from tests.drivers.fake_ble import FakeBleTransport

from smartbms.drivers.codecs.jbd import JbdProtocol
from smartbms.drivers.emulators.server import EmulatedBoard, TcpPort
from smartbms.drivers.emulators.state import steady_pack
from smartbms.drivers.link import LinkPolicy
from smartbms.drivers.registry import get_protocol
from smartbms.drivers.source import BoardSource, open_board, parse_spec
from smartbms.drivers.transports.tcp import TcpTransport
from smartbms.errors import SettingsError, WriteRefusedError


@pytest.mark.parametrize(
    ("spec", "kind", "target", "baud", "port", "options"),
    [
        ("jbd:serial:/dev/ttyUSB0", "serial", "/dev/ttyUSB0", None, None, {}),
        ("jk-rs485:serial:/dev/ttyUSB1@115200", "serial", "/dev/ttyUSB1", 115200, None, {}),
        ("daly:tcp:192.168.1.40:8899", "tcp", "192.168.1.40", None, 8899, {}),
        ("seplos-v3:tcp:gw.local:502?address=3", "tcp", "gw.local", None, 502, {"address": 3}),
        ("jk-ble:ble:C8:47:8C:00:11:22", "ble", "C8:47:8C:00:11:22", None, None, {}),
    ],
)
def test_parse_spec(
    spec: str, kind: str, target: str, baud: int | None, port: int | None, options: dict
) -> None:
    parsed = parse_spec(spec)
    assert (parsed.kind, parsed.target, parsed.baud, parsed.port, parsed.options) == (
        kind,
        target,
        baud,
        port,
        options,
    )


@pytest.mark.parametrize("spec", ["jbd", "jbd:usb:/dev/x", "jbd:tcp:hostonly", "jk-ble:serial:/dev/ttyUSB0"])
def test_bad_spec_is_refused(spec: str) -> None:
    with pytest.raises(SettingsError):
        open_board(spec)


def test_jk_ble_over_20_byte_notifications() -> None:
    board = EmulatedBoard("jk-ble", steady_pack(cells=16, current_a=12.5, soc_pct=77.0))
    transports: list[FakeBleTransport] = []

    def factory() -> FakeBleTransport:
        transports.append(FakeBleTransport(board))
        return transports[-1]

    source = BoardSource(get_protocol("jk-ble"), factory, 0.05, LinkPolicy(timeout_s=0.5, retries=1))
    with contextlib.closing(source):
        source.start()
        deadline = time.monotonic() + 10
        while source.latest() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        sample = source.latest()
        assert sample is not None and len(sample.cell_voltages_v or ()) == 16
        assert sample.current_a == pytest.approx(12.5) and sample.soc_pct == 77.0
        assert transports[0].notifications >= 15  # a 300-byte record arrives in 20-byte pieces
        source.set_charge(False)
        assert board.state.charge_enabled is False and source.latest().charge_enabled is False
        with pytest.raises(WriteRefusedError):
            source.set_soc(50.0)  # not documented for JK BLE: refused, nothing sent


def test_jbd_setting_write_with_a_wrong_factory_password_is_refused() -> None:
    emu = EmulatorThread("jbd")
    tcp = TcpPort(emu.board)
    port = int(emu.call(tcp.start))  # type: ignore[call-overload]
    protocol = JbdProtocol(factory_password=0x1234)
    source = BoardSource(protocol, lambda: TcpTransport("127.0.0.1", port), 0.05, LinkPolicy(0.3, 0))
    try:
        source.start()
        deadline = time.monotonic() + 10
        while source.latest() is None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        with pytest.raises(WriteRefusedError, match="wrong password"):
            source.write_setting("cell_ov_v", 3.6)
        assert emu.board.state.settings["cell_ov_v"] == 3.65  # the board stayed locked
    finally:
        source.close()
        emu.call(tcp.stop)
        emu.stop()

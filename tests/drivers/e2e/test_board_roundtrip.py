"""Emulator <-> driver round trips over real pseudo-terminal pairs and TCP on 127.0.0.1.

For each protocol: a full status, a FET switch with read-back, and (where the board
exposes settings) a setting write with read-back; then unplug/replug of the pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from smartbms.drivers.cli_support import run_monitor
from smartbms.drivers.emulators.server import EmulatedBoard, PtyPort, TcpPort
from smartbms.drivers.emulators.state import steady_pack
from smartbms.drivers.link import LinkPolicy
from smartbms.drivers.source import BoardSource, open_board
from smartbms.errors import WriteRefusedError

SERIAL_PROTOCOLS = ("daly", "daly-modbus", "jbd", "jk-rs485", "seplos-v3", "pylontech-rs485")
WRITABLE_FETS = ("daly", "daly-modbus", "jbd", "jk-rs485", "seplos-v3")
SETTINGS = {"jbd": ("cell_ov_v", 3.6), "jk-rs485": ("cell_ov_v", 3.62), "daly-modbus": ("cell_ov_v", 3.58)}
FAST = LinkPolicy(timeout_s=0.5, retries=1, backoff_s=0.02)
PLANT = steady_pack(cells=8, cell_voltage_v=3.31, current_a=-4.0, soc_pct=64.0, capacity_ah=120.0)
OPTIONS = {"seplos-v3": "?address=1", "pylontech-rs485": "?address=2"}


class EmulatorThread:
    """Runs one emulated board on its own asyncio loop, like a separate device."""

    def __init__(self, protocol: str) -> None:
        self.board = EmulatedBoard(protocol, PLANT)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, fn: Callable[[], object]) -> object:
        async def run() -> object:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@contextlib.contextmanager
def pty_board(protocol: str, tmp_path: Path) -> Iterator[tuple[EmulatorThread, PtyPort, str]]:
    emu = EmulatorThread(protocol)
    port = PtyPort(emu.board, tmp_path / f"{protocol}-tty")
    emu.call(port.plug)
    try:
        yield emu, port, f"{protocol}:serial:{port.link}@115200{OPTIONS.get(protocol, '')}"
    finally:
        emu.call(port.unplug)
        emu.stop()


def wait_for(predicate: Callable[[], object], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def started(spec: str, interval_s: float = 0.05) -> BoardSource:
    source = open_board(spec, poll_interval_s=interval_s, policy=FAST, start=True)
    wait_for(lambda: source.latest() is not None)
    return source


def assert_full_status(sample: object) -> None:
    from smartbms.telemetry import Telemetry

    assert isinstance(sample, Telemetry)
    truth = PLANT(0)
    assert sample.cell_voltages_v == pytest.approx(truth.cell_voltages_v, abs=0.001)
    assert sample.voltage_v == pytest.approx(truth.voltage_v, abs=0.1)
    assert sample.current_a == pytest.approx(-4.0, abs=0.1)
    assert sample.soc_pct == pytest.approx(64.0, abs=0.5)
    assert sample.timestamp is not None


@pytest.mark.parametrize("protocol", SERIAL_PROTOCOLS)
def test_status_fet_switch_and_setting_over_pty(protocol: str, tmp_path: Path) -> None:
    with pty_board(protocol, tmp_path) as (emu, _port, spec), contextlib.closing(started(spec)) as source:
        assert_full_status(source.latest())
        assert source.can_switch_fets is (protocol in WRITABLE_FETS)
        if protocol in WRITABLE_FETS:
            source.set_discharge(False)
            assert emu.board.state.discharge_enabled is False
            assert source.latest().discharge_enabled is False
            source.set_discharge(True)
            assert emu.board.state.discharge_enabled is True and source.latest().discharge_enabled is True
            source.set_charge(False)
            assert emu.board.state.charge_enabled is False and source.latest().charge_enabled is False
            source.set_charge(True)
            assert emu.board.state.charge_enabled is True and source.latest().charge_enabled is True
        else:
            with pytest.raises(WriteRefusedError):
                source.set_charge(False)
        if protocol in SETTINGS:
            key, value = SETTINGS[protocol]
            source.write_setting(key, value)
            assert source.read_settings()[key] == pytest.approx(value)
            with pytest.raises(WriteRefusedError):
                source.write_setting(key, 9.9)  # outside the documented range: refused unsent
            assert emu.board.state.settings[key] == pytest.approx(value)
        counters = source.counters()
        assert counters["samples"] >= 1 and counters["checksum_errors"] == 0


@pytest.mark.parametrize("protocol", SERIAL_PROTOCOLS)
def test_round_trip_over_tcp(protocol: str) -> None:
    emu = EmulatorThread(protocol)
    tcp = TcpPort(emu.board)
    port = emu.call(tcp.start)
    try:
        with contextlib.closing(
            started(f"{protocol}:tcp:127.0.0.1:{port}{OPTIONS.get(protocol, '')}")
        ) as source:
            assert_full_status(source.latest())
            if protocol in WRITABLE_FETS:
                source.set_charge(False)
                assert source.latest().charge_enabled is False
    finally:
        emu.call(tcp.stop)
        emu.stop()


@pytest.mark.parametrize("protocol", ("jbd", "daly-modbus"))
def test_unplug_replug_reports_outage_and_loses_no_sample_after_return(protocol: str, tmp_path: Path) -> None:
    with pty_board(protocol, tmp_path) as (emu, port, spec):
        source = open_board(spec, poll_interval_s=0.05, policy=FAST, start=True)
        try:
            wait_for(lambda: source.latest() is not None)
            emu.call(port.unplug)
            wait_for(lambda: not source.connected)
            time.sleep(0.3)  # stay unplugged for a few poll periods
            served_before = emu.board.state.requests_served
            emu.call(port.plug)
            wait_for(lambda: source.counters().get("reconnects", 0) >= 1)
            replugged_at = time.time()
            wait_for(lambda: emu.board.state.requests_served > served_before + 20)
            samples = [s for s in source.drain() if (s.timestamp or 0) >= replugged_at]
            events = [e.kind for e in source.events()]
        finally:
            source.close()
        assert "outage" in events and "reconnected" in events
        # Every status polled after the return arrived as a sample: one per full set of requests.
        per_status = len(source.protocol.status_requests())
        polls_after = (emu.board.state.requests_served - served_before) // per_status
        assert len(samples) >= polls_after - 2
        assert samples and all(s.cell_voltages_v for s in samples)


def test_one_silent_board_does_not_stall_another(tmp_path: Path) -> None:
    # A gateway that accepts the connection but never answers, next to a healthy board.
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 20)

    emu = EmulatorThread("jbd")
    server = emu.call(lambda: asyncio.start_server(silent, "127.0.0.1", 0))
    dead_port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    with pty_board("jbd", tmp_path) as (_emu2, _port, spec):
        dead = open_board(f"jbd:tcp:127.0.0.1:{dead_port}", poll_interval_s=0.05, policy=FAST, start=True)
        healthy = started(spec)
        try:
            healthy.drain()
            time.sleep(1.0)
            assert len(healthy.drain()) >= 8  # ~20 polls/s when alone; allow for a loaded machine
            assert dead.latest() is None and dead.counters().get("timeouts", 0) >= 1
        finally:
            dead.close()
            healthy.close()
    emu.call(server.close)  # type: ignore[attr-defined]
    emu.stop()


def test_monitor_prints_the_outage_and_the_reconnect(tmp_path: Path) -> None:
    with pty_board("jbd", tmp_path) as (emu, port, spec):
        out = io.StringIO()
        monitor = threading.Thread(target=run_monitor, args=(spec, 0.05, 40, False, out))
        monitor.start()
        wait_for(lambda: out.getvalue().count(" V ") >= 3)
        emu.call(port.unplug)
        wait_for(lambda: "outage:" in out.getvalue())
        emu.call(port.plug)
        monitor.join(60)
        assert not monitor.is_alive()
    text = out.getvalue()
    assert text.index("outage:") < text.index("reconnected:") < text.rindex(" V ")


def test_port_missing_at_start_is_reported_once_and_picked_up_when_it_appears(tmp_path: Path) -> None:
    emu = EmulatorThread("daly")
    port = PtyPort(emu.board, tmp_path / "late-tty")
    source = open_board(f"daly:serial:{port.link}", poll_interval_s=0.05, policy=FAST, start=True)
    try:
        wait_for(lambda: source.counters().get("connect_failures", 0) >= 3)
        assert [e.kind for e in source.events()] == ["outage"]  # one report, not one per retry
        emu.call(port.plug)
        wait_for(lambda: source.latest() is not None)
        assert [e.kind for e in source.events()] == ["connected"]
    finally:
        source.close()
        emu.call(port.unplug)
        emu.stop()

"""A board as a telemetry source for the controller: ``open_board(spec) -> BoardSource``.

The source polls its board on its own asyncio loop in a background thread, so a slow or
absent board never stalls anything else. It reconnects by itself after the port or
gateway disappears, counts every error, and keeps every sample taken (``drain``).

Spec: ``PROTOCOL:serial:/dev/ttyUSB0[@BAUD]``, ``PROTOCOL:tcp:HOST:PORT`` or
``PROTOCOL:ble:ADDRESS``, optionally followed by ``?address=2`` style protocol options.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl

from smartbms.drivers.codecs.base import BoardProtocol
from smartbms.drivers.link import BoardLink, LinkPolicy
from smartbms.drivers.registry import get_protocol
from smartbms.drivers.transports.base import Transport
from smartbms.errors import BmsTimeoutError, DecodeError, SettingsError, TransportError, WriteRefusedError
from smartbms.telemetry import Telemetry

T = TypeVar("T")
TransportKind = Literal["serial", "tcp", "ble"]
SILENT_POLLS_BEFORE_RECONNECT = 3
log = logging.getLogger(__name__)
MAX_SAMPLES_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class SourceSpec:
    protocol: str
    kind: TransportKind
    target: str
    baud: int | None = None
    port: int | None = None
    options: dict[str, Any] = field(default_factory=dict)


def parse_spec(spec: str) -> SourceSpec:
    """Split a source spec; a malformed one raises SettingsError naming what is wrong."""
    text, _, query = spec.partition("?")
    options: dict[str, Any] = {k: _option(v) for k, v in parse_qsl(query)}
    parts = text.split(":", 2)
    if len(parts) < 3 or not parts[2]:
        raise SettingsError(
            [("source", f"{spec!r} is not PROTOCOL:serial:PATH, PROTOCOL:tcp:HOST:PORT or PROTOCOL:ble:ADDR")]
        )
    protocol, kind, rest = parts
    if kind == "serial":
        path, _, baud = rest.partition("@")
        return SourceSpec(protocol, "serial", path, baud=int(baud) if baud else None, options=options)
    if kind == "tcp":
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError([("source", f"{spec!r}: tcp needs HOST:PORT")])
        return SourceSpec(protocol, "tcp", host, port=int(port), options=options)
    if kind == "ble":
        return SourceSpec(protocol, "ble", rest, options=options)
    raise SettingsError([("source", f"{spec!r}: transport {kind!r} is not serial, tcp or ble")])


def _option(value: str) -> Any:
    try:
        return int(value, 0)
    except ValueError:
        return value


def make_transport(spec: SourceSpec, protocol: BoardProtocol) -> Transport:
    if spec.kind not in protocol.transports:
        raise SettingsError(
            [
                (
                    "source",
                    f"{protocol.name} does not run over {spec.kind} (only {', '.join(protocol.transports)})",
                )
            ]
        )
    if spec.kind == "serial":
        from smartbms.drivers.transports.serial_port import SerialTransport

        return SerialTransport(spec.target, spec.baud or protocol.default_baud)
    if spec.kind == "tcp":
        from smartbms.drivers.transports.tcp import TcpTransport

        return TcpTransport(spec.target, spec.port or 0)
    from smartbms.drivers.transports.ble import BleTransport

    if protocol.ble_characteristics is None:
        raise SettingsError([("source", f"{protocol.name} has no known BLE characteristics")])
    notify, write = protocol.ble_characteristics
    return BleTransport(spec.target, notify, write)


def open_board(
    spec: str,
    *,
    poll_interval_s: float = 1.0,
    policy: LinkPolicy | None = None,
    start: bool = False,
) -> BoardSource:
    """The board described by ``spec`` as a BoardSource (call ``start()`` to begin polling)."""
    parsed = parse_spec(spec)
    protocol = get_protocol(parsed.protocol, **parsed.options)
    source = BoardSource(
        protocol, lambda: make_transport(parsed, protocol), poll_interval_s, policy, name=spec
    )
    make_transport(parsed, protocol)  # reject a spec the protocol cannot use before any thread starts
    if start:
        source.start()
    return source


@dataclass(frozen=True, slots=True)
class SourceEvent:
    timestamp: float
    kind: Literal["connected", "outage", "reconnected"]
    detail: str


class BoardSource:
    """Polls one board in a background thread; the controller reads ``latest()``."""

    def __init__(
        self,
        protocol: BoardProtocol,
        transport_factory: Callable[[], Transport],
        poll_interval_s: float = 1.0,
        policy: LinkPolicy | None = None,
        name: str = "",
        max_backoff_s: float = 5.0,
    ) -> None:
        self.protocol = protocol
        self.name = name or protocol.name
        self._factory = transport_factory
        self._interval = poll_interval_s
        self._policy = policy or LinkPolicy()
        self._max_backoff = max_backoff_s
        self._lock = threading.Lock()
        self._latest: Telemetry | None = None
        self._samples: deque[Telemetry] = deque(maxlen=MAX_SAMPLES_KEPT)
        self._events: deque[SourceEvent] = deque(maxlen=1000)
        self._counters: Counter[str] = Counter()
        self._link: BoardLink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._io_lock: asyncio.Lock | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.connected = False

    # --- the controller's side (any thread) -------------------------------------------
    @property
    def can_switch_fets(self) -> bool:
        """Whether the board's protocol documents FET switching (Pylontech does not)."""
        try:
            self.protocol.charge_requests(True, None)
            self.protocol.discharge_requests(True, None)
        except WriteRefusedError:
            return False
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._thread_main, name=f"board {self.name}", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def latest(self) -> Telemetry | None:
        with self._lock:
            return self._latest

    def drain(self) -> list[Telemetry]:
        """Every sample taken since the last drain, oldest first."""
        with self._lock:
            out = list(self._samples)
            self._samples.clear()
            return out

    def events(self) -> list[SourceEvent]:
        """Connection events since the last call (outages, reconnects)."""
        with self._lock:
            out = list(self._events)
            self._events.clear()
            return out

    def counters(self) -> dict[str, int]:
        with self._lock:
            total = Counter(self._counters)
            if self._link is not None:
                total.update(self._link.snapshot())
            return dict(total)

    def set_charge(self, on: bool) -> None:
        self._call(self._switch("charge", on))

    def set_discharge(self, on: bool) -> None:
        self._call(self._switch("discharge", on))

    def set_soc(self, pct: float) -> None:
        requests = self.protocol.soc_requests(pct)  # range checked before anything is sent
        self._call(
            self._write_then_check(
                requests, lambda s: s.soc_pct is not None and abs(s.soc_pct - pct) <= 1.0, f"SOC {pct} %"
            )
        )

    def read_settings(self) -> dict[str, Any]:
        return self._call(self._read_settings())

    def write_setting(self, key: str, value: float) -> None:
        requests = self.protocol.setting_requests(key, value)  # refuses out-of-range values unsent
        self._call(self._write_setting(key, value, requests))

    def close(self) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(10.0)
        self._thread = None

    def __enter__(self) -> BoardSource:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the board's side (its own loop) ----------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T], timeout_s: float = 30.0) -> T:
        loop = self._loop
        if loop is None or self._thread is None:
            coro.close()
            raise TransportError(f"{self.name}: source not started")
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise BmsTimeoutError(f"{self.name}: command did not finish within {timeout_s:.0f} s") from None

    def _thread_main(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._io_lock = asyncio.Lock()
        self._ready.set()
        backoff = 0.1
        ever_connected = False
        down_reported = False
        while not self._stop.is_set():
            transport = self._factory()
            try:
                await transport.open()
            except TransportError as exc:
                self._count("connect_failures")
                if not down_reported:  # say it once per outage, not on every retry
                    self._event("outage", str(exc))
                    down_reported = True
                await self._sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = 0.1
            link = BoardLink(self.protocol, transport, self._policy)
            with self._lock:
                self._link = link
            self.connected = True
            down_reported = False
            if ever_connected:
                self._count("reconnects")
            self._event("reconnected" if ever_connected else "connected", transport.describe())
            ever_connected = True
            try:
                await self._poll_forever(link)
            except TransportError as exc:
                self._event("outage", str(exc))
                down_reported = True
            except Exception as exc:  # a bug must not end the polling thread: report, reconnect
                log.exception("%s: unexpected error while polling", self.name)
                self._count("internal_errors")
                self._event("outage", f"internal error: {exc!r}")
                down_reported = True
                await self._sleep(backoff)
            finally:
                self.connected = False
                with self._lock:
                    self._counters.update(link.snapshot())
                    self._link = None
                await transport.close()

    async def _poll_forever(self, link: BoardLink) -> None:
        assert self._stop is not None and self._io_lock is not None
        silent = 0
        while not self._stop.is_set():
            started = time.monotonic()
            async with self._io_lock:
                try:
                    sample = await link.poll()
                except BmsTimeoutError:
                    silent += 1
                    if silent >= SILENT_POLLS_BEFORE_RECONNECT:
                        raise TransportError(f"{self.name}: board silent for {silent} polls") from None
                except DecodeError:
                    pass  # counted by the link; the next poll tries again
                else:
                    silent = 0
                    with self._lock:
                        self._latest = sample
                        self._samples.append(sample)
            await self._sleep(self._interval - (time.monotonic() - started))

    async def _sleep(self, seconds: float) -> None:
        assert self._stop is not None
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counters[name] += 1

    def _event(self, kind: Literal["connected", "outage", "reconnected"], detail: str) -> None:
        with self._lock:
            self._events.append(SourceEvent(time.time(), kind, detail))

    def _current_link(self) -> BoardLink:
        link = self._link
        if link is None or not self.connected:
            raise TransportError(f"{self.name}: board not connected")
        return link

    async def _switch(self, path: Literal["charge", "discharge"], on: bool) -> None:
        latest = self.latest()
        if path == "charge":
            requests = self.protocol.charge_requests(on, latest)
            check: Callable[[Telemetry], bool] = lambda s: s.charge_enabled is on  # noqa: E731
        else:
            requests = self.protocol.discharge_requests(on, latest)
            check = lambda s: s.discharge_enabled is on  # noqa: E731
        await self._write_then_check(requests, check, f"{path} {'on' if on else 'off'}")

    async def _write_then_check(
        self, requests: list[bytes], check: Callable[[Telemetry], bool], what: str
    ) -> None:
        assert self._io_lock is not None
        async with self._io_lock:
            link = self._current_link()
            self.protocol.check_replies(await link.run(requests))
            sample = await link.poll()
            with self._lock:
                self._latest = sample
                self._samples.append(sample)
        if not check(sample):
            self._count("write_failures")
            raise WriteRefusedError(f"{self.name}: {what} was sent but the board's read-back disagrees")

    async def _read_settings(self) -> dict[str, Any]:
        assert self._io_lock is not None
        async with self._io_lock:
            link = self._current_link()
            return self.protocol.decode_settings(await link.run(self.protocol.settings_requests()))

    async def _write_setting(self, key: str, value: float, requests: list[bytes]) -> None:
        assert self._io_lock is not None
        async with self._io_lock:
            link = self._current_link()
            self.protocol.check_replies(await link.run(requests))
            settings = self.protocol.decode_settings(await link.run(self.protocol.settings_requests()))
        got = settings.get(key)
        if got is None or not math.isclose(got, value, rel_tol=1e-3, abs_tol=1e-3):
            self._count("write_failures")
            raise WriteRefusedError(f"{self.name}: wrote {key}={value} but the board reads back {got}")

"""A fake BLE link for the JK BLE driver: behind the Transport interface, it hands requests
to an emulated board and returns its answer as notifications of at most 20 bytes, the way
a real BLE radio does. BLE hardware is unreachable in the test environment."""

from __future__ import annotations

import asyncio

from smartbms.drivers.emulators.server import EmulatedBoard
from smartbms.drivers.transports.base import Transport
from smartbms.errors import TransportError

NOTIFY_SIZE = 20


class FakeBleTransport(Transport):
    def __init__(self, board: EmulatedBoard) -> None:
        self.board = board
        self.parser = board.protocol.request_parser()
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.is_open = False
        self.notifications = 0

    def describe(self) -> str:
        return "fake ble"

    async def open(self) -> None:
        self.is_open = True

    async def close(self) -> None:
        self.is_open = False

    async def write(self, data: bytes) -> None:
        if not self.is_open:
            raise TransportError("fake ble: not connected")
        reply = self.board.handle(self.parser, data)
        for i in range(0, len(reply), NOTIFY_SIZE):
            self.queue.put_nowait(reply[i : i + NOTIFY_SIZE])
            self.notifications += 1

    async def read(self, timeout_s: float) -> bytes:
        try:
            return await asyncio.wait_for(self.queue.get(), max(timeout_s, 0.0))
        except TimeoutError:
            return b""

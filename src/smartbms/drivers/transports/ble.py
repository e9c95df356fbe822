"""Bluetooth LE via bleak: notifications become the byte stream, writes go to a characteristic.

Boards send their answers in notification pieces of at most 20 bytes; the protocol's
stream parser reassembles them, exactly as it does for serial reads split anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from smartbms.drivers.transports.base import Transport
from smartbms.errors import TransportError

BLE_CHUNK = 20  # bytes per write without a negotiated MTU


class BleTransport(Transport):
    def __init__(
        self, address: str, notify_uuid: str, write_uuid: str, connect_timeout_s: float = 10.0
    ) -> None:
        self.address = address
        self.notify_uuid, self.write_uuid = notify_uuid, write_uuid
        self.connect_timeout_s = connect_timeout_s
        self._client: Any = None
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._lost = False

    def describe(self) -> str:
        return f"ble {self.address}"

    async def open(self) -> None:
        try:
            from bleak import BleakClient
            from bleak.exc import BleakError
        except ImportError as exc:
            raise TransportError(
                "BLE needs the 'drivers' extra (bleak): pip install 'smartbms[drivers]'"
            ) from exc
        self._lost = False
        client = BleakClient(
            self.address, disconnected_callback=self._on_disconnect, timeout=self.connect_timeout_s
        )
        try:
            await client.connect()
            await client.start_notify(self.notify_uuid, self._on_notify)
        except (BleakError, OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {self.describe()}: {exc}") from exc
        self._client = client

    def _on_notify(self, _sender: Any, data: bytearray) -> None:
        self._queue.put_nowait(bytes(data))

    def _on_disconnect(self, _client: Any) -> None:
        self._lost = True
        self._queue.put_nowait(b"")

    async def write(self, data: bytes) -> None:
        if self._client is None or self._lost:
            raise TransportError(f"{self.describe()} is not connected")
        try:
            for i in range(0, len(data), BLE_CHUNK):
                await self._client.write_gatt_char(self.write_uuid, data[i : i + BLE_CHUNK], response=False)
        except Exception as exc:  # bleak raises backend-specific errors
            raise TransportError(f"{self.describe()}: write failed: {exc}") from exc

    async def read(self, timeout_s: float) -> bytes:
        try:
            data = await asyncio.wait_for(self._queue.get(), max(timeout_s, 0.0))
        except TimeoutError:
            return b""
        if not data and self._lost:
            raise TransportError(f"{self.describe()}: disconnected")
        return data

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # Disconnecting a device that already vanished is best effort (bleak raises backend errors).
            with contextlib.suppress(Exception):
                await client.disconnect()

"""The byte-pipe interface every transport implements (serial, TCP, BLE, or a test fake)."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod

from smartbms.errors import TransportError


class Transport(ABC):
    """An async byte pipe to one board. ``read`` returns b"" when nothing came in time."""

    @abstractmethod
    async def open(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abstractmethod
    async def read(self, timeout_s: float) -> bytes: ...

    @abstractmethod
    def describe(self) -> str: ...


class StreamTransport(Transport):
    """Shared logic for transports built on asyncio streams (serial ports and TCP)."""

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    def _streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            raise TransportError(f"{self.describe()} is not open")
        return self._reader, self._writer

    async def write(self, data: bytes) -> None:
        _, writer = self._streams()
        try:
            writer.write(data)
            await writer.drain()
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"{self.describe()}: write failed: {exc}") from exc

    async def read(self, timeout_s: float) -> bytes:
        reader, _ = self._streams()
        try:
            data = await asyncio.wait_for(reader.read(4096), max(timeout_s, 0.0))
        except TimeoutError:
            return b""
        except (OSError, RuntimeError) as exc:
            raise TransportError(f"{self.describe()}: read failed: {exc}") from exc
        if not data:
            raise TransportError(f"{self.describe()}: connection closed")
        return data

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            # The port may already be gone: closing is best effort.
            with contextlib.suppress(OSError, TimeoutError, RuntimeError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

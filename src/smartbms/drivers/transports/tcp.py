"""TCP, for RS485-to-Ethernet/Wi-Fi gateways in transparent mode (and the emulator)."""

from __future__ import annotations

import asyncio

from smartbms.drivers.transports.base import StreamTransport
from smartbms.errors import TransportError


class TcpTransport(StreamTransport):
    def __init__(self, host: str, port: int, connect_timeout_s: float = 3.0) -> None:
        super().__init__()
        self.host, self.port = host, port
        self.connect_timeout_s = connect_timeout_s

    def describe(self) -> str:
        return f"tcp {self.host}:{self.port}"

    async def open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.connect_timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {self.describe()}: {exc}") from exc

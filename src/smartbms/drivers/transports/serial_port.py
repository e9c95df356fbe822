"""Serial ports (USB-RS485/TTL adapters, pseudo-terminals) via pyserial-asyncio-fast."""

from __future__ import annotations

from smartbms.drivers.transports.base import StreamTransport
from smartbms.errors import TransportError


class SerialTransport(StreamTransport):
    def __init__(self, path: str, baudrate: int = 9600) -> None:
        super().__init__()
        self.path = path
        self.baudrate = baudrate

    def describe(self) -> str:
        return f"serial {self.path}@{self.baudrate}"

    async def open(self) -> None:
        try:
            import serial
            import serial_asyncio_fast
        except ImportError as exc:  # the drivers extra is not installed
            raise TransportError(
                "serial ports need the 'drivers' extra: pip install 'smartbms[drivers]'"
            ) from exc
        try:
            self._reader, self._writer = await serial_asyncio_fast.open_serial_connection(
                url=self.path, baudrate=self.baudrate
            )
        except (OSError, serial.SerialException) as exc:
            raise TransportError(f"cannot open {self.describe()}: {exc}") from exc

"""Serve an emulated board on a pseudo-terminal (with a stable symlink) or a TCP port.

A pty can be "unplugged" and "replugged": the old pty disappears (the driver's reads
fail as they do when a USB adapter is pulled) and a new one appears behind the same
symlink, as a udev by-id link would.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tty
from pathlib import Path

from smartbms.drivers.codecs.base import StreamParser
from smartbms.drivers.emulators import responder_for
from smartbms.drivers.emulators.base import Responder
from smartbms.drivers.emulators.state import BoardState, Plant


class EmulatedBoard:
    """One responder, one board state, any number of connections."""

    def __init__(self, protocol: str, plant: Plant) -> None:
        self.responder: Responder = responder_for(protocol)
        self.state = self.responder.new_state(BoardState(plant))
        self.protocol = self.responder.protocol

    def handle(self, parser: StreamParser, data: bytes) -> bytes:
        out = b""
        for frame in parser.feed(data):
            self.state.requests_served += 1
            out += b"".join(self.responder.respond(frame, self.state))
        return out


class PtyPort:
    """A pty whose slave is reachable through ``link`` (a symlink the driver opens)."""

    def __init__(self, board: EmulatedBoard, link: Path) -> None:
        self.board, self.link = board, link
        self.master: int | None = None
        self.slave: int | None = None
        self.parser = board.protocol.request_parser()

    def plug(self) -> str:
        loop = asyncio.get_running_loop()
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no CR/LF translation: a wire, not a terminal
        os.set_blocking(self.master, False)
        name = os.ttyname(self.slave)
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(name)
        tmp.replace(self.link)
        self.parser = self.board.protocol.request_parser()
        loop.add_reader(self.master, self._on_readable)
        return name

    def unplug(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()
        if self.master is not None:
            loop.remove_reader(self.master)
            os.close(self.master)
        if self.slave is not None:
            os.close(self.slave)
        self.master = self.slave = None

    def _on_readable(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return  # nobody has the slave open right now
        reply = self.board.handle(self.parser, data)
        if reply:
            os.write(self.master, reply)


class TcpPort:
    def __init__(self, board: EmulatedBoard, host: str = "127.0.0.1", port: int = 0) -> None:
        self.board, self.host, self.port = board, host, port
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            for writer in list(self.writers):
                writer.close()
            await self.server.wait_closed()
            self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = self.board.protocol.request_parser()
        self.writers.add(writer)
        try:
            while data := await reader.read(4096):
                reply = self.board.handle(parser, data)
                if reply:
                    writer.write(reply)
                    await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()


async def serve(protocol: str, port: str, plant: Plant, duration_s: float = 0.0) -> None:
    board = EmulatedBoard(protocol, plant)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if port.startswith("tcp:"):
        tcp = TcpPort(board, port=int(port.removeprefix("tcp:")))
        bound = await tcp.start()
        print(f"emulating {protocol} on tcp:127.0.0.1:{bound}", flush=True)
        await _wait(stop, duration_s)
        await tcp.stop()
    else:
        pty = PtyPort(board, Path(port))
        name = pty.plug()
        print(f"emulating {protocol} on {port} -> {name}", flush=True)
        await _wait(stop, duration_s)
        pty.unplug()
    print(f"served {board.state.requests_served} requests", file=sys.stderr)


async def _wait(stop: asyncio.Event, duration_s: float) -> None:
    if duration_s > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration_s)
    else:
        await stop.wait()


def run_emulator(protocol: str, port: str, plant: Plant, duration_s: float = 0.0) -> int:
    asyncio.run(serve(protocol, port, plant, duration_s))
    return 0

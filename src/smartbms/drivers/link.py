"""Request/response over a transport: timeouts, retries with back-off, and error counters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from smartbms.drivers.codecs.base import BoardProtocol, Frame
from smartbms.drivers.transports.base import Transport
from smartbms.errors import BmsTimeoutError, DecodeError
from smartbms.telemetry import Telemetry


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    timeout_s: float = 1.0
    retries: int = 2
    backoff_s: float = 0.05


class BoardLink:
    """One board on one open transport. Not thread-safe: one coroutine at a time."""

    def __init__(
        self, protocol: BoardProtocol, transport: Transport, policy: LinkPolicy | None = None
    ) -> None:
        self.protocol = protocol
        self.transport = transport
        self.policy = policy or LinkPolicy()
        self.parser = protocol.response_parser()
        self.counters: Counter[str] = Counter()

    async def exchange(self, request: bytes, earlier: Sequence[Frame] = ()) -> list[Frame]:
        """Send ``request`` and collect its answer, retrying with back-off on silence."""
        loop = asyncio.get_running_loop()
        for attempt in range(self.policy.retries + 1):
            if attempt:
                self.counters["retries"] += 1
                await asyncio.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
                self.parser.reset()
            await self.transport.write(request)
            self.counters["requests"] += 1
            needed = self.protocol.expected_frames(request, earlier)
            got: list[Frame] = []
            deadline = loop.time() + self.policy.timeout_s
            while len(got) < needed and (left := deadline - loop.time()) > 0:
                for frame in self.parser.feed(await self.transport.read(left)):
                    if self.protocol.matches(request, frame):
                        got.append(self.protocol.annotate(request, frame))
                    else:
                        self.counters["unmatched_frames"] += 1
            if len(got) >= needed:
                return got
            self.counters["timeouts"] += 1
        tries = self.policy.retries + 1
        raise BmsTimeoutError(
            f"{self.transport.describe()}: no answer to {request[:8].hex()}… after {tries} tries"
        )

    async def run(self, requests: Sequence[bytes]) -> list[Frame]:
        frames: list[Frame] = []
        for request in requests:
            frames += await self.exchange(request, frames)
        return frames

    async def poll(self) -> Telemetry:
        """One full status, time-stamped when its last frame arrived."""
        frames = await self.run(self.protocol.status_requests())
        try:
            sample = self.protocol.decode_status(frames)
        except DecodeError:
            self.counters["decode_errors"] += 1
            raise
        self.counters["samples"] += 1
        return replace(sample, timestamp=time.time()).with_power()

    def snapshot(self) -> dict[str, int]:
        total = Counter(self.counters)
        total.update(self.parser.counters)  # update keeps zero counts; "+" would drop them
        return dict(total)

"""The responder interface shared by every emulated board."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from smartbms.drivers.codecs.base import BoardProtocol, Frame
from smartbms.drivers.emulators.state import BoardState
from smartbms.drivers.registry import get_protocol


class Responder(ABC):
    protocol_name: ClassVar[str]
    #: Settings a fresh board starts with (smartbms units).
    default_settings: ClassVar[dict[str, float]] = {}

    def __init__(self) -> None:
        self.protocol: BoardProtocol = get_protocol(self.protocol_name)

    def new_state(self, state: BoardState) -> BoardState:
        for key, value in self.default_settings.items():
            state.settings.setdefault(key, value)
        return state

    @abstractmethod
    def respond(self, request: Frame, state: BoardState) -> list[bytes]:
        """The bytes the board sends back for ``request`` (none for requests it ignores)."""


def mv(volts: float | None) -> int:
    return round((volts or 0.0) * 1000)


def clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))

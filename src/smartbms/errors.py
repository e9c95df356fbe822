"""One exception tree for the whole package.

Each error also inherits the built-in exception with the same meaning, so callers
that know nothing of smartbms can still catch ``ValueError`` or ``TimeoutError``.
"""

from __future__ import annotations


class SmartBmsError(Exception):
    """Root of every error smartbms raises on purpose."""


class SettingsError(SmartBmsError, ValueError):
    """A setting is out of range, inconsistent with another, or unknown.

    ``problems`` holds one ``(field path, message)`` pair per fault so a UI can
    put each message next to its field.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))


class DecodeError(SmartBmsError, ValueError):
    """Bytes that are not a valid frame of the protocol."""


class StartByteError(DecodeError):
    """The frame does not begin with the protocol's start marker."""


class ChecksumError(DecodeError):
    """The frame's checksum does not match its contents."""


class LengthError(DecodeError):
    """The frame is truncated, too long, or its length field disagrees with its size."""


class TransportError(SmartBmsError, ConnectionError):
    """A link to a device or service was lost or could not be opened."""


class BmsTimeoutError(SmartBmsError, TimeoutError):
    """A device did not answer in time."""


class WriteRefusedError(SmartBmsError, ValueError):
    """A write to a board was refused before sending (out of the board's range) or failed read-back."""


class StorageError(SmartBmsError, OSError):
    """The event log or history store could not be read or written."""


class RequestRefusedError(SmartBmsError, ValueError):
    """A request to the BMS core (reset, wake, remote mode) cannot be honoured now."""

"""Turn captured frames typed on a command line into bytes."""

from __future__ import annotations

import re

from smartbms.errors import DecodeError

_SEPARATORS = re.compile(r"[\s:,\-]|0x", re.IGNORECASE)


def frame_bytes(text: str) -> bytes:
    """Hex with optional spaces, colons, commas or 0x prefixes; or an ASCII Pylontech frame.

    An ASCII frame starts with ``~``; its trailing carriage return may be written as
    ``\\r`` or left out, since a shell argument cannot easily carry one.
    """
    stripped = text.strip()
    if stripped.startswith("~"):
        body = stripped.removesuffix("\\r").rstrip("\r")
        return body.encode("ascii", "replace") + b"\r"
    cleaned = _SEPARATORS.sub("", stripped)
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        raise DecodeError(f"not a hex frame: {text[:40]!r}") from None

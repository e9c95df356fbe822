"""Errors of the estimation area, rooted in the package's exception tree."""

from __future__ import annotations

from smartbms.errors import SmartBmsError


class CellModelError(SmartBmsError, ValueError):
    """A cell model file is missing, malformed, or physically inconsistent."""


class TraceError(SmartBmsError, ValueError):
    """A recorded test trace (CSV) cannot be read; the message names the file and line."""


class CharacterizationError(SmartBmsError, ValueError):
    """Test data does not contain what a cell model needs (e.g. no full discharge, no pulses)."""


class MissingExtraError(SmartBmsError, ImportError):
    """An optional dependency (e.g. PyBaMM for ``validate``) is not installed."""

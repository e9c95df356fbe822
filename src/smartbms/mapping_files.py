"""Read a TOML or YAML file that holds one mapping (settings files, simulator scenarios)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUFFIXES = (".toml", ".yaml", ".yml")


class MappingFileError(ValueError):
    """The file cannot be read, has another suffix, does not parse, or is not a mapping."""


def read_mapping(path: Path) -> dict[str, Any]:
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise MappingFileError(f"the file must end in .toml, .yaml or .yml (got {path.name})")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if suffix == ".toml":
            import tomllib

            data: Any = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception as exc:  # tomllib.TOMLDecodeError, yaml.YAMLError: both mean "does not parse"
        raise MappingFileError(f"cannot parse {path}: {exc}") from None
    if not isinstance(data, dict):
        raise MappingFileError(f"{path} must hold a mapping of sections")
    return data

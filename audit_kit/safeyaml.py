"""YAML loading for untrusted files: size-capped, no aliases (so no 'billion laughs'), plain data only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from audit_kit.errors import InputError

MAX_YAML_BYTES = 5 * 1024 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors and aliases outright.

    Nothing in audit-kit's YAML needs them, and refusing them closes the alias-expansion bomb.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.YAMLError(f"aliases are not allowed (line {event.start_mark.line + 1})")
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise yaml.YAMLError(f"anchors are not allowed (line {event.start_mark.line + 1})")
        return super().compose_node(parent, index)


def load_yaml_text(text: str, source: str = "<string>") -> Any:
    """Parse YAML text safely; errors name the source and line."""
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - _NoAliasLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from None


def load_yaml_file(path: Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """Read and parse a YAML file, refusing files over `max_bytes` and any alias or anchor."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if size > max_bytes:
        raise InputError(f"{path}: file is {size:,} bytes; YAML inputs are limited to {max_bytes:,} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_yaml_text(text, str(path))

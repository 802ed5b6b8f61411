"""YAML loading for untrusted files: size-capped, no aliases (so no 'billion laughs'), bounded nesting,
plain data only, and a value that merely looks like a date but is not one (2026-13-45) kept as text so
the reader that expects a date can name the key and say what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from audit_kit.errors import InputError

MAX_YAML_BYTES = 5 * 1024 * 1024
MAX_YAML_DEPTH = 64  # far deeper than any catalogue, questionnaire or mapping; shallower than Python's stack
# Parsing is pure Python (~40 µs a node): a node budget bounds the time a file can take, as the byte cap
# bounds its size. A questionnaire has a few hundred nodes, the largest imported catalogue ~20,000.
MAX_YAML_NODES = 100_000


class _NoAliasLoader(yaml.SafeLoader):
    """A SafeLoader that refuses anchors, aliases and deep nesting outright.

    Nothing in audit-kit's YAML needs them: refusing aliases closes the alias-expansion bomb, and the
    depth limit turns a nesting bomb into a clear error instead of a RecursionError.
    """

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError(f"aliases are not allowed (line {event.start_mark.line + 1})")
        if getattr(event, "anchor", None) is not None:
            raise yaml.YAMLError(f"anchors are not allowed (line {event.start_mark.line + 1})")
        self._depth += 1
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise yaml.YAMLError(f"more than {MAX_YAML_NODES:,} values (line {event.start_mark.line + 1}); "
                                 "too large for an audit-kit input")
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.YAMLError(
                    f"nested more than {MAX_YAML_DEPTH} levels deep (line {event.start_mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:  # looks like a date, is not one: the reader names the key and what it expected
            return self.construct_scalar(node)


_NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", _NoAliasLoader.construct_yaml_timestamp)


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

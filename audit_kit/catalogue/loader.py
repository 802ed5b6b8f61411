"""Find, load and validate control catalogues (`checklists/*.yaml` or any file path)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from audit_kit.catalogue.models import Catalogue
from audit_kit.errors import ConfigError, InputError
from audit_kit.resources import checklists_dir
from audit_kit.safeyaml import load_yaml_file

_CACHE: dict[tuple[str, int, int], Catalogue] = {}


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _control_id(data: Any, loc: tuple[int | str, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "controls" and isinstance(loc[1], int) and isinstance(data, dict):
        controls = data.get("controls")
        if isinstance(controls, list) and loc[1] < len(controls) and isinstance(controls[loc[1]], dict):
            cid = controls[loc[1]].get("id")
            return str(cid) if cid is not None else None
    return None


def validation_messages(exc: ValidationError, data: Any) -> list[str]:
    """One line per pydantic error: key path, control id when known, and what was expected."""
    lines = []
    for err in exc.errors():
        # Drop pydantic's internal tags (e.g. 'function-after[...]') from the location.
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        path = _key_path(loc) or "(top level)"
        cid = _control_id(data, loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        lines.append(f"{path}{f' ({cid})' if cid else ''}: {msg}")
    return lines


def parse_catalogue(data: Any, name: str) -> Catalogue:
    """Validate already-parsed catalogue data; ConfigError lists every problem with its key path."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: a catalogue must be a YAML mapping with id, title, version, source, controls"
        )
    try:
        return Catalogue.model_validate(data)
    except ValidationError as exc:
        lines = validation_messages(exc, data)
        raise ConfigError(f"{name}: {len(lines)} problem(s) in catalogue:\n  " + "\n  ".join(lines)) from None


def load_catalogue_file(path: Path) -> Catalogue:
    """Load and validate one catalogue file (cached by path, size and mtime)."""
    try:
        st = path.stat()
    except OSError:
        raise ConfigError(f"{path}: catalogue file not found") from None
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _CACHE:
        try:
            data = load_yaml_file(path)
        except InputError as exc:  # a catalogue is configuration: report it as such (same exit code)
            raise ConfigError(exc.message, hint=exc.hint) from None
        _CACHE[key] = parse_catalogue(data, str(path))
    return _CACHE[key]


@dataclass(frozen=True)
class CatalogueLibrary:
    """Where catalogues are found by id: the shipped `checklists/`, then `extra_dirs` in order (e.g. a
    directory of imported OSCAL catalogues, which the application layer takes from
    `$AUDIT_KIT_CHECKLISTS`). A path ending .yaml/.yml, or containing a slash, is loaded as a file."""

    extra_dirs: tuple[Path, ...] = ()

    @property
    def dirs(self) -> list[Path]:
        return [d for d in (checklists_dir(), *self.extra_dirs) if d.is_dir()]

    def _files(self) -> list[Path]:
        return [p for d in self.dirs for p in sorted(d.glob("*.yaml"))]

    def stamp(self) -> str:
        """What the library's files look like now (path, size, modification time): equal stamps, equal
        catalogues (what a publication that keeps its scores compares)."""
        parts = []
        for path in self._files():
            st = path.stat()
            parts.append(f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}")
        return "|".join(parts)

    def list(self) -> list[Catalogue]:
        """Every catalogue found by id, sorted by id."""
        return sorted((load_catalogue_file(p) for p in self._files()), key=lambda c: c.id)

    def load(self, id_or_path: str | Path) -> Catalogue:
        """A catalogue by id (e.g. 'accessing-organisation') or a catalogue file by path."""
        text = str(id_or_path)
        if isinstance(id_or_path, Path) or text.endswith((".yaml", ".yml")) or "/" in text:
            return load_catalogue_file(Path(text))
        for d in self.dirs:
            candidate = d / f"{text}.yaml"
            if candidate.exists():
                cat = load_catalogue_file(candidate)
                if cat.id == text:
                    return cat
        for p in self._files():
            cat = load_catalogue_file(p)
            if cat.id == text:
                return cat
        known = ", ".join(c.id for c in self.list()) or "none"
        raise ConfigError(
            f"unknown checklist {text!r}",
            hint=f"known checklists: {known}; put its file in a directory named by AUDIT_KIT_CHECKLISTS",
        )


SHIPPED = CatalogueLibrary()


def list_catalogues() -> list[Catalogue]:
    """The shipped catalogues, sorted by id (a run's own library: `RunContext.catalogues`)."""
    return SHIPPED.list()


def load_catalogue(id_or_path: str | Path) -> Catalogue:
    """A shipped catalogue by id, or a catalogue file by path (a run's own library: `RunContext.catalogues`)."""
    return SHIPPED.load(id_or_path)

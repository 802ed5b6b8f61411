"""Measure maps: which log measures test the controls of a catalogue that does not say so itself.

An imported catalogue (NIST SP 800-53 from OSCAL, a body's own list) arrives without `log_checks`,
so nothing in it is tested against the logs. A measure map is a small YAML file that says, per
control, which log checks apply (and, optionally, which of them test the answer and with what
thresholds); `apply_measure_map` writes that into the catalogue's controls, where corroboration reads
it like any shipped control's entry:

```yaml
title: NIST SP 800-53 rev5 → audit-kit log measures
controls:
  IA-2(1):                      # control id in the catalogue (or its OSCAL id, e.g. ia-2.1)
    log_checks: [mfa_share, weak_auth]
    thresholds: {mfa_share: {yes_share: 0.99}}     # optional, per measure
    note: why this measure fits this control       # optional, kept in the map only
```

Shipped maps live in `checklists/measure-maps/` and are found by name (`nist-800-53-r5`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from audit_kit.catalogue.loader import parse_catalogue, validation_messages
from audit_kit.catalogue.models import Catalogue, Control
from audit_kit.errors import ConfigError, InputError
from audit_kit.resources import checklists_dir
from audit_kit.safeyaml import load_yaml_file

MAPS_DIR = "measure-maps"


class MappedControl(BaseModel):
    """What a measure map says about one control."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_checks: list[str] = Field(min_length=1)
    measures: list[str] | None = None
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)
    note: str = ""


class MeasureMap(BaseModel):
    """A measure map file: a title and the controls it gives log checks to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1)
    description: str = ""
    controls: dict[str, MappedControl] = Field(min_length=1)


@dataclass
class MapResult:
    """The catalogue with the map applied, and what the map did to it."""

    catalogue: Catalogue
    source: str
    mapped: list[str] = field(default_factory=list)  # controls given log checks by the map
    tested: list[str] = field(default_factory=list)  # … of which the logs can test the answer
    absent: list[str] = field(default_factory=list)  # map entries naming no control of the catalogue

    def summary(self) -> str:
        text = (f"measure map {self.source}: {len(self.mapped)} control(s) given log checks, "
                f"{len(self.tested)} of them tested by the logs ({', '.join(self.tested) or 'none'})")
        untested = [c for c in self.mapped if c not in self.tested]
        if untested:
            text += ("; given log checks but still not log-testable (detectors only, or no test for the answer "
                     f"type): {', '.join(untested)}")
        if self.absent:
            text += f"; map entries for controls not in this catalogue: {', '.join(self.absent)}"
        return text


def shipped_maps() -> dict[str, Path]:
    """The shipped measure maps by name (file stem)."""
    d = checklists_dir() / MAPS_DIR
    return {p.stem: p for p in sorted(d.glob("*.yaml"))} if d.is_dir() else {}


def find_measure_map(name_or_path: str) -> Path:
    """A shipped map by name, or a map file by path (InputError naming the known maps otherwise)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = shipped_maps()
    if name_or_path in shipped:
        return shipped[name_or_path]
    raise InputError(f"{name_or_path}: no such measure map file",
                     hint=f"give a file path or a shipped map: {', '.join(shipped) or 'none'}")


def load_measure_map(path: Path) -> MeasureMap:
    """Load and validate a measure map; ConfigError names the file and the key of each problem."""
    try:
        data: Any = load_yaml_file(path)
    except InputError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a measure map must be a YAML mapping with title and controls")
    try:
        return MeasureMap.model_validate(data)
    except ValidationError as exc:
        lines = validation_messages(exc, data)
        raise ConfigError(f"{path}: {len(lines)} problem(s) in measure map:\n  " + "\n  ".join(lines)) from None


def _index(catalogue: Catalogue) -> dict[str, str]:
    """Every name a map may use for a control (its id, its OSCAL id), folded to lower case -> control id."""
    names: dict[str, str] = {}
    for c in catalogue.controls:
        for alias in c.mappings.get("source", []):
            names.setdefault(alias.lower(), c.id)
    for c in catalogue.controls:
        names[c.id.lower()] = c.id
    return names


def apply_measure_map(catalogue: Catalogue, mmap: MeasureMap, source: str) -> MapResult:
    """The catalogue with the map's log checks (and corroboration settings) added to its controls.

    A map entry whose checks do not fit the control (an unknown check, a measure with no test for its
    answer type named in `measures`, an unknown threshold) is a ConfigError naming the map file and key.
    Entries naming controls the catalogue lacks are listed in `absent` (a map may serve several
    baselines of one framework), never silently dropped.
    """
    names = _index(catalogue)
    by_control: dict[str, tuple[str, MappedControl]] = {}
    result = MapResult(catalogue, source)
    for key, entry in mmap.controls.items():
        cid = names.get(key.lower())
        if cid is None:
            result.absent.append(key)
        elif cid in by_control:
            raise ConfigError(f"{source}: key controls.{key}: names control {cid} again "
                              f"(already given by controls.{by_control[cid][0]})")
        else:
            by_control[cid] = (key, entry)
    controls: list[dict[str, Any]] = []
    for c in catalogue.controls:
        data = c.model_dump(mode="json", exclude_none=True)
        if c.id in by_control:
            key, entry = by_control[c.id]
            data["log_checks"] = list(dict.fromkeys([*c.log_checks, *entry.log_checks]))
            if entry.measures is not None or entry.thresholds:
                corro: dict[str, Any] = {"thresholds": entry.thresholds}
                if entry.measures is not None:
                    corro["measures"] = entry.measures
                data["corroboration"] = corro
            try:
                mapped = Control.model_validate(data)
            except ValidationError as exc:
                where = f"{source}: key controls.{key}" + ("" if key == c.id else f" (control {c.id})")
                lines = [line.removeprefix("(top level): ") for line in validation_messages(exc, data)]
                raise ConfigError(f"{where}: " + "; ".join(lines)) from None
            result.mapped.append(c.id)
            if mapped.tested_by():
                result.tested.append(c.id)
        controls.append(data)
    doc = catalogue.model_dump(mode="json", exclude_none=True) | {"controls": controls}
    result.catalogue = parse_catalogue(doc, source)
    return result

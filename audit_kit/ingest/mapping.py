"""Column mapping files: read any CSV or JSON log by saying which source field is which canonical one.

Example (`mapping.yaml`)::

    columns:            # canonical field: source column (JSON: a dotted path into each object)
      timestamp: EventTime
      user_id: Operator
      org_id: Site
      record_id: ChildRef
      action: Verb
      outcome: Result
    timestamp_format: "%d/%m/%Y %H:%M:%S"   # strptime format; omit for ISO 8601
    timezone: Europe/London                 # zone of naive timestamps (no Z or offset)
    delimiter: ";"                          # CSV separator; default comma (tab for .tsv)
    values:                                 # value maps applied before validation
      action: {READ: view, LIST: search, DL: export}
      outcome: {OK: success, DENY: denied}
    constants:                              # fills a field wherever the log gives no value
      org_id: LA001
    types:                                  # organisations.csv: the owner's own type words
      police: police_force
      academy: school
    roles:                                  # users.csv / involvements.csv: role words to the ones config uses
      Social Worker: caseworker

`values` and `constants` apply to every events file, the audit-log presets (FHIR, OCSF, CloudTrail)
included; `columns`, `delimiter`, `timestamp_format` and `timezone` apply to CSV, JSON lines and
Parquet files only (a preset knows its format's fields and times).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from audit_kit.errors import ConfigError
from audit_kit.safeyaml import load_yaml_file
from audit_kit.schema import EVENT_INPUT_FIELDS


class ColumnMapping(BaseModel):
    """How a source log's fields map to the canonical event fields (validated, unknown keys refused)."""

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = {}
    delimiter: str | None = None  # CSV field separator; default by extension (.tsv tab, else comma)
    timestamp_format: str | None = None
    timezone: str | None = None
    values: dict[str, dict[str, str]] = {}
    constants: dict[str, str] = {}
    types: dict[str, str] = {}  # organisation type words (organisations.csv) -> the words audit-kit knows
    roles: dict[str, str] = {}  # role words (users.csv, involvements.csv) -> the words the configuration uses

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str | None) -> str | None:
        if v is not None and len(v) != 1:
            raise ValueError(f"the delimiter must be one character (e.g. ';' or a tab), not {v!r}")
        return v

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone such as Europe/London or UTC") from None
        return v

    @field_validator("columns", "values", "constants")
    @classmethod
    def _canonical_keys(cls, v: dict[str, object]) -> dict[str, object]:
        unknown = sorted(set(v) - set(EVENT_INPUT_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown canonical field(s) {', '.join(unknown)}; expected some of {', '.join(EVENT_INPUT_FIELDS)}"
            )
        return v

    def source_for(self, field: str) -> str:
        """The source column (or JSON path) holding `field`; the field's own name by default."""
        return self.columns.get(field, field)

    def with_org(self, org_id: str | None) -> ColumnMapping:
        """This mapping with `org_id` as the organisation of every event that names none, after the
        record's own and the mapping's constant (the `--org` option)."""
        if not org_id or "org_id" in self.constants:
            return self
        return self.model_copy(update={"constants": {**self.constants, "org_id": org_id}})

    def type_word(self, word: str) -> str:
        """An organisation type in the owner's words as audit-kit's word (unchanged when not mapped)."""
        return _lookup(self.types, word)

    def role_word(self, word: str) -> str:
        return _lookup(self.roles, word)


def _lookup(table: dict[str, str], word: str) -> str:
    if word in table:
        return table[word]
    folded = {k.strip().lower(): v for k, v in table.items()}
    return folded.get(word.strip().lower(), word)


IDENTITY = ColumnMapping()


def load_mapping(path: Path) -> ColumnMapping:
    """Load and validate a mapping file; errors name the file and the key path."""
    data = load_yaml_file(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a mapping file must be a YAML mapping with keys columns, values, …")
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{path}: key {key}: {first['msg']}") from None

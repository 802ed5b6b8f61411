"""Shared helpers for the format tests (a uniquely named module: test dirs have no __init__.py)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pyarrow as pa

DATA = Path(__file__).parent / "data"


def rows(table: pa.Table) -> list[dict[str, Any]]:
    """Staged rows without `_raw`, and without the null fields (easier to compare)."""
    out = []
    for r in table.to_pylist():
        r.pop("_raw")
        out.append({k: v for k, v in r.items() if v is not None})
    return out

OSCAL_DIR = DATA / "oscal"
OSCAL_SCHEMA = OSCAL_DIR / "oscal_complete_schema-1.2.3.json"
OSCAL_SCHEMA_SHA256 = "384324105c7a817af0f65b120a963146caa0e0d55d969cf0daf60e063b87a206"


def _python_patterns(node: Any) -> Any:
    """Rewrite the Unicode classes Python's `re` lacks (\\p{L}, \\p{N}) in every `pattern`."""
    if isinstance(node, dict):
        return {
            k: (v.replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d") if k == "pattern" and isinstance(v, str)
                else _python_patterns(v))
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


@functools.cache
def oscal_ar_validator() -> Any:
    """A jsonschema validator for OSCAL assessment-results documents (NIST's schema, AR root only)."""
    import json

    import jsonschema

    schema = _python_patterns(json.loads(OSCAL_SCHEMA.read_text(encoding="utf-8")))
    (branch,) = [b for b in schema.pop("oneOf") if "assessment-results" in b.get("required", [])]
    schema.update(branch)  # the root becomes the assessment-results branch, so errors point inside it
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    return validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)


def schema_errors(doc: Any) -> list[str]:
    """Every schema violation in `doc`, as 'path: message' lines (empty when valid)."""
    errors = sorted(oscal_ar_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message[:300]}" for e in errors]

"""Derive the corpus's OCSF Parquet file from real OCSF JSON samples in the corpus.

No real OCSF Parquet sample could be read as text from the stored index (the Amazon Security Lake
samples in aws-samples/amazon-security-lake-ocsf-validation are binary Parquet), so this writes one
from the corpus's own OCSF JSON documents, the way Amazon Security Lake stores OCSF: one row per
event, OCSF objects kept as nested Parquet structs and arrays as lists (nothing flattened into
strings, no field renamed, no value converted; types are what pyarrow infers from the JSON).

The output is named *.DERIVED.parquet and is listed in SOURCES.md as derived, not as a source file.
Run from the repository root:  .venv/bin/python tests/formats/data/real/tools/derive_ocsf_parquet.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
REAL = HERE.parent
SOURCES = [
    REAL / "ocsf" / "aws-security-lake-ocsf-validation" / "tests_create_pod.test.json",
    REAL / "ocsf" / "aws-security-lake-ocsf-validation" / "tests_delete_pod.test.json",
]
OUT = REAL / "ocsf" / "derived-parquet" / "aws-security-lake-ocsf-validation_eks_6003.DERIVED.parquet"


def main() -> None:
    events = [json.loads(p.read_text(encoding="utf-8")) for p in SOURCES]
    table = pa.Table.from_pylist(events)
    table = table.replace_schema_metadata(
        {
            "audit_kit.derived_from": json.dumps([p.relative_to(REAL).as_posix() for p in SOURCES]),
            "audit_kit.note": "derived test fixture: real OCSF JSON samples written as nested Parquet",
        }
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    # fixed writer settings so re-running gives the same bytes for the same inputs
    pq.write_table(table, OUT, compression="zstd", use_dictionary=False, write_statistics=False)
    print(OUT.relative_to(REAL), table.num_rows, "rows")
    for field in table.schema:
        print(f"  {field.name}: {field.type}"[:160])


if __name__ == "__main__":
    main()

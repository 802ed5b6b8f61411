"""The store layer: the workspace (one DuckDB file per review) and one repository module per aggregate.

`workspace.py` opens a workspace and runs its migrations (`migrations.py`); `ingest.py`, `findings.py`,
`assessments.py`, `questionnaires.py`, `scans.py` and `web.py` (people-side, in `people.sqlite`) each own their tables' DDL and queries and return
typed rows. Nothing above this layer writes SQL against these tables.
"""

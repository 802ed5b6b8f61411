"""The layers of the package, lowest first: each may import only from itself and the layers before it.

`tests/test_architecture.py` walks every import of every module (those inside functions included)
and fails on an import from a later layer or on an import loop between modules. Adding a package
means giving it a place here.

| layer | what it holds |
| --- | --- |
| foundation | errors and exit codes, progress, the dataset schema, packaged resources, safe YAML, the configuration model, the shared vocabulary over events (`vocab`) |
| models | typed data that crosses layers (findings, assessments, questionnaires) |
| store | the workspace and one repository per aggregate; schema migrations |
| engine | DuckDB and Spark behind one protocol for Ibis expressions |
| domain | catalogue, questionnaires, scoring, ingest, detectors, graph, assessment, OSCAL, synthetic worlds, reports, scan parts, the reviewer's workflow |
| app | the run context and the jobs that cross layers (pipeline, scan) |
| edges | the web app and the command line |
"""

from __future__ import annotations

# (layer name, packages or modules in it, in their own order of dependence).
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", (
        "audit_kit", "audit_kit.errors", "audit_kit.progress", "audit_kit.schema", "audit_kit.resources",
        "audit_kit.safeyaml", "audit_kit.safetext", "audit_kit.config", "audit_kit.vocab", "audit_kit.layers",
    )),
    ("models", ("audit_kit.models",)),
    ("store", ("audit_kit.store",)),
    ("engine", ("audit_kit.engine",)),
    ("domain", (
        "audit_kit.catalogue", "audit_kit.questionnaires", "audit_kit.scoring", "audit_kit.ingest",
        "audit_kit.detectors", "audit_kit.graph", "audit_kit.assessment", "audit_kit.oscal", "audit_kit.synth",
        "audit_kit.report", "audit_kit.scan", "audit_kit.review",
    )),
    ("app", ("audit_kit.app",)),
    ("edges", ("audit_kit.web", "audit_kit.cli", "audit_kit.__main__")),
)

# Every unit in one total order: a unit may import only units at or before its own position.
ORDER: tuple[str, ...] = tuple(unit for _, units in LAYERS for unit in units)


def unit_of(module: str) -> str:
    """The layer unit a module belongs to: the longest entry of ORDER that is it or a package above it."""
    best = ""
    for unit in ORDER:
        if (module == unit or module.startswith(unit + ".")) and len(unit) > len(best):
            best = unit
    if not best:
        raise KeyError(f"{module} has no place in audit_kit.layers.LAYERS")
    return best


def rank(module: str) -> int:
    """Position of a module's unit in the total order (lower is more basic)."""
    return ORDER.index(unit_of(module))

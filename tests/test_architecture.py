"""The package's shape: no import from a later layer (audit_kit/layers.py), no import loop, and only the
edges read the environment or look for a configuration file."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

import audit_kit
from audit_kit.layers import ORDER, rank, unit_of

ROOT = Path(audit_kit.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _type_only_lines(tree: ast.Module) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks (imports for annotations, never run)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str, path: Path, runtime_only: bool = False) -> list[tuple[str, int]]:
    """(module imported, line) for every audit_kit import in the file, inside functions too. `from a.b
    import c` imports a.b, and a.b.c as well when c is a module. `runtime_only` leaves out imports
    made only for type checking."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = _type_only_lines(tree) if runtime_only else set()
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("audit_kit")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("audit_kit"):
                continue
            found.append((base, node.lineno))
            found += [(f"{base}.{a.name}", node.lineno) for a in node.names if f"{base}.{a.name}" in MODULES]
    return found


def _graph(runtime_only: bool = False) -> nx.DiGraph:
    g = nx.DiGraph()
    for name, path in MODULES.items():
        g.add_node(name)
        for target, line in _imports(name, path, runtime_only):
            if target in MODULES and target != name:
                g.add_edge(name, target, line=line)
    return g


def test_every_module_has_a_layer() -> None:
    missing = []
    for name in MODULES:
        try:
            unit_of(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"give these a place in audit_kit/layers.py: {missing}"


def test_no_import_from_a_later_layer() -> None:
    upward = []
    for a, b, data in _graph().edges(data=True):
        if rank(b) > rank(a):
            upward.append(f"{MODULES[a].relative_to(ROOT.parent)}:{data['line']} imports {b} "
                          f"({unit_of(a)} may not use {unit_of(b)})")
    assert not upward, "\n".join(upward)


def test_no_import_loops() -> None:
    # Type-only imports (annotations) run nowhere, so they cannot make a loop; they still count for layers.
    g = _graph(runtime_only=True)
    # A package's __init__ re-exporting its own modules is the one allowed loop (Python runs the
    # __init__ first): drop edges from a module to the __init__ of a package that contains it.
    for a, b in list(g.edges()):
        if a.startswith(b + "."):
            g.remove_edge(a, b)
    loops = [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    assert not loops, f"import loops: {loops}"


# Only these read environment variables or look for files by convention (audit-kit.yaml in the
# working directory): everything below them takes what it needs as parameters.
ENVIRONMENT_READERS = {
    "audit_kit.app.context",  # the run context: every AUDIT_KIT_* variable
    "audit_kit.cli",  # --debug and AUDIT_KIT_DEBUG, before any context exists
    "audit_kit.engine.spark",  # JAVA_HOME: the JVM's own contract, which pyspark reads too
}


@pytest.mark.parametrize("needle", ["os.environ", "os.getenv", "Path.cwd()", "load_config("])
def test_only_the_edges_read_the_environment(needle: str) -> None:
    offenders = [name for name, path in MODULES.items()
                 if needle in path.read_text(encoding="utf-8") and name not in ENVIRONMENT_READERS]
    assert not offenders, f"{needle} outside the run context: {offenders}"


def test_the_layer_list_names_only_real_modules() -> None:
    assert all(unit in MODULES for unit in ORDER), [u for u in ORDER if u not in MODULES]


LONG_MODULE = 400  # lines; a longer module says why at its top (docs/design.md)


def test_a_long_module_says_why_it_is_long() -> None:
    unexplained = []
    for name, path in MODULES.items():
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE and "runs past 400 lines" not in text[:4000]:
            unexplained.append(f"{name} ({text.count(chr(10))} lines)")
    assert not unexplained, f"modules over {LONG_MODULE} lines without a reason at their top: {unexplained}"

"""`audit-kit graph` through the real entry point: every kind and format, and every user-facing error."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest
from graph_world import SINCE, UNTIL, VIP

from audit_kit.cli import run
from audit_kit.store.workspace import Workspace

WINDOW = ["--since", SINCE, "--until", UNTIL]


@pytest.mark.parametrize(
    ("kind", "ident", "suffix"),
    [("orgs", None, "svg"), ("org", "LA001", "graphml"), ("user", "POL-U1", "json"), ("record", VIP, "gexf"),
     ("orgs", None, "pdf"), ("record", VIP, "png")],
)
def test_each_kind_writes_its_file(world: Path, tmp_path: Path, kind: str, ident: str | None, suffix: str) -> None:
    out = tmp_path / "out" / f"graph.{suffix}"
    args = ["graph", "--workspace", str(world), "--kind", kind, *WINDOW, "-o", str(out), "--quiet"]
    if ident:
        args += ["--id", ident]
    assert run(args) == 0
    data = out.read_bytes()
    if suffix == "svg":
        ET.fromstring(data)
    elif suffix == "graphml":
        assert nx.read_graphml(out).number_of_nodes() > 0
    elif suffix == "gexf":
        assert nx.read_gexf(out).number_of_nodes() > 0
    elif suffix == "json":
        assert json.loads(data)["kind"] == kind
    elif suffix == "pdf":
        assert data.startswith(b"%PDF")
    else:
        assert data.startswith(b"\x89PNG")
    assert VIP.encode() not in data or suffix in ("pdf", "png")


def test_svg_to_stdout_and_record_by_pseudonym(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Workspace.open(world) as ws:
        pseud = ws.pseudonymise(VIP)
    assert run(["graph", "-w", str(world), "--kind", "record", "--id", pseud, *WINDOW, "-f", "svg"]) == 0
    out = capsys.readouterr().out
    assert ET.fromstring(out).tag.endswith("svg") and pseud in out and VIP not in out


def test_max_nodes_summarises_the_picture(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "-w", str(world), "--kind", "user", "--id", "POL-U1", *WINDOW, "--max-nodes", "12"]) == 0
    svg = capsys.readouterr().out
    nodes = ET.fromstring(svg).find("{http://www.w3.org/2000/svg}g[@class='nodes']")
    assert nodes is not None and len(nodes) <= 12
    assert "+" in svg and "folded into" in svg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "org"], "--kind org needs --id"),
        (["--kind", "user"], "--kind user needs --id"),
        (["--kind", "orgs", "--id", "LA001"], "--id is not used with --kind orgs"),
        (["--kind", "org", "--id", "NOPE"], "no such organisation"),
        (["--kind", "user", "--id", "NOPE"], "no such user"),
        (["--kind", "record", "--id", "R-ffffffffffffffff"], "no child's record"),
        (["--since", "yesterday"], "not a date"),
        (["--since", "2026-03-20", "--until", "2026-03-10"], "is not before"),
        (["-f", "bmp"], "not a graph format"),
        (["-f", "png"], "give -o FILE"),
        (["--kind", "nonsense"], "nonsense"),
    ],
)
def test_user_errors_exit_2_with_a_message(
    world: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert run(["graph", "-w", str(world), *args]) == 2
    assert message in capsys.readouterr().err


def test_record_without_id_suggests_the_most_read_records(world: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "-w", str(world), "--kind", "record", *WINDOW]) == 2
    err = capsys.readouterr().err
    assert "--kind record needs --id" in err and "most-read this window: R-" in err
    assert not re.search(r"\bC\d{3}\b", err)


def test_missing_workspace_and_empty_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "-w", str(tmp_path / "none")]) == 2
    assert "no audit-kit workspace" in capsys.readouterr().err
    Workspace.open(tmp_path / "empty", create=True).close()
    assert run(["graph", "-w", str(tmp_path / "empty")]) == 2
    assert "holds no events" in capsys.readouterr().err


def test_unwritable_output_is_an_input_error(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run(["graph", "-w", str(world), *WINDOW, "-o", str(blocker / "g.svg")]) == 2
    assert "cannot write the graph" in capsys.readouterr().err


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["graph", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: audit-kit graph" in out and "--kind" in out

"""Every pack at once: data read once for all organisations, the cheap record-id guard, the font
cache, and a pack that fails without losing the others."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from report_world import RAW_LEAK

from audit_kit.cli import run
from audit_kit.config import AuditConfig
from audit_kit.report import api, fonts, pack_filename, render_all_packs
from audit_kit.report.figures import EventSlice, org_figures, pack_fits, pack_window
from audit_kit.report.models import Audience
from audit_kit.report.render import html_to_pdf
from audit_kit.report.safety import guard_record_ids, record_id_index
from audit_kit.store import findings as sources
from audit_kit.store.workspace import Workspace

CFG = AuditConfig()  # the defaults: graphs over the window `detect` judges by default

ORGS = ("LA001", "GP002", "SC003", "PF004")


def test_grouped_pack_data_equals_each_organisations_own(ws: Workspace) -> None:
    counts = sources.finding_counts_by_org(ws)
    top = sources.top_findings_by_org(ws, 2)
    assert set(counts) == {"LA001", "GP002", "SC003"}  # PF004 has no findings
    for org in ORGS:
        assert counts.get(org, sources.EMPTY_COUNTS) == sources.finding_counts(ws, org)
        assert top.get(org, []) == sources.top_findings(ws, 2, org)
    assert top["GP002"][0].summary.startswith("User U001 viewed 14 records")


def test_record_id_index_finds_ids_only_the_events_know(ws: Workspace) -> None:
    assert record_id_index(ws).event_only == frozenset()  # every event's record is a known subject
    ws.con.execute(
        "INSERT INTO events (event_id, timestamp, local_time, user_id, org_id, record_id, action, outcome) "
        "VALUES ('E-x', ?, ?, 'U001', 'GP002', 'ORPHAN99', 'view', 'success')",
        [datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 9)],
    )
    index = record_id_index(ws)
    assert index.event_only == frozenset({"ORPHAN99"}) and "events" not in index.tables
    text = f"records ORPHAN99 and {RAW_LEAK} and U001 and 2026-03-03"
    for idx in (index, record_id_index(ws, max_event_only=0), None):  # index, too many to hold, no index
        (out,), found = guard_record_ids(ws, [text], True, idx)
        assert found == 2 and "ORPHAN99" not in out and RAW_LEAK not in out
        assert ws.pseudonymise("ORPHAN99") in out and "U001" in out and "2026-03-03" in out
    assert "events" in record_id_index(ws, max_event_only=0).tables


def test_graphs_drawn_over_an_event_slice_are_the_graphs_drawn_over_every_event(ws: Workspace) -> None:
    window = pack_window(ws, CFG)
    assert window is not None
    events = EventSlice(ws)
    try:
        events.load(["GP002", "SC003", "LA001"], window)
        assert events.workspace.count("events") < ws.count("events")
        for org in ("GP002", "SC003", "LA001"):
            full = org_figures(ws, org, Audience.RESTRICTED, CFG)
            sliced = org_figures(ws, org, Audience.RESTRICTED, CFG, window, events)
            # as the packs draw them: every body's community fit read once (pack_fits), findings once a batch
            shared = org_figures(ws, org, Audience.RESTRICTED, CFG, window, events, pack_fits(ws, CFG, window))
            assert full[0].svg and full == sliced == shared, org
        # an organisation outside the batch is drawn over every event, not over the slice
        assert org_figures(ws, "PF004", Audience.RESTRICTED, CFG, window, events) == org_figures(
            ws, "PF004", Audience.RESTRICTED, CFG
        )
    finally:
        events.close()
    assert not ws.has_table("events") or ws.count("events") > 0  # the stored table is untouched


def test_all_packs_match_single_packs(ws: Workspace, tmp_path: Path) -> None:
    """The grouped data path renders exactly what a single pack renders."""
    paths = render_all_packs(ws, tmp_path / "packs", workers=1, fmt="html", config=CFG)
    assert [p.name for p in paths] == [pack_filename(o, "html") for o in sorted(ORGS)]
    for org in ORGS:
        single = api.org_pack_html(ws, org, config=CFG)
        assert (tmp_path / "packs" / pack_filename(org, "html")).read_text() == single
        assert RAW_LEAK not in single


def test_one_failing_pack_names_its_organisation_and_keeps_the_others(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = api.build_pack

    def failing(facts):
        if facts.org.org_id == "SC003":
            raise RuntimeError("drawing broke")
        return real(facts)

    monkeypatch.setattr(api, "build_pack", failing)
    with pytest.raises(api.PacksFailed) as err:
        render_all_packs(ws, tmp_path / "packs", workers=1, fmt="html", config=CFG)
    exc = err.value
    assert [f.org_id for f in exc.failures] == ["SC003"] and exc.exit_code == 3
    assert "SC003: RuntimeError: drawing broke" in str(exc) and "the other 3 were written" in str(exc)
    written = sorted(p.name for p in (tmp_path / "packs").iterdir())
    assert written == sorted(pack_filename(o, "html") for o in ("LA001", "GP002", "PF004"))
    assert [p.name for p in exc.written] == [pack_filename(o, "html") for o in ("GP002", "LA001", "PF004")]


def test_cli_pack_that_cannot_be_written_exits_2_and_the_workers_write_the_rest(
    stored_ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "packs"
    (out / pack_filename("GP002", "pdf")).mkdir(parents=True)  # a directory where GP002's file should go
    assert run(["report", "-w", str(stored_ws), "--all-orgs", "-o", str(out), "--workers", "2", "-q"]) == 2
    err = capsys.readouterr().err
    assert "1 of 4 DPO packs could not be rendered (GP002:" in err and "cannot write the report here" in err
    for org in ("LA001", "SC003", "PF004"):
        reader = PdfReader(out / pack_filename(org, "pdf"))
        assert "Scorecard" in reader.pages[1].extract_text()


def test_font_cache_is_installed_and_text_outside_the_repertoire_still_embeds(tmp_path: Path) -> None:
    from weasyprint.pdf.fonts import Font

    html = (
        "<html><head><style>body{font-family:'DejaVu Sans'} h1{font-family:'DejaVu Serif'}</style></head>"
        "<body><h1>Łódź — pack</h1><p>Zoë’s body · 12 × 3 → ĳ Ő ő</p><p><b>Bold words</b></p></body></html>"
    )
    first, second = tmp_path / "a.pdf", tmp_path / "b.pdf"
    html_to_pdf(html, first)
    html_to_pdf(html, second)
    assert fonts.enable() and Font._fonttools_subset is fonts._cached_subset
    for path in (first, second):
        text = re.sub(r"\s+", " ", PdfReader(path).pages[0].extract_text())
        assert "Łódź — pack" in text and "Zoë’s body · 12 × 3 → ĳ Ő ő" in text and "Bold words" in text
    assert _font_files(first) == _font_files(second)  # same text, same embedded subsets


def _font_files(path: Path) -> list[bytes]:
    out = []
    for page in PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            desc = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            out.append(desc["/FontFile2"].get_object().get_data())
    return sorted(out)


def test_graph_figures_are_laid_out_as_images_of_their_own_document(tmp_path: Path) -> None:
    from audit_kit.report.fetcher import AssetFetcher
    from audit_kit.report.render import figures_as_images
    from audit_kit.resources import templates_dir

    wide = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="960" height="400" viewBox="0 0 960 400">'
        '<title>Ties "between" bodies</title><text x="20" y="40" font-size="30">Node LA001 wide</text></svg>'
    )
    narrow = wide.replace('width="960"', 'width="300"').replace("wide", "narrow")
    html = (
        "<html><body><figure><h3>One</h3>"
        f'<div class="graph">{wide}</div></figure><figure><div class="graph">{narrow}</div></figure>'
        '<p>Inline chart kept: <svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg></p>'
        "</body></html>"
    )
    moved, images = figures_as_images(html)
    assert list(images) == ["audit-kit-figure:0.svg", "audit-kit-figure:1.svg"]
    assert images["audit-kit-figure:0.svg"] == wide.encode()
    assert '<img src="audit-kit-figure:0.svg" alt="Ties &quot;between&quot; bodies">' in moved
    assert '<img src="audit-kit-figure:1.svg" alt="Ties &quot;between&quot; bodies" class="narrow">' in moved
    assert moved.count("<svg") == 1  # only graph figures move; other inline SVG stays
    out = tmp_path / "fig.pdf"
    html_to_pdf(html, out)
    text = PdfReader(out).pages[0].extract_text()
    assert "Node LA001 wide" in text and "Node LA001 narrow" in text
    # a document cannot reach another document's figures, nor invent one
    with pytest.raises(ValueError, match="may not fetch"):
        AssetFetcher(templates_dir() / "assets").fetch("audit-kit-figure:0.svg")


def test_a_printed_graph_figure_leaves_out_its_tooltips_and_draws_the_same(tmp_path: Path) -> None:
    from audit_kit.report.render import figures_as_images

    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120"><title>Users of LA001</title>'
        '<g class="nodes"><g><circle cx="20" cy="20" r="6" fill="#f39c3d"/><title>U001 · risk medium</title></g>'
        '<g><rect x="40" y="10" width="9" height="9"/><title>LA001</title></g></g>'
        '<line x1="1" y1="1" x2="9" y2="9" stroke="#000"><title>U001 – Northshire</title></line>'
        '<text x="60" y="60" font-size="20">Label U001</text></svg>'
    )
    moved, images = figures_as_images(f'<html><body><div class="graph">{svg}</div></body></html>')
    printed = images["audit-kit-figure:0.svg"].decode()
    assert printed == (
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120"><title>Users of LA001</title>'
        '<g class="nodes"><circle cx="20" cy="20" r="6" fill="#f39c3d"/><rect x="40" y="10" width="9" height="9"/></g>'
        '<line x1="1" y1="1" x2="9" y2="9" stroke="#000"></line><text x="60" y="60" font-size="20">Label U001</text></svg>'
    )
    assert 'alt="Users of LA001"' in moved
    out = tmp_path / "fig.pdf"
    html_to_pdf(f'<html><body><div class="graph">{svg}</div></body></html>', out)
    assert "Label U001" in PdfReader(out).pages[0].extract_text()


def test_pack_batches_shrink_towards_the_end_so_no_worker_waits_long() -> None:
    from types import SimpleNamespace

    from audit_kit.report.api import MAX_BATCH_EVENTS, _batches

    tasks: list[Any] = [SimpleNamespace(org=SimpleNamespace(org_id=f"O{i:03d}", events=1_000)) for i in range(300)]
    batches = _batches(tasks, max_orgs=19, workers=2)
    assert [t for b in batches for t in b] == tasks  # each organisation once, in order
    sizes = [len(b) for b in batches]
    assert max(sizes) == 19 and sizes == sorted(sizes, reverse=True) and sizes[-1] == 1
    assert sum(sizes[-4:]) <= 4  # the last batches are one organisation each
    # without workers (one process): even batches; a huge organisation still gets a batch of its own
    assert {len(b) for b in _batches(tasks, max_orgs=25)} == {25}
    tasks[5].org.events = MAX_BATCH_EVENTS
    assert [len(b) for b in _batches(tasks[:10], max_orgs=25)] == [5, 1, 4]

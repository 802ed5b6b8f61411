"""Where the time of `report --all-orgs` goes: every phase of every pack timed in one process.

Runs what one pack worker runs (`_PackJob.htmls` then the PDF write), serially, with timers around
each phase, so the shares add up to the CPU time two workers split between them:

    python benchmarks/profile_packs.py benchmarks/data/1M/workspace [--every 3] [--cprofile out.prof]

Phases: shared (assessment, scores, grouped finding reads, record-id index, every body's community fit:
once per run), slice
(the batch's events copied to an EventSlice), figures (the community graph: queries, layout, SVG),
facts+sections (build_pack), template (Jinja), guard (record-id guard), weasy_parse (HTML parse and
styling), weasy_layout, pdf_write (PDF objects, fonts subsetting included), fonts (subsetting alone).
`--every N` takes every Nth organisation (in organisation order) to keep a run short.
"""

from __future__ import annotations

import argparse
import cProfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from audit_kit.config import AuditConfig
from audit_kit.report import api, fonts
from audit_kit.store.workspace import Workspace

TIMES: dict[str, float] = defaultdict(float)
CALLS: dict[str, int] = defaultdict(int)


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            TIMES[name] += time.perf_counter() - start
            CALLS[name] += 1

    return wrapper


def instrument() -> None:
    api.org_figures = timed("figures", api.org_figures)  # type: ignore[assignment] - a timer around it
    api.build_pack = timed("facts+sections", api.build_pack)  # type: ignore[assignment]
    api.render_html = timed("template", api.render_html)  # type: ignore[assignment]
    api.guard_record_ids = timed("guard", api.guard_record_ids)  # type: ignore[assignment]
    fonts._cached_subset = timed("fonts", fonts._cached_subset)  # type: ignore[assignment]
    from weasyprint import HTML
    from weasyprint.document import Document

    HTML.__init__ = timed("weasy_parse", HTML.__init__)  # type: ignore[method-assign]
    HTML.render = timed("weasy_style+layout", HTML.render)  # type: ignore[method-assign]
    Document.write_pdf = timed("pdf_write", Document.write_pdf)  # type: ignore[method-assign]
    load = api.EventSlice.load
    api.EventSlice.load = timed("slice", load)  # type: ignore[method-assign]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workspace", type=Path)
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/profile-packs"))
    ap.add_argument("--cprofile", type=Path)
    ap.add_argument("--format", default="pdf")
    args = ap.parse_args()
    instrument()
    prof = cProfile.Profile() if args.cprofile else None
    if prof:
        prof.enable()
    start, cpu = time.perf_counter(), time.process_time()
    ws = Workspace.open(args.workspace, read_only=True)
    ws.con.execute("SET threads = 1")  # as in a worker
    import audit_kit.report.api as a

    t0 = time.perf_counter()
    orgs = a.organisations_with_activity(ws)[:: args.every]
    cfg = AuditConfig()
    fmt = a._format(args.format)
    window = a.pack_window(ws, cfg)
    job = a._job(ws, a.Audience.RESTRICTED, fmt, None, None, cfg, a.SHIPPED, None, a.record_id_index(ws),
                 window, a.pack_fits(ws, cfg, window))  # as render_all_packs: community fits read once
    counts = a.finding_counts_by_org(ws, exclude_detectors=[a.report_facts.CONTRADICTION])
    contra = a.finding_counts_by_org(ws)
    top = a.top_findings_by_org(ws, a.MAX_FINDINGS_PACK, exclude_detectors=[a.report_facts.CONTRADICTION])
    args.out.mkdir(parents=True, exist_ok=True)
    tasks = [a._PackTask(o, counts.get(o.org_id, a.EMPTY_COUNTS), a._contradictions(contra.get(o.org_id, a.EMPTY_COUNTS)),
                         top.get(o.org_id, []), str(args.out / a.pack_filename(o.org_id, fmt.value))) for o in orgs]
    TIMES["shared"] = time.perf_counter() - t0
    for batch in a._batches(tasks, max_orgs=10):
        t = time.perf_counter()
        built = job.htmls(ws, batch)
        TIMES["html_total"] += time.perf_counter() - t
        for task, html in built:
            assert isinstance(html, str), html
            t = time.perf_counter()
            a._write_one((task.org.org_id, html, task.out), fmt)
            TIMES["pdf_total"] += time.perf_counter() - t
    total = time.perf_counter() - start
    if prof:
        prof.disable()
        prof.dump_stats(str(args.cprofile))
    cpu = time.process_time() - cpu  # this process's CPU: less inflated than wall time on a loaded machine
    print(f"{len(orgs)} packs, {total:.1f} s in one process ({total / len(orgs):.2f} s a pack), "
          f"{cpu:.1f} s CPU ({cpu / len(orgs):.2f} s a pack)")
    for name in ("shared", "html_total", "slice", "figures", "facts+sections", "template", "guard", "pdf_total",
                 "weasy_parse", "weasy_style+layout", "pdf_write", "fonts"):
        print(f"  {name:<20} {TIMES[name]:8.2f} s  {100 * TIMES[name] / total:5.1f}%  ({CALLS.get(name, 0)} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

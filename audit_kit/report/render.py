"""Turn a view model into HTML (Jinja2, autoescaped, sandboxed) and HTML into a PDF (WeasyPrint).

The HTML is self-contained: the CSS is inlined from the packaged `report.css` and charts are
inline SVG, so an HTML report opens anywhere and a PDF render needs no fetch at all. WeasyPrint
still gets `AssetFetcher`, which serves packaged assets only, as defence in depth.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from audit_kit.resources import templates_dir

NATIONAL_TEMPLATE = "national.html"
ORG_PACK_TEMPLATE = "org_pack.html"


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    """The one Jinja environment: autoescape for HTML and SVG, undefined names are errors."""
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "j2", "xml"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Packaged files (ours, not input): inlined so an HTML report needs nothing beside it.
    env.globals["stylesheet"] = (templates_dir() / "report.css").read_text(encoding="utf-8")
    env.globals["mark_svg"] = (templates_dir() / "assets" / "mark.svg").read_text(encoding="utf-8")
    return env


def render_html(template: str, context: Any) -> str:
    """Render `template` with the view model `context` (available as `r`)."""
    return environment().get_template(template).render(r=context)


@dataclass
class PdfResult:
    path: Path
    blocked: list[str]


def html_to_pdf(html: str, out: Path) -> PdfResult:
    """Write `html` as a tagged A4 PDF to `out`; only packaged assets may be fetched."""
    # Imported here: WeasyPrint is heavy and the HTML path does not need it.
    from weasyprint import HTML

    from audit_kit.report.safety import AssetFetcher

    assets = templates_dir() / "assets"
    fetcher = AssetFetcher(assets)
    # Refused fetches are expected for hostile input; keep WeasyPrint's warnings off the terminal.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=assets.resolve().as_uri() + "/", url_fetcher=fetcher)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.write_pdf(str(out), pdf_tags=True, custom_metadata=False)
    return PdfResult(out, fetcher.blocked)

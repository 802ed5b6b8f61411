"""Turn a view model into HTML (Jinja2, autoescaped, sandboxed) and HTML into a PDF (WeasyPrint).

The HTML is self-contained: the CSS is inlined from the packaged `report.css` and charts are
inline SVG, so an HTML report opens anywhere and a PDF render needs no fetch at all. WeasyPrint
still gets `AssetFetcher`, which serves packaged assets only, as defence in depth.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from audit_kit.report import fonts
from audit_kit.report.safety import AssetFetcher
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


# A graph figure as the template writes it: sanitised SVG alone in its wrapper (_macros.html).
_GRAPH_RE = re.compile(r'<div class="graph">(<svg\b.*?</svg>)</div>', re.S)
_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)
_WIDTH_RE = re.compile(r'<svg\b[^>]*?\swidth="([0-9.]+)(?:px)?"')
COLUMN_PX = 650  # A4 less the page margins (174 mm) is about 657 CSS px
FIGURE_URL = "audit-kit-figure:{}.svg"


def figures_as_images(html: str) -> tuple[str, dict[str, bytes]]:
    """Move each graph figure's inline SVG out of the HTML, into an image of the same document.

    WeasyPrint draws an inline SVG and an SVG image alike, but it parses and styles every element of
    an inline one as HTML first: the organisation network alone has tens of thousands of elements,
    most of a national report's parsing and styling time. As an image it is read once, as XML. The
    figures keep their size (the column's width, or their own when narrower) and their title as `alt` text.
    Returns the new HTML and the SVG bytes by internal URL, for `AssetFetcher(figures=...)`.
    """
    images: dict[str, bytes] = {}

    def to_image(m: re.Match[str]) -> str:
        url = FIGURE_URL.format(len(images))
        images[url] = m.group(1).encode("utf-8")
        title = _TITLE_RE.search(m.group(1))
        alt = title.group(1).replace('"', "&quot;") if title else "Graph"
        width = _WIDTH_RE.match(m.group(1))
        narrow = width is not None and float(width.group(1)) < COLUMN_PX  # shown at its own size
        cls = ' class="narrow"' if narrow else ""
        return f'<div class="graph"><img src="{url}" alt="{alt}"{cls}></div>'

    return _GRAPH_RE.sub(to_image, html), images


def html_to_pdf(html: str, out: Path) -> PdfResult:
    """Write `html` as a tagged A4 PDF to `out`; only packaged assets (and its own figures) may be fetched."""
    # Imported here: WeasyPrint is heavy and the HTML path does not need it.
    from weasyprint import HTML

    fonts.enable()  # each font subset once per process, not once per document
    assets = templates_dir() / "assets"
    html, figures = figures_as_images(html)
    fetcher = AssetFetcher(assets, figures)
    # Refused fetches are expected for hostile input; keep WeasyPrint's warnings off the terminal.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=assets.resolve().as_uri() + "/", url_fetcher=fetcher)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.write_pdf(str(out), pdf_tags=True, custom_metadata=False)
    return PdfResult(out, fetcher.blocked)

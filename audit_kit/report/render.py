"""Turn a view model into HTML (Jinja2, autoescaped, sandboxed) and HTML into a PDF (WeasyPrint).

The HTML is self-contained: the CSS is inlined from the packaged `report.css` and charts are
inline SVG, so an HTML report opens anywhere and a PDF render needs no fetch at all. WeasyPrint
still gets `AssetFetcher`, which serves packaged assets only, as defence in depth.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from audit_kit.errors import InputError
from audit_kit.report import fonts, pdfrefs
from audit_kit.report.fetcher import AssetFetcher
from audit_kit.report.safety import sanitise_svg
from audit_kit.resources import templates_dir

NATIONAL_TEMPLATE = "national.html"
ORG_PACK_TEMPLATE = "org_pack.html"
PUBLIC_TEMPLATE = "public_summary.html"


def check_template_dir(path: Path | None) -> Path | None:
    """An organisation's template directory (`--templates DIR`), checked; InputError naming it if unusable."""
    if path is None:
        return None
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{p}: --templates must be an existing directory of report templates",
                         hint="copy the files you want to change from the packaged reports/templates/ (docs/reports.md)")
    return p.resolve()


@lru_cache(maxsize=4)
def environment(user_dir: Path | None = None) -> ImmutableSandboxedEnvironment:
    """The Jinja environment: sandboxed, autoescape for HTML and SVG, undefined names are errors.

    With `user_dir`, a template, `report.css` or `assets/mark.svg` found there replaces the packaged one;
    everything else comes from the packaged templates. The same sandbox renders both.
    """
    loaders = [FileSystemLoader(str(user_dir))] if user_dir else []
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([*loaders, FileSystemLoader(str(templates_dir()))]),
        autoescape=select_autoescape(enabled_extensions=("html", "svg", "j2", "xml"), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Inlined so an HTML report needs nothing beside it; an organisation's mark is sanitised like any graph.
    css = user_dir / "report.css" if user_dir and (user_dir / "report.css").is_file() else templates_dir() / "report.css"
    mark = (user_dir / "assets" / "mark.svg" if user_dir and (user_dir / "assets" / "mark.svg").is_file()
            else templates_dir() / "assets" / "mark.svg")
    try:
        env.globals["stylesheet"] = css.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{css}: cannot be read ({exc})") from None
    try:
        env.globals["mark_svg"] = sanitise_svg(mark.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, ET.ParseError) as exc:
        raise InputError(f"{mark}: not a usable SVG mark ({exc})") from None
    return env


def render_html(template: str, context: Any, user_dir: Path | None = None) -> str:
    """Render `template` with the view model `context` (available as `r`)."""
    try:
        return environment(user_dir).get_template(template).render(r=context)
    except TemplateError as exc:
        if user_dir is None:
            raise
        line = getattr(exc, "lineno", None)
        where = f"{getattr(exc, 'filename', None) or template}" + (f", line {line}" if line else "")
        raise InputError(f"{user_dir}: template {where}: {exc.message or exc}",
                         hint="fix the overriding template, or remove it to use the packaged one") from None


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


# A wrapper group with nothing but one shape in it (`<g><circle …/></g>`, once its tooltip is gone).
_BARE_GROUP_RE = re.compile(r"<g>(<[a-z]+\b[^<>]*/>)</g>")


def _for_print(svg: str) -> str:
    """An SVG figure without what only a screen shows: every `<title>` (tooltips) but the figure's own
    first one, and the bare groups that only held a shape and its tooltip. WeasyPrint styles every element
    of an SVG image it draws: a graph figure keeps about half of them, and draws the same."""
    first = _TITLE_RE.search(svg)
    if first is None:
        return svg
    head, rest = svg[: first.end()], svg[first.end():]
    return head + _BARE_GROUP_RE.sub(r"\1", _TITLE_RE.sub("", rest))


def figures_as_images(html: str) -> tuple[str, dict[str, bytes]]:
    """Move each graph figure's inline SVG out of the HTML, into an image of the same document.

    WeasyPrint draws an inline SVG and an SVG image alike, but it parses and styles every element of
    an inline one as HTML first: the organisation network alone has tens of thousands of elements,
    most of a national report's parsing and styling time. As an image it is read once, as XML. The
    figures keep their size (the column's width, or their own when narrower) and their title as `alt` text;
    their tooltips are left out (`_for_print`).
    Returns the new HTML and the SVG bytes by internal URL, for `AssetFetcher(figures=...)`.
    """
    images: dict[str, bytes] = {}

    def to_image(m: re.Match[str]) -> str:
        url = FIGURE_URL.format(len(images))
        images[url] = _for_print(m.group(1)).encode("utf-8")
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
    pdfrefs.enable()  # tagging a long document reads every page's reference once, not once per element
    assets = templates_dir() / "assets"
    html, figures = figures_as_images(html)
    fetcher = AssetFetcher(assets, figures)
    # Refused fetches are expected for hostile input; keep WeasyPrint's warnings off the terminal.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=assets.resolve().as_uri() + "/", url_fetcher=fetcher)
    out.parent.mkdir(parents=True, exist_ok=True)
    document.write_pdf(str(out), pdf_tags=True, custom_metadata=False)
    return PdfResult(out, fetcher.blocked)

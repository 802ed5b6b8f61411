"""Embedding fonts in report PDFs once per process instead of once per document.

WeasyPrint embeds a subset of each font it used. Without the system's HarfBuzz-subset library
(Debian and Ubuntu ship it apart, as `libharfbuzz-subset0`) it subsets with fontTools, which first
decodes DejaVu's large GSUB/GPOS layout tables only to drop them: 0.1–0.4 s per font, four or five
fonts per document, about 40% of a DPO pack's PDF time.

`enable()` replaces WeasyPrint's fontTools subsetter with one that
- keeps every glyph of a fixed character repertoire (`REPERTOIRE`: printable ASCII and the
  punctuation the templates use) plus whatever else the document used, so nearly every document asks
  for the same subset of a font, which is then made once per process and reused;
- drops the tables a PDF never reads (layout, kerning, maths) before fontTools decodes them.

The PDF itself positions every glyph, so none of this changes what a page looks like; a document may
carry a few unused glyphs more. The subset depends only on the document's own text, never on which
documents a worker rendered before it, so each pack is the same whichever worker draws it. With
HarfBuzz-subset installed WeasyPrint does not use fontTools and this has no effect.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from typing import Any

# What nearly every report prints: printable ASCII and the templates' own punctuation. Kept small:
# each glyph kept is embedded in every PDF (about 15 kB more per pack than an exact subset).
REPERTOIRE = "".join(chr(c) for c in range(0x20, 0x7F)) + "£é–—‘’“”•…→×·≤≥−"
# Tables a PDF renderer never reads: text is already shaped and positioned in the content stream.
DROP_BEFORE_SUBSET = ("GSUB", "GPOS", "GDEF", "JSTF", "BASE", "kern", "MATH")
MAX_CACHED = 64  # subsets kept per process (each ~20–60 kB)

_lock = threading.Lock()
_subsets: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
_repertoire_gids: dict[tuple[str, int], frozenset[int]] = {}
_enabled = False


def enable() -> bool:
    """Install the cached subsetter into WeasyPrint (idempotent); False if this WeasyPrint has no hook."""
    global _enabled
    if _enabled:
        return True
    from weasyprint.pdf import fonts as wp_fonts

    font_cls = getattr(wp_fonts, "Font", None)
    if font_cls is None or not callable(getattr(font_cls, "_fonttools_subset", None)):
        return False  # another WeasyPrint layout of internals: keep its own (slower) subsetting
    font_cls._fonttools_subset = _cached_subset
    _enabled = True
    return True


def _cached_subset(font: Any, to_unicode: dict[int, str], hinting: bool) -> None:
    """Drop-in for WeasyPrint's `Font._fonttools_subset`: sets `font.file_content` to the subset."""
    digest = hashlib.blake2b(font.file_content, digest_size=16).hexdigest()
    glyphs = _repertoire(font, digest) | frozenset(to_unicode)
    key = (digest, font.index, glyphs, bool(hinting), bool(font.missing))
    with _lock:
        cached = _subsets.get(key)
        if cached is not None:
            _subsets.move_to_end(key)
    if cached is None:
        cached = _subset(font.file_content, font.index, glyphs, bool(hinting), bool(font.missing))
        with _lock:
            _subsets[key] = cached
            while len(_subsets) > MAX_CACHED:
                _subsets.popitem(last=False)
    if cached:
        font.file_content = cached


def _repertoire(font: Any, digest: str) -> frozenset[int]:
    """Glyph ids of `REPERTOIRE` in this font (read from its cmap once per font file)."""
    key = (digest, font.index)
    gids = _repertoire_gids.get(key)
    if gids is None:
        from fontTools.ttLib import TTFont, TTLibError

        try:
            tt = TTFont(io.BytesIO(font.file_content), fontNumber=font.index, lazy=True)
            cmap = tt.getBestCmap() or {}
            gids = frozenset(tt.getGlyphID(cmap[ord(ch)]) for ch in REPERTOIRE if ord(ch) in cmap)
        except (TTLibError, KeyError, ValueError, AssertionError):
            gids = frozenset()
        _repertoire_gids[key] = gids
    return gids


def _subset(content: bytes, index: int, glyphs: frozenset[int], hinting: bool, notdef: bool) -> bytes:
    """fontTools subset with WeasyPrint's options; b'' when the font cannot be subset (kept whole)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont, TTLibError

    options = subset.Options(
        retain_gids=True,
        passthrough_tables=True,
        ignore_missing_glyphs=True,
        hinting=hinting,
        desubroutinize=True,
        notdef_outline=notdef,
    )
    options.drop_tables += ["GSUB", "GPOS", "SVG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=sorted(glyphs))
    try:
        # No timestamp: the same glyphs give the same bytes, run after run.
        tt = TTFont(io.BytesIO(content), fontNumber=index, recalcTimestamp=False)
        for tag in DROP_BEFORE_SUBSET:
            if tag in tt:
                del tt[tag]
        subsetter.subset(tt)
        out = io.BytesIO()
        tt.save(out)
    except (TTLibError, KeyError, ValueError, AssertionError):
        return b""
    return out.getvalue()

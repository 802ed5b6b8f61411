"""What keeps a report from becoming the leak: SVG sanitising and a last-line guard that no raw record id
reaches the output (the third guard, the locked-down URL fetcher, is `report/fetcher.py`).

- `sanitise_svg` accepts an SVG drawn by another module only after dropping scripts, foreign
  objects, external references and event handlers.
- `guard_record_ids` finds any token of the finished document that is a raw record id known to
  the workspace and replaces it (pseudonym for restricted readers, a neutral word for public).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from audit_kit.store.workspace import Workspace

# -- SVG from other modules ------------------------------------------------------------------------
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK = "{http://www.w3.org/1999/xlink}href"
_FORBIDDEN_TAGS = {"script", "foreignObject", "iframe", "object", "embed", "image", "feImage", "a"}
_URL_RE = re.compile(r"url\(\s*(['\"]?)(?!#)[^)]*\)", re.IGNORECASE)
_IMPORT_RE = re.compile(r"@import[^;]*;?", re.IGNORECASE)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sanitise_svg(svg: str) -> str:
    """Return `svg` with anything that could run or fetch removed; raise ValueError if it is not SVG.

    Kept: shapes, text, styles without external url()/@import, internal `#id` references.
    """
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    if "<!ENTITY" in svg or "<!DOCTYPE" in svg:
        raise ValueError("SVG with a DOCTYPE or entities is refused")
    root = ET.fromstring(svg)
    if _local(root.tag) != "svg":
        raise ValueError(f"expected an <svg> root, found <{_local(root.tag)}>")
    _clean(root)
    return ET.tostring(root, encoding="unicode")


def _clean(el: ET.Element) -> None:
    for child in list(el):
        if _local(child.tag) in _FORBIDDEN_TAGS:
            el.remove(child)
            continue
        _clean(child)
    for name in list(el.attrib):
        local = _local(name).lower()
        value = el.attrib[name]
        if local.startswith("on"):
            del el.attrib[name]
        elif (local == "href" or name == _XLINK) and not value.startswith("#"):
            del el.attrib[name]
        elif _URL_RE.search(value) or "@import" in value.lower():
            el.attrib[name] = _IMPORT_RE.sub("", _URL_RE.sub("none", value))
    if _local(el.tag) == "style" and el.text:
        el.text = _IMPORT_RE.sub("", _URL_RE.sub("none", el.text))


# -- raw record ids ------------------------------------------------------------------------------
# Identifier-shaped tokens: letters, digits, '-' and '_' with at least one digit. Record ids in every
# source we know look like this (C0001234, 9434765919, UUIDs); the guard compares them with the
# workspace's own record ids, so ordinary words never match.
_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])[A-Za-z0-9][A-Za-z0-9_-]{3,63}")


def candidate_tokens(text: str) -> set[str]:
    """Identifier-shaped tokens of `text` (the ones worth checking against record ids)."""
    return set(_TOKEN_RE.findall(text))


RECORD_TABLES = ("subjects", "involvements", "events")
MAX_EVENT_ONLY_IDS = 100_000  # event-only record ids held in memory by a RecordIdIndex; above, ask events


@dataclass(frozen=True)
class RecordIdIndex:
    """How to tell a record id cheaply, for many documents: ask the reference tables, and hold the
    few ids that only the (large) events table knows.

    Built once by `record_id_index`; a worker process gets a copy and needs no scan of `events`.
    """

    tables: tuple[str, ...]  # tables asked for every document
    event_only: frozenset[str]  # record ids in events that no table in `tables` holds


def record_id_index(ws: Workspace, max_event_only: int = MAX_EVENT_ONLY_IDS) -> RecordIdIndex:
    """One pass over `events` to find the record ids the reference tables lack (normally none).

    When there are more than `max_event_only` of them, the index asks `events` itself for every
    document, as `known_record_ids` without an index does.
    """
    present = [t for t in RECORD_TABLES if ws.has_table(t)]
    refs = [t for t in present if t != "events"]
    if "events" not in present:
        return RecordIdIndex(tuple(refs), frozenset())
    known = " UNION ALL ".join(f'SELECT record_id FROM "{t}"' for t in refs) or "SELECT NULL AS record_id"
    rows = ws.con.execute(
        f"""SELECT DISTINCT e.record_id FROM events e
            ANTI JOIN ({known}) k ON e.record_id = k.record_id
            WHERE e.record_id IS NOT NULL LIMIT {int(max_event_only) + 1}"""
    ).fetchall()
    if len(rows) > max_event_only:
        return RecordIdIndex(tuple(present), frozenset())
    return RecordIdIndex(tuple(refs), frozenset(str(r[0]) for r in rows))


def known_record_ids(ws: Workspace, tokens: set[str], index: RecordIdIndex | None = None) -> set[str]:
    """The subset of `tokens` that are raw record ids in the workspace (subjects, involvements, events).

    With an `index` (from `record_id_index`) only its tables are asked, plus its in-memory ids.
    """
    if not tokens:
        return set()
    if index is None:
        sources = [t for t in RECORD_TABLES if ws.has_table(t)]
        found: set[str] = set()
    else:
        sources = list(index.tables)
        found = tokens & index.event_only
    if not sources:
        return found
    union = " UNION ".join(
        f'SELECT DISTINCT record_id FROM "{t}" WHERE record_id IN (SELECT unnest($tokens))' for t in sources
    )
    found |= {r[0] for r in ws.con.execute(union, {"tokens": sorted(tokens)}).fetchall()}
    return found


def replace_ids(text: str, raw_ids: set[str], ws: Workspace, restricted: bool) -> str:
    """Replace each whole-token occurrence of a raw record id by its pseudonym (or 'a record')."""
    if not raw_ids:
        return text
    pattern = re.compile(
        r"(?<![A-Za-z0-9_-])("
        + "|".join(re.escape(r) for r in sorted(raw_ids, key=len, reverse=True))
        + r")(?![A-Za-z0-9_-])"
    )
    if restricted:
        return pattern.sub(lambda m: ws.pseudonymise(m.group(1)) or "", text)
    return pattern.sub("a record", text)


def _organisation_ids(ws: Workspace, tokens: set[str]) -> set[str]:
    """Tokens that are a body's id: never treated as record ids, so a subjects row whose record id
    equals a body's id cannot erase that body's name from a report."""
    if not tokens or not ws.has_table("organisations"):
        return set()
    rows = ws.con.execute("SELECT DISTINCT org_id FROM organisations WHERE org_id IN (SELECT unnest($t))",
                          {"t": sorted(tokens)}).fetchall()
    return {str(r[0]) for r in rows}


def guard_record_ids(
    ws: Workspace, texts: list[str], restricted: bool, index: RecordIdIndex | None = None
) -> tuple[list[str], int]:
    """Scrub raw record ids from finished documents in one engine query; returns texts and ids found."""
    tokens: set[str] = set()
    for t in texts:
        tokens |= candidate_tokens(t)
    raw = known_record_ids(ws, tokens, index) - _organisation_ids(ws, tokens)
    return [replace_ids(t, raw, ws, restricted) for t in texts], len(raw)

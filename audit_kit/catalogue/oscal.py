"""Import an OSCAL catalog (or resolved-profile catalog) as an audit-kit control catalogue.

Groups become domains (nested groups keep their top-level group), controls and their enhancements
become controls, and each control's statement becomes the question with its parameters rendered
readably: set values as given, otherwise `[Assignment: label]` or `[Selection (one or more): a; b]`.
Withdrawn controls are skipped. Works on any OSCAL 1.x JSON catalog, not only NIST SP 800-53.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from audit_kit.catalogue.loader import parse_catalogue
from audit_kit.catalogue.models import Catalogue
from audit_kit.errors import InputError
from audit_kit.safetext import single_line

MAX_OSCAL_BYTES = 64 * 1024 * 1024
# Lists and objects within each other; NIST SP 800-53's catalog nests 18 deep.
MAX_OSCAL_DEPTH = 64
_INSERT = re.compile(r"\{\{\s*insert:\s*param,\s*([^}\s]+)\s*\}\}")
_BAD_ID_CHARS = re.compile(r"[^A-Za-z0-9_.()\-]+")


@dataclass
class OscalImport:
    """The imported catalogue and what was read, for the CLI's summary."""

    catalogue: Catalogue
    groups: int = 0
    controls: int = 0
    enhancements: int = 0
    withdrawn: int = 0
    domains: list[str] = field(default_factory=list)


def _props(obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [p for p in obj.get("props", []) or [] if isinstance(p, dict) and p.get("name") == name]


def _label(obj: dict[str, Any]) -> str | None:
    labels = _props(obj, "label")
    plain = [p for p in labels if not p.get("class")]
    chosen = (plain or labels or [{}])[0]
    return str(chosen["value"]) if chosen.get("value") else None


def _withdrawn(ctrl: dict[str, Any]) -> bool:
    return any(str(p.get("value", "")).lower() == "withdrawn" for p in _props(ctrl, "status"))


def slug(text: str) -> str:
    """A catalogue id from a title: lower case, hyphens, at most 60 characters."""
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(s) > 60:  # cut at a word boundary
        s = s[:61].rsplit("-", 1)[0]
    return s.strip("-") or "oscal-catalogue"


class _Params:
    """All parameters in the catalog, rendered on demand (inserts may reference a parent's params)."""

    def __init__(self) -> None:
        self.defs: dict[str, dict[str, Any]] = {}

    def add(self, params: list[Any] | None) -> None:
        for p in params or []:
            if isinstance(p, dict) and "id" in p:
                self.defs[str(p["id"])] = p

    def render_text(self, text: str, depth: int = 0) -> str:
        return _INSERT.sub(lambda m: self.render(m.group(1), depth + 1), text)

    def render(self, pid: str, depth: int = 0) -> str:
        if depth > 8:  # a parameter that refers to itself, directly or not
            return f"[Assignment: {pid}]"
        p = self.defs.get(pid)
        if p is None:
            return f"[Assignment: {pid}]"
        values = [str(v) for v in p.get("values", []) or []]
        if values:
            return ", ".join(self.render_text(v, depth) for v in values)
        select = p.get("select")
        if isinstance(select, dict):
            choices = [self.render_text(str(c), depth) for c in select.get("choice", []) or []]
            how = "one or more" if select.get("how-many") == "one-or-more" else "one"
            return f"[Selection ({how}): {'; '.join(choices)}]"
        label = p.get("label")
        return f"[Assignment: {self.render_text(str(label), depth) if label else pid}]"


def _statement(parts: list[Any] | None, params: _Params) -> str:
    """The control's statement part, flattened to lines with item labels ("a.", "1.")."""
    for part in parts or []:
        if isinstance(part, dict) and part.get("name") == "statement":
            return "\n".join(_flatten(part, params)).strip()
    return ""


def _flatten(part: dict[str, Any], params: _Params, depth: int = 0) -> list[str]:
    lines: list[str] = []
    label = _label(part)
    prose = params.render_text(str(part.get("prose", ""))).strip()
    if prose or label:
        lines.append(("  " * max(depth - 1, 0)) + " ".join(x for x in (label, prose) if x))
    for child in part.get("parts", []) or []:
        if isinstance(child, dict) and child.get("name") in (None, "item", "statement"):
            lines.extend(_flatten(child, params, depth + 1))
    return lines


def _make_id(ctrl: dict[str, Any], used: set[str]) -> str:
    raw = _label(ctrl) or str(ctrl.get("id", "control"))
    cid = _BAD_ID_CHARS.sub("-", raw).strip("-") or "control"
    if not cid[0].isalnum():
        cid = "C" + cid
    if cid in used:
        cid = _BAD_ID_CHARS.sub("-", str(ctrl.get("id", cid)))
    base, n = cid, 2
    while cid in used:
        cid, n = f"{base}-{n}", n + 1
    used.add(cid)
    return cid


def _nesting(doc: Any) -> int:
    """How deep lists and objects nest in `doc`, counted without recursion (a hostile file cannot
    exhaust the stack here, and everything after this only recurses as deep as this allowed)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_OSCAL_DEPTH:
            return deepest
        stack.extend((c, level + 1) for c in children)
    return deepest


def import_oscal(path: Path, catalogue_id: str | None = None) -> OscalImport:
    """Read an OSCAL JSON catalog and return a validated `Catalogue` with import counts.

    Raises InputError naming the file when it is too large, not JSON, or not an OSCAL catalog.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if size > MAX_OSCAL_BYTES:
        raise InputError(f"{path}: file is {size:,} bytes; OSCAL imports are capped at {MAX_OSCAL_BYTES:,}")
    try:
        doc = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})", hint="only OSCAL JSON is supported") from None
    except RecursionError:
        doc = None  # nested past what the parser can hold: refused below like any deep file
    depth = _nesting(doc) if doc is not None else MAX_OSCAL_DEPTH + 1
    if depth > MAX_OSCAL_DEPTH:
        raise InputError(f"{path}: nested more than {MAX_OSCAL_DEPTH} levels deep (groups within groups or "
                         "parts within parts); a real OSCAL catalog needs about a dozen",
                         hint="check the file was exported by an OSCAL tool") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("catalog"), dict):
        kinds = ", ".join(doc) if isinstance(doc, dict) else type(doc).__name__
        raise InputError(
            f"{path}: not an OSCAL catalog (top-level key 'catalog' missing; found {kinds})",
            hint="resolve a profile to a catalog first; assessment results and SSPs are not catalogs",
        )
    cat = doc["catalog"]
    meta = cat.get("metadata") or {}
    title = single_line(str(meta.get("title") or path.stem)).strip() or path.stem
    is_nist = "800-53" in title
    params = _Params()
    result_controls: list[dict[str, Any]] = []
    used: set[str] = set()
    counts = {"groups": 0, "controls": 0, "enhancements": 0, "withdrawn": 0}
    domains: list[str] = []

    def collect_params(ctrls: list[Any]) -> None:
        for c in ctrls or []:
            if isinstance(c, dict):
                params.add(c.get("params"))
                collect_params(c.get("controls", []))

    def collect_group_params(groups: list[Any]) -> None:
        for g in groups or []:
            if isinstance(g, dict):
                params.add(g.get("params"))
                collect_params(g.get("controls", []))
                collect_group_params(g.get("groups", []))

    params.add(cat.get("params"))
    collect_params(cat.get("controls", []))
    collect_group_params(cat.get("groups", []))

    def add_controls(ctrls: list[Any], domain: str, depth: int) -> None:
        for c in ctrls or []:
            if not isinstance(c, dict) or "id" not in c:
                continue
            if _withdrawn(c):
                counts["withdrawn"] += 1
            else:
                counts["enhancements" if depth else "controls"] += 1
                result_controls.append(_control(c, domain, params, used, is_nist))
            add_controls(c.get("controls", []), domain, depth + 1)

    def add_group(g: dict[str, Any], domain: str | None) -> None:
        counts["groups"] += 1
        dom = domain or single_line(str(g.get("title") or g.get("id") or "General")).strip() or "General"
        if dom not in domains:
            domains.append(dom)
        add_controls(g.get("controls", []), dom, 0)
        for sub in g.get("groups", []) or []:
            if isinstance(sub, dict):
                add_group(sub, dom)

    if cat.get("controls"):
        domains.append("General")
        add_controls(cat["controls"], "General", 0)
    for g in cat.get("groups", []) or []:
        if isinstance(g, dict):
            add_group(g, None)
    if not result_controls:
        raise InputError(f"{path}: the OSCAL catalog has no (non-withdrawn) controls to import")
    data = {
        "id": catalogue_id or slug(title),
        "title": title,
        "version": str(meta.get("version") or "1"),
        "source": f"OSCAL catalog {cat.get('uuid', '')} ({path.name})".replace("  ", " "),
        "description": f"Imported from OSCAL: {counts['groups']} groups, {counts['controls']} controls, "
        f"{counts['enhancements']} enhancements.",
        "controls": result_controls,
    }
    catalogue = parse_catalogue(data, str(path))
    return OscalImport(catalogue, domains=domains, **counts)


def _control(
    c: dict[str, Any], domain: str, params: _Params, used: set[str], is_nist: bool
) -> dict[str, Any]:
    cid = _make_id(c, used)
    title = single_line(params.render_text(str(c.get("title") or cid))).strip() or cid
    statement = _statement(c.get("parts"), params)
    question = f"Is this in place? {statement}" if statement else f"Is {title!r} implemented?"
    mappings: dict[str, list[str]] = {"source": [str(c["id"])]}
    if is_nist:
        mappings["nist_800_53"] = [_label(c) or str(c["id"]).upper()]
    return {
        "id": cid,
        "title": title,
        "domain": domain,
        "question": question,
        "answer_type": "yes_partial_no",
        "weight": 1,
        "severity": "medium",
        "evidence": f"Documents or records showing {cid} ({title}) is implemented as stated.",
        "mappings": mappings,
        "remediation": f"Implement {cid} ({title}) as the source catalogue states, and keep evidence of it.",
    }


def catalogue_yaml(catalogue: Catalogue) -> str:
    """The catalogue as checklist YAML (what `checklist import-oscal -o FILE` writes)."""
    data = catalogue.model_dump(mode="json", exclude_none=True)
    for c in data["controls"]:
        for key in ("mandatory",):
            if c.get(key) is True:
                del c[key]
        for key in ("must_pass",):
            if c.get(key) is False:
                del c[key]
        for key in ("log_checks",):
            if not c.get(key):
                c.pop(key, None)
        corro = c.get("corroboration")
        if isinstance(corro, dict) and not corro.get("thresholds"):
            corro.pop("thresholds", None)
    header = f"# Imported from OSCAL by audit-kit: {single_line(catalogue.title)}\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)

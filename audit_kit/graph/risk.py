"""Which findings touch which organisation, user or record: the colours and detector labels of a graph."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field

from audit_kit.graph.model import worst
from audit_kit.graph.window import Window
from audit_kit.models.findings import Finding
from audit_kit.store.findings import load_findings
from audit_kit.store.workspace import Workspace

# The shape of `Workspace.pseudonymise` output.
_PSEUDONYM = re.compile(r"R-[0-9a-f]{16}")


@dataclass
class Touch:
    """The worst severity and the detectors of the findings touching one thing."""

    risk: str | None = None
    detectors: set[str] = field(default_factory=set)

    def add(self, f: Finding) -> None:
        self.risk = worst(self.risk, f.severity.value)
        self.detectors.add(f.detector)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.detectors))


class FindingIndex:
    """Findings overlapping a window, indexed by organisation, user and record pseudonym.

    Record-level links are found by the record's pseudonym appearing in a finding's evidence
    (findings never hold raw record ids), so any detector's evidence shape works.
    """

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.by_org: dict[str, Touch] = defaultdict(Touch)
        self.by_user: dict[str, Touch] = defaultdict(Touch)
        self._evidence = [json.dumps(f.evidence, sort_keys=True, default=str) for f in findings]
        self.by_record: dict[str, list[Finding]] = defaultdict(list)
        for f, ev in zip(findings, self._evidence, strict=True):
            for token in sorted(set(_PSEUDONYM.findall(ev))):
                self.by_record[token].append(f)
            if f.org_id:
                self.by_org[f.org_id].add(f)
            if f.user_id:
                self.by_user[f.user_id].add(f)

    @classmethod
    def load(cls, ws: Workspace, window: Window | None = None) -> FindingIndex:
        """Stored findings whose [first_seen, last_seen] overlaps the window (undated ones always)."""
        found = load_findings(ws)
        if window is not None:
            found = [
                f for f in found
                if (f.last_seen is None or f.last_seen.replace(tzinfo=None) >= window.since)
                and (f.first_seen is None or f.first_seen.replace(tzinfo=None) < window.until)
            ]
        return cls(found)

    def org(self, org_id: str | None) -> Touch:
        return self.by_org.get(org_id or "", Touch())

    def user(self, user_id: str | None) -> Touch:
        return self.by_user.get(user_id or "", Touch())

    def mentioning(self, token: str) -> list[Finding]:
        """Findings whose evidence mentions a record pseudonym (anywhere: in a list, a string, a key)."""
        return list(self.by_record.get(token, ()))

    def mentions_user(self, finding: Finding, user_id: str) -> bool:
        """Whether a finding is about this user, or lists them in its evidence."""
        if finding.user_id == user_id:
            return True
        # Quoted, so that U1 does not match U12.
        i = next(i for i, f in enumerate(self.findings) if f is finding)
        return json.dumps(user_id) in self._evidence[i]

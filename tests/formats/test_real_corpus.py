"""The real-world corpus (tests/formats/data/real/): every public example file ingested as a user would,
its counts and hand-checked fields compared with expected.yaml (written from the standards, not the code).

One workspace holds the whole corpus, each file ingested with the organisation its producer implies
(`--org`, expected.yaml `org`), so ids reused across files (the CloudTrail samples reuse one eventID)
are seen as they would be in a real workspace.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from formats_helpers import DATA

from audit_kit.ingest import IngestReport, ingest_files
from audit_kit.store.workspace import Workspace

REAL = DATA / "real"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((REAL / "expected.yaml").read_text(encoding="utf-8"))["files"]
CHECKED = ("timestamp", "user_id", "org_id", "record_id", "action", "outcome", "source_ip", "auth_method",
           "session_id", "break_glass", "source_action", "target")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, IngestReport]]:
    ws_path = tmp_path_factory.mktemp("real") / "ws"
    reports: dict[str, IngestReport] = {}
    with Workspace.open(ws_path, create=True) as ws:
        for rel, exp in EXPECTED.items():
            reports[rel] = ingest_files(ws, [REAL / rel], org=exp.get("org"))
    return ws_path, reports


def _at(value: Any) -> int:
    return int(re.match(r"\d+", str(value)).group(0))  # type: ignore[union-attr]  # "1 (AuditEvent/58862)" -> 1


def _fields(rel: str) -> list[dict[str, Any]]:
    out = []
    for f in EXPECTED[rel].get("fields", []):
        if "same_as" in f:
            src, _, at = f["same_as"].partition("#")
            ref = next(g for g in EXPECTED[src]["fields"] if _at(g["at"]) == int(at))
            f = {**ref, "at": f["at"], "org_source": src}
        out.append(f)
    return out


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_every_record_is_read_and_stored(corpus: tuple[Path, dict[str, IngestReport]], rel: str) -> None:
    reports = corpus[1]
    rep = reports[rel]
    assert rep.read == EXPECTED[rel]["records"]
    assert rep.read == rep.stored + rep.quarantined + rep.duplicates
    dups, bad = EXPECTED[rel].get("duplicates", 0), EXPECTED[rel].get("quarantined", 0)
    assert (rep.stored, rep.quarantined, rep.duplicates) == (EXPECTED[rel]["records"] - dups - bad, bad, dups), (
        rep.files[0].model_dump())
    if bad:
        ws_path, _ = corpus
        with Workspace.open(ws_path, read_only=True) as ws:
            reasons = [r[0] for r in ws.con.execute("SELECT reason FROM quarantine WHERE source_file = ?",
                                                    [str(REAL / rel)]).fetchall()]
        assert len(reasons) == bad and all(EXPECTED[rel]["reason"] in r for r in reasons)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_hand_checked_fields_map_right(corpus: tuple[Path, dict[str, IngestReport]], rel: str) -> None:
    ws_path, _reports = corpus
    org = EXPECTED[rel].get("org")
    with Workspace.open(ws_path, read_only=True) as ws:
        for exp in _fields(rel):
            row = ws.con.execute(
                f"SELECT {', '.join(CHECKED)} FROM events WHERE source_file = ? AND source_row = ?",
                [str(REAL / rel), _at(exp["at"])],
            ).fetchone()
            if row is None and EXPECTED[rel].get("duplicates"):  # stored once, from the earlier file
                row = ws.con.execute(
                    f"SELECT {', '.join(CHECKED)} FROM events WHERE timestamp = ? AND user_id = ? AND action = ?",
                    [_utc(exp["timestamp"]), exp["user_id"], exp["action"]],
                ).fetchone()
            assert row is not None, f"{rel} record {exp['at']} was not stored"
            got = dict(zip(CHECKED, row, strict=True))
            for key in CHECKED:
                if key not in exp:
                    continue
                want = exp[key]
                if key == "timestamp":
                    assert got[key] == _utc(want), (rel, key)
                elif key == "org_id" and want is None:
                    assert got[key] == org, (rel, key)  # the record names none: --org supplied it
                else:
                    assert got[key] == want, (rel, exp["at"], key, got[key], want)


def test_reingesting_the_corpus_adds_nothing(corpus: tuple[Path, dict[str, IngestReport]]) -> None:
    ws_path, _reports = corpus
    with Workspace.open(ws_path) as ws:
        before = ws.count("events")
        for rel, exp in EXPECTED.items():
            rep = ingest_files(ws, [REAL / rel], org=exp.get("org"))
            assert (rep.stored, rep.quarantined, rep.duplicates) == (0, 0, rep.read)  # same bytes: nothing read
        assert ws.count("events") == before


def test_a_reused_event_id_keeps_both_events(corpus: tuple[Path, dict[str, IngestReport]]) -> None:
    """UnknownAPI.json reuses UpdateTrail.json's eventID for another call: both are stored, and counted."""
    ws_path, reports = corpus
    with Workspace.open(ws_path, read_only=True) as ws:
        n = ws.con.execute("SELECT count(*) FROM events WHERE event_id = 'b7d4398e-b2f0-4faa-9c76-e2d316a8d67f'").fetchone()
    assert n == (2,)
    order = [Path(k).name for k in EXPECTED]  # the fixture ingests in expected.yaml's order
    collided = max("UpdateTrail.json", "UnknownAPI.json", key=order.index)
    assert sum(r.id_collisions for k, r in reports.items() if k.endswith(collided)) == 1


TRAIL = "cloudtrail/invictus-ir-aws-dataset/"
# errorCode words the CloudTrail reference uses for a refused call (the rest are failures)
_REFUSED = re.compile(r"AccessDenied|Unauthori[sz]ed|NotAuthorized|Forbidden|AuthFailure|InvalidClientTokenId|"
                      r"SignatureDoesNotMatch|ExpiredToken")


def test_a_real_trail_keeps_what_each_record_says(corpus: tuple[Path, dict[str, IngestReport]]) -> None:
    """Every record of a real trail (2,900, one attack simulation's CloudTrail files as delivered): its time,
    id, call, outcome class, address and account, read from the record itself, are what was stored."""
    import gzip
    import ipaddress
    import json

    ws_path, _ = corpus
    files = sorted(k for k in EXPECTED if k.startswith(TRAIL))
    assert len(files) == 55
    with Workspace.open(ws_path, read_only=True) as ws:
        for rel in files:
            records = json.loads(gzip.decompress((REAL / rel).read_bytes()))["Records"]
            stored = {row[0]: row[1:] for row in ws.con.execute(
                "SELECT source_row, event_id, timestamp, source_action, outcome, source_ip, org_id FROM events "
                "WHERE source_file = ?", [str(REAL / rel)]).fetchall()}
            assert sorted(stored) == list(range(1, len(records) + 1)), rel
            for at, r in enumerate(records, 1):
                event_id, ts, source_action, outcome, ip, org = stored[at]
                code = r.get("errorCode")
                want_outcome = "success" if not code else "denied" if _REFUSED.search(code) else "failure"
                try:
                    want_ip: str | None = str(ipaddress.ip_address(r["sourceIPAddress"]))
                except ValueError:
                    want_ip = None  # a service's name, not an address
                got = (event_id, ts, source_action, ip, org)
                want = (r["eventID"], _utc(r["eventTime"]), f"{r['eventSource'].split('.')[0]}:{r['eventName']}", want_ip,
                        r["userIdentity"].get("accountId") or r["recipientAccountId"])
                assert got == want, (rel, at)
                if r["eventName"] != "ConsoleLogin":  # a console sign-in's outcome is in its responseElements
                    assert outcome == want_outcome, (rel, at, code)

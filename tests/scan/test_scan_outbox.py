"""Alert store and outbox: deterministic ids, insert-once, JSONL delivered exactly once, failures stay queued."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from scan_helpers import make_finding

from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.scan.alerts import alert_id_for, insert_new_alerts, load_alerts
from audit_kit.scan.outbox import DeliveryError, JsonlSink, flush, queue, queued_elsewhere
from audit_kit.store.scans import pending_ids

NOW = datetime(2026, 10, 21, 7, 0)


def _raise(ws, findings, sinks, run_id="run-1"):
    with ws.transaction():
        ids = insert_new_alerts(ws, findings, run_id, NOW, None)
        queue(ws, ids, sinks)
    return ids


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_alert_ids_are_deterministic_and_distinct() -> None:
    a, b = make_finding(1), make_finding(2)
    assert alert_id_for(a) == alert_id_for(make_finding(1))
    assert alert_id_for(a) != alert_id_for(b)
    # Same finding id under another detector is another alert.
    assert alert_id_for(make_finding(1, detector="bulk_access")) != alert_id_for(a)


def test_same_finding_is_alerted_once(ws, tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    first = _raise(ws, [make_finding(1), make_finding(2), make_finding(1)], [sink])
    again = _raise(ws, [make_finding(1), make_finding(3)], [sink], run_id="run-2")
    assert len(first) == 2 and again == [alert_id_for(make_finding(3))]
    stored = load_alerts(ws)
    assert sorted(a.alert_id for a in stored) == sorted(first + again)
    assert {a.first_alerted for a in stored} == {NOW}


def test_jsonl_has_contract_fields_and_each_alert_once(ws, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink(path)
    _raise(ws, [make_finding(1), make_finding(2, Severity.CRITICAL)], [sink])
    result = flush(ws, sink)
    assert (result.delivered, result.queued, result.error) == (2, 0, None)
    lines = _lines(path)
    assert set(lines[0]) == {
        "alert_id", "first_alerted", "finding_id", "detector", "severity", "score", "org_id", "user_id",
        "record_count", "first_seen", "last_seen", "summary", "evidence",
    }
    assert lines[0]["first_alerted"] == "2026-10-21T07:00:00Z"
    assert lines[0]["first_seen"].endswith("Z")
    # Flushing again writes nothing; a new alert is appended once.
    assert flush(ws, sink).delivered == 0
    _raise(ws, [make_finding(3)], [sink], run_id="run-2")
    flush(ws, sink)
    ids = [line["alert_id"] for line in _lines(path)]
    assert len(ids) == len(set(ids)) == 3
    assert path.stat().st_mode & 0o777 == 0o600


def test_partial_line_from_a_kill_is_repaired_and_not_duplicated(ws, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink(path)
    ids = _raise(ws, [make_finding(1), make_finding(2)], [sink])
    alerts = load_alerts(ws)
    # A previous run wrote the first alert whole and died half-way through the second, before bookkeeping.
    whole = json.dumps(alerts[0].to_json()) + "\n"
    path.write_text(whole + json.dumps(alerts[1].to_json())[:40])
    flush(ws, sink)
    got = [line["alert_id"] for line in _lines(path)]
    assert sorted(got) == sorted(ids) and len(got) == 2


def test_another_writers_unfinished_line_is_kept_and_ours_start_on_a_new_line(ws, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink(path)
    ids = _raise(ws, [make_finding(1)], [sink])
    foreign = '{"source": "another tool", "note": "still writ'
    path.write_text('{"source": "another tool", "note": "done"}\n' + foreign)
    assert flush(ws, sink).delivered == 1
    lines = path.read_text().splitlines()
    assert lines[:2] == ['{"source": "another tool", "note": "done"}', foreign]
    assert [json.loads(line)["alert_id"] for line in lines[2:]] == ids


def test_rotated_file_is_not_refilled_with_old_alerts(ws, tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    sink = JsonlSink(path)
    _raise(ws, [make_finding(1)], [sink])
    flush(ws, sink)
    path.rename(tmp_path / "alerts.jsonl.1")  # logrotate
    _raise(ws, [make_finding(2)], [sink], run_id="run-2")
    flush(ws, sink)
    assert [line["alert_id"] for line in _lines(path)] == [alert_id_for(make_finding(2))]


class FailingSink:
    sink_id = "test:failing"
    label = "failing sink"

    def __init__(self, fail: bool = True) -> None:
        self.fail = fail
        self.received: list[str] = []

    def deliver(self, alerts):
        if self.fail:
            raise DeliveryError("receiver down")
        self.received += [a.alert_id for a in alerts]
        return [a.alert_id for a in alerts]


def test_failed_delivery_stays_queued_until_it_succeeds(ws) -> None:
    sink = FailingSink()
    ids = _raise(ws, [make_finding(1), make_finding(2)], [sink])
    result = flush(ws, sink)
    assert (result.delivered, result.queued, result.error) == (0, 2, "receiver down")
    assert ws.con.execute("SELECT max(attempts), max(last_error) FROM scan_outbox").fetchall()[0] == (1, "receiver down")
    sink.fail = False
    result = flush(ws, sink, batch_size=1)
    assert (result.delivered, result.queued) == (2, 0)
    assert sorted(sink.received) == sorted(ids)
    assert pending_ids(ws, sink.sink_id) == []


def test_queue_for_destination_not_configured_is_reported(ws, tmp_path: Path) -> None:
    other = FailingSink()
    _raise(ws, [make_finding(1)], [other, JsonlSink(tmp_path / "a.jsonl")])
    assert queued_elsewhere(ws, [JsonlSink(tmp_path / "a.jsonl").sink_id]) == {"failing sink": 1}


def _gap(first: str, last: str) -> Finding:
    """A log_gap finding as the detector makes it: id from the first silent day the window saw."""
    return Finding(
        finding_id=finding_key("log_gap", "O3", None, first), detector="log_gap", severity=Severity.MEDIUM,
        score=0.6, org_id="O3", user_id=None, first_seen=datetime.fromisoformat(first),
        last_seen=datetime.fromisoformat(last), summary=f"Organisation O3 sent no logs from {first}.",
    )


def test_a_continuing_log_gap_is_one_incident(ws) -> None:
    first = insert_new_alerts(ws, [_gap("2026-10-05", "2026-10-08")], "r1", NOW, None)
    # The next window starts mid-gap: the detector reports it from a later first day.
    assert insert_new_alerts(ws, [_gap("2026-10-06", "2026-10-10")], "r2", NOW, None) == []
    # A later, separate silence (more than a weekend after) is a new incident.
    later = insert_new_alerts(ws, [_gap("2026-10-20", "2026-10-23")], "r3", NOW, None)
    assert len(first) == 1 and len(later) == 1 and later != first
    # A day's spike is never merged this way: each bucket is its own alert.
    assert len(insert_new_alerts(ws, [make_finding(1), make_finding(1, detector="bulk_access")], "r4", NOW, None)) == 2


def _pattern(detector: str, first: str, last: str, severity: Severity = Severity.MEDIUM, user: str = "u7") -> Finding:
    """A window-pattern finding as the detector makes it: keyed by the week the window first saw it."""
    week = datetime.fromisoformat(first).strftime("%G-W%V")
    return Finding(
        finding_id=finding_key(detector, "o1", user, week), detector=detector, severity=severity, score=0.6,
        org_id="o1", user_id=user, first_seen=datetime.fromisoformat(first), last_seen=datetime.fromisoformat(last),
        summary=f"{user} opened children's records their colleagues do not work with.",
    )


def test_a_window_pattern_found_again_by_a_later_window_is_the_same_incident(ws) -> None:
    # Tuesday's scan sees the pattern from Monday 12 October; the scans of the next week see it from the
    # 19th on (their windows start later), under that week's key: the same reading, not a new alert.
    first = insert_new_alerts(ws, [_pattern("peer_outlier", "2026-10-12", "2026-10-20")], "r1", NOW, None)
    assert insert_new_alerts(ws, [_pattern("peer_outlier", "2026-10-19", "2026-10-27")], "r2", NOW, None) == []
    # Another user, or another detector's view of the same user, is its own alert.
    other = insert_new_alerts(ws, [_pattern("peer_outlier", "2026-10-19", "2026-10-27", user="u8"),
                                   _pattern("no_relationship", "2026-10-19", "2026-10-27")], "r3", NOW, None)
    assert len(first) == 1 and len(other) == 2
    # Detectors keyed by a day's spike or a child are never merged: a new day or child is a new alert.
    spikes = [make_finding(7, Severity.MEDIUM), make_finding(7, Severity.MEDIUM, detector="bulk_access")]
    assert len(insert_new_alerts(ws, spikes, "r4", NOW, None)) == 2


def test_a_continuing_window_pattern_that_grows_is_an_escalation_of_its_first_alert(ws) -> None:
    first = insert_new_alerts(ws, [_pattern("no_relationship", "2026-10-12", "2026-10-17", Severity.LOW)],
                              "r1", NOW, None)
    # Still low under the next week's key: nothing; medium: an escalation naming the first alert.
    assert insert_new_alerts(ws, [_pattern("no_relationship", "2026-10-19", "2026-10-20", Severity.LOW)],
                             "r2", NOW, None) == []
    medium = insert_new_alerts(ws, [_pattern("no_relationship", "2026-10-19", "2026-10-24")], "r3", NOW, None)
    # The week after, medium again continues it (nothing new); high is raised once more.
    assert insert_new_alerts(ws, [_pattern("no_relationship", "2026-10-24", "2026-10-27")], "r4", NOW, None) == []
    high = insert_new_alerts(ws, [_pattern("no_relationship", "2026-10-26", "2026-10-28", Severity.HIGH)],
                             "r5", NOW, None)
    stored = {a.alert_id: a for a in load_alerts(ws)}
    assert len(first) == len(medium) == len(high) == 1 and len(stored) == 3
    assert "escalated_from" not in stored[first[0]].evidence
    assert stored[medium[0]].evidence["escalated_from"] == {"severity": "low", "alert_id": first[0]}
    # The high one overlaps only the medium alert (the first ended on the 17th): it names that one.
    assert stored[high[0]].evidence["escalated_from"] == {"severity": "medium", "alert_id": medium[0]}
    # A pattern first seen more than a weekend after the last alert's span is a new incident.
    later = insert_new_alerts(ws, [_pattern("no_relationship", "2026-11-09", "2026-11-12")], "r6", NOW, None)
    assert len(later) == 1 and "escalated_from" not in load_alerts(ws, later)[0].evidence


def test_a_finding_that_grows_is_alerted_again_once_per_severity(ws, tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    first = _raise(ws, [make_finding(1, Severity.LOW)], [sink], "r1")
    # The same finding (same id) next day: still low, then medium, medium again, then high.
    assert _raise(ws, [make_finding(1, Severity.LOW)], [sink], "r2") == []
    medium = _raise(ws, [make_finding(1, Severity.MEDIUM)], [sink], "r3")
    assert _raise(ws, [make_finding(1, Severity.MEDIUM)], [sink], "r4") == []
    high = _raise(ws, [make_finding(1, Severity.HIGH)], [sink], "r5")
    # Falling back to medium raises nothing; each step was one new alert with its own id.
    assert _raise(ws, [make_finding(1, Severity.MEDIUM)], [sink], "r6") == []
    assert len({*first, *medium, *high}) == 3
    flush(ws, sink)
    lines = {x["severity"]: x for x in _lines(tmp_path / "alerts.jsonl")}  # all raised at NOW: order by id
    assert sorted(lines) == ["high", "low", "medium"]
    assert {x["finding_id"] for x in lines.values()} == {make_finding(1).finding_id}
    assert "escalated_from" not in lines["low"]["evidence"]
    assert lines["medium"]["evidence"]["escalated_from"] == {"severity": "low", "alert_id": first[0]}
    assert lines["high"]["evidence"]["escalated_from"] == {"severity": "medium", "alert_id": first[0]}
    assert (lines["medium"]["alert_id"], lines["high"]["alert_id"]) == (medium[0], high[0])


def test_a_low_finding_that_grows_to_low_is_not_an_escalation(ws) -> None:
    # An info finding alerted (min severity info) that becomes low is not worth a second alert.
    first = insert_new_alerts(ws, [make_finding(1, Severity.INFO)], "r1", NOW, None)
    assert insert_new_alerts(ws, [make_finding(1, Severity.LOW)], "r2", NOW, None) == []
    assert len(first) == 1


def test_alerted_users_are_those_alerted_medium_or_above_for_behaviour_in_the_window(ws) -> None:
    from audit_kit.store.scans import alerted_users

    insert_new_alerts(ws, [make_finding(1, Severity.HIGH), make_finding(2, Severity.LOW),
                           make_finding(3, Severity.MEDIUM, detector="after_hours")], "r1", NOW, None)
    # make_finding's behaviour was last seen on 2026-10-20 17:00
    assert alerted_users(ws, datetime(2026, 10, 7), Severity.MEDIUM) == {"u1", "u3"}
    assert alerted_users(ws, datetime(2026, 10, 21), Severity.MEDIUM) == set()
    assert alerted_users(ws, datetime(2026, 10, 7), Severity.LOW) == {"u1", "u2", "u3"}

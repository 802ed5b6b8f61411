"""The review's state machine, verdict rules, history and people-over-time, on hand-made findings."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from audit_kit.errors import InputError
from audit_kit.models.findings import Finding, Severity, finding_key
from audit_kit.models.review import user_risk
from audit_kit.review import (
    EventKind,
    ExplainedBy,
    FindingFilter,
    FindingState,
    PeopleStore,
    RuleKind,
    Verdict,
    add_note,
    assign,
    count_findings,
    get_finding,
    history,
    list_findings,
    publish,
    reopen,
    repeat_offenders,
    resolve_finding_id,
    review_finding,
    revoke_rule,
    rules,
    snapshot_users,
    start_review,
    triage,
    user_profile,
)
from audit_kit.store.workspace import Workspace

NOW = datetime(2026, 10, 1, 9, 0)
REC_A = "R-" + "a" * 16
REC_B = "R-" + "b" * 16


def finding(detector: str = "after_hours", user: str = "U1", org: str = "LA1", bucket: str = "2026-W39",
            record: str | None = None, severity: Severity = Severity.HIGH, day: int = 20,
            score: float = 0.8) -> Finding:
    seen = datetime(2026, 9, day, 22, 0)
    evidence: dict[str, object] = {"accesses": 3}
    if record:
        evidence["record"] = record
    return Finding(
        finding_id=finding_key(detector, org, user, record or bucket), detector=detector, severity=severity,
        score=score, org_id=org, user_id=user, record_count=1, first_seen=seen, last_seen=seen + timedelta(hours=1),
        summary=f"{user} did something with {record or 'records'}.", evidence=evidence,
    )


@pytest.fixture
def people(tmp_path: Path):
    (tmp_path / "ws").mkdir()
    with PeopleStore.open(tmp_path / "ws") as p:
        yield p


def test_a_finding_moves_through_review_and_keeps_every_step(people: PeopleStore) -> None:
    f = finding()
    publish(people, [f], NOW)
    assert get_finding(people, f.finding_id).state is FindingState.OPEN  # type: ignore[union-attr]
    start_review(people, f.finding_id, "alice", NOW + timedelta(minutes=1))
    assign(people, f.finding_id, "bob", "alice", NOW + timedelta(minutes=2), note="bob knows the team")
    add_note(people, f.finding_id, "asked the DPO for the rota", "bob", NOW + timedelta(minutes=3))
    out = review_finding(people, f.finding_id, Verdict.CONFIRMED, "no rota covers it", "bob", NOW + timedelta(hours=1))
    assert out.finding.state is FindingState.CONFIRMED and out.rule is None
    assert out.finding.assignee == "bob" and out.finding.updated_by == "bob"
    steps = [(e.kind, e.actor, e.to_state) for e in history(people, f.finding_id)]
    assert steps == [
        (EventKind.DETECTED, "detection", FindingState.OPEN),
        (EventKind.STATE, "alice", FindingState.UNDER_REVIEW),
        (EventKind.ASSIGNED, "alice", None),
        (EventKind.NOTE, "bob", None),
        (EventKind.VERDICT, "bob", FindingState.CONFIRMED),
    ]
    assert history(people, f.finding_id)[-1].note == "no rota covers it"


def test_a_rerun_keeps_the_id_state_and_history_and_records_new_activity(people: PeopleStore) -> None:
    f = finding()
    publish(people, [f], NOW)
    review_finding(people, f.finding_id, Verdict.CONFIRMED, "checked", "alice", NOW)
    publish(people, [f], NOW + timedelta(days=1))  # the same finding, nothing new
    later = f.model_copy(update={"last_seen": f.last_seen + timedelta(days=2)})  # type: ignore[operator]
    result = publish(people, [later], NOW + timedelta(days=3))
    assert (result.new, result.redetected) == (0, 1)
    g = get_finding(people, f.finding_id)
    assert g is not None and g.state is FindingState.CONFIRMED and g.last_seen == later.last_seen
    kinds = [e.kind for e in history(people, f.finding_id)]
    assert kinds == [EventKind.DETECTED, EventKind.VERDICT, EventKind.REDETECTED]


def test_findings_the_store_no_longer_holds_are_kept_as_absent(people: PeopleStore) -> None:
    a, b = finding(user="U1"), finding(user="U2")
    publish(people, [a, b], NOW)
    publish(people, [a], NOW, present_ids=[a.finding_id])
    assert [f.finding_id for f in list_findings(people)] == [a.finding_id]
    assert {f.finding_id for f in list_findings(people, FindingFilter(include_absent=True))} == {a.finding_id, b.finding_id}


def test_false_positive_needs_an_expiry_and_suppresses_the_pattern_until_then(people: PeopleStore) -> None:
    f = finding(detector="shielded_access", record=REC_A)
    publish(people, [f], NOW)
    with pytest.raises(InputError, match="--suppress-days"):
        review_finding(people, f.finding_id, Verdict.FALSE_POSITIVE, "locum cover", "alice", NOW)
    out = review_finding(people, f.finding_id, Verdict.FALSE_POSITIVE, "locum cover", "alice", NOW, suppress_days=30)
    rule = out.rule
    assert rule is not None and rule.kind is RuleKind.SUPPRESSION and rule.expires_at == NOW + timedelta(days=30)
    assert (rule.detector, rule.org_id, rule.user_id, rule.record) == ("shielded_access", "LA1", "U1", REC_A)
    # The same pattern later: suppressed while the rule holds; another record or user is not.
    again = f.model_copy(update={"last_seen": datetime(2026, 10, 10)})
    other_record = finding(detector="shielded_access", record=REC_B)
    other_user = finding(detector="shielded_access", record=REC_A, user="U9")
    t = triage(people.path.parent, [again, other_record, other_user], NOW + timedelta(days=10))
    assert set(t.suppressed) == {f.finding_id}
    # After expiry: activity before it stays judged; activity after it reopens the finding.
    t = triage(people.path.parent, [again], NOW + timedelta(days=31))
    assert set(t.suppressed) == {f.finding_id} and not t.reopened
    recurring = f.model_copy(update={"last_seen": NOW + timedelta(days=33)})
    t = triage(people.path.parent, [recurring], NOW + timedelta(days=34))
    assert not t.suppressed and [x.finding_id for x in t.reopened] == [f.finding_id]
    publish(people, [recurring], NOW + timedelta(days=34))
    g = get_finding(people, f.finding_id)
    assert g is not None and g.state is FindingState.OPEN
    assert history(people, f.finding_id)[-1].kind is EventKind.REOPENED


def test_a_new_finding_of_a_suppressed_pattern_arrives_closed_and_is_alerted_after_expiry(people: PeopleStore) -> None:
    week1 = finding(bucket="2026-W39")
    publish(people, [week1], NOW)
    review_finding(people, week1.finding_id, Verdict.FALSE_POSITIVE, "night duty rota", "alice", NOW, suppress_days=14)
    week2 = finding(bucket="2026-W41", day=28)
    assert set(triage(people.path.parent, [week2], NOW + timedelta(days=7)).suppressed) == {week2.finding_id}
    publish(people, [week2], NOW + timedelta(days=7))
    g = get_finding(people, week2.finding_id)
    assert g is not None and g.state is FindingState.FALSE_POSITIVE and g.rule_id is not None
    assert history(people, week2.finding_id)[-1].kind is EventKind.AUTO_VERDICT
    week4 = finding(bucket="2026-W43", day=29)
    assert not triage(people.path.parent, [week4], NOW + timedelta(days=15)).suppressed
    publish(people, [week4], NOW + timedelta(days=15))
    assert get_finding(people, week4.finding_id).state is FindingState.OPEN  # type: ignore[union-attr]


def test_a_verdict_closes_the_open_findings_of_its_pattern(people: PeopleStore) -> None:
    a, b, c = finding(bucket="W1"), finding(bucket="W2"), finding(bucket="W3", user="U2")
    publish(people, [a, b, c], NOW)
    start_review(people, c.finding_id, "carol", NOW)
    out = review_finding(people, a.finding_id, Verdict.FALSE_POSITIVE, "rota", "alice", NOW, suppress_days=30)
    assert out.also_closed == (b.finding_id,)
    counts = count_findings(people)
    assert counts[FindingState.FALSE_POSITIVE] == 2 and counts[FindingState.UNDER_REVIEW] == 1


def test_explained_verdicts_leave_scoped_explanations(people: PeopleStore) -> None:
    rec = finding(detector="no_relationship", record=REC_A)
    multi = finding(detector="out_of_area", user="U2")
    publish(people, [rec, multi], NOW)
    with pytest.raises(InputError, match="no single record"):
        review_finding(people, multi.finding_id, Verdict.EXPLAINED, "x", "alice", NOW, explained_by=ExplainedBy.INVOLVEMENT)
    out = review_finding(people, rec.finding_id, Verdict.EXPLAINED, "new foster placement", "alice", NOW,
                         explained_by=ExplainedBy.INVOLVEMENT)
    r = out.rule
    assert r is not None and r.kind is RuleKind.EXPLANATION and r.expires_at == NOW + timedelta(days=365)
    scope = r.model_scope()
    assert scope is not None and (scope.org_id, scope.user_id, scope.record) == ("LA1", None, REC_A)
    out = review_finding(people, multi.finding_id, Verdict.EXPLAINED, "MASH secondment", "alice", NOW,
                         explained_by=ExplainedBy.ENTITLEMENT, suppress_days=90)
    scope = out.rule.model_scope()  # type: ignore[union-attr]
    assert scope is not None and (scope.user_id, scope.record) == ("U2", None)
    # Another user of LA1 reading the same child: explained (an involvement covers the whole organisation).
    colleague = finding(detector="shielded_access", record=REC_A, user="U7")
    publish(people, [colleague], NOW + timedelta(days=1))
    assert get_finding(people, colleague.finding_id).state is FindingState.EXPLAINED  # type: ignore[union-attr]


def test_changing_a_verdict_revokes_the_earlier_rule_and_reopen_revokes_too(people: PeopleStore) -> None:
    f = finding()
    publish(people, [f], NOW)
    first = review_finding(people, f.finding_id, Verdict.FALSE_POSITIVE, "rota", "alice", NOW, suppress_days=30)
    second = review_finding(people, f.finding_id, Verdict.CONFIRMED, "rota was wrong", "bob", NOW + timedelta(hours=2))
    assert second.revoked == (first.rule.rule_id,)  # type: ignore[union-attr]
    assert rules(people, NOW + timedelta(hours=3)) == []
    review_finding(people, f.finding_id, Verdict.EXPLAINED, "duty", "bob", NOW + timedelta(hours=4))
    out = reopen(people, f.finding_id, "carol", NOW + timedelta(hours=5), "DPO disagrees")
    assert out.finding.state is FindingState.OPEN and len(out.revoked) == 1
    with pytest.raises(InputError, match="only a judged finding"):
        reopen(people, f.finding_id, "carol", NOW, "again")


def test_revoking_a_suppression_alerts_the_pattern_again(people: PeopleStore) -> None:
    f = finding()
    publish(people, [f], NOW)
    rule = review_finding(people, f.finding_id, Verdict.FALSE_POSITIVE, "rota", "alice", NOW, suppress_days=30).rule
    assert rule is not None
    revoked = revoke_rule(people, rule.rule_id, "bob", NOW + timedelta(days=2), "rota changed")
    assert revoked.revoked_by == "bob" and not revoked.active(NOW + timedelta(days=3))
    assert [r.rule_id for r in rules(people, NOW + timedelta(days=3), include_inactive=True)] == [rule.rule_id]
    nxt = finding(bucket="2026-W42", day=29)
    assert not triage(people.path.parent, [nxt], NOW + timedelta(days=3)).suppressed
    with pytest.raises(InputError, match="already revoked"):
        revoke_rule(people, rule.rule_id, "bob", NOW + timedelta(days=4), "again")
    with pytest.raises(InputError, match="no such"):
        revoke_rule(people, "sup-nope", "bob", NOW, "x")
    assert history(people, f.finding_id)[-1].kind is EventKind.RULE_REVOKED


@pytest.mark.parametrize("kwargs, message", [
    ({"verdict": Verdict.CONFIRMED, "note": "x", "suppress_days": 3}, "not confirmed"),
    ({"verdict": Verdict.CONFIRMED, "note": "x", "explained_by": ExplainedBy.OTHER}, "explained verdict"),
    ({"verdict": Verdict.FALSE_POSITIVE, "note": "x", "suppress_days": 0}, "1 to 730"),
    ({"verdict": Verdict.FALSE_POSITIVE, "note": "x", "suppress_days": 9999}, "1 to 730"),
    ({"verdict": Verdict.CONFIRMED, "note": "  "}, "note saying why"),
    ({"verdict": Verdict.CONFIRMED, "note": "x", "reviewer": ""}, "who is acting"),
])
def test_a_verdict_that_does_not_fit_is_refused_and_changes_nothing(people: PeopleStore, kwargs, message) -> None:
    f = finding()
    publish(people, [f], NOW)
    args = {"reviewer": "alice", **kwargs}
    with pytest.raises(InputError, match=message):
        review_finding(people, f.finding_id, args.pop("verdict"), args.pop("note"), args.pop("reviewer"), NOW, **args)
    assert get_finding(people, f.finding_id).state is FindingState.OPEN  # type: ignore[union-attr]
    assert len(history(people, f.finding_id)) == 1


def test_finding_ids_resolve_from_a_unique_prefix(people: PeopleStore) -> None:
    f = finding()
    publish(people, [f], NOW)
    assert resolve_finding_id(people, f.finding_id[:8]) == f.finding_id
    with pytest.raises(InputError, match="not found"):
        resolve_finding_id(people, "zzzzzzzz")
    with pytest.raises(InputError, match="not found"):
        review_finding(people, "nope", Verdict.CONFIRMED, "x", "alice", NOW)


def test_confirmed_findings_raise_a_users_risk_and_repeat_offenders_are_surfaced(people: PeopleStore) -> None:
    a1, a2 = finding(user="A", bucket="W1", day=10), finding(user="A", bucket="W2", day=17)
    b1 = finding(user="B", bucket="W1", day=10)
    publish(people, [a1, a2, b1], NOW)
    before = {s.user_id: s.risk_score for s in snapshot_users(people, "run-1", NOW)}
    assert before["A"] > before["B"] > 0
    review_finding(people, a1.finding_id, Verdict.CONFIRMED, "snooping", "alice", NOW)
    review_finding(people, b1.finding_id, Verdict.FALSE_POSITIVE, "rota", "alice", NOW, suppress_days=10)
    after = {s.user_id: s for s in snapshot_users(people, "run-2", NOW + timedelta(hours=1))}
    assert after["A"].risk_score > before["A"] and after["B"].risk_score == 0.0
    assert after["A"].confirmed == 1 and after["B"].false_positive == 1
    assert repeat_offenders(people) == []  # one occasion so far
    review_finding(people, a2.finding_id, Verdict.CONFIRMED, "again", "alice", NOW)
    snapshot_users(people, "run-3", NOW + timedelta(hours=2))
    [rep] = repeat_offenders(people)
    assert (rep.user_id, rep.occasions, rep.confirmed) == ("A", 2, 2) and rep.risk_score > after["A"].risk_score
    profile = user_profile(people, "A", NOW + timedelta(hours=3))
    assert [s.run_id for s in profile.history] == ["run-1", "run-2", "run-3"] and profile.confirmed == 2


def test_user_risk_is_bounded_and_monotone() -> None:
    open_ = [(FindingState.OPEN, Severity.HIGH, 0.9)]
    assert 0 < user_risk(open_) < user_risk([(FindingState.CONFIRMED, Severity.HIGH, 0.9)]) < 1
    assert user_risk(open_ * 50) <= 1.0 and user_risk([]) == 0.0
    assert user_risk([(FindingState.FALSE_POSITIVE, Severity.CRITICAL, 1.0)]) == 0.0


def test_reviewing_never_waits_for_a_job_holding_the_analytical_store(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "ws", create=True):  # a scan holding DuckDB for writing
        with PeopleStore.open(tmp_path / "ws") as people:
            f = finding()
            publish(people, [f], NOW)
            review_finding(people, f.finding_id, Verdict.CONFIRMED, "checked", "alice", NOW)
        with PeopleStore.open(tmp_path / "ws", read_only=True) as reader:
            assert get_finding(reader, f.finding_id).state is FindingState.CONFIRMED  # type: ignore[union-attr]


def test_triage_without_any_review_suppresses_nothing(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    t = triage(tmp_path / "ws", [finding()], NOW)
    assert not t.suppressed and not t.reopened and len(t.alertable([finding()])) == 1

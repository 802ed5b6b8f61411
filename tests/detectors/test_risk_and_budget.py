"""Per-user risk and the alert budget; severities from strength; exit 3 for a detector error everywhere."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from det_miniworld import TRUTH, new_ws

from audit_kit.cli import run as cli
from audit_kit.cli.scan import exit_code
from audit_kit.detectors.evidence import CUTOFFS, binomial_tail, nb_tail, poisson_tail, severity_of, strength
from audit_kit.detectors.registry import REGISTRY
from audit_kit.detectors.risk import CONCLUSIVE, apply_risk_and_budget
from audit_kit.models.findings import Finding, Severity

T0 = datetime(2026, 4, 14, 10)


def _f(user: str, det: str, s: float, day: int = 0, policy: bool = False) -> Finding:
    ev: dict[str, object] = {"strength": s}
    if policy:
        ev["policy"] = True
    sev = Severity.CRITICAL if policy else severity_of(s)
    return Finding(finding_id=f"{user}{det}{day}", detector=det, severity=sev, score=0.5, org_id="LA1", user_id=user,
                   first_seen=T0 + timedelta(days=day), last_seen=T0 + timedelta(days=day), summary="x.", evidence=ev)


def test_severity_follows_strength_with_fixed_cutoffs():
    assert severity_of(CUTOFFS.medium - 0.01) == Severity.LOW
    assert severity_of(CUTOFFS.medium) == Severity.MEDIUM and severity_of(CUTOFFS.high) == Severity.HIGH
    assert strength(1e-5) == pytest.approx(5.0) and strength(1.0) == 0.0 and strength(0.0) == 30.0
    # tails take anything numeric, engines' Decimals and nulls included, and never crash
    from decimal import Decimal

    assert poisson_tail(Decimal(3), Decimal("0.5")) == pytest.approx(poisson_tail(3, 0.5))
    assert poisson_tail(None, 1.0) == 1.0 and nb_tail(5, None, 5) < 1e-6 and binomial_tail(1, 0, 0.01) > 0


def test_one_weak_signal_stays_low_and_corroboration_or_repetition_raises_it():
    weak = _f("A", "shielded_access", 2.5)
    two = [_f("B", "shielded_access", 2.5), _f("B", "no_relationship", 2.5)]
    days = [_f("C", "after_hours", 3.0, day=0), _f("C", "after_hours", 3.0, day=2), _f("C", "after_hours", 3.0, day=4)]
    fs = [weak, *two, *days]
    risks, _ = apply_risk_and_budget(fs, active_users=1000, budget=1.0)
    by = {r.user_id: r for r in risks}
    assert weak.severity == Severity.LOW and by["A"].severity == Severity.LOW
    assert by["B"].risk == pytest.approx(3.75) and max(f.severity for f in two) == Severity.MEDIUM
    assert by["C"].risk == pytest.approx(4.0) and by["C"].days == 3
    raised = [f for f in two if "raised_by_user_risk" in f.evidence]
    assert len(raised) == 1 and raised[0].evidence["raised_by_user_risk"]["from"] == "low"
    assert all(f.evidence["user_risk"] == by[f.user_id].risk for f in fs)


def test_the_budget_holds_moderate_alerts_never_conclusive_ones():
    moderate = [_f(f"M{i}", "no_relationship", 4.0 + i / 100) for i in range(12)]
    conclusive = [_f(f"K{i}", "bulk_access", CONCLUSIVE + 1) for i in range(3)]
    leaver = _f("L", "leaver_account", 30, policy=True)
    fs = [*moderate, *conclusive, leaver]
    _, report = apply_risk_and_budget(fs, active_users=400, budget=0.02)  # 8 alerts allowed
    assert report.allowed == 8 and report.held == 8 and report.alerted == 8
    kept = {f.user_id for f in fs if f.severity >= Severity.MEDIUM}
    assert {"K0", "K1", "K2", "L"} <= kept and len(kept) == 8
    assert {f"M{i}" for i in range(8, 12)} <= kept  # the strongest moderate ones
    held = [f for f in moderate if f.severity == Severity.LOW]
    assert len(held) == 8 and all(f.evidence["held_by_budget"]["from"] == "medium" for f in held)
    assert leaver.severity == Severity.CRITICAL
    # more conclusive evidence than the budget: all of it still shown, and said so
    fs = [_f(f"K{i}", "bulk_access", CONCLUSIVE + 1) for i in range(10)]
    _, report = apply_risk_and_budget(fs, active_users=100, budget=0.02)
    assert report.alerted == 10 and report.over_budget_conclusive == 5 and "over the budget" in report.summary()
    # a budget of 0 holds every moderate alert; a small population still gets a few
    fs = [_f(f"M{i}", "no_relationship", 4.0) for i in range(3)]
    _, report = apply_risk_and_budget(fs, active_users=30, budget=0.0)
    assert report.held == 3 and all(f.severity == Severity.LOW for f in fs)


def test_users_alerted_earlier_in_the_window_keep_their_places():
    # Eight places (2% of 400). Yesterday's scan alerted M0..M3 (the weakest) and G0, G1, who have nothing today.
    before = {"M0", "M1", "M2", "M3", "G0", "G1"}
    fs = [_f(f"M{i}", "no_relationship", 4.0 + i / 100) for i in range(12)]
    _, report = apply_risk_and_budget(fs, active_users=400, budget=0.02, alerted_before=before)
    kept = {f.user_id for f in fs if f.severity >= Severity.MEDIUM}
    # G0 and G1 still take two places; M0..M3 keep theirs ahead of stronger newcomers; two places are left.
    assert report.earlier == 2 and kept == {"M0", "M1", "M2", "M3", "M10", "M11"}
    assert report.held == 6 and "2 place(s) taken by users alerted earlier" in report.summary()
    # Without earlier alerts (a batch detection) the strongest eight, as before.
    fs = [_f(f"M{i}", "no_relationship", 4.0 + i / 100) for i in range(12)]
    _, report = apply_risk_and_budget(fs, active_users=400, budget=0.02)
    assert {f.user_id for f in fs if f.severity >= Severity.MEDIUM} == {f"M{i}" for i in range(4, 12)}
    assert report.earlier == 0 and "earlier" not in report.summary()
    # Conclusive evidence is never held, whatever earlier scans alerted.
    fs = [_f("K", "bulk_access", CONCLUSIVE + 1)]
    _, report = apply_risk_and_budget(fs, active_users=100, budget=0.02, alerted_before={f"E{i}" for i in range(9)})
    assert fs[0].severity >= Severity.MEDIUM and report.held == 0


def _boom(ctx, params):  # noqa: ANN001, ANN202 - a detector's signature
    raise TypeError("ufunc 'pdtrc' not supported for the input types")


def test_a_detector_error_is_exit_3_from_detect_even_with_findings_over_fail_on(tmp_path, monkeypatch, capsys):
    ws = new_ws(tmp_path)
    ws.close()
    monkeypatch.setitem(REGISTRY, "out_of_area", replace(REGISTRY["out_of_area"], fn=_boom))
    code = cli(["detect", "-w", str(tmp_path / "ws"), "-d", "out_of_area,leaver_account", "--fail-on", "low", "-q",
                "--no-store", "-f", "json"])
    err = capsys.readouterr().err
    assert code == 3 and "error in out_of_area: TypeError: ufunc 'pdtrc'" in err


def test_a_detector_error_is_exit_3_from_scan():
    class Result:
        detector_errors = [("out_of_area", "TypeError: boom")]
        move_errors: list[str] = []

        def count(self, status: str) -> int:
            return 1 if status == "rejected" else 0

        def alerts_at_or_above(self, sev: Severity) -> bool:
            return True

    assert exit_code(Result(), Severity.LOW) == 3  # type: ignore[arg-type]  # a stand-in ScanResult


def test_a_detector_error_is_exit_3_from_assess(tmp_path, monkeypatch, capsys):
    from audit_kit.synth import SynthParams, generate

    world = tmp_path / "world"
    generate(world, SynthParams(seed=3, orgs=4, days=28, children=500))
    monkeypatch.setitem(REGISTRY, "no_relationship", replace(REGISTRY["no_relationship"], fn=_boom))
    code = cli(["assess", str(world), "-w", str(tmp_path / "ws"), "-o", str(tmp_path / "r.html"), "-q"])
    assert code == 3 and "no_relationship: TypeError" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()  # no complete-looking report on an incomplete run (--allow-partial)


def test_truth_named_case_survives_the_default_budget_in_the_mini_world(mini_run):
    run, truth = mini_run
    assert run.budget is not None and run.budget.active_users > 30
    assert TRUTH["leaver_account"] in {f.user_id for f in run.findings if f.severity == Severity.CRITICAL}


def test_expected_work_kept_low_corroborates_nothing():
    # an entitled reader's return: the daily and the hourly volume detectors both see the same burst and
    # both keep it below medium; together they must not make the alert each declined to raise
    burst = [_f("E", "volume_spike", 3.49), _f("E", "bulk_access", 3.49), _f("E", "volume_spike", 3.49, day=2)]
    for f in burst:
        f.evidence["expected_work"] = "a reader entitled to this volume"
    # the same burst with an independent signal beside it: that signal is judged on its own strength
    other = [_f("G", "bulk_access", 3.49), _f("G", "no_relationship", 3.0), _f("G", "out_of_area", 2.5)]
    other[0].evidence["expected_work"] = "a day the peer group shared"
    risks, _ = apply_risk_and_budget([*burst, *other], active_users=1000, budget=1.0)
    by = {r.user_id: r for r in risks}
    assert by["E"].risk == pytest.approx(3.49) and by["E"].severity == Severity.LOW and by["E"].days == 0
    assert all(f.severity == Severity.LOW for f in burst)
    assert by["G"].risk == pytest.approx(3.0 + 0.5 * 2.5) and by["G"].severity == Severity.MEDIUM
    # the alert is carried by the finding that counts, not by the expected one
    assert other[1].severity == Severity.MEDIUM and other[0].severity == Severity.LOW

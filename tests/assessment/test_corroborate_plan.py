"""Which tests a control gets is its catalogue entry's to say: forms, composite controls, thresholds.

No control id decides anything here: the catalogues are built in the tests, some reusing the shipped
catalogue's ids for other things.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

import audit_kit.assessment.corroborate as corroborate_module
import audit_kit.catalogue.log_checks as log_checks_module
from audit_kit.assessment.corroborate import TESTS, Plan, corroborate, plan_for
from audit_kit.assessment.measures import OrgMeasures, Window
from audit_kit.catalogue import MEASURES, Catalogue, load_catalogue, parse_catalogue
from audit_kit.catalogue.log_checks import FORM_OF_ANSWER, check_corroboration_config
from audit_kit.config import AuditConfig, parse_config
from audit_kit.errors import ConfigError
from audit_kit.models.assessment import CheckStatus, ControlCheck
from audit_kit.models.questionnaire import Answer

WINDOW = Window(start=datetime(2026, 9, 1), end=datetime(2026, 11, 1), as_of=date(2026, 10, 31))
C, X, N = CheckStatus.CORROBORATED, CheckStatus.CONTRADICTED, CheckStatus.NO_EVIDENCE
LOW_MFA = {"sessions": 1000, "single_factor_sessions": 600}  # 40% of sessions with MFA


def control(cid: str, answer_type: str = "yes_partial_no", log_checks: list[str] | None = None,
            **extra: Any) -> dict[str, Any]:
    return {"id": cid, "title": f"Control {cid}", "domain": "Test", "question": f"Is {cid} in place?",
            "answer_type": answer_type, "log_checks": log_checks or [], **extra}


def catalogue(*controls: dict[str, Any], cid: str = "mine") -> Catalogue:
    return parse_catalogue({"id": cid, "title": "Mine", "version": "1", "source": "test",
                            "controls": list(controls)}, "mine.yaml")


def run(plan: Plan, answers: dict[str, str], **measures: Any) -> dict[str, ControlCheck]:
    m = OrgMeasures(org_id="LA01", **measures)
    given = {cid: Answer(cid, a, _value(a)) for cid, a in answers.items()}
    return {c.control_id: c for c in corroborate("LA01", given, m, WINDOW, plan).checks}


def _value(a: str) -> float | None:
    try:
        return float(a)
    except ValueError:
        return None


def test_every_form_a_measure_declares_has_a_test_and_no_test_is_undeclared() -> None:
    declared = {(m.id, FORM_OF_ANSWER[t]) for m in MEASURES.values() for t in m.claims}
    assert declared == set(TESTS)


def test_no_control_id_decides_a_test() -> None:
    ids = set(load_catalogue("accessing-organisation").by_id()) | set(load_catalogue("cyber-essentials").by_id())
    for module in (corroborate_module, log_checks_module):
        source = Path(str(module.__file__)).read_text()
        assert not {i for i in ids if re.search(rf"\b{re.escape(i)}\b", source)}, module.__name__


def test_a_reused_shipped_id_is_tested_as_what_this_catalogue_says() -> None:
    # IAM-02 here is a policy question with no log checks; IAM-04 asks about MFA (tested by mfa_share).
    plan = plan_for(catalogue(control("IAM-02"), control("IAM-04", log_checks=["mfa_share"])))
    assert plan.tested == ("IAM-04",) and plan.untested == ("IAM-02",)
    checks = run(plan, {"IAM-02": "yes", "IAM-04": "yes"}, **LOW_MFA)
    assert set(checks) == {"IAM-04"}  # IAM-02 is not log-testable here: no check at all, not "no evidence"
    assert checks["IAM-04"].measure == "mfa_share" and checks["IAM-04"].status is X
    # … and a shipped-looking IAM-02 asked as a date is tested by no measure, whatever its log checks say
    plan = plan_for(catalogue(control("IAM-02", "date", log_checks=["mfa_share", "weak_auth"])))
    assert plan.tested == () and plan.untested == ("IAM-02",)


@pytest.mark.parametrize(("single", "claimed", "status"), [
    (600, "yes", X), (600, "partial", X), (600, "no", C),  # 40% MFA: the logs say no
    (0, "yes", C), (0, "no", N),  # 100%: a "no" is more modest than the logs
    (60, "partial", C), (60, "yes", X),  # 94%: partial; the 99.9% bound (95.9%) is short of 97.5%
    (30, "yes", N),  # 97%: under 98%, but the bound reaches it
])
def test_mfa_share_tests_a_level_answer(single: int, claimed: str, status: CheckStatus) -> None:
    plan = plan_for(catalogue(control("A-1", log_checks=["weak_auth", "mfa_share"])))
    c = run(plan, {"A-1": claimed}, sessions=1000, single_factor_sessions=single)["A-1"]
    assert c.status is status and c.measure == "mfa_share"


def test_leavers_retention_and_choice_answers_as_levels() -> None:
    plan = plan_for(catalogue(
        control("L", "yes_no", ["leaver_activity"]),
        control("R", log_checks=["log_retention"]),
        control("E", "choice", ["export_volume"], choices={"always": 1.0, "mostly": 0.5, "rarely": 0.0}),
    ))
    leavers = {"leavers": 3, "leavers_active_after": 1}
    assert run(plan, {"L": "yes"}, **leavers, leaver_max_days_after=14)["L"].status is X
    assert run(plan, {"L": "yes"}, **leavers, leaver_max_days_after=2)["L"].status is N  # within the grace day
    assert run(plan, {"L": "no"}, **leavers, leaver_max_days_after=14)["L"].status is C
    assert run(plan, {"L": "yes"}, leavers=3)["L"].status is N  # nobody came back: nothing to see
    gap = {"events": 5000, "longest_silence_days": 4}
    assert run(plan, {"R": "yes"}, **gap)["R"].status is X
    assert run(plan, {"R": "partial"}, **gap)["R"].status is N  # a partial admits the shortfall
    assert run(plan, {"R": "no"}, **gap)["R"].status is C
    assert run(plan, {"R": "yes"}, events=5000)["R"].status is C
    loose = {"reads": 500, "adhoc_exports": 10, "adhoc_export_users": 6}
    assert run(plan, {"E": "always"}, **loose)["E"].status is X
    assert run(plan, {"E": "rarely"}, **loose)["E"].status is C
    assert run(plan, {"E": "always"}, reads=500)["E"].status is C


def test_a_control_several_measures_test_is_contradicted_by_any_of_them() -> None:
    ce = plan_for(load_catalogue("cyber-essentials"))
    assert [t.measure for cp in ce.controls if cp.control.id == "CE-UAC" for t in cp.tests] == [
        "mfa_share", "leaver_activity", "shared_accounts"]
    good_mfa = {"sessions": 1000, "single_factor_sessions": 0}
    c = run(ce, {"CE-UAC": "yes"}, **good_mfa, leavers=2, leavers_active_after=1, leaver_max_days_after=30,
            users_with_sessions=20)["CE-UAC"]
    assert c.status is X and c.measure == "leaver_activity" and "30 day(s) after" in c.detail
    assert c.measures["other_measures"]["mfa_share"]["status"] == "corroborated"
    assert c.measures["other_measures"]["shared_accounts"]["status"] == "no_evidence"
    assert "Also tested: [mfa_share: corroborated" in c.detail
    c = run(ce, {"CE-UAC": "yes"}, **good_mfa, leavers=2, users_with_sessions=20)["CE-UAC"]
    assert c.status is C and c.measure == "mfa_share"  # nothing contradicts; MFA corroborates
    result = corroborate("LA01", {}, OrgMeasures("LA01", **LOW_MFA, leavers=2, users_with_sessions=20), WINDOW, ce)
    assert result.credits["CE-UAC"] == 0.0  # logs only: the weakest part bounds the control


def test_thresholds_from_defaults_config_catalogue_and_config_per_control() -> None:
    cat = catalogue(
        control("M1", "percentage", ["mfa_share"], scoring={"full": 100}),
        control("M2", "percentage", ["mfa_share"], scoring={"full": 100},
                corroboration={"thresholds": {"mfa_share": {"min_sessions": 10}}}),
    )
    few = {"sessions": 20, "single_factor_sessions": 10}
    checks = run(plan_for(cat), {"M1": "100", "M2": "100"}, **few)
    assert checks["M1"].status is N and "at least 30" in checks["M1"].detail  # the default minimum sample
    assert checks["M2"].status is X and checks["M2"].measures["thresholds"] == {"min_sessions": 10}
    cfg = parse_config("corroboration:\n  thresholds: {mfa_share: {min_sessions: 15}}\n"
                       "  controls: {mine: {M2: {mfa_share: {min_sessions: 25}}}}\n", "cfg.yaml")
    checks = run(plan_for(cat, cfg), {"M1": "100", "M2": "100"}, **few)
    assert checks["M1"].status is X and checks["M1"].measures["thresholds"] == {"min_sessions": 15}
    assert checks["M2"].status is N and "at least 25" in checks["M2"].detail  # config per control wins
    # without overrides the numbers carry no thresholds (the shipped results stay as they were)
    assert "thresholds" not in run(plan_for(load_catalogue("accessing-organisation")), {"IAM-02": "100"},
                                   **LOW_MFA)["IAM-02"].measures


@pytest.mark.parametrize(("text", "message"), [
    ("corroboration: {thresholds: {mfa_shar: {z: 2}}}",
     "key corroboration.thresholds.mfa_shar: 'mfa_shar' is not a log measure"),
    ("corroboration: {thresholds: {user_count: {z: 2}}}",
     "key corroboration.thresholds.user_count: 'user_count' has no corroboration test"),
    ("corroboration: {thresholds: {mfa_share: {min_session: 50}}}",
     "key corroboration.thresholds.mfa_share.min_session: unknown threshold for mfa_share; known: min_sessions"),
    ("corroboration: {thresholds: {mfa_share: {yes_share: 1.5}}}",
     "key corroboration.thresholds.mfa_share.yes_share: expected a value from 0 to 1, got 1.5"),
    ("corroboration: {thresholds: {mfa_share: {min_sessions: 2.5}}}",
     "key corroboration.thresholds.mfa_share.min_sessions: expected a whole number, got 2.5"),
    ("corroboration: {controls: {x: {Y-1: {dormant_accounts: {partial_max: -1}}}}}",
     "key corroboration.controls.x.Y-1.dormant_accounts.partial_max: expected 0 or more, got -1"),
])
def test_configuration_errors_name_the_file_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_corroboration_config(parse_config(text, "site.yaml"))
    assert err.value.message.startswith("site.yaml: ") and message in err.value.message


def test_configuration_values_must_be_numbers() -> None:
    with pytest.raises(ConfigError, match=r"site.yaml: key corroboration.thresholds.mfa_share.z"):
        parse_config("corroboration: {thresholds: {mfa_share: {z: high}}}", "site.yaml")


def test_configuration_per_control_is_checked_against_the_catalogue() -> None:
    cat = load_catalogue("accessing-organisation")
    for text, message in [
        ("corroboration: {controls: {accessing-organisation: {IAM-99: {mfa_share: {z: 2}}}}}",
         "key corroboration.controls.accessing-organisation.IAM-99: no control 'IAM-99'"),
        ("corroboration: {controls: {accessing-organisation: {IAM-04: {mfa_share: {z: 2}}}}}",
         "IAM-04.mfa_share: 'mfa_share' does not test IAM-04 (tested by: dormant_accounts)"),
    ]:
        with pytest.raises(ConfigError) as err:
            plan_for(cat, parse_config(text, "site.yaml"))
        assert message in err.value.message and err.value.message.startswith("site.yaml: ")
    # another checklist's controls are not this catalogue's business
    plan_for(cat, parse_config("corroboration: {controls: {other: {Z-1: {mfa_share: {z: 2}}}}}", "s.yaml"))
    assert plan_for(cat, AuditConfig()).tested


def test_no_catalogue_no_tests() -> None:
    plan = plan_for(None)
    assert plan.tested == () and run(plan, {"IAM-02": "100"}, **LOW_MFA) == {}

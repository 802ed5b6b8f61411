"""audit-kit.yaml: defaults that need no file, strict validation naming file and key, and its effect on detection."""

from __future__ import annotations

import pytest
from det_miniworld import TRUTH, new_ws

from audit_kit.app.context import resolve_config
from audit_kit.config import AuditConfig, parse_config, parse_hours
from audit_kit.detectors import run_detectors
from audit_kit.errors import ConfigError
from audit_kit.models.findings import Severity


def test_defaults_need_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = resolve_config(None, tmp_path / "ws", {})
    assert cfg == AuditConfig()
    assert cfg.working_hours.minutes == (7 * 60, 19 * 60)
    assert "statutory_return*" in cfg.allow.purposes and "national_partner" in cfg.entitlements.cross_area_org_types


def test_file_is_found_in_cwd_then_workspace(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "audit-kit.yaml").write_text("window_days: 7\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_config(None, ws, {}).window_days == 7
    (tmp_path / "audit-kit.yaml").write_text("window_days: 3\n")
    assert resolve_config(None, ws, {}).window_days == 3


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("working_hours: {hours: '7-19'}", "key working_hours.hours"),
        ("windw_days: 3", "key windw_days"),
        ("detectors: {no_such: {}}", "unknown detector id(s) no_such"),
        ("detectors: {after_hours: {params: {min_event: 3}}}", "unknown param(s) min_event"),
        ("detectors: {after_hours: {params: {min_events: lots}}}", "key detectors.after_hours.params.min_events"),
        ("baseline_days: 3", "key baseline_days"),
        ("- a list", "expected a mapping"),
        ("a: [unclosed", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, needle):
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        resolve_config(path, None, {})
    assert str(path) in str(err.value) and needle in str(err.value)


def test_environment_names_the_file_and_a_flag_beats_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.yaml").write_text("window_days: 5\n")
    (tmp_path / "b.yaml").write_text("window_days: 9\n")
    env = {"AUDIT_KIT_CONFIG": str(tmp_path / "a.yaml")}
    assert resolve_config(None, None, env).window_days == 5
    assert resolve_config(tmp_path / "b.yaml", None, env).window_days == 9
    with pytest.raises(ConfigError, match="AUDIT_KIT_CONFIG"):
        resolve_config(None, None, {"AUDIT_KIT_CONFIG": str(tmp_path / "gone.yaml")})


def test_a_configuration_knows_its_source_and_fingerprint(tmp_path):
    cfg = parse_config("window_days: 7\n", source="strict.yaml")
    assert cfg.source == "strict.yaml" and AuditConfig().source == "defaults"
    assert cfg.sha256 == parse_config("window_days: 7\n", source="elsewhere.yaml").sha256
    assert cfg.sha256 != AuditConfig().sha256 and "strict.yaml (sha256 " in cfg.stamp()


def test_missing_explicit_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        resolve_config(tmp_path / "nope.yaml", None, {})


def test_parse_hours():
    assert parse_hours("08:30-18:00") == (510, 1080)
    with pytest.raises(ValueError):
        parse_hours("8-18")


def test_config_switches_exempts_and_allow_lists(tmp_path):
    ws = new_ws(tmp_path)
    cfg = parse_config(
        f"""
        allow: {{users: [{TRUTH['no_relationship']}, {TRUTH['out_of_area']}]}}
        detectors:
          after_hours: {{exempt_roles: [caseworker]}}
          log_gap: {{enabled: false}}
          volume_spike: {{params: {{floor: 100000}}}}
        """
    )
    run = run_detectors(ws, cfg, detectors=["after_hours", "volume_spike", "no_relationship", "log_gap", "bulk_access"], store=False)
    flagged = {(f.detector, f.user_id or f.org_id) for f in run.findings if f.severity >= Severity.MEDIUM}
    assert ("after_hours", TRUTH["after_hours"]) not in flagged  # role exempt
    assert ("volume_spike", TRUTH["volume_spike"]) not in flagged  # threshold raised
    assert ("no_relationship", TRUTH["no_relationship"]) not in flagged  # allow-listed user
    assert ("log_gap", "disabled in config") in run.skipped
    assert ("bulk_access", TRUTH["bulk_access"]) in flagged  # the rest still run
    ws.close()


def test_organisation_working_hours_override_the_default(tmp_path):
    """A 24-hour organisation has no out-of-hours: its night work is not unusual."""
    ws = new_ws(tmp_path)
    ws.con.execute("UPDATE organisations SET working_hours = '00:00-24:00' WHERE org_id = 'LA1'")
    cfg = parse_config("working_hours: {weekend_is_out_of_hours: false}")
    run = run_detectors(ws, cfg, detectors=["after_hours"], store=False)
    assert not [f for f in run.findings if f.org_id == "LA1"]
    ws.close()

"""Missing data skips a detector with the reason; a failing detector becomes an error entry; the rest run."""

from __future__ import annotations

from dataclasses import replace

import pytest
from det_miniworld import TRUTH, new_ws

from audit_kit.config import AuditConfig
from audit_kit.detectors import REGISTRY, run_detectors
from audit_kit.detectors.registry import REGISTRY as REG
from audit_kit.errors import InputError
from audit_kit.store.workspace import Workspace


def test_missing_columns_and_tables_are_skipped_with_reasons(tmp_path):
    ws = new_ws(tmp_path)
    ws.con.execute("UPDATE users SET family_key = NULL")
    ws.con.execute("DELETE FROM involvements")
    run = run_detectors(ws, AuditConfig(), detectors=["family_lookup", "no_relationship", "lingering_access", "leaver_account",
                                       "log_gap"], store=False)
    skipped = dict(run.skipped)
    assert skipped["family_lookup"] == "dataset lacks users.family_key"
    assert "involvements.record_id" in skipped["no_relationship"]
    assert "involvements.end_date" in skipped["lingering_access"]
    assert not run.errors
    assert {f.detector for f in run.findings} == {"leaver_account", "log_gap"}
    ws.close()


def test_a_failing_detector_is_an_error_entry_and_the_others_run(tmp_path, monkeypatch):
    ws = new_ws(tmp_path)

    def boom(ctx, params):
        raise RuntimeError("engine fell over")

    monkeypatch.setitem(REG, "volume_spike", replace(REGISTRY["volume_spike"], fn=boom))
    run = run_detectors(ws, AuditConfig(), detectors=["volume_spike", "bulk_access"], store=False)
    assert run.errors == [("volume_spike", "RuntimeError: engine fell over")]
    assert TRUTH["bulk_access"] in {f.user_id for f in run.findings if f.detector == "bulk_access"}
    ws.close()


def test_empty_workspace_skips_everything(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    run = run_detectors(ws, AuditConfig())
    assert run.findings == [] and len(run.skipped) == len(REGISTRY)
    assert all(why == "no events in the workspace" for _, why in run.skipped)
    ws.close()


def test_unknown_detector_and_empty_window_are_input_errors(tmp_path):
    ws = Workspace.open(tmp_path / "ws", create=True)
    with pytest.raises(InputError, match="unknown detector id.*nope"):
        run_detectors(ws, AuditConfig(), detectors=["nope", "after_hours"])
    from datetime import datetime

    with pytest.raises(InputError, match="is not before"):
        run_detectors(ws, AuditConfig(), since=datetime(2026, 5, 1), until=datetime(2026, 4, 1))
    ws.close()

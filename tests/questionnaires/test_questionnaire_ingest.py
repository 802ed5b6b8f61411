"""`audit-kit ingest DATASET_DIR` imports DATASET_DIR/questionnaires/* (a mix of formats) through
this package's importer, and the answers can then be scored."""

from __future__ import annotations

import json
from pathlib import Path

from qfill_helpers import FILLERS, full_answers

from audit_kit.catalogue import load_catalogue
from audit_kit.cli import run


def test_ingest_reads_a_mix_of_questionnaire_formats(tmp_path: Path, capsys) -> None:
    data = tmp_path / "review"
    (data / "events").mkdir(parents=True)
    (data / "questionnaires").mkdir()
    orgs = ["LA-1", "GP-2", "SCH-3"]
    (data / "organisations.csv").write_text(
        "org_id,name,type,area\n" + "".join(f"{o},Org {o},local_authority,North\n" for o in orgs)
    )
    (data / "events" / "e.csv").write_text(
        "timestamp,user_id,org_id,record_id,action,outcome\n2026-03-02T10:00:00Z,u1,LA-1,r1,view,success\n"
    )
    cat = load_catalogue("cyber-essentials")
    for org, fmt in zip(orgs, ("yaml", "csv", "xlsx"), strict=True):
        blank = tmp_path / f"blank-{org}.{fmt}"
        assert (
            run(["questionnaire", "template", "-c", cat.id, "--org", org, "-f", fmt, "-o", str(blank)]) == 0
        )
        answers = full_answers(cat)
        if org == "GP-2":
            answers["CE-SUM"]["answer"] = "no"
        FILLERS[fmt](blank, data / "questionnaires" / f"{org}.{fmt}", org, answers)
    capsys.readouterr()
    ws = str(tmp_path / "ws")
    assert run(["ingest", str(data), "--workspace", ws, "--format", "json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    summary = json.dumps(report)
    assert "3 submission(s) stored from 3 file(s)" in summary
    assert run(["score", "--workspace", ws, "--format", "json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert [s["org_id"] for s in scores][0] == "GP-2"  # weakest first: failed a must-pass control
    assert {s["org_id"]: s["overall"] for s in scores} == {"GP-2": 50.0, "LA-1": 100.0, "SCH-3": 100.0}

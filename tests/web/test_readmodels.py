"""Read models: what writers publish for the web app — findings every time (scrubbed of raw record ids),
ratings and scores with each new assessment or questionnaire, kept as they were while what they are
derived from is unchanged."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest
import report_world
from scan_free_helpers import extra_finding
from web_world import questionnaire_csv

from audit_kit.app import readmodels
from audit_kit.app.readmodels import publish_after_write, publish_read_models
from audit_kit.questionnaires.importer import import_files
from audit_kit.store import web
from audit_kit.store.assessments import store_assessment
from audit_kit.store.findings import store_findings
from audit_kit.store.people import PeopleStore


def test_publish_then_keep_ratings_until_a_new_assessment(tmp_path: Path) -> None:
    ws = report_world.build(tmp_path / "ws")
    with ws.transaction():
        store_assessment(ws, report_world.assessment(as_of=date(2026, 3, 1)))
    with PeopleStore.open(ws.path) as people:
        first = publish_read_models(ws, people)
        la = web.get_org(people, "LA001")
        assert first.assessment_id == "A-2026-03-01" and la is not None and la.risk_level is not None
        assert la.scores is None or "domains" in la.scores
        blob = "".join(f.summary + f.evidence for f in web.list_findings(people))
        assert report_world.RAW_LEAK not in blob and "R-" in blob
        before = {o.org_id: o for o in web.list_orgs(people)}

        # A scan adds a finding under the same assessment: counts move, ratings are kept as published.
        with ws.transaction():
            store_findings(ws, [extra_finding("LA001")], "run-2", datetime(2026, 4, 2))
        assert publish_after_write(ws) is None
        again = web.publication(people)
        assert again is not None and again.assessment_id == first.assessment_id
        assert again.findings == first.findings + 1
        la2 = web.get_org(people, "LA001")
        assert la2 is not None and la2.findings == before["LA001"].findings + 1
        assert (la2.risk_level, la2.assessment, la2.scores) == (la.risk_level, la.assessment, la.scores)

        # A new assessment replaces ratings and adds a point to the trend.
        with ws.transaction():
            store_assessment(ws, report_world.assessment(as_of=date(2026, 4, 1), previous_id="A-2026-03-01"))
        third = publish_read_models(ws, people)
        assert third.assessment_id == "A-2026-04-01"
        assert {t.assessment_id for t in web.trend(people)} == {"A-2026-03-01", "A-2026-04-01"}
    ws.close()


def test_scores_are_scored_again_only_when_a_questionnaire_arrives(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # No assessment yet (a workspace that is only scanned): scoring every body took ~1.5 s of each scan at
    # 300 bodies, although nothing it reads had changed.
    ws = report_world.build(tmp_path / "ws")
    (tmp_path / "LA001.csv").write_bytes(questionnaire_csv("LA001"))
    import_files(ws, [tmp_path / "LA001.csv"])
    scored: list[int] = []
    real = readmodels.load_scores
    monkeypatch.setattr(readmodels, "load_scores", lambda *a, **k: scored.append(1) or real(*a, **k))
    with PeopleStore.open(ws.path) as people:
        publish_read_models(ws, people)
        la = web.get_org(people, "LA001")
        assert la is not None and la.scores is not None and json.loads(la.scores)["overall"] is not None
        assert web.get_org(people, "GP002").scores is None  # type: ignore[union-attr]

        with ws.transaction():  # a scan: a new finding, nothing the scores read
            store_findings(ws, [extra_finding("LA001")], "run-2", datetime(2026, 4, 2))
        assert publish_after_write(ws) is None
        assert scored == [1]
        la2 = web.get_org(people, "LA001")
        assert la2 is not None and la2.scores == la.scores and la2.findings == la.findings + 1

        (tmp_path / "GP002.csv").write_bytes(questionnaire_csv("GP002"))
        import_files(ws, [tmp_path / "GP002.csv"])
        publish_read_models(ws, people)
        assert scored == [1, 1]
        gp = web.get_org(people, "GP002")
        assert gp is not None and gp.scores is not None and json.loads(gp.scores)["overall"] is not None
    ws.close()


def test_a_broken_people_store_never_fails_the_writer(tmp_path: Path) -> None:
    ws = report_world.build(tmp_path / "ws")
    (ws.path / "people.sqlite").write_bytes(b"this is not a database" * 100)
    note = publish_after_write(ws)
    assert note is not None and "read models were not updated" in note
    ws.close()

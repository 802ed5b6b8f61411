"""Questionnaires received through the web app reach the analytical store only through a writer job:
`audit-kit questionnaire import --received`, which imports them and marks them imported."""

from __future__ import annotations

from web_world import OWN, questionnaire_csv

from audit_kit.cli import run
from audit_kit.store import web
from audit_kit.store.people import PeopleStore
from audit_kit.store.questionnaires import load_submissions
from audit_kit.store.workspace import Workspace


def test_import_received(world, capsys) -> None:
    with PeopleStore.open(world.path) as people:
        web.add_submission(people, OWN, "accessing-organisation", "answers.csv", "csv", questionnaire_csv(OWN), 40,
                           "dora", web.utcnow())
    with Workspace.open(world.path, read_only=True) as ws:
        before = len(load_submissions(ws))
    assert run(["questionnaire", "import", "--received", "-w", str(world.path), "-q"]) == 0
    capsys.readouterr()
    with Workspace.open(world.path, read_only=True) as ws:
        subs = load_submissions(ws)
    assert len(subs) == before + 1 and any(s.org_id == OWN for s in subs)
    with PeopleStore.open(world.path) as people:
        assert [s.state for s in web.submissions(people, OWN)] == ["imported"]
    assert run(["questionnaire", "import", "--received", "-w", str(world.path), "-q"]) == 0  # nothing left
    assert run(["questionnaire", "import", "-w", str(world.path)]) == 2
    assert "give questionnaire files, or --received" in capsys.readouterr().err

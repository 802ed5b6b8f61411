"""Questionnaires DPOs submitted through the web app, taken into the analytical store.

The web app checks an upload with the same readers and validator as `questionnaire import` and keeps
it in the people store as *received*; it never writes DuckDB. This job — `audit-kit questionnaire
import --received`, a writer like any import — reads the received files, imports them as if they had
been given on the command line, and marks them imported.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from audit_kit.app.context import RunContext
from audit_kit.models.questionnaire import QuestionnaireImportReport
from audit_kit.progress import NULL_PROGRESS, Progress
from audit_kit.questionnaires.importer import import_files
from audit_kit.store import web
from audit_kit.store.people import PeopleStore

UPLOADS_DIR = "web-uploads"


def import_received(ctx: RunContext, strict: bool = False, progress: Progress = NULL_PROGRESS
                    ) -> QuestionnaireImportReport:
    """Import every received web submission, oldest first; mark each imported once stored (or found
    identical to a stored version). Raises QuestionnaireRejected under `strict` when anything is wrong."""
    with PeopleStore.open(ctx.workspace) as people:
        pending = list(reversed(web.submissions(people, state="received")))
        with tempfile.TemporaryDirectory(prefix="audit-kit-received-") as tmp:
            folder = Path(tmp) / UPLOADS_DIR
            folder.mkdir()
            paths = []
            for s in pending:
                content = web.submission_content(people, s.submission_id)
                if content is None:
                    continue
                path = folder / f"{s.submission_id:06d}-{s.org_id}-{s.filename}"
                path.write_bytes(content)
                paths.append(path)
            with ctx.open_workspace(create=True) as ws:
                report = import_files(ws, paths, strict=strict, progress=progress, catalogues=ctx.catalogues)
        now = web.utcnow()
        for s in pending:
            web.mark_imported(people, s.submission_id, now)
    return report

"""Score the questionnaires stored in a workspace: latest submission per organisation and checklist,
with the change since the previous one, ranked weakest first."""

from __future__ import annotations

from collections.abc import Mapping

from audit_kit.catalogue import SHIPPED, CatalogueLibrary
from audit_kit.errors import InputError
from audit_kit.scoring.engine import score_answers
from audit_kit.scoring.models import Corroboration, OrgScore
from audit_kit.store.questionnaires import SubmissionRecord, load_submissions
from audit_kit.store.workspace import Workspace


def _score_record(
    rec: SubmissionRecord, corroboration: Mapping[tuple[str, str], Corroboration] | None,
    catalogues: CatalogueLibrary,
) -> OrgScore:
    catalogue = catalogues.load(rec.checklist_id)
    as_of = rec.submitted or rec.imported_at.date()
    s = score_answers(catalogue, rec.answers, as_of, rec.org_id, corroboration)
    s.submission_id, s.version, s.submitted = rec.submission_id, rec.version, rec.submitted
    return s


def score_workspace(
    ws: Workspace,
    checklist_id: str | None = None,
    org_id: str | None = None,
    corroboration: Mapping[tuple[str, str], Corroboration] | None = None,
    catalogues: CatalogueLibrary = SHIPPED,
) -> list[OrgScore]:
    """Score each organisation's latest submission per checklist, weakest first (`rank` 1).

    `corroboration` maps (org_id, control_id) to what the logs say; a contradicted answer counts
    as no. The previous submission is scored the same way, so `delta` reflects changed answers.
    Raises InputError when a filter matches no stored questionnaire.
    """
    records = load_submissions(ws, checklist_id, org_id)
    if not records:
        what = " and ".join(
            x
            for x in (f"checklist {checklist_id}" if checklist_id else "", f"org {org_id}" if org_id else "")
            if x
        )
        raise InputError(
            f"{ws.path}: no questionnaires stored{' for ' + what if what else ''}",
            hint="import some with `audit-kit questionnaire import FILES --workspace " + str(ws.path) + "`",
        )
    latest: dict[tuple[str, str], list[SubmissionRecord]] = {}
    for rec in records:  # oldest version first
        latest.setdefault((rec.org_id, rec.checklist_id), []).append(rec)
    scores: list[OrgScore] = []
    for versions in latest.values():
        current = _score_record(versions[-1], corroboration, catalogues)
        if len(versions) > 1:
            prev = _score_record(versions[-2], corroboration, catalogues)
            current.previous_version = prev.version
            current.previous_overall = prev.overall
            if prev.overall is not None and current.overall is not None:
                current.delta = round(current.overall - prev.overall, 1)
        scores.append(current)
    scores.sort(key=lambda s: (s.overall if s.overall is not None else -1.0, s.org_id, s.checklist_id))
    for i, s in enumerate(scores, 1):
        s.rank = i
    return scores

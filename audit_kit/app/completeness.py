"""Whether the findings an assessment or report stands on are complete.

A detector that failed (a bug, or data it could not handle) leaves its kind of misuse unreported; an
assessment or report built on that run would look complete and be signed as such. So `assess` and
`report` refuse to go on from a detection run with a failed detector, unless told `--allow-partial`,
in which case the report's limitations name the failed detectors (report/sections/limitations.py).
"""

from __future__ import annotations

from audit_kit.errors import IncompleteDetectionError
from audit_kit.store.findings import detection_runs
from audit_kit.store.workspace import Workspace

ALLOW_PARTIAL_HINT = ("fix or disable the detector and run `audit-kit detect` again, or pass --allow-partial to go "
                      "on: the report's limitations then name what failed")


def failed_detectors(ws: Workspace) -> dict[str, str]:
    """The detectors that failed in the latest detection run, with why (empty when none ran or none failed)."""
    runs = detection_runs(ws)
    return dict(runs[0].errors) if runs else {}


def require_complete_detection(ws: Workspace, allow_partial: bool) -> dict[str, str]:
    """Raise IncompleteDetectionError when the latest run has failed detectors and `allow_partial` is off;
    return the failures otherwise (for a warning)."""
    failed = failed_detectors(ws)
    if failed and not allow_partial:
        named = "; ".join(f"{d}: {why}" for d, why in sorted(failed.items()))
        raise IncompleteDetectionError(
            f"{ws.path}: the latest detection run is incomplete: {len(failed)} detector(s) failed ({named})",
            hint=ALLOW_PARTIAL_HINT,
        )
    return failed

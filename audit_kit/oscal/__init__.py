"""OSCAL export: audit-kit results as NIST OSCAL documents (assessment results, OSCAL 1.1.x JSON).

    from audit_kit.oscal import assessment_results
    doc = assessment_results(ws)          # dict, ready for json.dump

See audit_kit/oscal/results.py for what goes where, and docs/formats.md.
"""

from __future__ import annotations

from audit_kit.oscal.results import OSCAL_VERSION, assessment_results, control_token, stable_uuid

__all__ = ["OSCAL_VERSION", "assessment_results", "control_token", "stable_uuid"]

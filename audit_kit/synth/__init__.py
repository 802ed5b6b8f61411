"""The synthetic review world: organisations, staff, children, involvements and realistic access
traffic with injected, labelled inappropriate access (truth.csv) and each organisation's real
security practice (truth_orgs.csv). See docs/synthetic-world.md.

    from audit_kit.synth import SynthParams, generate
    summary = generate(Path("world"), SynthParams(seed=7, orgs=8, days=45, children=3000))
"""

from audit_kit.synth.params import CATEGORIES, SCAN_DAYS, SynthParams, SynthSummary
from audit_kit.synth.world import WORLD_FILES, generate

__all__ = ["CATEGORIES", "SCAN_DAYS", "SynthParams", "SynthSummary", "WORLD_FILES", "generate"]

"""Pure section builders: each takes report facts (never a workspace) and returns view models.

| module | sections |
| --- | --- |
| `document` | cover facts, document control (version history, distribution, sign-off, basis) |
| `assurance` | assurance opinions (national, per body, per control area) and their criteria |
| `limitations` | limitations of the review, good practice acknowledged |
| `risk` | heat map, league table, register (table and whole entries) |
| `findings` | finding cards, most serious list, counts by detector and week |
| `actions` | recommendations ranked by priority, DPO action plan, follow-up of earlier actions |
| `scope` | scope and coverage, method and scales, control results by framework |
| `public` | the public summary, with small-number suppression |
"""

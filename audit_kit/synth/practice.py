"""Measuring each organisation's real security practice from the generated world (truth_orgs.csv).

The practice profile drives the traffic (population.Practice); the numbers written here are measured
back from the final events and users, so questionnaire overstatement and log corroboration are
judged against what the logs actually show.
"""

from __future__ import annotations

import numpy as np

from audit_kit.synth.population import NATIONAL, R_ANALYST, R_DUTY, R_MASH, World, undeclared_ip_base
from audit_kit.synth.traffic import A_API_KEY, A_MFA, A_SMARTCARD, LOGIN, SUCCESS, V

TRUTH_ORG_COLUMNS = (
    "org_id",
    "mfa_share",
    "leavers_disabled_days",
    "dormant_accounts",
    "shared_accounts",
    "explained_share",
    "shielded_overrides",
    "exports_controlled",
    "declared_networks",
    "undeclared_ip_share",
    "log_gap_days",
)
DORMANT_DAYS = 90
CROSS_READING_ROLES = (R_MASH, R_DUTY, R_ANALYST)


def explained(world: World, rec: np.ndarray, org: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Whether each access is explained by an involvement of its org with the child active that day."""
    w = world
    r = w.inv_recorded  # explained by what involvements.csv says, as the detectors see it
    inv_key = w.inv_rec[r].astype(np.int64) * w.n_orgs + w.inv_org[r]
    order = np.argsort(inv_key, kind="stable")
    keys = inv_key[order]
    start = w.inv_start[r][order].astype(np.int64)
    end = np.where(np.isnat(w.inv_end[r][order]), np.iinfo(np.int64).max, w.inv_end[r][order].astype(np.int64))
    key = rec.astype(np.int64) * w.n_orgs + org
    pos = np.clip(np.searchsorted(keys, key), 0, len(keys) - 1)
    day = ts // 86_400
    return (keys[pos] == key) & (start[pos] <= day) & (day <= end[pos]) & (rec >= 0)


def measure(
    world: World, ev: dict[str, np.ndarray], gaps: list[tuple[int, int, int]], scan_utc: int
) -> list[tuple]:
    """One truth_orgs.csv row per organisation."""
    w = world
    n = w.n_orgs
    org = ev["org"]

    logins = (ev["action"] == LOGIN) & (ev["outcome"] == SUCCESS) & (ev["auth"] != A_API_KEY)
    n_login = np.bincount(org[logins], minlength=n)
    strong = logins & np.isin(ev["auth"], (A_MFA, A_SMARTCARD))
    mfa_share = np.bincount(org[strong], minlength=n) / np.maximum(n_login, 1)
    # DEV-04 is judged on every logged event that carries an address, misuse included (a shared
    # account used from home breaks a network-restriction claim), so the truth is measured the same way.
    has_ip = ev["ip"] >= 0
    undeclared = has_ip & (ev["ip"] >= undeclared_ip_base(w))
    undeclared_share = np.bincount(org[undeclared], minlength=n) / np.maximum(np.bincount(org[has_ip], minlength=n), 1)

    # explained share of views by staff who need a relationship (MASH, duty and national analysts
    # read across areas by remit, so they are left out, as detectors exempt them)
    views = (ev["action"] == V) & (ev["outcome"] == SUCCESS) & (ev["rec"] >= 0)
    views &= ~np.isin(w.user_role[ev["user"]], CROSS_READING_ROLES) & (w.org_type[org] != NATIONAL)
    ok = explained(w, ev["rec"][views], org[views], ev["ts"][views])
    n_views = np.bincount(org[views], minlength=n)
    explained_share = np.bincount(org[views][ok], minlength=n) / np.maximum(n_views, 1)

    overrides = np.bincount(org[ev["bg"] == 1], minlength=n)

    # leavers: the longest any leaver's account was still used after their end date
    last_day = np.full(w.n_users, -1, dtype=np.int64)
    np.maximum.at(last_day, ev["user"], ev["ts"] // 86_400)
    ended = ~np.isnat(w.user_end)
    late = np.where(ended, last_day - w.user_end.astype(np.int64), 0)
    late = np.where(last_day < 0, 0, np.maximum(late, 0))
    leavers_days = np.zeros(n, dtype=np.int64)
    np.maximum.at(leavers_days, w.user_org, late)

    # dormant: open accounts, old enough, with no activity in the baseline (90+ days idle by then)
    before = ev["ts"] < scan_utc
    active_before = np.zeros(w.n_users, dtype=bool)
    active_before[np.unique(ev["user"][before])] = True
    old_enough = w.user_start <= np.datetime64(w.params.scan_start, "D") - np.timedelta64(DORMANT_DAYS, "D")
    still_open = np.isnat(w.user_end) | (w.user_end > np.datetime64(w.params.end_date, "D"))
    dormant = np.bincount(w.user_org[old_enough & still_open & ~active_before], minlength=n)

    gap_days = np.zeros(n, dtype=np.int64)
    for o, lo, hi in gaps:
        gap_days[o] += round((hi + 1 - lo) / 86_400)

    pr = w.practice
    rows = []
    for o in range(n):
        rows.append(
            (
                w.org_ids[o],
                f"{mfa_share[o]:.3f}",
                int(leavers_days[o]),
                int(dormant[o]),
                "true" if pr.shared_accounts[o] else "false",
                f"{explained_share[o]:.3f}" if n_views[o] else "",
                int(overrides[o]),
                "false" if pr.uncontrolled_exports[o] else "true",
                w.declared_networks[o],
                f"{undeclared_share[o]:.3f}",
                int(gap_days[o]),
            )
        )
    return rows

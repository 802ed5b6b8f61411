"""peer_outlier and the community fit behind it (CADS, Chen, Nyemba & Malin 2012).

Colleagues who work a shared caseload open the same children; the user × child access structure
therefore falls into communities (teams). A user whose recent accesses fit none of their peers'
sets is suspicious even at normal volume and normal hours — the case rule-based detectors miss.

The user × child matrix is a scipy sparse matrix per organisation, built from the engine's
`user_record` aggregate (one row per user and child, never raw events); no networkx graph of raw edges.

(Why this module runs past 400 lines: the communities, the fit judged against them and the chance model of
that fit are one definition; the graphs read the same fit, and splitting it would give them two.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import networkx as nx
import numpy as np
import pandas as pd

from audit_kit.config import role_matches
from audit_kit.detectors.base import FindingBuilder, Params
from audit_kit.detectors.context import BASELINE, UNKNOWN_ROLE, WINDOW, DetectionContext, matches_any
from audit_kit.detectors.evidence import (
    KEPT_LOW,
    corrected,
    evidence_fields,
    normal_tail,
    numeric,
    score_of,
    severity_of,
    strength,
)
from audit_kit.models.findings import Finding

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from audit_kit.config import AuditConfig
    from audit_kit.engine.base import Engine
    from audit_kit.store.workspace import Workspace

FIT_COLUMNS = ["user_id", "org_id", "community", "fit", "records"]
MIN_STRENGTH = 2.0


class PeerParams(Params):
    min_records: int = 8
    min_peers: int = 4
    min_community: int = 3
    max_fit_ratio: float = 0.6
    min_spread: float = 0.15
    max_effective_records: int = 15
    # An intake period (see `peer_outlier`): at least `intake_min` other communities' children written on, and
    # at most `intake_ratio` times as many only read, is kept below medium.
    intake_explains: bool = True
    intake_min: int = 10
    intake_ratio: float = 2.0


# A child whose baseline reads were mostly another community's (the user's own community's share below this)
# is "outside" the user's community: what an intake period's counts are of.
OUTSIDE_SHARE = 0.5


def _baseline_pairs(ctx: DetectionContext) -> ir.Table:
    """(user, org, child) baseline reads: the input communities are learnt from."""
    ur = ctx.part("user_record", BASELINE)
    return ur.group_by(ur.user_id, ur.org_id, ur.record_id).aggregate(n_base=ur.n.sum())


def _org_chunks(pairs: ir.Table, chunk_rows: int = 400_000) -> Iterator[pd.DataFrame]:
    """The (user, child) pairs of `pairs`, a few whole organisations per frame (one query each).

    The user × child aggregate of a large log is millions of rows of strings (2.1 GB of pandas at 10M
    events); pulled in chunks of about `chunk_rows` pairs, sized by a small count per organisation
    first, memory is bounded by the largest organisation instead — on any engine.
    """
    sizes = pairs.group_by("org_id").aggregate(n=pairs.count()).order_by("org_id").to_pandas()
    chunks: list[list[str]] = [[]]
    rows = 0
    for org, n in zip(sizes.org_id, sizes.n, strict=True):
        if chunks[-1] and rows + int(n) > chunk_rows:
            chunks.append([])
            rows = 0
        chunks[-1].append(org)
        rows += int(n)
    for orgs in chunks:
        if not orgs:
            continue
        # Sorted in the engine: the record codes (and so the float sums of the similarity matrix) follow
        # row order, which differs between engines and runs; Louvain must see the same input everywhere.
        yield pairs.filter(pairs.org_id.isin(orgs)).order_by(["org_id", "user_id", "record_id"]).to_pandas()


def learn_members(ctx: DetectionContext) -> pd.DataFrame:
    """Every baseline user's community (`org:cN`) and its size, learnt per organisation from the baseline
    reads (the Louvain fit of `community_fit_frame`, on the baseline's users only)."""
    out = []
    for pairs in _org_chunks(_baseline_pairs(ctx)):
        df = community_fit_frame(pairs.assign(n_win=0))
        out.append(df[["user_id", "org_id", "community", "community_size"]])
    if not out:
        return pd.DataFrame({"user_id": pd.Series(dtype=str), "org_id": pd.Series(dtype=str),
                             "community": pd.Series(dtype=str), "community_size": pd.Series(dtype="int64")})
    return pd.concat(out, ignore_index=True).astype({"community_size": "int64"})


def _kept_communities(ctx: DetectionContext) -> tuple[ir.Table, ir.Table]:
    """(members, shares): each baseline user's community, and each community's share of every child's
    baseline reads in its organisation — learnt once per baseline epoch and kept."""
    members = ctx.learnt("peer_outlier:members", lambda: learn_members(ctx))

    def learn_shares() -> ir.Table:
        b = _baseline_pairs(ctx)
        j = b.join(members, (b.user_id == members.user_id) & (b.org_id == members.org_id))
        c = j.group_by(s_org=j.org_id, s_comm=j.community, s_record=j.record_id).aggregate(c_reads=j.n_base.sum())
        t = c.group_by(t_org=c.s_org, t_record=c.s_record).aggregate(t_reads=c.c_reads.sum())
        ct = c.join(t, (c.s_org == t.t_org) & (c.s_record == t.t_record))
        return ct.select("s_org", "s_comm", "s_record", share=ct.c_reads / ct.t_reads)

    return members, ctx.learnt("peer_outlier:shares", learn_shares)


def _communities(graph: nx.Graph, seed: int, resolution: float, max_size: int) -> list[set[int]]:
    """Louvain communities, with any larger than `max_size` split again on its own subgraph.

    Louvain's resolution limit merges small teams in a dense organisation; one refinement pass on
    an oversized community recovers them (teams of social workers or clinicians are a handful).
    """
    import networkx as nx

    out: list[set[int]] = []
    for c in nx.community.louvain_communities(graph, weight="weight", seed=seed, resolution=resolution):
        if len(c) > max_size:
            parts = nx.community.louvain_communities(graph.subgraph(c), weight="weight", seed=seed,
                                                     resolution=resolution)
            out.extend(parts if len(parts) > 1 else [c])
        else:
            out.append(c)
    return out


def community_fit_frame(
    pairs: pd.DataFrame, seed: int = 1, resolution: float = 1.0, max_size: int = 10, neighbours: int = 20,
    dense_max: int = 200,
) -> pd.DataFrame:
    """Community and fit per user from (user_id, org_id, record_id, n_base, n_win) rows.

    Per organisation: users are linked by the cosine similarity of the children they opened in the
    baseline (each child weighted by its rarity in the organisation; beyond `dense_max` users, only
    each user's `neighbours` nearest colleagues) and split into communities
    with Louvain on that small user × user graph (seeded, so stable; a community larger than
    `max_size` is split once more on its own subgraph). Each child belongs to the
    communities whose members read it in the baseline, in proportion to their reads. A user's fit
    is the mean, over the children they opened in the window that anyone in the organisation read
    in the baseline, of the share of that child's baseline reads made by the user's own community:
    1 = they work their community's children, 0 = only other communities' children. A child no one
    in the organisation read in the baseline and no one else reads in the window counts 0 (a child
    no team works with); one the user shares with colleagues in the window is left out. Users with
    no baseline have no community yet (fit NaN).
    """
    import networkx as nx
    from scipy import sparse

    out: list[pd.DataFrame] = []
    # Integer codes once for the whole frame (hashing), so the per-organisation work sorts integers,
    # not millions of strings.
    pairs = pairs.assign(_u=pd.factorize(pairs.user_id, sort=True)[0], _r=pd.factorize(pairs.record_id)[0])
    for org, grp in pairs.groupby("org_id", sort=True):
        u_codes, u_idx = np.unique(grp._u.to_numpy(), return_inverse=True)
        users = grp.user_id.to_numpy()[np.unique(grp._u.to_numpy(), return_index=True)[1]]
        _, r_idx = np.unique(grp._r.to_numpy(), return_inverse=True)
        n_u = len(users)
        shape = (n_u, int(r_idx.max()) + 1)
        n_base = grp.n_base.to_numpy().astype(float)
        bm = n_base > 0
        wm = grp.n_win.to_numpy() > 0
        reads = sparse.csr_matrix((n_base[bm], (u_idx[bm], r_idx[bm])), shape=shape)
        seen_b = (reads > 0).astype(float)
        win = sparse.csr_matrix((np.ones(int(wm.sum())), (u_idx[wm], r_idx[wm])), shape=shape)
        has_base = np.asarray(seen_b.sum(axis=1)).ravel() > 0
        # Rarity weight: a child every colleague opens says little about who works with whom.
        df_r = np.asarray(seen_b.sum(axis=0)).ravel()
        idf = sparse.diags(np.log1p(n_u / np.maximum(df_r, 1)))
        b = _row_normalise(seen_b @ idf)
        sim = (b @ b.T).toarray()
        np.fill_diagonal(sim, 0.0)
        # Up to `dense_max` users every positive similarity is an edge; in a larger organisation each
        # user keeps their `neighbours` most similar colleagues (≤ k·n edges), so Louvain stays fast.
        graph = nx.Graph()
        graph.add_nodes_from(range(n_u))
        k = min(neighbours, n_u - 1) if n_u > dense_max else n_u - 1
        if k > 0:
            nbr = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < n_u - 1 else np.argsort(-sim, axis=1)[:, :k]
            rows = np.repeat(np.arange(n_u), k)
            cols = nbr.ravel()
            wts = sim[rows, cols]
            keep = wts > 0
            graph.add_weighted_edges_from(
                zip(rows[keep].tolist(), cols[keep].tolist(), wts[keep].tolist(), strict=True)
            )
        comms = _communities(graph, seed, resolution, max_size)
        # Order communities by their smallest member so labels do not depend on set iteration order.
        ordered = sorted((sorted(c) for c in comms), key=lambda c: c[0])
        label = np.empty(n_u, dtype=np.int64)
        size = np.empty(n_u, dtype=np.int64)
        for c, members in enumerate(ordered):
            label[members] = c
            size[members] = len(members)
        member = sparse.csr_matrix((np.ones(n_u), (np.arange(n_u), label)), shape=(n_u, len(ordered)))
        comm_reads = np.asarray((member.T @ reads).todense())  # communities × children
        total = comm_reads.sum(axis=0)
        seen_any = total > 0
        share = np.divide(comm_reads, total, out=np.zeros_like(comm_reads), where=seen_any)
        # Vectorised over the window's (user, child) pairs: each pair's share for the user's community.
        # A child nobody in the organisation read in the baseline and nobody else reads in the window
        # belongs to no community: it counts against the reader's fit (snooping on unrelated children),
        # where a new case the team shares does not count at all.
        win_readers = np.asarray((win > 0).sum(axis=0)).ravel()
        win = win.tocoo()
        lone = ~seen_any[win.col] & (win_readers[win.col] == 1)
        ok = (seen_any[win.col] | lone) & has_base[win.row]
        rows, cols = win.row[ok], win.col[ok]
        counts = np.bincount(rows, minlength=n_u)
        sums = np.bincount(rows, weights=share[label[rows], cols], minlength=n_u)
        fit = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
        win = win.tocsr()
        win_records = np.asarray(win.sum(axis=1)).ravel()
        out.append(pd.DataFrame({
            "user_id": users, "org_id": org,
            "community": [f"{org}:c{int(c)}" if has_base[i] else None for i, c in enumerate(label)],
            "fit": np.round(fit, 4), "records": win_records.astype(int),
            "community_size": np.where(has_base, size, 0),
        }))
    if not out:
        return pd.DataFrame(columns=[*FIT_COLUMNS, "community_size"])
    return pd.concat(out, ignore_index=True)[[*FIT_COLUMNS, "community_size"]]


def _row_normalise(m: Any) -> Any:
    from scipy import sparse

    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.diags(1.0 / norms) @ m


def community_fit(
    ctx: DetectionContext, org_id: str | None = None, p: PeerParams | None = None, detail: bool = False,
) -> pd.DataFrame:
    """Community fit of every user active in the context's window (see `community_fit_frame`), judged in
    the engine against the kept communities: a user's fit is the mean, over the window children anyone in
    the organisation read in the baseline, of their own community's share of that child's baseline reads.
    With `detail`, also `fit_known`: the fit where a child whose record the user wrote on in the window is
    their work (share 1, whoever's community read it before: a referral taken on duty, a case handed over);
    `counted` (the children it averages over), `share_sd` (the spread of their shares) and `worked` (the
    children counted as work): what `peer_outlier`'s chance model needs; `first_ts` and `last_ts`, the user's
    first and last read of a child in the window (the finding's dates)."""
    members, shares = _kept_communities(ctx)
    ur = ctx.part("user_record", WINDOW)
    if org_id is not None:
        ur = ur.filter(ur.org_id == org_id)
    wp = ur.group_by(ur.user_id, ur.org_id, ur.record_id).aggregate(n_win=ur.n.sum(), n_work=ur.n_work.sum(),
                                                                  first_ts=ur.first_ts.min(), last_ts=ur.last_ts.max())
    # How many of the organisation's users read each child in the window.
    wr = wp.group_by(r_org=wp.org_id, r_record=wp.record_id).aggregate(win_readers=wp.user_id.nunique())
    mem = members.select(m_user="user_id", m_org="org_id", m_comm="community", m_size="community_size")
    seen = shares.select(v_org="s_org", v_record="s_record").distinct()
    j = (wp.left_join(mem, (wp.user_id == mem.m_user) & (wp.org_id == mem.m_org))
         .left_join(seen, (wp.org_id == seen.v_org) & (wp.record_id == seen.v_record))
         .left_join(wr, (wp.org_id == wr.r_org) & (wp.record_id == wr.r_record))
         .left_join(shares, (wp.org_id == shares.s_org) & (mem.m_comm == shares.s_comm)
                    & (wp.record_id == shares.s_record)))
    # A child nobody in the organisation read in the baseline and nobody else reads in the window belongs
    # to no community: it counts against the reader's fit (share 0); a new child the team shares does not
    # count at all (as in `community_fit_frame`).
    lone = j.v_record.isnull() & (j.win_readers == 1)
    counted = j.m_comm.notnull() & (j.v_record.notnull() | lone)
    # For peer_outlier: a child the user wrote on in the window is their work (share 1), whoever's community
    # read it before (a referral taken on duty, a case handed over); the rest as in `fit`.
    worked = j.n_work.fill_null(0) > 0
    known = counted | (j.m_comm.notnull() & worked)
    share_k = ibis.ifelse(worked, 1.0, j.share.fill_null(0.0))
    outside = j.share.fill_null(0.0) < OUTSIDE_SHARE
    agg = j.group_by("user_id", "org_id").aggregate(
        community=j.m_comm.max(), records=j.count(), den=j.count(where=counted),
        num=j.share.fill_null(0.0).sum(where=counted), community_size=j.m_size.max(),
        den_s=j.count(where=known), num_s=share_k.sum(where=known), num2_s=(share_k ** 2).sum(where=known),
        den_new=j.count(where=counted & worked), first_ts=j.first_ts.min(), last_ts=j.last_ts.max(),
        out_worked=j.count(where=known & worked & outside), out_read=j.count(where=counted & ~worked & outside),
    )
    agg = agg.mutate(fit=ibis.ifelse(agg.den > 0, agg.num / agg.den, ibis.null("float64")).round(4))
    extra: list[str] = []
    if detail:
        mean = agg.num_s / agg.den_s.nullif(0)
        var = ibis.greatest(agg.num2_s / agg.den_s.nullif(0) - mean * mean, 0.0)
        agg = agg.mutate(fit_known=mean.round(4), counted=agg.den_s.fill_null(0), share_sd=var.sqrt(),
                         worked=agg.den_new.fill_null(0))
        extra = ["fit_known", "counted", "share_sd", "worked", "first_ts", "last_ts", "out_worked", "out_read"]
    df = agg.select(*FIT_COLUMNS, "community_size", *extra).order_by(["org_id", "user_id"]).to_pandas()
    df["community_size"] = df.community_size.fillna(0).astype(int)
    df["records"] = df.records.astype(int)
    if detail:
        df = numeric(df, ["fit_known", "counted", "share_sd", "worked", "out_worked", "out_read"], fill=None)
        for c in ("counted", "worked", "out_worked", "out_read"):
            df[c] = df[c].fillna(0).astype(int)
    return df


def user_community_fit(
    ws: Workspace, config: AuditConfig, since: datetime | None = None, until: datetime | None = None,
    org_id: str | None = None, engine: Engine | None = None,
) -> pd.DataFrame:
    """Per user active in [since, until): user_id, org_id, community, fit (0–1), records (window children).

    The same signal `peer_outlier` judges, under the run's `config`; the graphs reuse it. Default
    window: the configuration's last `window_days`. `engine` as for `run_detectors` (default DuckDB).
    """
    ctx = DetectionContext.build(ws, config, since, until, engine=engine)
    try:
        return community_fit(ctx, org_id, ctx.params_for("peer_outlier", PeerParams))
    finally:
        ctx.cleanup()


def peer_outlier(ctx: DetectionContext, p: PeerParams) -> list[Finding]:
    """A user whose children belong to other communities than their own, at normal volume and hours (CADS-style).

    Communities are learnt per organisation from the baseline (see `community_fit_frame`). The fit
    judged here counts a child whose record the user wrote on in the window as their own work (a
    referral taken on duty, a case handed over to them: work, as `no_relationship` counts it);
    reading other teams' children, or children no team works with, without working on them is what
    lowers it. A user with a baseline, a fit averaged over at least `min_records` children in
    the window and a community of at least `min_community` people is a candidate when their fit is
    below `max_fit_ratio` of the median fit of the others in the same organisation and role (at
    least `min_peers` of them).
    Strength: a fit is the mean of per-child shares, so how far it may fall by chance depends on how
    many children it averages over. Under the peers' behaviour the user's fit is the peers' median plus
    the peers' own person-to-person spread (their fits' robust spread less what their children's
    shares explain) plus the mean of n of the peers' per-child shares (their pooled spread, at least
    `min_spread`; n at most `max_effective_records`, reads being clustered): a normal tail, corrected
    for the group's size. A fit of 0.1 over 40 children where peers sit at 0.55 ± 0.08 is very
    improbable; 0.3 over ten children is a weak signal. Out-of-hours, cross-area (MASH, national),
    organisation-wide (managers, supervisors, admins) and system roles read across the organisation by
    design and are not judged; more exempt roles can be set in config.
    An intake period is kept below medium (`intake_explains`): at least `intake_min` (10) children of other
    communities the user wrote on (referrals taken on a duty week) and at most `intake_ratio` (2) times as many
    they only read, as the relationship detectors judge intake (`no_relationship`).
    """
    dc = ctx.config.detector("peer_outlier")
    fits = community_fit(ctx, None, p, detail=True)
    if fits.empty:
        return []
    u = ctx.users
    roles = u.select("user_id", "role", "ooh_role", "cross_area_role").to_pandas()
    df = fits.merge(roles, on="user_id", how="left")
    df["role"] = df.role.fillna(UNKNOWN_ROLE)
    org_types = ctx.orgs.select("org_id", "org_type").to_pandas()
    df = df.merge(org_types, on="org_id", how="left")
    cross_types = set(ctx.config.entitlements.cross_area_org_types) | set(dc.exempt_org_types)
    org_wide = tuple(ctx.config.entitlements.org_wide_roles)
    exempt = (df.org_type.isin(cross_types) | df.role.map(lambda r: _glob(r, org_wide))
              | df.role.map(lambda r: _glob(r, dc.exempt_roles)) | df.cross_area_role.fillna(False).astype(bool)
              | df.ooh_role.fillna(False).astype(bool))
    # Judged with the user's own writing as their work (a referral taken on duty, a case handed over: as
    # `no_relationship` counts work).
    df = df.assign(fit=df.fit_known)
    df = df[~exempt & df.fit.notna() & (df.counted >= p.min_records)]
    df = df.assign(share_sd=df.share_sd.fillna(0.0).astype(float), counted=df.counted.astype(float))
    fb = FindingBuilder(ctx, "peer_outlier")
    for (org, role), grp in df.groupby(["org_id", "role"], sort=True):
        if len(grp) < p.min_peers + 1:
            continue
        # Plain arrays: a pandas selection per user cost seconds on every scan at a few thousand users.
        fits_arr = grp.fit.to_numpy(dtype=float)
        sd_arr = grp.share_sd.to_numpy(dtype=float)
        cnt_arr = grp.counted.to_numpy(dtype=float)
        for i, r in enumerate(grp.itertuples(index=False)):
            fits_o = np.delete(fits_arr, i)  # one row per user of the group: the others are the rest
            med = float(np.median(fits_o))
            if not med > 0 or r.fit > p.max_fit_ratio * med or r.community_size < p.min_community:
                continue
            # The peers' per-child shares: pooled spread (within a person), and the person-to-person spread
            # their fits show beyond what averaging their own children explains.
            sd_o, cnt_o = np.delete(sd_arr, i), np.delete(cnt_arr, i)
            sigma2 = max(float((sd_o ** 2 * cnt_o).sum() / max(float(cnt_o.sum()), 1.0)), p.min_spread ** 2)
            n_peers = np.maximum(np.minimum(cnt_o, p.max_effective_records), 1.0)
            spread = 1.4826 * float(np.median(np.abs(fits_o - med)))
            tau2 = max(spread ** 2 - float(np.median(sigma2 / n_peers)), 0.0)
            n_eff = float(min(float(r.counted), p.max_effective_records))
            sd = float(np.sqrt(tau2 + sigma2 / n_eff))
            pv = corrected(normal_tail((med - float(r.fit)) / sd), len(grp))
            st = strength(pv)
            if st < MIN_STRENGTH:
                continue
            intake = p.intake_explains and r.out_worked >= p.intake_min and r.out_read <= p.intake_ratio * r.out_worked
            if intake:
                st = min(st, KEPT_LOW)
            fb.add(
                org_id=org, user_id=r.user_id, bucket=_week(ctx), severity=severity_of(st), score=score_of(st),
                # The fit is a share, not a count: say what it is measured over, and what the user wrote on
                # (their own work) — not that every record opened was another team's child.
                summary=(f"{r.user_id} ({role}) opened {int(r.records)} children's records, many of them children their "
                         f"own colleagues do not work with: fit {r.fit:.2f} over {int(r.counted)} of them "
                         f"({int(r.worked)} they wrote on counted as their own work), against a usual "
                         f"{med:.2f} for {role}s here."),
                evidence={"fit": r.fit, "community": r.community, "community_size": r.community_size,
                          "window_records": r.records, "children_in_fit": int(r.counted),
                          "children_worked_on": int(r.worked),
                          "other_communities_children": {"written_on": int(r.out_worked), "only_read": int(r.out_read)},
                          **({"expected_work": "an intake period: other teams' children taken on and written up, "
                                               "the rest read alongside"} if intake else {}),
                          "peer_baseline": {"group": f"{org} / {role}", "users": len(grp) - 1, "median_fit": med,
                                            "fit_spread": round(spread, 4),
                                            "child_share_spread": round(float(np.sqrt(sigma2)), 4),
                                            "person_spread": round(float(np.sqrt(tau2)), 4)},
                          "expected_fit_spread": round(sd, 4),
                          **evidence_fields(pv, st, "normal: the peers' median fit, their person-to-person spread "
                                            "and the spread of a mean of the user's children's shares, corrected "
                                            "for the group's size")},
                record_count=int(r.records), first_seen=r.first_ts, last_seen=r.last_ts,
            )
    return fb.findings


def _glob(role: str, patterns: tuple[str, ...]) -> bool:
    return role_matches(role, patterns)


def _week(ctx: DetectionContext) -> str:
    return ctx.since.strftime("%G-W%V")


__all__ = ["user_community_fit", "community_fit", "community_fit_frame", "peer_outlier", "matches_any"]

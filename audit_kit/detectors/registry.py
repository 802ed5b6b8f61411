"""The typed registry of built-in detectors: each declared once with id, title, needs, severity policy, params.

The detector's function docstring is its documentation (`DetectorSpec.doc`); `docs/detectors.md`
is generated from the same text. Order here is the order detectors run and are listed in.
"""

from __future__ import annotations

from pydantic import ValidationError

from audit_kit.config import AuditConfig
from audit_kit.detectors import accounts, hours, leavers, log_gap, peer, rates, relationship
from audit_kit.detectors.base import DetectorSpec
from audit_kit.errors import ConfigError

_EV = ("events.user_id", "events.timestamp")
_REC = ("events.record_id",)

_SPECS = (
    DetectorSpec("after_hours", "Unusual out-of-hours access", hours.after_hours, hours.AfterHoursParams,
                 needs=_EV + ("events.local_time", "organisations.org_id", "users.role"),
                 window_pattern=True,
                 severity_policy="strength: unusual hours against the user's and peers' share of far-off hours, "
                 "and night hours against their share of night hours"),
    DetectorSpec("volume_spike", "Daily volume spike", rates.volume_spike, rates.VolumeParams,
                 needs=_EV + _REC, severity_policy="strength: negative-binomial tail against the user and the peers; "
                 "shared spikes and days of the user's own work low"),
    DetectorSpec("bulk_access", "Bulk retrieval in one hour", rates.bulk_access, rates.BulkParams,
                 needs=_EV + _REC, severity_policy="strength: negative-binomial tail against the user and the peers; shared spikes low"),
    DetectorSpec("export_spike", "Export and print spike", rates.export_spike, rates.ExportParams,
                 needs=_EV, severity_policy="strength: negative-binomial tail against the user and the peers; shared spikes low"),
    DetectorSpec("out_of_area", "Children outside the organisation's area", relationship.out_of_area,
                 relationship.ExcessParams, needs=_EV + _REC + ("subjects.home_area", "organisations.area"),
                 window_pattern=True, severity_policy="strength: negative-binomial tail of the count against the baseline share"),
    DetectorSpec("no_relationship", "No legitimate relationship", relationship.no_relationship,
                 relationship.ExcessParams, needs=_EV + _REC + ("involvements.record_id",),
                 window_pattern=True, severity_policy="strength: negative-binomial tail of the count against the baseline share"),
    DetectorSpec("shielded_access", "Shielded record access and overrides", relationship.shielded_access,
                 relationship.ShieldedParams, needs=_EV + _REC + ("subjects.shielded",),
                 history=False, window_pattern=True, severity_policy="strength: binomial tail against the peers' shielded share and overrides"),
    DetectorSpec("leaver_account", "Leaver's account in use", leavers.leaver_account, leavers.LeaverParams,
                 needs=_EV + ("users.end_date",), history=False, severity_policy="policy: critical"),
    DetectorSpec("dormant_account", "Dormant account reactivated", accounts.dormant_account,
                 accounts.DormantParams, needs=_EV + ("users.user_id",),
                 severity_policy="strength: unexplained children opened after 56+ idle days"),
    DetectorSpec("concurrent_sessions", "Concurrent sessions from different networks",
                 accounts.concurrent_sessions, accounts.ConcurrentParams,
                 needs=_EV + ("events.source_ip",),
                 history=False, window_pattern=True, severity_policy="strength: conflicts against the population's rate"),
    DetectorSpec("family_lookup", "Own-family lookup", relationship.family_lookup, relationship.FamilyParams,
                 needs=_EV + _REC + ("users.family_key", "subjects.family_key"),
                 history=False, severity_policy="policy: high when unexplained; low when explained"),
    DetectorSpec("vip_snooping", "Child in the news read by many", relationship.vip_snooping,
                 relationship.VipParams, needs=_EV + _REC, history=False, severity_policy="strength: unrelated bodies within days against chance"),
    DetectorSpec("failed_login_burst", "Failed-login burst", rates.failed_login_burst, rates.FailedLoginParams,
                 needs=_EV, severity_policy="strength: negative-binomial tail against the user and the peers; shared spikes low"),
    DetectorSpec("denied_spike", "Denied-access spike", rates.denied_spike, rates.DeniedParams,
                 needs=_EV, severity_policy="strength: negative-binomial tail against the user and the peers; shared spikes low"),
    DetectorSpec("search_fishing", "Search fishing", rates.search_fishing, rates.SearchParams,
                 needs=_EV, severity_policy="strength: negative-binomial tail, with few follow-ups"),
    DetectorSpec("lingering_access", "Access after the involvement ended", relationship.lingering_access,
                 relationship.LingeringParams, needs=_EV + _REC + ("involvements.end_date",),
                 window_pattern=True,
                 severity_policy="strength: negative-binomial tail of the count against the baseline share"),
    DetectorSpec("weak_auth", "Password-only sign-in in an MFA organisation", accounts.weak_auth,
                 accounts.WeakAuthParams, needs=_EV + ("events.auth_method",),
                 history=False, window_pattern=True, severity_policy="strength: password-only sessions against the user's share"),
    DetectorSpec("peer_outlier", "Poor fit with colleagues' communities", peer.peer_outlier, peer.PeerParams,
                 needs=_EV + _REC + ("users.role",), portable=False,
                 window_pattern=True, severity_policy="strength: fit against the peers' fits"),
    DetectorSpec("log_gap", "Organisation's logs fell silent", log_gap.log_gap, log_gap.LogGapParams,
                 needs=_EV, portable=False, entity="org",
                 window_pattern=True, severity_policy="strength: silent expected days against the usual presence"),
)

REGISTRY: dict[str, DetectorSpec] = {s.id: s for s in _SPECS}


def check_params(config: AuditConfig) -> AuditConfig:
    """Check each configured detector's parameters against its model; ConfigError naming the file and key.

    The configuration itself knows only detector ids (it sits below the detectors); the registry knows
    each detector's parameters, so this check runs once, when a run's configuration is resolved.
    """
    for det_id, dc in config.detectors.items():
        model = REGISTRY[det_id].params
        where = f"{config.source}: key detectors.{det_id}.params"
        bad = sorted(set(dc.params) - set(model.model_fields))
        if bad:
            raise ConfigError(f"{where}: unknown param(s) {', '.join(bad)}; known: {', '.join(model.model_fields)}")
        try:
            model(**dc.params)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ConfigError(f"{where}.{first['loc'][0]}: {first['msg']}") from None
    return config

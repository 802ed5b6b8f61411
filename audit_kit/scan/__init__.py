"""Scheduled anomaly scans that alert once: inbox tracking, lock, watermark, alert store, outbox, webhook.

Call `run_scan(workspace, ScanOptions(inbox=...))` from a scheduler; see docs/scheduling.md.
"""

from __future__ import annotations

from audit_kit.scan.alerts import Alert, alert_id_for, load_alerts
from audit_kit.scan.lock import EXIT_BUSY, ScanBusyError, ScanLock
from audit_kit.scan.runner import ScanOptions, ScanResult, run_scan
from audit_kit.scan.webhook import RetryPolicy
from audit_kit.scan.window import parse_duration

__all__ = [
    "EXIT_BUSY",
    "Alert",
    "RetryPolicy",
    "ScanBusyError",
    "ScanLock",
    "ScanOptions",
    "ScanResult",
    "alert_id_for",
    "load_alerts",
    "parse_duration",
    "run_scan",
]
